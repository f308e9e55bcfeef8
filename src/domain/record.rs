//! The incident record: the current state of one incident, rebuilt by folding its events.
//!
//! `apply` is the only way a record changes, both when a command runs and when the event list is
//! replayed, so replaying the log always rebuilds exactly the stored record.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::assessment::{AssessmentInput, Severity};
use crate::domain::decision::Decision;
use crate::domain::document::DocumentVersion;
use crate::domain::event::TriggerFact;
use crate::domain::event::{Event, EventKind};
use crate::domain::incident::{IncidentFacts, IncidentId};
use crate::domain::lifecycle::{self, State, Step};
use crate::domain::obligation::{Obligation, ObligationState};
use crate::domain::regime::Anchor;

/// The current state of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IncidentRecord {
    pub id: IncidentId,
    pub state: State,
    pub facts: IncidentFacts,
    pub opened_at: DateTime<Utc>,
    pub opened_by: String,
    pub updated_at: DateTime<Utc>,
    /// Every assessment, oldest first; the last is current.
    pub assessments: Vec<AssessmentVersion>,
    /// Every decision, oldest first; the last is current.
    pub decisions: Vec<DecisionVersion>,
    /// Clock-starting instants beyond awareness and detection, latest per kind last.
    #[serde(default)]
    pub triggers: Vec<TriggerFact>,
    /// The decision to delay disclosure of inside information (UK MAR Art 17(4)), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosure_delay: Option<crate::domain::decision::DisclosureDelay>,
    /// Obligations derived from the regimes.
    #[serde(default)]
    pub obligations: Vec<Obligation>,
    /// Every rendered document version, oldest first (bodies are in the store's documents tree).
    #[serde(default)]
    pub documents: Vec<DocumentVersion>,
    /// Number of events applied.
    pub version: u64,
    /// The head of the incident's hash chain: its last event's `chain` (see `audit`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub chain: String,
}

/// One version of the exposure assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AssessmentVersion {
    pub version: u32,
    pub at: DateTime<Utc>,
    pub by: String,
    pub input: AssessmentInput,
    pub severity: Severity,
}

/// One recorded decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DecisionVersion {
    pub at: DateTime<Utc>,
    pub by: String,
    pub decision: Decision,
}

/// An event that cannot be applied: the log and the record disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("event {seq} ({kind}) does not belong to incident {id}")]
    WrongIncident {
        seq: u64,
        kind: &'static str,
        id: String,
    },
    #[error("event {seq} ({kind}) comes before the incident was opened")]
    NotOpened { seq: u64, kind: &'static str },
    #[error("event {seq} has version {found}, expected {expected}")]
    Version { seq: u64, found: u64, expected: u64 },
    #[error("event {seq}: {message}")]
    Invalid { seq: u64, message: String },
}

