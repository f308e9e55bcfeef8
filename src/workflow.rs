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

#[cfg(test)]
mod tests {
    //! Properties of the workflow as a whole: whatever the sequence of commands, the incident
    //! never reaches an invalid state, refusals change nothing, and replaying the events rebuilds
    //! the record exactly.

    use super::*;
    use crate::event::Event;
    use crate::incident::IncidentId;
    use proptest::prelude::*;

    fn facts() -> IncidentFacts {
        serde_json::from_str(include_str!("../examples/incident-ransomware.json")).unwrap()
    }

    fn assessment(variant: u8) -> AssessmentInput {
        let mut a: serde_json::Value =
            serde_json::from_str(include_str!("../examples/assessment-ransomware.json")).unwrap();
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
        ]
    }

    fn run(
        record: &IncidentRecord,
        command: &Command,
        now: DateTime<Utc>,
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
                    now,
                )
            }
            Command::Assess(v) => assess(record, &assessment(*v)),
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
                ControllerRole::Controller,
            ),
            Command::Step(step, reason) => transition(record, *step, reason.then_some("because")),
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
        assert!(r.facts.aware_at >= r.facts.detected_at);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn random_command_sequences_stay_valid_and_replay_exactly(
            commands in prop::collection::vec(command(), 0..40)
        ) {
            let now: DateTime<Utc> = "2024-04-02T12:00:00Z".parse().unwrap();
            let id = IncidentId { year: 2024, number: 1 };
            let mut log: Vec<Event> = Vec::new();
            let mut record: Option<IncidentRecord> = None;
            let push = |kind: EventKind, record: &mut Option<IncidentRecord>, log: &mut Vec<Event>| {
                let event = Event {
                    seq: log.len() as u64 + 1,
                    incident: Some(id),
                    version: log.len() as u64 + 1,
                    at: now,
                    actor: "dpo".into(),
                    what: kind,
                };
                *record = Some(IncidentRecord::apply(record.take(), &event).expect("apply"));
                log.push(event);
            };
            for kind in open(&facts(), now).unwrap() {
                push(kind, &mut record, &mut log);
            }
            for command in &commands {
                let before = record.clone().unwrap();
                match run(&before, command, now) {
                    Ok(kinds) => {
                        for kind in kinds {
                            push(kind, &mut record, &mut log);
                        }
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
        }
    }
}
