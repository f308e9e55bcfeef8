//! Events: the append-only record of everything that happened to the store, who did it and when.
//!
//! An incident's current state is the fold of its events (`IncidentRecord::apply`), so the event
//! list is the truth and the stored record a cache of it that must always equal the replay.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::account::{Role, TokenId, UserId};
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
    /// When it happened: the effective time (the command's `--now`, or `--at` where a command
    /// records something that happened earlier), UTC. Deadlines are judged on it.
    pub at: DateTime<Utc>,
    /// When it was written to the store: the system clock at commit, never set by a flag, and
    /// strictly increasing through the log. Absent on events written before 0.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<DateTime<Utc>>,
    /// Who did it.
    pub actor: String,
    /// Whether `actor` was declared by the person (`--actor`, the OS user) or established by
    /// authentication. Absent on events written before 0.2, which were all self-declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// The signed-in user and the role under which the act was permitted, when the actor was
    /// authenticated. Absent on self-declared events (and on every event before accounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<crate::domain::account::UserRef>,
    /// What happened.
    pub what: EventKind,
    /// The hashes that chain it to the events before (see `audit`).
    #[serde(default, skip_serializing_if = "Seal::is_empty")]
    pub seal: Seal,
}

/// How the actor of an event is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// Named by the person acting (`--actor`, `BREACHFLOW_ACTOR`, or the OS user): a claim.
    SelfDeclared,
    /// Established by signing in to the team server.
    Authenticated,
}

impl Identity {
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::SelfDeclared => "self-declared",
            Identity::Authenticated => "authenticated",
        }
    }
}

/// Effective times more than this before their recording are "recorded later" (backfilled).
pub const BACKFILL_TOLERANCE_MINUTES: i64 = 5;

impl Event {
    /// How much later than it happened the event was recorded, if by more than the tolerance:
    /// a fact written up after the fact, which reports mark as such.
    pub fn recorded_later(&self) -> Option<chrono::Duration> {
        let gap = self.recorded_at? - self.at;
        (gap > chrono::Duration::minutes(BACKFILL_TOLERANCE_MINUTES)).then_some(gap)
    }

    /// The identity as reports show it: events before 0.2 were self-declared.
    pub fn identity(&self) -> Identity {
        self.identity.unwrap_or(Identity::SelfDeclared)
    }
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
    /// The issuer decided to delay disclosure of inside information (UK MAR Art 17(4)), with
    /// how each condition is met.
    DisclosureDelayed {
        delay: crate::domain::decision::DisclosureDelay,
    },
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
        /// The rest of the outbox record as this change leaves it, so the stored record is the
        /// fold of its events (`outbox::messages_from`). Absent on events written before 0.3.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<Box<crate::domain::outbox::MessageDetail>>,
    },
    /// Bulk recipients changed state, a batch at a time: marked `sending` before the batch
    /// goes, the server's replies after, a crashed batch found, or a person's decision. The
    /// stored recipient states are the fold of these events (`outbox::recipients_from`).
    BulkRecipients {
        /// The document (template name) the notices carry.
        document: String,
        step: crate::domain::outbox::BulkStep,
        recipients: Vec<crate::domain::outbox::RecipientChange>,
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
    /// The log's head was printed (and perhaps mailed) to be kept outside the store: the
    /// event numbered `seq` had the store-wide hash `hash`.
    Anchored { seq: u64, hash: String },
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
    /// A person was given an account (organisation-level, like every account event; none of
    /// them ever leaves the store in a bundle).
    UserAdded {
        user: UserId,
        name: String,
        email: String,
        roles: Vec<Role>,
    },
    /// An account's roles were replaced.
    UserRolesSet { user: UserId, roles: Vec<Role> },
    /// An account was disabled: it no longer signs in, and its tokens no longer work.
    UserDisabled { user: UserId },
    /// An account's password was set. `credential` is the SHA-256 of the stored password hash
    /// (a commitment), never the password or its hash.
    PasswordSet { user: UserId, credential: String },
    /// An API token was created for an account. `credential` is the SHA-256 of the token's
    /// stored hash.
    TokenCreated {
        token: TokenId,
        user: UserId,
        label: String,
        credential: String,
    },
    /// An API token was revoked.
    TokenRevoked { token: TokenId },
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
            EventKind::DisclosureDelayed { .. } => "disclosure_delayed",
            EventKind::ObligationsChanged { .. } => "obligations_changed",
            EventKind::DuesChanged { .. } => "dues_changed",
            EventKind::ObligationCompleted { .. } => "obligation_completed",
            EventKind::ObligationWaived { .. } => "obligation_waived",
            EventKind::DocumentRendered { .. } => "document_rendered",
            EventKind::DocumentApproved { .. } => "document_approved",
            EventKind::MessageChanged { .. } => "message_changed",
            EventKind::BulkNotices { .. } => "bulk_notices",
            EventKind::BulkRecipients { .. } => "bulk_recipients",
            EventKind::ReminderSent { .. } => "reminder_sent",
            EventKind::Transitioned { .. } => "transitioned",
            EventKind::Anchored { .. } => "anchored",
            EventKind::ReferenceRecorded { .. } => "reference_recorded",
            EventKind::UserAdded { .. } => "user_added",
            EventKind::UserRolesSet { .. } => "user_roles_set",
            EventKind::UserDisabled { .. } => "user_disabled",
            EventKind::PasswordSet { .. } => "password_set",
            EventKind::TokenCreated { .. } => "token_created",
            EventKind::TokenRevoked { .. } => "token_revoked",
        }
    }
}

/// An event's seal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Seal {
    pub digest: String,
    pub chain: String,
    pub hash: String,
    /// The event came from an evidence bundle: it keeps its digest, incident chain and recorded
    /// time from the store that wrote it, so it stands outside this store's recorded-time order.
    /// Sealed in the store-wide link.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
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
