//! The workflow core: each command, given the current record, the clock and the actor, either
//! yields the events to record or says why it is refused. Pure: no store, no clock reads, no I/O.
//!
//! The caller (the CLI) loads the record, calls one of these, folds the events into the record
//! with `IncidentRecord::apply` and commits record and events in one store transaction.
//!
//! Longer than our ~600-line guide: every command's pure step sits side by side, so the rules an
//! incident lives by read in one file.

use chrono::{DateTime, Utc};

use crate::domain::assessment::{self, AssessmentInput};
use crate::domain::deadline::{self, Known, Verdict, Window};
use crate::domain::decision::{self, Decision};
use crate::domain::event::EventKind;
use crate::domain::event::TriggerFact;
use crate::domain::incident::{IncidentFacts, IncidentUpdate};
use crate::domain::lifecycle::{self, State, Step, TransitionRefused};
use crate::domain::obligation::{self, Completion, Exposure, ObligationState, Waiver};
use crate::domain::organisation::{ControllerRole, Organisation};
use crate::domain::record::IncidentRecord;
use crate::domain::regime::Rulebook;
use crate::domain::regime::{Anchor, DecisionLink};

/// Why the workflow refused a command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkflowError {
    /// The input breaks a rule of the domain; each problem names its JSON pointer.
    #[error("{}", describe(.0))]
    Invalid(Vec<(String, String)>),
    /// The lifecycle does not allow this step now.
    #[error(transparent)]
    Refused(#[from] TransitionRefused),
    /// A reason is required and none (or only blanks) was given.
    #[error("{0}")]
    ReasonRequired(String),
    /// Obligations are still owed.
    #[error("cannot close: {} obligation(s) still owed: {}; complete or waive each first", .0.len(), .0.join(", "))]
    Blocked(Vec<String>),
    /// Only an approved document version can be sent or filed.
    #[error("{0}")]
    NotApproved(String),
    /// Four-eyes approval: the version's author may not approve it.
    #[error("{0}")]
    SameAuthor(String),
}

/// What the rules of the game are for this run: the organisation and the regimes.
pub struct Rules<'a> {
    pub org: &'a Organisation,
    pub rulebook: &'a Rulebook,
}

/// Applies events to a copy of the record, for computing what follows from them.
fn after(
    record: &IncidentRecord,
    kinds: &[EventKind],
    now: DateTime<Utc>,
    actor: &str,
) -> IncidentRecord {
    let mut rec = record.clone();
    for kind in kinds {
        let event = crate::domain::event::Event {
            seq: 0,
            incident: Some(rec.id),
            version: rec.version + 1,
            at: now,
            actor: actor.to_string(),
            what: kind.clone(),
            recorded_at: None,
            identity: None,
            user: None,
            seal: Default::default(),
        };
        // The events were just produced by the workflow from this record, so they apply.
        if let Ok(next) = IncidentRecord::apply(Some(rec.clone()), &event) {
            rec = next;
        }
    }
    rec
}

/// The obligation events that follow from the record as it stands: derivation against the
/// regimes (once assessed), then due instants recomputed from the current facts.
fn refresh(
    record: &IncidentRecord,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
    actor: &str,
) -> Vec<EventKind> {
    let Some(context) = context_of(record, rules, now) else {
        return Vec::new();
    };
    let anchors = |a: Anchor| record.anchor(a);
    let mut events = Vec::new();
    let changes = obligation::derive(&record.obligations, &context, &anchors);
    let record = if changes.is_empty() {
        record.clone()
    } else {
        let kind = EventKind::ObligationsChanged { changes };
        let next = after(record, std::slice::from_ref(&kind), now, actor);
        events.push(kind);
        next
    };
    let anchors = |a: Anchor| record.anchor(a);
    let dues = obligation::recompute(&record.obligations, &anchors, &context);
    if !dues.is_empty() {
        events.push(EventKind::DuesChanged { changes: dues });
    }
    events
}

/// Open obligations the current facts no longer support, with why they stay owed.
pub fn kept_duties(
    record: &IncidentRecord,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
) -> Vec<(String, String)> {
    match context_of(record, rules, now) {
        Some(context) => obligation::unsupported(&record.obligations, &context),
        None => Vec::new(),
    }
}

/// The regimes in force for the incident that do not apply to it, each with why (an entity,
/// territorial, threshold or significance condition not met), so "no obligation" is never
/// silent.
pub fn not_applicable(
    record: &IncidentRecord,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
) -> Vec<(String, String)> {
    let Some(context) = context_of(record, rules, now) else {
        return Vec::new();
    };
    context
        .regimes
        .iter()
        .filter_map(|r| {
            let why = obligation::applies_in(r, &context).err()?;
            Some((r.id.clone(), why))
        })
        .collect()
}

