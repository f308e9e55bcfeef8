//! The incident's use-cases: the organisation profile, intake, fact updates, lifecycle steps,
//! assessment, decision, obligations filed or waived, clock-starting facts.
//!
//! Each is [`apply_step`]: load the record, ask the pure `domain::workflow` for the events (or
//! its refusal), commit them through the `Store` port. Nothing here prints or reads a file.

use chrono::{DateTime, Utc};

use crate::app::input::InputError;
use crate::app::ports::{Change, Committed, Store, StoreError, Subject};
use crate::app::{AppError, Context};
use crate::domain::assessment::AssessmentInput;
use crate::domain::deadline::Known;
use crate::domain::decision::DisclosureDelay;
use crate::domain::event::{Event, EventKind, TriggerFact};
use crate::domain::incident::{FactChange, IncidentFacts, IncidentId, IncidentUpdate};
use crate::domain::lifecycle::{State, Step};
use crate::domain::organisation::Organisation;
use crate::domain::record::IncidentRecord;
use crate::domain::regime::{Anchor, Rulebook};
use crate::domain::workflow::{self, CompleteRequest, DecideRequest, Rules, WorkflowError};
use crate::render::template::TemplateSet;

/// How many times a load, step and commit is tried when another writer changes the incident
/// between the load and the commit.
pub const CONFLICT_ATTEMPTS: usize = 5;

