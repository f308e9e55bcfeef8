//! Obligations: what is owed to whom by when, for one incident.
//!
//! They are derived from the regimes in force on the day of awareness, the organisation's flags
//! and the current assessment, as soon as an assessment exists, so an undecided duty is always
//! visible. The regime's terms are copied onto the obligation: a later edit of a regime file
//! never rewrites a past case. Due instants are recomputed when a fact a clock depends on
//! changes, until the obligation is first filed or sent; then its due instant and lateness are
//! frozen. "Overdue" is derived from the clock when asked, never stored.
//!
//! Longer than our ~600-line guide: derivation, due recomputation and warning levels belong to
//! one type and are easier to check together.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::assessment::RiskLevel;
use crate::domain::deadline::{self, Calendars, Due, Precision, Verdict, Window};
use crate::domain::decision::Decision;
use crate::domain::organisation::{
    ControllerRole, HipaaRole, Market, Nis2Role, NisRole, Organisation, eu_member_state,
};
use crate::domain::regime::{Anchor, AuthorityRule, DecisionLink, OrgFlag, Phase, Regime};

/// Where an obligation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObligationState {
    /// Owed; nothing drafted yet.
    Pending,
    /// A document has been drafted.
    Drafted,
    /// The document has been approved.
    Approved,
    /// Sent (a notice).
    Sent,
    /// Filed (a report to an authority).
    Filed,
    /// The recipient acknowledged it.
    Acknowledged,
    /// Decided not required, with a reason and a named person.
    Waived,
    /// The regime no longer applies after re-assessment; kept for the record.
    Retired,
}

impl ObligationState {
    /// Still owed: blocks closing the incident.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ObligationState::Pending | ObligationState::Drafted | ObligationState::Approved
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ObligationState::Pending => "pending",
            ObligationState::Drafted => "drafted",
            ObligationState::Approved => "approved",
            ObligationState::Sent => "sent",
            ObligationState::Filed => "filed",
            ObligationState::Acknowledged => "acknowledged",
            ObligationState::Waived => "waived",
            ObligationState::Retired => "retired",
        }
    }
}

impl std::fmt::Display for ObligationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One obligation of one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Obligation {
    /// `<regime id>/<phase id>`, e.g. `uk-gdpr-art33/initial`.
    pub id: String,
    pub regime: String,
    pub regime_name: String,
    pub jurisdiction: String,
    pub citation: String,
    pub recipient: String,
    pub owner_role: String,
    /// The phase's terms as they were when the obligation arose.
    pub phase: Phase,
    /// The obligation whose completion starts this one's clock, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub unverified: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows_decision: Option<DecisionLink>,
    pub state: ObligationState,
    pub due: Due,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<Completion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
    /// Why it no longer applies, when retired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_because: Option<String>,
    /// When the obligation arose (the assessment or decision that created it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arose_at: Option<DateTime<Utc>>,
    /// Whether its threshold is met is not known from the facts recorded (a count that
    /// straddles it): why, and what would settle it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indeterminate: Option<String>,
}

/// A filing or sending, with lateness frozen at that moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Completion {
    /// When it was filed or sent.
    pub at: DateTime<Utc>,
    /// The recipient's reference (e.g. the ICO case reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Who recorded it.
    pub by: String,
    /// The due instant at the time of completion (frozen).
    pub due: Due,
    /// Minutes after the statutory due instant; none when on time or with no statutory deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_by_minutes: Option<i64>,
    /// The reasons for the delay (UK GDPR Art 33(1)); required when late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_reason: Option<String>,
    /// The approved document version filed or sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<crate::domain::document::DocumentRef>,
    /// When the recipient acknowledged it, if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// How precisely `at` is known (absent: to the minute). Known only to a day or a month, or
    /// not at all, `at` is the window's earliest instant and `window` its bounds.
    #[serde(default, skip_serializing_if = "Precision::is_instant")]
    pub precision: Precision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
}