/// What derivation needs from the record and the rules, once assessed.
fn context_of<'a>(
    record: &'a IncidentRecord,
    rules: &'a Rules<'_>,
    now: DateTime<Utc>,
) -> Option<obligation::Context<'a>> {
    let assessment = record.current_assessment()?;
    let decision = record.current_decision();
    Some(obligation::Context {
        regimes: rules.rulebook.in_force(record.facts.aware_at).collect(),
        aware_at: record.facts.aware_at,
        now,
        flags: obligation::org_flags(rules.org),
        exposure: Exposure {
            level: assessment.severity.level,
            subjects_upper: assessment.input.subjects.upper(),
            subjects_lower: assessment.input.subjects.lower(),
            one_state: assessment
                .input
                .residents_by_state
                .iter()
                .map(|r| (r.count.lower(), r.count.upper()))
                .reduce(|a, b| (a.0.max(b.0), a.1.max(b.1))),
        },
        decision: decision.map(|d| &d.decision),
        decided_by: decision.map(|d| (d.by.as_str(), d.at)),
        zone: rules.org.zone(),
        calendars: &rules.rulebook.calendars,
        territory: obligation::Territory {
            eu_lead: rules.org.eu_lead_state(),
            affected: assessment.input.affected_countries.clone(),
        },
        triggered: record.triggers.iter().map(|t| t.anchor).collect(),
        aware_window: record.facts.aware_window(rules.org.zone()),
    })
}

/// `kinds` followed by whatever obligation changes they cause.
fn with_refresh(
    record: &IncidentRecord,
    mut kinds: Vec<EventKind>,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
    actor: &str,
) -> Vec<EventKind> {
    if kinds.is_empty() {
        return kinds;
    }
    let next = after(record, &kinds, now, actor);
    kinds.extend(refresh(&next, rules, now, actor));
    kinds
}