/// Runs `attempt` (load an incident, a pure step, commit) again while its commit finds that the
/// incident changed since it was loaded (`StoreError::Conflict`), up to [`CONFLICT_ATTEMPTS`]
/// tries. A refused commit wrote nothing, so trying again is safe when nothing between the
/// load and the commit acts outside the store: never wrap mail delivery in it.
pub fn retry_on_conflict<T>(
    mut attempt: impl FnMut() -> Result<T, AppError>,
) -> Result<T, AppError> {
    let mut tries = 1;
    loop {
        match attempt() {
            Err(AppError::Store(StoreError::Conflict { .. })) if tries < CONFLICT_ATTEMPTS => {
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Runs a workflow step against an incident and commits what it yields; when another writer
/// changed the incident in between, loads it again and runs the step on what it now is (the
/// step is pure, so running it again is safe). `file` names the input file problems belong
/// to, if the step read one.
pub fn apply_step(
    store: &dyn Store,
    ctx: &Context,
    id: IncidentId,
    file: Option<&str>,
    step: impl Fn(&IncidentRecord) -> Result<Vec<EventKind>, WorkflowError>,
) -> Result<(IncidentRecord, Committed), AppError> {
    retry_on_conflict(|| {
        let record = store.incident(id)?;
        let kinds = step(&record).map_err(|e| AppError::from_workflow(e, file))?;
        if kinds.is_empty() {
            let committed = Committed {
                record: Some(record.clone()),
                events: Vec::new(),
                clock_went_back: None,
            };
            return Ok((record, committed));
        }
        let committed =
            store.commit(Change::new(Subject::Incident(&record), &kinds, ctx.stamp()))?;
        Ok((record, committed))
    })
}

/// `apply_step` for a step that derives obligations from the organisation and the regimes.
fn ruled_step(
    store: &dyn Store,
    ctx: &Context,
    rulebook: &Rulebook,
    id: IncidentId,
    file: Option<&str>,
    step: impl Fn(&IncidentRecord, &Rules<'_>) -> Result<Vec<EventKind>, WorkflowError>,
) -> Result<(IncidentRecord, Committed), AppError> {
    let org = store.require_organisation()?;
    let rules = Rules {
        org: &org,
        rulebook,
    };
    apply_step(store, ctx, id, file, |r| step(r, &rules))
}

/// The record a step left, which a commit of no events leaves as it was.
fn after(before: IncidentRecord, committed: Committed) -> IncidentRecord {
    committed.record.unwrap_or(before)
}

/// Checks and stores the organisation profile. `file` names where it came from, for errors.
pub fn record_organisation(
    store: &dyn Store,
    ctx: &Context,
    file: &str,
    org: Organisation,
    force: bool,
) -> Result<Organisation, AppError> {
    let problems = org.check();
    if !problems.is_empty() {
        return Err(InputError::invalid(file, problems).into());
    }
    let existing = store.organisation()?;
    if existing.is_some() && !force {
        return Err(AppError::Failed(format!(
            "the store at {} already has an organisation profile; use --force to replace it (the old one stays in the event log)",
            store.location().display()
        )));
    }
    store.commit(Change::new(
        Subject::Organisation(&org),
        &[EventKind::OrganisationRecorded {
            organisation: org.clone(),
            replaced: existing.is_some(),
        }],
        ctx.stamp(),
    ))?;
    Ok(org)
}

/// Checks and stores a new incident, numbered by the year in the organisation's zone: an
/// incident opened at 00:30 BST on 1 January is a new year's incident to the people handling it.
pub fn open(
    store: &dyn Store,
    ctx: &Context,
    file: &str,
    facts: &IncidentFacts,
) -> Result<IncidentRecord, AppError> {
    let org = store.require_organisation()?;
    let kinds =
        workflow::open(facts, ctx.now).map_err(|e| AppError::from_workflow(e, Some(file)))?;
    let year = ctx.now.with_timezone(&org.zone()).format("%Y").to_string();
    let year: u16 = year
        .parse()
        .map_err(|_| AppError::InvalidArgs(format!("the year {year} cannot number an incident")))?;
    let committed = store.commit(Change::new(
        Subject::NewIncident { year },
        &kinds,
        ctx.stamp(),
    ))?;
    committed
        .record
        .ok_or_else(|| AppError::Failed("the incident was not recorded".into()))
}

/// Every incident, or those in `state`, in the order of their ids.
pub fn list(store: &dyn Store, state: Option<State>) -> Result<Vec<IncidentRecord>, AppError> {
    let mut records = Vec::new();
    for record in store.incidents() {
        let record = record?;
        if state.is_none_or(|s| s == record.state) {
            records.push(record);
        }
    }
    Ok(records)
}

/// One incident and its events.
pub fn show(store: &dyn Store, id: IncidentId) -> Result<(IncidentRecord, Vec<Event>), AppError> {
    Ok((store.incident(id)?, store.events_for(id)?))
}

/// What `update` changed.
pub struct Updated {
    pub record: Option<IncidentRecord>,
    pub changes: Vec<FactChange>,
}

/// Corrects facts; obligations and due instants follow.
pub fn update(
    store: &dyn Store,
    ctx: &Context,
    rulebook: &Rulebook,
    id: IncidentId,
    file: &str,
    update: &IncidentUpdate,
) -> Result<Updated, AppError> {
    let (_, committed) = ruled_step(store, ctx, rulebook, id, Some(file), |r, rules| {
        workflow::update(r, update, rules, ctx.now, &ctx.actor)
    })?;
    let changes = committed
        .events
        .iter()
        .flat_map(|e| match &e.what {
            EventKind::FactsUpdated { changes, .. } => changes.clone(),
            _ => Vec::new(),
        })
        .collect();
    Ok(Updated {
        record: committed.record,
        changes,
    })
}

/// A manual lifecycle step; the states before and after.
pub fn transition(
    store: &dyn Store,
    ctx: &Context,
    id: IncidentId,
    step: Step,
    reason: Option<&str>,
) -> Result<(State, State), AppError> {
    let (before, committed) = apply_step(store, ctx, id, None, |r| {
        workflow::transition(r, step, reason)
    })?;
    let from = before.state;
    Ok((from, after(before, committed).state))
}

/// A new version of the exposure assessment.
pub fn assess(
    store: &dyn Store,
    ctx: &Context,
    rulebook: &Rulebook,
    id: IncidentId,
    file: &str,
    assessment: &AssessmentInput,
) -> Result<Assessed, AppError> {
    let org = store.require_organisation()?;
    let rules = Rules {
        org: &org,
        rulebook,
    };
    let (before, committed) = apply_step(store, ctx, id, Some(file), |r| {
        workflow::assess(r, assessment, &rules, ctx.now, &ctx.actor)
    })?;
    let record = after(before, committed);
    let kept = workflow::kept_duties(&record, &rules, ctx.now);
    Ok(Assessed { record, kept })
}

/// What a new assessment left: the record, and the duties still owed that its facts no longer
/// support, each with why it stays (a re-assessment never retires a duty by itself).
pub struct Assessed {
    pub record: IncidentRecord,
    pub kept: Vec<(String, String)>,
}

/// The DPO's decision on notification.
pub fn decide(
    store: &dyn Store,
    ctx: &Context,
    rulebook: &Rulebook,
    id: IncidentId,
    request: &DecideRequest,
) -> Result<IncidentRecord, AppError> {
    let (before, committed) = ruled_step(store, ctx, rulebook, id, None, |r, rules| {
        workflow::decide(r, request, rules, ctx.now, &ctx.actor)
    })?;
    Ok(after(before, committed))
}

/// What `complete` is told about a filing or sending.
pub struct Completion {
    pub obligation: String,
    /// When it happened, as precisely as it is known; the effective time if not given.
    pub at: Option<Known>,
    pub reference: Option<String>,
    pub late_reason: Option<String>,
    pub sent: bool,
}

/// Records an obligation as filed or sent. A duty one of the templates discharges is filed only
/// with an approved version.
pub fn complete(
    store: &dyn Store,
    ctx: &Context,
    rulebook: &Rulebook,
    templates: &TemplateSet,
    id: IncidentId,
    completion: Completion,
) -> Result<IncidentRecord, AppError> {
    // `--at` says when the filing happened: that is the event's effective time, and the store
    // records it now, so a filing entered days later reads as "recorded later". Known only to a
    // day or a month, the end of that period (or now, if sooner) is the effective time: the
    // filing had happened by then. Not known at all, it is now.
    let org = store.require_organisation()?;
    let effective_at = match completion.at {
        Some(Known::At(t)) => t,
        Some(k) => k
            .window(org.zone())
            .map_or(ctx.now, |w| w.latest.min(ctx.now)),
        None => ctx.now,
    };
    let effective = Context {
        now: effective_at,
        ..ctx.clone()
    };
    let (before, committed) = ruled_step(store, &effective, rulebook, id, None, |r, rules| {
        let o = workflow::find_obligation(r, &completion.obligation)?;
        let document_required = templates.serving(&o.id).next().is_some()
            || r.documents.iter().any(|d| d.serves.contains(&o.id));
        let request = CompleteRequest {
            obligation: o.id.clone(),
            at: completion.at.unwrap_or(Known::At(ctx.now)),
            reference: completion.reference.clone(),
            late_reason: completion.late_reason.clone(),
            sent: completion.sent,
            document_required,
        };
        workflow::complete(r, &request, rules, ctx.now, &ctx.actor)
    })?;
    Ok(after(before, committed))
}

/// Records an obligation as not required, with the reason and who decided.
pub fn waive(
    store: &dyn Store,
    ctx: &Context,
    id: IncidentId,
    obligation: &str,
    reason: Option<&str>,
    by: Option<&str>,
) -> Result<IncidentRecord, AppError> {
    let by = by.unwrap_or(&ctx.actor);
    let (before, committed) = apply_step(store, ctx, id, None, |r| {
        workflow::waive(r, obligation, reason, by, ctx.now)
    })?;
    Ok(after(before, committed))
}

/// Records the recipient's reference (and acknowledgement) on a filed or sent obligation.
pub fn record_reference(
    store: &dyn Store,
    ctx: &Context,
    id: IncidentId,
    obligation: &str,
    reference: &str,
    acknowledged_at: Option<DateTime<Utc>>,
) -> Result<IncidentRecord, AppError> {
    let (before, committed) = apply_step(store, ctx, id, None, |r| {
        workflow::record_reference(r, obligation, reference, acknowledged_at, ctx.now)
    })?;
    Ok(after(before, committed))
}

/// Records the decision to delay disclosure of inside information (UK MAR Art 17(4)).
pub fn delay_disclosure(
    store: &dyn Store,
    ctx: &Context,
    rulebook: &Rulebook,
    id: IncidentId,
    delay: DisclosureDelay,
) -> Result<IncidentRecord, AppError> {
    let (before, committed) = ruled_step(store, ctx, rulebook, id, None, |r, rules| {
        workflow::delay_disclosure(r, delay.clone(), rules, ctx.now, &ctx.actor)
    })?;
    Ok(after(before, committed))
}

/// A clock-starting fact as a person states it: the anchor, and optionally when it happened
/// (default: the effective time), who decided it (default: the actor) and a note.
#[derive(Debug, Clone)]
pub struct TriggerRequest {
    pub anchor: Anchor,
    pub at: Option<DateTime<Utc>>,
    pub by: Option<String>,
    pub note: Option<String>,
}

/// Records a clock-starting fact (classified as major, materiality determined, ...).
pub fn trigger(
    store: &dyn Store,
    ctx: &Context,
    rulebook: &Rulebook,
    id: IncidentId,
    request: TriggerRequest,
) -> Result<(TriggerFact, IncidentRecord), AppError> {
    let fact = TriggerFact {
        anchor: request.anchor,
        at: request.at.unwrap_or(ctx.now),
        decided_by: request.by.unwrap_or_else(|| ctx.actor.clone()),
        note: request.note,
    };
    let (before, committed) = ruled_step(store, ctx, rulebook, id, None, |r, rules| {
        workflow::trigger(r, fact.clone(), rules, ctx.now, &ctx.actor)
    })?;
    Ok((fact, after(before, committed)))
}