impl Completion {
    /// On time, late, or indeterminate against the statutory due instant frozen with it; none
    /// where the law sets no number.
    pub fn verdict(&self) -> Option<Verdict> {
        match &self.due {
            Due::At { at, until, .. } => {
                let verdict = deadline::judge_between(*at, *until, self.at, self.window);
                // A time that was never recorded is never reported as on time: its window ends
                // at the effective time it was entered, which a person chooses (`--now`).
                Some(match (verdict, self.precision) {
                    (Verdict::OnTime, Precision::Unknown) => Verdict::Indeterminate {
                        early: self
                            .window
                            .map_or(0, |w| (until.unwrap_or(*at) - w.earliest).num_minutes()),
                        late: 0,
                    },
                    (verdict, _) => verdict,
                })
            }
            _ => None,
        }
    }

    /// When it happened, as precisely as it is known, for reports: "on Tue 2 Apr 2024
    /// (time not recorded)".
    pub fn when_words(&self, zone: Tz) -> String {
        let local = |t: DateTime<Utc>| t.with_timezone(&zone);
        match (self.precision, self.window) {
            (Precision::Day, Some(w)) => format!(
                "on {} (time not recorded)",
                local(w.earliest).format("%a %-d %b %Y")
            ),
            (Precision::Month, Some(w)) => format!(
                "in {} (day not recorded)",
                local(w.earliest).format("%B %Y")
            ),
            (Precision::Unknown, Some(w)) => format!(
                "at an unrecorded time between {} and {}",
                deadline::local(w.earliest, zone),
                deadline::local(w.latest, zone)
            ),
            _ => deadline::local(self.at, zone),
        }
    }
}

/// A decision that an obligation is not required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Waiver {
    pub reason: String,
    /// The named person who decided.
    pub by: String,
    pub at: DateTime<Utc>,
    /// True when it follows from the DPO's notification decision.
    #[serde(default)]
    pub by_decision: bool,
}

/// A changed due instant, with the old and new values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DueChange {
    pub obligation: String,
    pub old: Due,
    pub new: Due,
}

/// What derivation changes on an incident's obligations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ObligationChanges {
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub added: Vec<Obligation>,
    /// (obligation, reason) pairs that no longer apply.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub retired: Vec<(String, String)>,
    /// Retired obligations that apply again.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub revived: Vec<String>,
    /// Waived by the DPO's decision.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub waived: Vec<(String, Waiver)>,
    /// Waived by an earlier decision, owed again under a new one.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub unwaived: Vec<String>,
    /// Obligations whose threshold became indeterminate (with why) or was settled (none).
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub thresholds: Vec<(String, Option<String>)>,
}

impl ObligationChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.retired.is_empty()
            && self.revived.is_empty()
            && self.waived.is_empty()
            && self.unwaived.is_empty()
            && self.thresholds.is_empty()
    }
}

/// The organisation's flags as regimes test them.
pub fn org_flags(org: &Organisation) -> BTreeSet<OrgFlag> {
    let f = &org.flags;
    let mut set = BTreeSet::new();
    set.insert(match org.role {
        ControllerRole::Controller => OrgFlag::Controller,
        ControllerRole::Processor => OrgFlag::Processor,
    });
    let mut add = |cond: bool, flag| {
        if cond {
            set.insert(flag);
        }
    };
    add(f.communications_provider, OrgFlag::CommunicationsProvider);
    add(
        f.nis == NisRole::OperatorOfEssentialServices,
        OrgFlag::NisOperatorOfEssentialServices,
    );
    add(
        f.nis == NisRole::DigitalServiceProvider,
        OrgFlag::NisDigitalServiceProvider,
    );
    add(f.nis2 != Nis2Role::None, OrgFlag::Nis2Entity);
    add(f.markets.contains(&Market::Aim), OrgFlag::ListedAim);
    add(
        f.markets.contains(&Market::MainMarket),
        OrgFlag::ListedMainMarket,
    );
    add(
        f.markets.contains(&Market::UsExchange),
        OrgFlag::ListedUsExchange,
    );
    add(f.sec_registrant, OrgFlag::SecRegistrant);
    add(org.has_eu_establishment(), OrgFlag::EuEstablishment);
    add(f.financial_entity, OrgFlag::FinancialEntity);
    add(f.fca_regulated, OrgFlag::FcaRegulated);
    add(
        f.hipaa == HipaaRole::CoveredEntity,
        OrgFlag::HipaaCoveredEntity,
    );
    add(
        f.hipaa == HipaaRole::BusinessAssociate,
        OrgFlag::HipaaBusinessAssociate,
    );
    add(f.australian_privacy_act, OrgFlag::AustralianPrivacyAct);
    add(
        f.establishments.iter().any(|c| c == "GB"),
        OrgFlag::UkEstablishment,
    );
    add(f.targets_uk, OrgFlag::TargetsUk);
    add(f.targets_eu, OrgFlag::TargetsEu);
    set
}