fn describe(problems: &[(String, String)]) -> String {
    problems
        .iter()
        .map(|(path, msg)| {
            if path.is_empty() {
                msg.clone()
            } else {
                format!("at {path}: {msg}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn invalid_if_any(problems: Vec<(String, String)>) -> Result<(), WorkflowError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(WorkflowError::Invalid(problems))
    }
}

fn non_blank(reason: Option<&str>) -> Option<String> {
    reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
}

/// Opening an incident: the facts must hold together at `now`.
pub fn open(facts: &IncidentFacts, now: DateTime<Utc>) -> Result<Vec<EventKind>, WorkflowError> {
    invalid_if_any(facts.check(now))?;
    Ok(vec![EventKind::IncidentOpened {
        facts: Box::new(facts.clone()),
    }])
}

/// A partial update of facts. No event when nothing changes.
pub fn update(
    record: &IncidentRecord,
    update: &IncidentUpdate,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<Vec<EventKind>, WorkflowError> {
    refuse_if_closed(record, Step::Assess)?;
    let (next, changes) = record.facts.apply_update(update);
    invalid_if_any(next.check(now))?;
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let kinds = vec![EventKind::FactsUpdated {
        changes,
        note: non_blank(update.note.as_deref()),
    }];
    Ok(with_refresh(record, kinds, rules, now, actor))
}

/// A closed incident's facts are frozen until it is reopened.
pub(crate) fn refuse_if_closed(
    record: &IncidentRecord,
    step: Step,
) -> Result<(), TransitionRefused> {
    if record.state == State::Closed {
        return Err(TransitionRefused {
            state: State::Closed,
            step,
            allowed: lifecycle::allowed(State::Closed),
        });
    }
    Ok(())
}

/// A new assessment version, with its severity computed.
pub fn assess(
    record: &IncidentRecord,
    input: &AssessmentInput,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<Vec<EventKind>, WorkflowError> {
    lifecycle::next(record.state, Step::Assess)?;
    invalid_if_any(assessment::check(input))?;
    let severity = assessment::assess(input);
    let version = record.assessments.len() as u32 + 1;
    let kinds = vec![EventKind::Assessed {
        version,
        input: input.clone(),
        severity,
    }];
    Ok(with_refresh(record, kinds, rules, now, actor))
}

/// What the DPO says on `decide`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecideRequest {
    /// Take the recommendation as it stands.
    pub accept: bool,
    /// Notify the ICO (overrides the recommendation when different).
    pub notify_ico: Option<bool>,
    /// Tell data subjects (overrides the recommendation when different).
    pub tell_subjects: Option<bool>,
    /// The DPO's reasoning; required for an override.
    pub reason: Option<String>,
}

/// The DPO's decision on the current assessment.
pub fn decide(
    record: &IncidentRecord,
    request: &DecideRequest,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<Vec<EventKind>, WorkflowError> {
    let role: ControllerRole = rules.org.role;
    lifecycle::next(record.state, Step::Decide)?;
    // The lifecycle guarantees an assessment from `assessing` on; this guards a damaged record.
    let Some(current) = record.current_assessment() else {
        return Err(TransitionRefused {
            state: record.state,
            step: Step::Decide,
            allowed: vec![Step::Assess],
        }
        .into());
    };
    if request.accept && (request.notify_ico.is_some() || request.tell_subjects.is_some()) {
        return Err(WorkflowError::Invalid(vec![(
            String::new(),
            "--accept takes the recommendation as it is; drop --ico/--subjects, or drop --accept to override".into(),
        )]));
    }
    if !request.accept && request.notify_ico.is_none() && request.tell_subjects.is_none() {
        return Err(WorkflowError::Invalid(vec![(
            String::new(),
            "say --accept to take the recommendation, or give --ico and/or --subjects to override it".into(),
        )]));
    }
    let recommendation = decision::recommend(current.severity.level, role);
    let notify_ico = request.notify_ico.unwrap_or(recommendation.notify_ico);
    let tell_subjects = request
        .tell_subjects
        .unwrap_or(recommendation.tell_subjects);
    let follows =
        notify_ico == recommendation.notify_ico && tell_subjects == recommendation.tell_subjects;
    let reason = non_blank(request.reason.as_deref());
    if !follows && reason.is_none() {
        return Err(WorkflowError::ReasonRequired(format!(
            "overriding the recommendation (ICO: {}, data subjects: {}) needs --reason: the reasoning is part of the breach record (UK GDPR Art 33(5))",
            yes_no(recommendation.notify_ico),
            yes_no(recommendation.tell_subjects)
        )));
    }
    // A decision never erases history: a filing it contradicts stays filed, and a person's
    // waiver it contradicts is lifted only explicitly; either way the reasoning is required.
    let mut contradictions = Vec::new();
    let mut lifted = Vec::new();
    for o in &record.obligations {
        let Some(link) = o.follows_decision else {
            continue;
        };
        let (yes, what) = match link {
            DecisionLink::NotifyIco => (notify_ico, "notifying the supervisory authority"),
            DecisionLink::TellSubjects => (tell_subjects, "telling data subjects"),
        };
        let done = matches!(
            o.state,
            ObligationState::Filed | ObligationState::Sent | ObligationState::Acknowledged
        );
        if !yes && done {
            let at = o
                .completion
                .as_ref()
                .map(|c| c.at.to_rfc3339())
                .unwrap_or_default();
            contradictions.push(format!(
                "{} was {} at {at}: deciding against {what} contradicts a completed filing, which stays in the record",
                o.id, o.state
            ));
        }
        if yes
            && o.state == ObligationState::Waived
            && let Some(w) = o.waiver.as_ref().filter(|w| !w.by_decision)
        {
            contradictions.push(format!(
                "{} was waived by {} ({}): deciding for {what} lifts that waiver",
                o.id, w.by, w.reason
            ));
            lifted.push(o.id.clone());
        }
    }
    if !contradictions.is_empty() && reason.is_none() {
        return Err(WorkflowError::ReasonRequired(format!(
            "{}; give --reason to record why (UK GDPR Art 33(5))",
            contradictions.join("; ")
        )));
    }
    let mut kinds = Vec::new();
    if !lifted.is_empty() {
        kinds.push(EventKind::ObligationsChanged {
            changes: obligation::ObligationChanges {
                unwaived: lifted,
                ..Default::default()
            },
        });
    }
    kinds.push(EventKind::Decided {
        decision: Decision {
            notify_ico,
            tell_subjects,
            assessment_version: current.version,
            risk_level: current.severity.level,
            follows_recommendation: follows,
            reason,
            reasoning: current.severity.rationale.clone(),
            recommendation,
        },
    });
    Ok(with_refresh(record, kinds, rules, now, actor))
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// A manual lifecycle step (`notify`, `monitor`, `close`, `reopen`).
pub fn transition(
    record: &IncidentRecord,
    step: Step,
    reason: Option<&str>,
) -> Result<Vec<EventKind>, WorkflowError> {
    if matches!(step, Step::Assess | Step::Decide) {
        return Err(WorkflowError::Invalid(vec![(
            String::new(),
            format!("{step} is recorded with `breachflow {step} ID`, which takes its own input"),
        )]));
    }
    let to = lifecycle::next(record.state, step)?;
    if step == Step::Close {
        let open: Vec<String> = record.open_obligations().map(|o| o.id.clone()).collect();
        if !open.is_empty() {
            return Err(WorkflowError::Blocked(open));
        }
    }
    let reason = non_blank(reason);
    if step == Step::Reopen && reason.is_none() {
        return Err(WorkflowError::ReasonRequired(
            "reopening a closed incident needs --reason".into(),
        ));
    }
    Ok(vec![EventKind::Transitioned {
        step,
        from: record.state,
        to,
        reason,
    }])
}

/// Records an instant that starts a clock (classified as major, materiality determined, ...),
/// with the named person who decided it. Awareness and detection are facts of the intake.
pub fn trigger(
    record: &IncidentRecord,
    fact: TriggerFact,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<Vec<EventKind>, WorkflowError> {
    refuse_if_closed(record, Step::Assess)?;
    let mut problems = Vec::new();
    if matches!(
        fact.anchor,
        Anchor::Aware | Anchor::Detected | Anchor::PreviousPhase | Anchor::DutyArose
    ) {
        problems.push((
            String::new(),
            format!(
                "{:?} is not recorded this way: awareness and detection are corrected with `incident update`, a previous phase's completion with `obligation complete`, and a duty arises with the assessment or decision that creates it",
                fact.anchor
            ),
        ));
    }
    if fact.at > now {
        problems.push((
            String::new(),
            format!("{} is in the future", fact.at.to_rfc3339()),
        ));
    }
    if fact.anchor == Anchor::DisclosureDelayed {
        problems.push((
            String::new(),
            "a delayed disclosure is recorded with `breachflow incident delay-disclosure ID`, which takes how each condition of UK MAR Art 17(4) is met".into(),
        ));
    }
    if fact.decided_by.trim().is_empty() {
        problems.push((String::new(), "name the person who decided (--by)".into()));
    }
    invalid_if_any(problems)?;
    // A classification opens a gate (NIS2 significant, DORA major, NIS significant or
    // substantial impact) or ends a delay (confidentiality lost): duties follow from it, so its
    // reason is part of the record (who, when and why), like a risk override's or a waiver's.
    if fact.anchor.is_classification() && non_blank(fact.note.as_deref()).is_none() {
        return Err(WorkflowError::ReasonRequired(format!(
            "recording {} needs --note saying why (the classification and its reasons are part of the record)",
            fact.anchor.as_str()
        )));
    }
    Ok(with_refresh(
        record,
        vec![EventKind::TriggerRecorded { trigger: fact }],
        rules,
        now,
        actor,
    ))
}

/// Records the issuer's decision to delay disclosure of inside information (UK MAR Art 17(4)):
/// refused unless the information was recorded as inside information, a disclosure that may be
/// delayed is still owed, and all three conditions are stated with the persons responsible.
pub fn delay_disclosure(
    record: &IncidentRecord,
    delay: crate::domain::decision::DisclosureDelay,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<Vec<EventKind>, WorkflowError> {
    refuse_if_closed(record, Step::Assess)?;
    let mut problems = Vec::new();
    let missing = delay.missing();
    if !missing.is_empty() {
        problems.push((
            String::new(),
            format!(
                "a delay under UK MAR Art 17(4) needs all three conditions and the persons responsible; missing: {}",
                missing.join(", ")
            ),
        ));
    }
    if delay.at > now {
        problems.push((
            String::new(),
            format!("{} is in the future", delay.at.to_rfc3339()),
        ));
    }
    match record.anchor(Anchor::InsideInformation) {
        None => problems.push((
            String::new(),
            format!(
                "record when the information became inside information first: `breachflow incident trigger {} inside_information --at TIME --by NAME --note WHY`",
                record.id
            ),
        )),
        Some(inside) if delay.at < inside => problems.push((
            String::new(),
            format!(
                "the delay ({}) is before the information became inside information ({})",
                delay.at.to_rfc3339(),
                inside.to_rfc3339()
            ),
        )),
        Some(_) => {}
    }
    if record.disclosure_delay.is_some() {
        problems.push((
            String::new(),
            "disclosure has already been delayed; the decision stands in the record".into(),
        ));
    }
    if record.anchor(Anchor::ConfidentialityLost).is_some() {
        problems.push((
            String::new(),
            "confidentiality has been lost: disclosure cannot be delayed now (UK MAR Art 17(7))"
                .into(),
        ));
    }
    if !record
        .obligations
        .iter()
        .any(|o| o.phase.delayable && o.state.is_open())
    {
        problems.push((
            String::new(),
            "no disclosure of inside information that may be delayed is owed on this incident"
                .into(),
        ));
    }
    invalid_if_any(problems)?;
    let delay = crate::domain::decision::DisclosureDelay {
        decided_by: delay.decided_by.trim().to_string(),
        ..delay
    };
    Ok(with_refresh(
        record,
        vec![EventKind::DisclosureDelayed { delay }],
        rules,
        now,
        actor,
    ))
}

/// Finds an obligation by its id or a unique prefix of it.
pub fn find_obligation<'r>(
    record: &'r IncidentRecord,
    wanted: &str,
) -> Result<&'r obligation::Obligation, WorkflowError> {
    if let Some(o) = record.obligations.iter().find(|o| o.id == wanted) {
        return Ok(o);
    }
    let matches: Vec<_> = record
        .obligations
        .iter()
        .filter(|o| o.id.starts_with(wanted))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(WorkflowError::Invalid(vec![(
            String::new(),
            format!(
                "{} has no obligation {wanted:?}; {}it has: {}",
                record.id,
                crate::domain::spelling::closest(
                    wanted,
                    record.obligations.iter().map(|o| o.id.as_str())
                )
                .map(|g| format!("did you mean {g}? "))
                .unwrap_or_default(),
                if record.obligations.is_empty() {
                    "none (obligations arise with the first assessment)".to_string()
                } else {
                    record
                        .obligations
                        .iter()
                        .map(|o| o.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        )])),
        many => Err(WorkflowError::Invalid(vec![(
            String::new(),
            format!(
                "{wanted:?} matches {}; give the full id",
                many.iter()
                    .map(|o| o.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )])),
    }
}

/// How an obligation was completed.
#[derive(Debug, Clone, PartialEq)]
pub struct CompleteRequest {
    pub obligation: String,
    /// When it was filed or sent, as precisely as it is known.
    pub at: Known,
    pub reference: Option<String>,
    pub late_reason: Option<String>,
    /// Sent (a notice) rather than filed (a report).
    pub sent: bool,
    /// Whether a template discharges this obligation, so only an approved version may go.
    pub document_required: bool,
}

/// Files or sends an obligation. Lateness is measured against the due instant at this moment
/// and frozen with the completion.
pub fn complete(
    record: &IncidentRecord,
    request: &CompleteRequest,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<Vec<EventKind>, WorkflowError> {
    refuse_if_closed(record, Step::Notify)?;
    let o = find_obligation(record, &request.obligation)?;
    if !o.state.is_open() {
        return Err(WorkflowError::Invalid(vec![(
            String::new(),
            format!("{} is already {}; nothing to complete", o.id, o.state),
        )]));
    }
    // The step that starts its clock is part of the duty: a market announcement is filed only
    // once the moment the information became inside information is on record (and an 8-K once
    // the materiality determination is).
    if let crate::domain::deadline::Due::NotStarted { waiting_on } = o.due
        && waiting_on.is_recorded_decision()
    {
        return Err(WorkflowError::NotApproved(format!(
            "{} waits on {}, which is not on record: record it first with `breachflow incident trigger {} {} --at TIME --by NAME --note WHY`",
            o.id,
            crate::domain::deadline::anchor_words(waiting_on),
            record.id,
            waiting_on.as_str()
        )));
    }
    // Known to the minute, or only within a window: a day or month in the organisation's zone,
    // or (unknown) between the clock's start and now, when it is recorded.
    let window = match request.at {
        Known::At(_) => None,
        Known::Unknown => {
            let from = o
                .due
                .from()
                .unwrap_or(record.facts.detected_at)
                .max(record.facts.detected_at);
            Some(Window {
                earliest: from.min(now),
                latest: now,
            })
        }
        day_or_month => Some(day_or_month.window(rules.org.zone()).ok_or_else(|| {
            WorkflowError::Invalid(vec![(String::new(), "--at is out of range".into())])
        })?),
    };
    let (at, last) = match (request.at, window) {
        (Known::At(t), _) => (t, t),
        (_, Some(w)) => (w.earliest, w.latest),
        (_, None) => (now, now),
    };
    if at > now {
        return Err(WorkflowError::Invalid(vec![(
            String::new(),
            format!(
                "--at {} is in the future (now is {})",
                at.to_rfc3339(),
                now.to_rfc3339()
            ),
        )]));
    }
    if last < record.facts.detected_at || (window.is_none() && at < record.facts.detected_at) {
        return Err(WorkflowError::Invalid(vec![(
            String::new(),
            "--at is before the incident was detected".into(),
        )]));
    }
    // Nothing known only to a window is ever called on time unless the whole window is; a
    // window that straddles the due instant is indeterminate, and only a certain lateness asks
    // for the reasons for the delay.
    let verdict = match &o.due {
        crate::domain::deadline::Due::At { at: due, until, .. } => {
            Some(deadline::judge_between(*due, *until, at, window))
        }
        _ => None,
    };
    let late_by_minutes = match verdict {
        Some(Verdict::Late { minutes, .. }) => Some(minutes),
        _ => None,
    };
    // What is filed is what was approved: the latest approved version of its document. A late
    // filing's version must give the reasons for the delay (UK GDPR Art 33(1)); a version
    // prepared before the deadline passed cannot, as its template leaves them out while on time.
    let approved = record.approved_for(&o.id);
    if let (Some(d), crate::domain::deadline::Due::At { at: due, .. }) = (approved, &o.due)
        && late_by_minutes.is_some()
        && d.rendered_at <= *due
    {
        return Err(WorkflowError::NotApproved(format!(
            "{} is filed after its due instant ({}), but {} version {} was prepared before then and does not give the reasons for the delay (UK GDPR Art 33(1)): record them (`incident update` with details.delay_reasons), render {} again, approve it, then file",
            o.id,
            due.to_rfc3339(),
            d.document,
            d.version,
            d.document
        )));
    }
    let document = approved.map(|d| crate::domain::document::DocumentRef {
        document: d.document.clone(),
        version: d.version,
        sha256: d.sha256.clone(),
    });
    // A filing cannot predate the approval of the version it files.
    if let Some(approved) = record.approved_for(&o.id).and_then(|d| d.approval.as_ref())
        && last < approved.at
    {
        return Err(WorkflowError::Invalid(vec![(
            String::new(),
            format!(
                "{} cannot be {} at {}: the version it {} was approved at {}, later (check --at and --now)",
                o.id,
                if request.sent { "sent" } else { "filed" },
                last.to_rfc3339(),
                if request.sent { "sends" } else { "files" },
                approved.at.to_rfc3339()
            ),
        )]));
    }
    if request.document_required && document.is_none() {
        return Err(WorkflowError::NotApproved(format!(
            "{} has no approved document: render it (`breachflow render {} DOC`), then `breachflow approve`; only an approved version can be {}",
            o.id,
            record.id,
            if request.sent { "sent" } else { "filed" }
        )));
    }
    // A reason for delay written into the approved report stands unless another is given.
    let late_reason = non_blank(request.late_reason.as_deref())
        .or_else(|| non_blank(record.facts.details.delay_reasons.as_deref()));
    if late_by_minutes.is_some() && late_reason.is_none() {
        return Err(WorkflowError::ReasonRequired(format!(
            "{} is completed after its due instant, so --late-reason is required (UK GDPR Art 33(1): a late notification must give the reasons for the delay)",
            o.id
        )));
    }
    let kinds = vec![EventKind::ObligationCompleted {
        obligation: o.id.clone(),
        state: if request.sent {
            ObligationState::Sent
        } else {
            ObligationState::Filed
        },
        completion: Completion {
            at,
            reference: non_blank(request.reference.as_deref()),
            by: actor.to_string(),
            due: o.due.clone(),
            late_by_minutes,
            late_reason,
            document,
            acknowledged_at: None,
            precision: request.at.precision(),
            window,
        },
    }];
    Ok(with_refresh(record, kinds, rules, now, actor))
}

/// Records the recipient's reference (and acknowledgement) on an obligation already filed or
/// sent: the ICO gives its case reference after the initial report, and a follow-up quotes it.
pub fn record_reference(
    record: &IncidentRecord,
    wanted: &str,
    reference: &str,
    acknowledged_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Vec<EventKind>, WorkflowError> {
    let o = find_obligation(record, wanted)?;
    let Some(completion) = o.completion.as_ref() else {
        return Err(WorkflowError::Invalid(vec![(
            String::new(),
            format!(
                "{} is {}: a reference is recorded on a filed or sent obligation (`obligation complete` takes --reference)",
                o.id, o.state
            ),
        )]));
    };
    let Some(reference) = non_blank(Some(reference)) else {
        return Err(WorkflowError::Invalid(vec![(
            String::new(),
            "--reference is empty".into(),
        )]));
    };
    let mut problems = Vec::new();
    if let Some(old) = &completion.reference
        && *old != reference
    {
        problems.push((
            String::new(),
            format!(
                "{} already has the reference {old:?}; a reference is not replaced",
                o.id
            ),
        ));
    }
    if let Some(at) = acknowledged_at {
        if at > now {
            problems.push((
                String::new(),
                format!("--acknowledged-at {} is in the future", at.to_rfc3339()),
            ));
        }
        if at < completion.at {
            problems.push((
                String::new(),
                format!(
                    "--acknowledged-at {} is before the filing ({})",
                    at.to_rfc3339(),
                    completion.at.to_rfc3339()
                ),
            ));
        }
    }
    invalid_if_any(problems)?;
    if completion.reference.as_deref() == Some(reference.as_str()) && acknowledged_at.is_none() {
        return Ok(Vec::new());
    }
    Ok(vec![EventKind::ReferenceRecorded {
        obligation: o.id.clone(),
        reference,
        acknowledged_at,
    }])
}

/// Decides that an obligation is not required: a reason and a named person are required.
pub fn waive(
    record: &IncidentRecord,
    wanted: &str,
    reason: Option<&str>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Vec<EventKind>, WorkflowError> {
    refuse_if_closed(record, Step::Assess)?;
    let o = find_obligation(record, wanted)?;
    if !o.state.is_open() {
        return Err(WorkflowError::Invalid(vec![(
            String::new(),
            format!(
                "{} is {}; only an obligation still owed can be waived",
                o.id, o.state
            ),
        )]));
    }
    let Some(reason) = non_blank(reason) else {
        return Err(WorkflowError::ReasonRequired(format!(
            "waiving {} needs --reason: deciding a duty is not required is part of the record",
            o.id
        )));
    };
    if by.trim().is_empty() {
        return Err(WorkflowError::ReasonRequired(
            "name the person who decided (--by)".into(),
        ));
    }
    Ok(vec![EventKind::ObligationWaived {
        obligation: o.id.clone(),
        waiver: Waiver {
            reason,
            by: by.trim().to_string(),
            at: now,
            by_decision: false,
        },
    }])
}

#[cfg(test)]
mod tests {
    //! Properties of the workflow as a whole: whatever the sequence of commands, the incident
    //! never reaches an invalid state, refusals change nothing, and replaying the events rebuilds
    //! the record exactly.

    use super::*;
    use crate::domain::event::Event;
    use crate::domain::incident::IncidentId;
    use proptest::prelude::*;

    fn facts() -> IncidentFacts {
        serde_json::from_str(include_str!("../../examples/incident-ransomware.json")).unwrap()
    }

    fn assessment(variant: u8) -> AssessmentInput {
        let mut a: serde_json::Value =
            serde_json::from_str(include_str!("../../examples/assessment-ransomware.json"))
                .unwrap();
        match variant % 4 {
            0 => {}
            1 => a["data_categories"] = serde_json::json!(["health"]),
            2 => {
                a["circumstances"] = serde_json::json!({
                    "confidentiality": "exposure", "integrity": "none",
                    "availability": "none", "malicious": false
                });
                a["identifiability"] = "limited".into();
            }
            _ => {
                a["override_level"] = serde_json::json!({"level": "high", "reason": "policy"});
            }
        }
        serde_json::from_value(a).unwrap()
    }

    #[derive(Debug, Clone)]
    enum Command {
        Update(i64),
        Assess(u8),
        Decide {
            accept: bool,
            ico: Option<bool>,
            subjects: Option<bool>,
            reason: bool,
        },
        Step(Step, bool),
        /// Complete the i-th obligation, late or not, with or without a late reason.
        Complete(usize, bool),
        Waive(usize),
    }

    fn command() -> impl Strategy<Value = Command> {
        let step = prop::sample::select(Step::ALL.to_vec());
        prop_oneof![
            (-3i64..3).prop_map(Command::Update),
            any::<u8>().prop_map(Command::Assess),
            (
                any::<bool>(),
                prop::option::of(any::<bool>()),
                prop::option::of(any::<bool>()),
                any::<bool>()
            )
                .prop_map(|(accept, ico, subjects, reason)| Command::Decide {
                    accept,
                    ico,
                    subjects,
                    reason
                }),
            (step, any::<bool>()).prop_map(|(s, r)| Command::Step(s, r)),
            (0usize..8, any::<bool>()).prop_map(|(i, r)| Command::Complete(i, r)),
            (0usize..8).prop_map(Command::Waive),
        ]
    }

    fn org() -> Organisation {
        serde_json::from_str(include_str!("../../examples/organisation.json")).unwrap()
    }

    fn run(
        record: &IncidentRecord,
        command: &Command,
        now: DateTime<Utc>,
        rules: &Rules<'_>,
    ) -> Result<Vec<EventKind>, WorkflowError> {
        match command {
            Command::Update(hours) => {
                let aware = record.facts.aware_at + chrono::Duration::hours(*hours);
                update(
                    record,
                    &IncidentUpdate {
                        aware_at: Some(aware),
                        ..IncidentUpdate::default()
                    },
                    rules,
                    now,
                    "dpo",
                )
            }
            Command::Assess(v) => assess(record, &assessment(*v), rules, now, "dpo"),
            Command::Decide {
                accept,
                ico,
                subjects,
                reason,
            } => decide(
                record,
                &DecideRequest {
                    accept: *accept,
                    notify_ico: *ico,
                    tell_subjects: *subjects,
                    reason: reason.then(|| "because".to_string()),
                },
                rules,
                now,
                "dpo",
            ),
            Command::Step(step, reason) => transition(record, *step, reason.then_some("because")),
            Command::Complete(i, reason) => {
                let Some(o) = record.obligations.get(*i) else {
                    return Ok(Vec::new());
                };
                complete(
                    record,
                    &CompleteRequest {
                        obligation: o.id.clone(),
                        at: Known::At(now),
                        reference: None,
                        late_reason: reason.then(|| "because".to_string()),
                        sent: false,
                        document_required: false,
                    },
                    rules,
                    now,
                    "dpo",
                )
            }
            Command::Waive(i) => {
                let Some(o) = record.obligations.get(*i) else {
                    return Ok(Vec::new());
                };
                waive(record, &o.id, Some("not required"), "dpo", now)
            }
        }
    }

    fn check_invariants(r: &IncidentRecord) {
        use State::*;
        if r.state != Detected {
            assert!(
                !r.assessments.is_empty(),
                "{} without an assessment",
                r.state
            );
        }
        if matches!(r.state, Decided | Notifying | Monitoring | Closed) {
            assert!(!r.decisions.is_empty(), "{} without a decision", r.state);
        }
        for d in &r.decisions {
            assert!(d.decision.assessment_version as usize <= r.assessments.len());
            if !d.decision.follows_recommendation {
                assert!(d.decision.reason.is_some(), "override without a reason");
            }
        }
        for (i, a) in r.assessments.iter().enumerate() {
            assert_eq!(a.version as usize, i + 1);
        }
        // Re-assessing and re-deciding never duplicate an obligation.
        let mut ids: Vec<_> = r.obligations.iter().map(|o| o.id.as_str()).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate obligations");
        // A closed incident owes nothing.
        if r.state == State::Closed {
            assert_eq!(r.open_obligations().count(), 0);
        }
        assert!(r.facts.aware_at >= r.facts.detected_at);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn random_command_sequences_stay_valid_and_replay_exactly(
            commands in prop::collection::vec(command(), 0..40)
        ) {
            let now: DateTime<Utc> = "2024-04-03T12:00:00Z".parse().unwrap();
            let org = org();
            let book = Rulebook::load(None).unwrap();
            let rules = Rules { org: &org, rulebook: &book };
            let id = IncidentId { year: 2024, number: 1 };
            let mut log: Vec<Event> = Vec::new();
            let mut record: Option<IncidentRecord> = None;
            let push = |kind: EventKind, record: &mut Option<IncidentRecord>, log: &mut Vec<Event>| {
                let mut event = Event {
                    seq: log.len() as u64 + 1,
                    incident: Some(id),
                    version: log.len() as u64 + 1,
                    at: now,
                    actor: "dpo".into(),
                    what: kind,
                    recorded_at: None,
                    identity: None,
                    user: None,
                    seal: Default::default(),
                };
                let prev = log.last().map(|e| e.seal.clone()).unwrap_or_default();
                let (h, c) = if log.is_empty() {
                    (crate::domain::audit::GENESIS.to_string(), crate::domain::audit::GENESIS.to_string())
                } else {
                    (prev.hash, prev.chain)
                };
                crate::domain::audit::seal_incident(&mut event, &c);
                crate::domain::log::Head { next_seq: event.seq, last_hash: h, last_recorded: None }.link(&mut event);
                *record = Some(IncidentRecord::apply(record.take(), &event).expect("apply"));
                log.push(event);
            };
            for kind in open(&facts(), now).unwrap() {
                push(kind, &mut record, &mut log);
            }
            for command in &commands {
                let before = record.clone().unwrap();
                match run(&before, command, now, &rules) {
                    Ok(kinds) => {
                        for kind in kinds {
                            push(kind, &mut record, &mut log);
                        }
                    }
                    Err(WorkflowError::Blocked(open)) => {
                        prop_assert!(!open.is_empty());
                        prop_assert_eq!(record.as_ref().unwrap(), &before);
                    }
                    Err(WorkflowError::Refused(refused)) => {
                        prop_assert_eq!(refused.state, before.state);
                        prop_assert!(!refused.allowed.contains(&refused.step));
                        prop_assert_eq!(record.as_ref().unwrap(), &before);
                    }
                    Err(_) => prop_assert_eq!(record.as_ref().unwrap(), &before),
                }
                let current = record.as_ref().unwrap();
                check_invariants(current);
                prop_assert_eq!(current.version, log.len() as u64);
            }
            let replayed = IncidentRecord::replay(&log).unwrap();
            prop_assert_eq!(replayed.as_ref(), record.as_ref());
            // The sealed log verifies, store-wide and as one incident's chain.
            let mut verifier = crate::domain::audit::Verifier::default();
            for e in &log {
                prop_assert!(verifier.next(e.seq, e).is_ok());
            }
            prop_assert!(crate::domain::audit::verify_incident(&log).is_ok());
            // Derivation is at a fixed point: nothing more follows from the final record.
            prop_assert!(refresh(record.as_ref().unwrap(), &rules, now, "dpo").is_empty());
        }
    }
}
