//! The workflow core: each command, given the current record, the clock and the actor, either
//! yields the events to record or says why it is refused. Pure: no store, no clock reads, no I/O.
//!
//! The caller (the CLI) loads the record, calls one of these, folds the events into the record
//! with `IncidentRecord::apply` and commits record and events in one store transaction.

use chrono::{DateTime, Utc};

use crate::assessment::{self, AssessmentInput};
use crate::decision::{self, Decision};
use crate::event::EventKind;
use crate::incident::{IncidentFacts, IncidentUpdate};
use crate::lifecycle::{self, State, Step, TransitionRefused};
use crate::organisation::ControllerRole;
use crate::record::IncidentRecord;

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
        facts: facts.clone(),
    }])
}

/// A partial update of facts. No event when nothing changes.
pub fn update(
    record: &IncidentRecord,
    update: &IncidentUpdate,
    now: DateTime<Utc>,
) -> Result<Vec<EventKind>, WorkflowError> {
    refuse_if_closed(record, Step::Assess)?;
    let (next, changes) = record.facts.apply_update(update);
    invalid_if_any(next.check(now))?;
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![EventKind::FactsUpdated {
        changes,
        note: non_blank(update.note.as_deref()),
    }])
}

/// A closed incident's facts are frozen until it is reopened.
fn refuse_if_closed(record: &IncidentRecord, step: Step) -> Result<(), TransitionRefused> {
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
) -> Result<Vec<EventKind>, WorkflowError> {
    lifecycle::next(record.state, Step::Assess)?;
    invalid_if_any(assessment::check(input))?;
    let severity = assessment::assess(input);
    let version = record.assessments.len() as u32 + 1;
    Ok(vec![EventKind::Assessed {
        version,
        input: input.clone(),
        severity,
    }])
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
    role: ControllerRole,
) -> Result<Vec<EventKind>, WorkflowError> {
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
    Ok(vec![EventKind::Decided {
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
    }])
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
