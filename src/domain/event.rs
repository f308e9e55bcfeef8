//! Events: the append-only record of everything that happened to the store, who did it and when.
//!
//! An incident's current state is the fold of its events (`IncidentRecord::apply`), so the event
//! list is the truth and the stored record a cache of it that must always equal the replay.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::assessment::{AssessmentInput, Severity};
use crate::domain::decision::Decision;
use crate::domain::document::{Approval, DocumentVersion};
use crate::domain::incident::{FactChange, IncidentFacts, IncidentId};
use crate::domain::lifecycle::{State, Step};
use crate::domain::obligation::{
    Completion, DueChange, ObligationChanges, ObligationState, Waiver,
};
use crate::domain::organisation::Organisation;
use crate::domain::regime::Anchor;

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    /// Position in the store-wide log, from 1, without gaps.
    pub seq: u64,
    /// The incident concerned; none for organisation-level events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentId>,
    /// The incident's version after this event (1 for the opening event); 0 for organisation events.
    pub version: u64,
    /// When it was recorded (the command's clock, UTC).
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: String,
    /// What happened.
    pub what: EventKind,
    /// The hashes that chain it to the events before (see `audit`).
    #[serde(default, skip_serializing_if = "Seal::is_empty")]
    pub seal: Seal,
}

/// What an event records; the payload keeps enough to replay the change exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The organisation profile was stored (first time, or replaced with `--force`).
    OrganisationRecorded {
        organisation: Organisation,
        replaced: bool,
    },
    /// An incident was opened with these facts.
    IncidentOpened { facts: Box<IncidentFacts> },
    /// Facts were corrected; old and new values kept.
    FactsUpdated {
        changes: Vec<FactChange>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// An exposure assessment (a new version; earlier ones are kept).
    Assessed {
        version: u32,
        input: AssessmentInput,
        severity: Severity,
    },
    /// The DPO's decision on notification.
    Decided { decision: Decision },
    /// A clock-starting instant was recorded (classified as major, materiality determined, ...).
    TriggerRecorded { trigger: TriggerFact },
    /// Obligations derived from the regimes: added, retired, revived, waived or owed again.
    ObligationsChanged { changes: ObligationChanges },
    /// Due instants recomputed after a fact they depend on changed; old and new kept.
    DuesChanged { changes: Vec<DueChange> },
    /// An obligation was filed or sent.
    ObligationCompleted {
        obligation: String,
        state: ObligationState,
        completion: Completion,
    },
    /// An obligation was decided not required.
    ObligationWaived { obligation: String, waiver: Waiver },
    /// A document version was rendered and stored.
    DocumentRendered { document: Box<DocumentVersion> },
    /// A document version was approved for sending or filing.
    DocumentApproved {
        document: String,
        version: u32,
        approval: Approval,
    },
    /// An outbox message changed state (queued, held, sending, sent, failed, uncertain).
    MessageChanged {
        message: String,
        state: crate::domain::outbox::MessageState,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        document: Option<crate::domain::document::DocumentRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        /// The server's reply, or why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A run of bulk notices to data subjects started or ended, with its counts.
    BulkNotices {
        document: crate::domain::document::DocumentRef,
        /// SHA-256 of the recipients file.
        recipients_sha256: String,
        finished: bool,
        sent: u64,
        already_sent: u64,
        failed: u64,
        uncertain: u64,
        bad_rows: u64,
        batch_size: u32,
    },
    /// A reminder of an obligation's deadline went to its owner.
    ReminderSent {
        obligation: String,
        level: String,
        message: String,
    },
    /// A manual lifecycle step.
    Transitioned {
        step: Step,
        from: State,
        to: State,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The recipient's reference (the ICO case reference) and, if given, its acknowledgement,
    /// recorded on an obligation already filed or sent (a phased report's later parts quote it).
    ReferenceRecorded {
        obligation: String,
        reference: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        acknowledged_at: Option<DateTime<Utc>>,
    },
}

impl EventKind {
    /// A short name for tables and logs.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::OrganisationRecorded { .. } => "organisation_recorded",
            EventKind::IncidentOpened { .. } => "incident_opened",
            EventKind::FactsUpdated { .. } => "facts_updated",
            EventKind::Assessed { .. } => "assessed",
            EventKind::Decided { .. } => "decided",
            EventKind::TriggerRecorded { .. } => "trigger_recorded",
            EventKind::ObligationsChanged { .. } => "obligations_changed",
            EventKind::DuesChanged { .. } => "dues_changed",
            EventKind::ObligationCompleted { .. } => "obligation_completed",
            EventKind::ObligationWaived { .. } => "obligation_waived",
            EventKind::DocumentRendered { .. } => "document_rendered",
            EventKind::DocumentApproved { .. } => "document_approved",
            EventKind::MessageChanged { .. } => "message_changed",
            EventKind::BulkNotices { .. } => "bulk_notices",
            EventKind::ReminderSent { .. } => "reminder_sent",
            EventKind::Transitioned { .. } => "transitioned",
            EventKind::ReferenceRecorded { .. } => "reference_recorded",
        }
    }
}

/// An event's seal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Seal {
    pub digest: String,
    pub chain: String,
    pub hash: String,
}

impl Seal {
    pub fn is_empty(&self) -> bool {
        self.digest.is_empty()
    }
}

/// An instant that starts a clock, recorded with who decided it, like `aware_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TriggerFact {
    pub anchor: Anchor,
    pub at: DateTime<Utc>,
    /// The named person who decided (e.g. who classified the incident as major).
    pub decided_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