/// What the assessment says, as regimes test it.
#[derive(Debug, Clone, Copy)]
pub struct Exposure {
    pub level: RiskLevel,
    pub subjects_upper: u64,
    /// The lower bound of the number of people (the estimate itself when it is one number).
    pub subjects_lower: u64,
    /// Residents of the most affected US State, (largest lower bound, largest upper bound), if
    /// counts per State were given.
    pub one_state: Option<(u64, u64)>,
}

/// Where a regime applies only on the upper bound of what is known (the number of people is a
/// range that straddles its threshold), the words that say so and which fact would settle it.
/// The obligation is derived meanwhile, so its clock runs from its anchor as the law says; it is
/// shown as indeterminate, never as certainly owed or certainly not.
pub fn indeterminate(
    regime: &Regime,
    exposure: Exposure,
    decision: Option<&Decision>,
) -> Option<String> {
    if let (Some(link), Some(d)) = (regime.follows_decision, decision)
        && says(d, link)
    {
        return None;
    }
    if let Some(min) = regime.applies.min_in_one_state {
        let n = crate::domain::assessment::thousands;
        return match exposure.one_state {
            None if exposure.subjects_upper >= min => Some(format!(
                "threshold indeterminate: the rule is {} or more residents of one State, and the assessment gives no count per State (residents_by_state); the residents per State would settle it (the clock runs meanwhile)",
                n(min)
            )),
            Some((lower, upper)) if lower < min && upper >= min => Some(format!(
                "threshold indeterminate: the rule is {} or more residents of one State, and the most affected State has {} to {}; its exact count would settle it (the clock runs meanwhile)",
                n(min),
                n(lower),
                n(upper)
            )),
            _ => None,
        };
    }
    let min = regime.applies.min_subjects?;
    (exposure.subjects_lower < min && exposure.subjects_upper >= min).then(|| {
        format!(
            "threshold indeterminate: the rule is {} or more people, and the assessment says {} to {}; the number of people affected would settle it (the clock runs meanwhile)",
            crate::domain::assessment::thousands(min),
            crate::domain::assessment::thousands(exposure.subjects_lower),
            crate::domain::assessment::thousands(exposure.subjects_upper)
        )
    })
}