impl IncidentRecord {
    /// Applies one event to the record (or to nothing, for the opening event).
    pub fn apply(record: Option<IncidentRecord>, event: &Event) -> Result<Self, ReplayError> {
        let kind = event.what.name();
        let seq = event.seq;
        let Some(id) = event.incident else {
            return Err(ReplayError::WrongIncident {
                seq,
                kind,
                id: "(none)".into(),
            });
        };
        let expected = record.as_ref().map_or(1, |r| r.version + 1);
        if event.version != expected {
            return Err(ReplayError::Version {
                seq,
                found: event.version,
                expected,
            });
        }
        let mut rec = match (record, &event.what) {
            (None, EventKind::IncidentOpened { facts }) => {
                return Ok(IncidentRecord {
                    id,
                    state: State::Detected,
                    facts: (**facts).clone(),
                    opened_at: event.at,
                    opened_by: event.actor.clone(),
                    updated_at: event.at,
                    assessments: Vec::new(),
                    decisions: Vec::new(),
                    triggers: Vec::new(),
                    disclosure_delay: None,
                    obligations: Vec::new(),
                    documents: Vec::new(),
                    version: 1,
                    chain: event.seal.chain.clone(),
                });
            }
            (None, _) => return Err(ReplayError::NotOpened { seq, kind }),
            (Some(rec), _) if rec.id != id => {
                return Err(ReplayError::WrongIncident {
                    seq,
                    kind,
                    id: rec.id.to_string(),
                });
            }
            (Some(rec), _) => rec,
        };
        let invalid = |message: String| ReplayError::Invalid { seq, message };
        match &event.what {
            EventKind::OrganisationRecorded { .. } | EventKind::IncidentOpened { .. } => {
                return Err(invalid(format!("{kind} cannot apply to an open incident")));
            }
            EventKind::FactsUpdated { changes, .. } => {
                let mut facts =
                    serde_json::to_value(&rec.facts).map_err(|e| invalid(e.to_string()))?;
                for change in changes {
                    // A dotted field (`details.cause`) names a nested answer.
                    let mut slot = &mut facts;
                    for part in change.field.split('.') {
                        if !slot.is_object() {
                            *slot = serde_json::Value::Object(Default::default());
                        }
                        slot = &mut slot[part];
                    }
                    *slot = change.new.clone();
                }
                // Unanswered questions are absent, not null, in the stored facts.
                if let Some(d) = facts.get_mut("details").and_then(|d| d.as_object_mut()) {
                    d.retain(|_, v| !v.is_null());
                }
                rec.facts = serde_json::from_value(facts).map_err(|e| invalid(e.to_string()))?;
            }
            EventKind::Assessed {
                version,
                input,
                severity,
            } => {
                rec.state =
                    lifecycle::next(rec.state, Step::Assess).map_err(|e| invalid(e.to_string()))?;
                rec.assessments.push(AssessmentVersion {
                    version: *version,
                    at: event.at,
                    by: event.actor.clone(),
                    input: input.clone(),
                    severity: severity.clone(),
                });
            }
            EventKind::Decided { decision } => {
                rec.state =
                    lifecycle::next(rec.state, Step::Decide).map_err(|e| invalid(e.to_string()))?;
                rec.decisions.push(DecisionVersion {
                    at: event.at,
                    by: event.actor.clone(),
                    decision: decision.clone(),
                });
            }
            EventKind::TriggerRecorded { trigger } => {
                rec.triggers.retain(|t| t.anchor != trigger.anchor);
                rec.triggers.push(trigger.clone());
            }
            EventKind::DisclosureDelayed { delay } => {
                if rec.disclosure_delay.is_some() {
                    return Err(invalid("disclosure delayed twice".to_string()));
                }
                rec.disclosure_delay = Some(delay.clone());
                // The decision starts the clocks that run from it, like any recorded instant.
                rec.triggers.push(crate::domain::event::TriggerFact {
                    anchor: crate::domain::regime::Anchor::DisclosureDelayed,
                    at: delay.at,
                    decided_by: delay.decided_by.clone(),
                    note: Some("Disclosure delayed under UK MAR Art 17(4)".into()),
                });
            }
            EventKind::ObligationsChanged { changes } => {
                for added in &changes.added {
                    if rec.obligations.iter().any(|o| o.id == added.id) {
                        return Err(invalid(format!("obligation {} added twice", added.id)));
                    }
                    rec.obligations.push(added.clone());
                }
                for (id, reason) in &changes.retired {
                    let o = rec.obligation_mut(id).map_err(&invalid)?;
                    o.state = ObligationState::Retired;
                    o.retired_because = Some(reason.clone());
                }
                for id in &changes.revived {
                    let o = rec.obligation_mut(id).map_err(&invalid)?;
                    o.state = ObligationState::Pending;
                    o.retired_because = None;
                }
                for (id, waiver) in &changes.waived {
                    let o = rec.obligation_mut(id).map_err(&invalid)?;
                    o.state = ObligationState::Waived;
                    o.waiver = Some(waiver.clone());
                }
                for (id, why) in &changes.thresholds {
                    rec.obligation_mut(id).map_err(&invalid)?.indeterminate = why.clone();
                }
                for id in &changes.unwaived {
                    let o = rec.obligation_mut(id).map_err(&invalid)?;
                    o.state = ObligationState::Pending;
                    o.waiver = None;
                }
            }
            EventKind::DuesChanged { changes } => {
                for change in changes {
                    rec.obligation_mut(&change.obligation)
                        .map_err(&invalid)?
                        .due = change.new.clone();
                }
            }
            EventKind::ObligationCompleted {
                obligation,
                state,
                completion,
            } => {
                let o = rec.obligation_mut(obligation).map_err(&invalid)?;
                o.state = *state;
                o.completion = Some(completion.clone());
            }
            EventKind::ObligationWaived { obligation, waiver } => {
                let o = rec.obligation_mut(obligation).map_err(&invalid)?;
                o.state = ObligationState::Waived;
                o.waiver = Some(waiver.clone());
            }
            EventKind::DocumentRendered { document } => {
                let next = rec.versions(&document.document).count() as u32 + 1;
                if document.version != next {
                    return Err(invalid(format!(
                        "{} version {} but {next} was next",
                        document.document, document.version
                    )));
                }
                for o in rec.obligations.iter_mut() {
                    if o.state == ObligationState::Pending && document.serves.contains(&o.id) {
                        o.state = ObligationState::Drafted;
                    }
                }
                rec.documents.push((**document).clone());
            }
            EventKind::DocumentApproved {
                document,
                version,
                approval,
            } => {
                let v = rec
                    .documents
                    .iter_mut()
                    .find(|d| &d.document == document && d.version == *version)
                    .ok_or_else(|| {
                        invalid(format!("no {document} version {version} to approve"))
                    })?;
                v.approval = Some(approval.clone());
                let serves = v.serves.clone();
                for o in rec.obligations.iter_mut() {
                    if matches!(o.state, ObligationState::Pending | ObligationState::Drafted)
                        && serves.contains(&o.id)
                    {
                        o.state = ObligationState::Approved;
                    }
                }
            }
            // Delivery is kept in the outbox; the log records it for the audit trail.
            EventKind::MessageChanged { .. }
            | EventKind::BulkNotices { .. }
            | EventKind::BulkRecipients { .. }
            | EventKind::ReminderSent { .. }
            | EventKind::Anchored { .. } => {}
            // Accounts are folded apart (`domain::account`); they carry no incident.
            EventKind::UserAdded { .. }
            | EventKind::UserRolesSet { .. }
            | EventKind::UserDisabled { .. }
            | EventKind::PasswordSet { .. }
            | EventKind::TokenCreated { .. }
            | EventKind::TokenRevoked { .. } => {}

            EventKind::ReferenceRecorded {
                obligation,
                reference,
                acknowledged_at,
            } => {
                let o = rec.obligation_mut(obligation).map_err(&invalid)?;
                let Some(c) = o.completion.as_mut() else {
                    return Err(invalid(format!("{obligation} is not completed")));
                };
                c.reference = Some(reference.clone());
                if let Some(at) = acknowledged_at {
                    c.acknowledged_at = Some(*at);
                    o.state = ObligationState::Acknowledged;
                }
            }
            EventKind::Transitioned { step, from, to, .. } => {
                if *from != rec.state {
                    return Err(invalid(format!(
                        "transition from {from} but the incident is {}",
                        rec.state
                    )));
                }
                let reached =
                    lifecycle::next(rec.state, *step).map_err(|e| invalid(e.to_string()))?;
                if reached != *to {
                    return Err(invalid(format!("{step} leads to {reached}, not {to}")));
                }
                rec.state = reached;
            }
        }
        rec.version = event.version;
        rec.updated_at = event.at;
        rec.chain = event.seal.chain.clone();
        Ok(rec)
    }