/// Whether a regime applies, and why not when it does not.
pub fn applies(
    regime: &Regime,
    flags: &BTreeSet<OrgFlag>,
    exposure: Exposure,
    decision: Option<&Decision>,
) -> Result<(), String> {
    let a = &regime.applies;
    if !a.org_any.is_empty() && !a.org_any.iter().any(|f| flags.contains(f)) {
        return Err(format!(
            "the organisation's profile is not {}",
            flag_names(&a.org_any, " or ")
        ));
    }
    if let Some(missing) = a.org_all.iter().find(|f| !flags.contains(f)) {
        return Err(format!(
            "the organisation's profile is not {}",
            flag_names(std::slice::from_ref(missing), "")
        ));
    }
    if !a.territory_any.is_empty() && !a.territory_any.iter().any(|f| flags.contains(f)) {
        return Err(format!(
            "outside its territorial scope: the organisation's profile has neither {}",
            flag_names(&a.territory_any, " nor ")
        ));
    }
    let threshold = (|| {
        if let Some(min) = a.min_risk
            && exposure.level < min
        {
            return Err(format!("the risk level is {}, below {min}", exposure.level));
        }
        if let Some(min) = a.min_subjects
            && exposure.subjects_upper < min
        {
            return Err(format!(
                "at most {} people are affected, fewer than {min}",
                exposure.subjects_upper
            ));
        }
        if let Some(min) = a.min_in_one_state {
            // Without counts per State, all the people could live in one: the cautious reading.
            let most = exposure
                .one_state
                .map_or(exposure.subjects_upper, |(_, u)| u);
            if most < min {
                return Err(format!(
                    "at most {most} residents of any one State are affected, fewer than {min}"
                ));
            }
        }
        if let Some(below) = a.below_subjects
            && exposure.subjects_upper >= below
        {
            return Err(format!("{} or more people are affected", below));
        }
        Ok(())
    })();
    match (regime.follows_decision, decision) {
        (Some(link), Some(d)) if says(d, link) => Ok(()),
        _ => threshold,
    }
}

/// Profile flags by the names the files use: "uk_establishment or targets_uk".
fn flag_names(flags: &[OrgFlag], sep: &str) -> String {
    flags
        .iter()
        .map(OrgFlag::name)
        .collect::<Vec<_>>()
        .join(sep)
}

fn says(decision: &Decision, link: DecisionLink) -> bool {
    match link {
        DecisionLink::NotifyIco => decision.notify_ico,
        DecisionLink::TellSubjects => decision.tell_subjects,
    }
}

/// Everything derivation needs, gathered by the caller.
pub struct Context<'a> {
    pub regimes: Vec<&'a Regime>,
    /// The awareness instant, which names the instrument a continuous duty is cited under.
    pub aware_at: DateTime<Utc>,
    /// The instant of the step being derived (when a new obligation arises).
    pub now: DateTime<Utc>,
    pub flags: BTreeSet<OrgFlag>,
    pub exposure: Exposure,
    pub decision: Option<&'a Decision>,
    /// Who decided, for waivers that follow the decision.
    pub decided_by: Option<(&'a str, DateTime<Utc>)>,
    pub zone: Tz,
    pub calendars: &'a Calendars,
    /// Where the organisation is established and the affected people live.
    pub territory: Territory,
    /// The clock-starting instants recorded so far (for significance gates).
    pub triggered: BTreeSet<Anchor>,
    /// Awareness known only to a day or a month: its window, from which clocks run.
    pub aware_window: Option<deadline::Window>,
}

/// Whether a regime applies in this context: `applies`, then its significance gate.
pub fn applies_in(regime: &Regime, context: &Context<'_>) -> Result<(), String> {
    applies(regime, &context.flags, context.exposure, context.decision)?;
    match regime.applies.requires_trigger {
        Some(gate) if !context.triggered.contains(&gate) => Err(format!(
            "{} has not been recorded (`breachflow incident trigger ID {}`)",
            gate.as_str(),
            gate.as_str()
        )),
        _ => Ok(()),
    }
}

/// The facts that decide which authority is notified.
#[derive(Debug, Clone, Default)]
pub struct Territory {
    /// The EU member state whose authority leads (main establishment), if any.
    pub eu_lead: Option<String>,
    /// Countries where affected people reside (ISO codes), from the assessment.
    pub affected: Vec<String>,
}

/// One recipient of a regime: the obligation ids' prefix and who is told.
struct Instance {
    prefix: String,
    recipient: String,
}

/// The recipients a regime's obligations go to: once, or once per authority.
fn instances(regime: &Regime, territory: &Territory) -> Vec<Instance> {
    let once = |recipient: String| {
        vec![Instance {
            prefix: regime.id.clone(),
            recipient,
        }]
    };
    match regime.authority {
        None => once(regime.recipient.clone()),
        Some(AuthorityRule::EuOneStopShop) => {
            if let Some(lead) = &territory.eu_lead {
                let name = eu_member_state(lead).unwrap_or(lead.as_str());
                return once(format!(
                    "Lead supervisory authority (GDPR Art 56): the authority of {name} ({lead}), the main establishment's member state"
                ));
            }
            let mut states: Vec<&String> = territory
                .affected
                .iter()
                .filter(|c| eu_member_state(c).is_some())
                .collect();
            states.sort();
            states.dedup();
            if states.is_empty() {
                return once(
                    "Every supervisory authority of a member state where affected people reside (no EU main establishment: EDPB GL 9/2022 para 73); name their countries in the assessment's affected_countries".into(),
                );
            }
            states
                .into_iter()
                .map(|cc| Instance {
                    prefix: format!("{}-{}", regime.id, cc.to_ascii_lowercase()),
                    recipient: format!(
                        "Supervisory authority of {} ({cc}): no EU main establishment, so each member state where affected people reside (EDPB GL 9/2022 para 73)",
                        eu_member_state(cc).unwrap_or(cc.as_str())
                    ),
                })
                .collect()
        }
    }
}

/// Obligations to add, retire, revive, waive or unwaive so that the incident's obligations match
/// the regimes. Never duplicates an obligation and never undoes a completion or a person's waiver.
pub fn derive(
    existing: &[Obligation],
    context: &Context<'_>,
    anchors: deadline::Anchors<'_>,
) -> ObligationChanges {
    let mut changes = ObligationChanges::default();
    let mut wanted = BTreeSet::new();
    for regime in &context.regimes {
        let verdict = applies_in(regime, context);
        if verdict.is_err() {
            continue;
        }
        let decided_no = match (regime.follows_decision, context.decision) {
            (Some(link), Some(d)) => !says(d, link),
            _ => false,
        };
        let open_question = indeterminate(regime, context.exposure, context.decision);
        for instance in instances(regime, &context.territory) {
            let mut previous: Option<String> = None;
            for phase in &regime.phases {
                // A phase owed only after a recorded step (the FCA notice after a delayed
                // disclosure) is not derived before it.
                if let Some(gate) = phase.only_if
                    && !context.triggered.contains(&gate)
                {
                    continue;
                }
                let id = format!("{}/{}", instance.prefix, phase.id);
                wanted.insert(id.clone());
                if let Some(o) = existing.iter().find(|o| o.id == id)
                    && o.state.is_open()
                    && o.indeterminate != open_question
                {
                    changes.thresholds.push((id.clone(), open_question.clone()));
                }
                match existing.iter().find(|o| o.id == id) {
                    None => {
                        let mut obligation = Obligation {
                            id: id.clone(),
                            regime: regime.id.clone(),
                            regime_name: regime.name_at(context.aware_at),
                            jurisdiction: regime.jurisdiction.clone(),
                            citation: regime.phase_citation_at(phase, context.aware_at),
                            recipient: phase
                                .recipient
                                .clone()
                                .unwrap_or_else(|| instance.recipient.clone()),
                            owner_role: regime.owner_role.clone(),
                            phase: phase.clone(),
                            previous: if phase.anchor == Anchor::PreviousPhase {
                                previous.clone()
                            } else {
                                None
                            },
                            unverified: regime.unverified.clone(),
                            notes: regime.notes.clone(),
                            follows_decision: regime.follows_decision,
                            state: ObligationState::Pending,
                            due: Due::NotStarted {
                                waiting_on: phase.anchor,
                            },
                            completion: None,
                            waiver: None,
                            retired_because: None,
                            arose_at: Some(context.now),
                            indeterminate: open_question.clone(),
                        };
                        obligation.due = due_of(&obligation, existing, anchors, context);
                        if decided_no {
                            obligation.state = ObligationState::Waived;
                            obligation.waiver = Some(decision_waiver(context));
                        }
                        changes.added.push(obligation);
                    }
                    Some(o) if o.state == ObligationState::Retired => {
                        changes.revived.push(id.clone());
                        if decided_no {
                            changes.waived.push((id.clone(), decision_waiver(context)));
                        }
                    }
                    Some(o) if o.state.is_open() && decided_no => {
                        changes.waived.push((id.clone(), decision_waiver(context)));
                    }
                    Some(o)
                        if o.state == ObligationState::Waived
                            && !decided_no
                            && o.waiver.as_ref().is_some_and(|w| w.by_decision) =>
                    {
                        changes.unwaived.push(id.clone());
                    }
                    Some(_) => {}
                }
                previous = Some(id);
            }
        }
    }
    // An open duty that is no longer derived is retired only when the law itself is not in
    // force for this incident (a corrected awareness date) or its authority changed (another
    // obligation replaces it). A duty whose conditions a re-assessment no longer meets stays
    // owed (`unsupported` says why) until a person waives it with a reason, or the DPO's
    // decision it follows says no.
    for o in existing {
        if wanted.contains(&o.id) || !o.state.is_open() {
            continue;
        }
        match context.regimes.iter().find(|r| r.id == o.regime) {
            None => changes.retired.push((
                o.id.clone(),
                "no longer applies: the regime is not in force for this incident".to_string(),
            )),
            Some(r) => match applies_in(r, context) {
                Ok(()) => changes.retired.push((
                    o.id.clone(),
                    "no longer applies: replaced by the obligations to the authorities now identified".to_string(),
                )),
                Err(_) => {
                    if let (Some(link), Some(d)) = (r.follows_decision, context.decision)
                        && !says(d, link)
                    {
                        changes.waived.push((o.id.clone(), decision_waiver(context)));
                    }
                }
            },
        }
    }
    changes
}