    /// Rebuilds a record from its events, oldest first.
    pub fn replay<'a>(
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<Option<Self>, ReplayError> {
        let mut rec = None;
        for event in events {
            rec = Some(IncidentRecord::apply(rec, event)?);
        }
        Ok(rec)
    }

    fn obligation_mut(&mut self, id: &str) -> Result<&mut Obligation, String> {
        self.obligations
            .iter_mut()
            .find(|o| o.id == id)
            .ok_or_else(|| format!("no obligation {id}"))
    }

    /// The instant an anchor stands for in this incident, if it has happened.
    pub fn anchor(&self, anchor: Anchor) -> Option<DateTime<Utc>> {
        match anchor {
            Anchor::Aware => Some(self.facts.aware_at),
            Anchor::Detected => Some(self.facts.detected_at),
            // Completion of an earlier phase is per obligation: see `obligation::due_of`.
            Anchor::PreviousPhase | Anchor::DutyArose => None,
            other => self
                .triggers
                .iter()
                .rev()
                .find(|t| t.anchor == other)
                .map(|t| t.at),
        }
    }

    /// Obligations still owed.
    pub fn open_obligations(&self) -> impl Iterator<Item = &Obligation> {
        self.obligations.iter().filter(|o| o.state.is_open())
    }

    pub fn current_assessment(&self) -> Option<&AssessmentVersion> {
        self.assessments.last()
    }

    pub fn current_decision(&self) -> Option<&DecisionVersion> {
        self.decisions.last()
    }

    /// The input facts an assessment needs, for callers that only hold the record.
    pub fn assessment_input(&self) -> Option<&AssessmentInput> {
        self.current_assessment().map(|a| &a.input)
    }
}