/// Open obligations whose regime's conditions the current facts no longer meet, with why: they
/// stay owed (a duty never vanishes by itself) until waived with a reason.
pub fn unsupported(existing: &[Obligation], context: &Context<'_>) -> Vec<(String, String)> {
    existing
        .iter()
        .filter(|o| o.state.is_open())
        .filter_map(|o| {
            let regime = context.regimes.iter().find(|r| r.id == o.regime)?;
            let why = applies_in(regime, context).err()?;
            Some((
                o.id.clone(),
                format!(
                    "stays owed although {why}: a re-assessment does not retire a duty by itself; if it is not owed, waive it with a reason (`breachflow obligation waive`)"
                ),
            ))
        })
        .collect()
}

fn decision_waiver(context: &Context<'_>) -> Waiver {
    let (by, at) = context
        .decided_by
        .unwrap_or(("(unknown)", DateTime::<Utc>::MIN_UTC));
    let reason = context
        .decision
        .and_then(|d| d.reason.clone())
        .or_else(|| context.decision.map(|d| d.recommendation.basis.clone()))
        .unwrap_or_default();
    Waiver {
        reason: format!("Decided not required: {reason}"),
        by: by.to_string(),
        at,
        by_decision: true,
    }
}

/// The due instant of an obligation: its phase's clock, where "previous phase" is the
/// completion of the obligation before it.
pub fn due_of(
    obligation: &Obligation,
    all: &[Obligation],
    anchors: deadline::Anchors<'_>,
    context: &Context<'_>,
) -> Due {
    let previous_done = obligation
        .previous
        .as_ref()
        .and_then(|p| all.iter().find(|o| &o.id == p))
        .and_then(|o| o.completion.as_ref().map(|c| c.at));
    let with_previous = |a: Anchor| match a {
        Anchor::PreviousPhase => previous_done,
        Anchor::DutyArose => obligation.arose_at,
        other => anchors(other),
    };
    if obligation.phase.delayable
        && let Some(delayed) = anchors(Anchor::DisclosureDelayed)
    {
        return delayed_disclosure(delayed, anchors(Anchor::ConfidentialityLost), context.zone);
    }
    deadline::compute_within(
        &obligation.phase,
        &with_previous,
        context.aware_window,
        context.zone,
        context.calendars,
    )
}

/// A disclosure delayed under UK MAR Art 17(4): suspended while the conditions hold, and due at
/// once when confidentiality is lost (Art 17(7), marked † in our reference). "As soon as
/// possible" has no number in law, so the internal target is the instant of the loss: from then
/// on the announcement is overdue against it.
fn delayed_disclosure(delayed: DateTime<Utc>, lost: Option<DateTime<Utc>>, zone: Tz) -> Due {
    let mut explain = vec![format!(
        "Disclosure delayed under UK MAR Art 17(4) at {} ({}): the issuer recorded how each condition is met (legitimate interests, not misleading, confidentiality ensured).",
        deadline::local(delayed, zone),
        delayed.to_rfc3339()
    )];
    match lost {
        Some(lost) => {
            explain.push(format!(
                "Confidentiality lost at {} ({}): the delay has ended and the information must be disclosed as soon as possible (UK MAR Art 17(7) †).",
                deadline::local(lost, zone),
                lost.to_rfc3339()
            ));
            explain.push("Due at once: the internal target is the moment confidentiality was lost (ours; the law says \"as soon as possible\").".into());
            Due::Standard {
                standard: "as soon as possible: confidentiality lost, the delay has ended (UK MAR Art 17(7) †)".into(),
                target: Some(lost.max(delayed)),
                from: lost.max(delayed),
                explain,
            }
        }
        None => {
            explain.push("While the conditions hold, no clock runs; if confidentiality is lost (a leak, or a rumour specific enough) record it with `breachflow incident trigger ID confidentiality_lost` and the disclosure is due at once. When the information is disclosed, tell the FCA that it was delayed.".into());
            Due::Standard {
                standard: "delayed under UK MAR Art 17(4)".into(),
                target: None,
                from: delayed,
                explain,
            }
        }
    }
}

/// Due instants that change for obligations still owed (completed ones are frozen).
pub fn recompute(
    obligations: &[Obligation],
    anchors: deadline::Anchors<'_>,
    context: &Context<'_>,
) -> Vec<DueChange> {
    obligations
        .iter()
        .filter(|o| o.state.is_open())
        .filter_map(|o| {
            let new = due_of(o, obligations, anchors, context);
            (new != o.due).then(|| DueChange {
                obligation: o.id.clone(),
                old: o.due.clone(),
                new,
            })
        })
        .collect()
}

/// How far into its window an open obligation is, for warnings.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// Less than half the window used.
    OnTrack,
    /// Half the window used.
    Half,
    /// Three quarters used.
    ThreeQuarters,
    /// 90% used.
    Final,
    /// Past the due instant (or, for a standard, past the internal target).
    Overdue,
}

impl Warning {
    pub fn as_str(self) -> &'static str {
        match self {
            Warning::OnTrack => "on track",
            Warning::Half => "half the time used",
            Warning::ThreeQuarters => "three quarters used",
            Warning::Final => "final 10%",
            Warning::Overdue => "overdue",
        }
    }
}

/// The warning level at `now`, if the obligation has an instant.
pub fn warning(due: &Due, now: DateTime<Utc>) -> Option<Warning> {
    let at = due.instant()?;
    let from = due.from()?;
    if now > at {
        return Some(Warning::Overdue);
    }
    let window = (at - from).num_seconds().max(1) as f64;
    let used = (now - from).num_seconds() as f64 / window;
    Some(if used >= 0.9 {
        Warning::Final
    } else if used >= 0.75 {
        Warning::ThreeQuarters
    } else if used >= 0.5 {
        Warning::Half
    } else {
        Warning::OnTrack
    })
}
