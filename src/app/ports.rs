//! The ports: what the use-cases need from storage and from mail, as traits.
//!
//! `adapters::store::SledStore` implements [`Store`] and `adapters::mail::Carrier` implements
//! [`Mailer`]; unit tests implement both in memory. A second backend (PostgreSQL, for a hosted
//! service) implements these traits and nothing in `domain` or `app` changes: ARCHITECTURE.md
//! says what each method must guarantee.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::account::{Credential, Token, TokenId, User, UserId};
use crate::domain::document::DocumentBody;
use crate::domain::event::{Event, EventKind};
use crate::domain::incident::IncidentId;
use crate::domain::integrity::{DocKey, Expected, Stored};
use crate::domain::log::Stamp;
use crate::domain::organisation::Organisation;
use crate::domain::outbox::{OutMessage, Outcome, RecipientState};
use crate::domain::record::IncidentRecord;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store at {0} is in use by another breachflow process; wait for it to finish and try again"
    )]
    Locked(PathBuf),
    /// Another process is sending mail from this store (it holds the store only for each
    /// commit, but two senders at once could each take the other's `sending` for a crash).
    #[error(
        "another breachflow process is sending mail from the store at {0}; wait for it to finish and try again"
    )]
    Sending(PathBuf),
    #[error(
        "the store at {dir} is damaged: {detail}; restore it from a backup or an exported bundle"
    )]
    Damaged { dir: PathBuf, detail: String },
    #[error("{0} is not empty and is not a breachflow store; choose an empty or new directory")]
    NotAStore(PathBuf),
    #[error("store I/O error at {dir}: {detail}")]
    Io { dir: PathBuf, detail: String },
    #[error("no organisation profile in the store at {0}; run `breachflow init --org FILE` first")]
    NotInitialised(PathBuf),
    /// With the ids either side of it in this store, for "did you mean".
    #[error("incident {0} not found{1}")]
    UnknownIncident(IncidentId, Nearest),
    /// The commit breaks an order guard (`domain::log`): an effective time in the future, or
    /// before the incident was opened.
    #[error("{0}")]
    OutOfOrder(String),
    #[error(
        "incident {id} changed while this command ran (expected version {expected}, found {found}); run the command again"
    )]
    Conflict {
        id: IncidentId,
        expected: u64,
        found: u64,
    },
    /// An account or token this commit adds was added by another command meanwhile (they are
    /// numbered in order), or one it changes is gone.
    #[error("{0} changed while this command ran; run the command again")]
    AccountConflict(crate::domain::account::Key),
}

/// The subject of a commit.
pub enum Subject<'a> {
    /// The organisation profile (the event must be `OrganisationRecorded`).
    Organisation(&'a Organisation),
    /// A new incident, numbered in `year`.
    NewIncident { year: u16 },
    /// An existing incident at the version it was read.
    Incident(&'a IncidentRecord),
    /// The log itself (an anchor): an event of no incident that changes no profile.
    Log,
    /// Accounts: account events (`domain::account`), which the store folds into its users
    /// tree in the same transaction.
    Accounts,
}

/// The incidents next to an id that is not in the store (one key lookup each way, so free at
/// any store size): "did you mean" for a mistyped id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nearest(pub Vec<IncidentId>);

impl std::fmt::Display for Nearest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_slice() {
            [] => Ok(()),
            [one] => write!(f, "; did you mean {one}?"),
            [a, b, ..] => write!(f, "; did you mean {a} or {b}?"),
        }
    }
}

/// What a commit stored.
#[derive(Debug, Clone)]
pub struct Committed {
    pub record: Option<IncidentRecord>,
    pub events: Vec<Event>,
    /// How far the store's clock had gone back behind the log, when by more than a second:
    /// the events were recorded a microsecond after the last instead, and someone should look
    /// at the machine's clock.
    pub clock_went_back: Option<chrono::Duration>,
}

/// A bulk recipient of a document: incident, document name, address.
pub type RecipientOf<'a> = (IncidentId, &'a str, &'a str);

/// A document version: incident, document name, version number.
pub type VersionOf<'a> = (IncidentId, &'a str, u32);

/// One commit's contents: what changes, the events that say so, who records them, and the
/// writes that go in the same transaction.
pub struct Change<'a> {
    pub subject: Subject<'a>,
    pub kinds: &'a [EventKind],
    pub stamp: Stamp,
    pub writes: Writes<'a>,
}

impl<'a> Change<'a> {
    /// Events with no other writes.
    pub fn new(subject: Subject<'a>, kinds: &'a [EventKind], stamp: Stamp) -> Self {
        Change {
            subject,
            kinds,
            stamp,
            writes: Writes::default(),
        }
    }

    /// The same events, with `writes` in the same transaction.
    pub fn with(self, writes: Writes<'a>) -> Self {
        Change { writes, ..self }
    }
}

/// Writes that go in the same transaction as a command's events.
#[derive(Default)]
pub struct Writes<'a> {
    /// Document bodies: incident, document name, version, body.
    pub documents: &'a [(IncidentId, &'a str, u32, &'a DocumentBody)],
    /// Outbox records to insert or replace.
    pub messages: &'a [OutMessage],
    /// Reminders to mark as sent: incident, obligation id, level.
    pub reminders: &'a [(IncidentId, &'a str, &'a str)],
    /// Bulk recipient states to insert or replace: incident, document, state (the fold of the
    /// commit's `BulkRecipients` events over the states before).
    pub recipients: &'a [(IncidentId, &'a str, RecipientState)],
    /// Credentials to store (a password hash under its account, a token hash), each the record
    /// whose SHA-256 an event of the commit records. A `TokenRevoked` event removes its
    /// token's credential in the same transaction.
    pub credentials: &'a [Credential],
}

/// One entry of the deadline index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineEntry {
    /// The deadline or internal target; none when the clock has not started.
    pub at: Option<DateTime<Utc>>,
    pub incident: IncidentId,
    pub obligation: String,
}

/// An incident brought in from an evidence bundle, already verified.
pub struct Import<'a> {
    pub record: &'a IncidentRecord,
    /// Its events, with their digests and incident chain as the bundle carried them.
    pub events: &'a [Event],
    pub documents: &'a [(String, u32, DocumentBody)],
    pub messages: &'a [OutMessage],
    /// Bulk recipient states (document, state), derived from the events.
    pub recipients: &'a [(String, RecipientState)],
}

/// What `audit repair` writes: every derived tree rebuilt as the log implies (`expected`), and
/// document bodies put back where a byte-identical body (by its recorded SHA-256s) was found
/// under another key. Never the events tree or the log's head.
pub struct Rebuild<'a> {
    pub expected: &'a Expected,
    /// Bodies to write under their version's key.
    pub documents: &'a [(DocKey, DocumentBody)],
    /// Stored document entries no event records, by their key as stored.
    pub remove_documents: &'a [Vec<u8>],
    /// The whole outbox as its events rebuild it, replacing what is stored; none leaves the
    /// tree as it is (records from before their events carried every detail).
    pub messages: Option<&'a [OutMessage]>,
    /// Every bulk recipient state as its events rebuild it, replacing what is stored; none
    /// leaves the tree as it is (states of runs from before they were events).
    pub recipients: Option<&'a [(IncidentId, &'a str, RecipientState)]>,
    /// Stored credentials no event commits to, by their key as stored: removed, so a planted
    /// or swapped secret never signs anyone in. (Credentials cannot be rebuilt: the log holds
    /// only their commitments.)
    pub remove_credentials: &'a [Vec<u8>],
}

/// Where the log stands, as the store recorded it apart from the log itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// How many events the store says it holds.
    pub count: u64,
    /// The last event's hash, if any event was ever stored.
    pub last_hash: Option<String>,
}

/// The log as a store reads it back: each entry's key and its event, or why it cannot be read.
pub type LogEntries<'a> =
    Box<dyn Iterator<Item = Result<(u64, Result<Event, String>), StoreError>> + 'a>;

/// The event store: the log, the records folded from it, and the indexes and bodies kept with
/// them. Every write is one atomic, durable step: when a method returns `Ok`, what it wrote is
/// on disk, and when it returns an error, nothing of it is.
pub trait Store {
    /// Where the store lives, for messages.
    fn location(&self) -> PathBuf;

    /// The organisation profile, if `init` has run.
    fn organisation(&self) -> Result<Option<Organisation>, StoreError>;

    /// The organisation profile, or the error telling the user to run `init`.
    fn require_organisation(&self) -> Result<Organisation, StoreError> {
        self.organisation()?
            .ok_or_else(|| StoreError::NotInitialised(self.location()))
    }

    /// One incident's current record.
    fn incident(&self, id: IncidentId) -> Result<IncidentRecord, StoreError>;

    /// The same, shared rather than copied: for readers that only look (a store may keep it
    /// decoded between requests).
    fn incident_shared(
        &self,
        id: IncidentId,
    ) -> Result<std::sync::Arc<IncidentRecord>, StoreError> {
        self.incident(id).map(std::sync::Arc::new)
    }

    /// Every incident, in the order of their ids.
    fn incidents(&self) -> Box<dyn Iterator<Item = Result<IncidentRecord, StoreError>> + '_>;

    /// The ids of the `n` newest incidents, newest first. A store with an ordered index reads
    /// only those `n`; this default reads them all.
    fn newest_incidents(&self, n: usize) -> Result<Vec<IncidentId>, StoreError> {
        let mut ids = self
            .incidents()
            .map(|r| r.map(|r| r.id))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort();
        ids.reverse();
        ids.truncate(n);
        Ok(ids)
    }

    /// One incident's events, oldest first. Its cost follows that incident's events alone.
    fn events_for(&self, id: IncidentId) -> Result<Vec<Event>, StoreError>;

    /// The whole event log, oldest first: each entry's key (the sequence number it is stored
    /// under, which `audit verify` compares with the number the event carries) and the event,
    /// or why it cannot be decoded.
    fn log(&self) -> LogEntries<'_>;

    /// The count and head the store recorded apart from the log.
    fn recorded(&self) -> Result<Recorded, StoreError>;

    /// Open obligations due (deadline or internal target) at or before `until`, soonest first.
    /// Its cost follows the number returned, not the size of the store.
    fn due_until(&self, until: DateTime<Utc>) -> Result<Vec<DeadlineEntry>, StoreError>;

    /// Every open obligation with an instant, soonest first.
    fn all_due(&self) -> Result<Vec<DeadlineEntry>, StoreError>;

    /// Open obligations whose clock has not started.
    fn waiting(&self) -> Result<Vec<DeadlineEntry>, StoreError>;

    /// A stored document version's text, HTML and case file.
    fn document_body(&self, of: VersionOf<'_>) -> Result<DocumentBody, StoreError>;

    /// Records `kinds` against `subject`, with `writes`, as one atomic and durable step:
    /// numbering (for a new incident), sealing each event after the store's head
    /// (`domain::audit::prepare_commit`), folding them into the record, and updating the
    /// deadline index, all against the state read inside the step. Refuses with `Conflict`
    /// when the incident's version is no longer the one `subject` was read at.
    fn commit(&self, change: Change<'_>) -> Result<Committed, StoreError>;

    /// Brings in an incident from a verified bundle: its events join this store's log
    /// (`domain::audit::prepare_import`) with the record, indexes, bodies and outbox records,
    /// in one atomic step. Refuses an id already in use.
    fn import(&self, import: &Import<'_>) -> Result<(), StoreError>;

    /// Everything kept beside the log, entry by entry as stored: what `audit verify` compares
    /// with the fold of the log. An entry that cannot be decoded is returned as such, not as
    /// an error.
    fn stored(&self) -> Result<Stored, StoreError>;

    /// Rewrites the derived trees as `rebuild` says, as one atomic, durable step: the records,
    /// the incident-events index, the deadline index, the counters, the organisation profile,
    /// the reminder marks and the last recorded time replaced by what the log implies, unknown
    /// `meta` keys removed, and the document bodies given put or removed. Never touches the
    /// events or the log's head.
    fn rebuild(&self, rebuild: &Rebuild<'_>) -> Result<(), StoreError>;

    /// One incident's outbox, oldest first.
    fn messages_for(&self, id: IncidentId) -> Result<Vec<OutMessage>, StoreError>;

    /// Every message in the store.
    fn all_messages(&self) -> Result<Vec<OutMessage>, StoreError>;

    /// The number the next message of `id` gets.
    fn next_message_number(&self, id: IncidentId) -> Result<u32, StoreError>;

    /// Whether the reminder for (incident, obligation, level) has been sent.
    fn reminded(&self, id: IncidentId, obligation: &str, level: &str) -> Result<bool, StoreError>;

    /// A bulk recipient's stored state, by address (compared without case or spaces).
    fn recipient(&self, of: RecipientOf<'_>) -> Result<Option<RecipientState>, StoreError>;

    /// The stored bulk recipients, of one incident or all, in key order, each as read (a state
    /// that cannot be decoded is returned as such, for `audit verify` to name).
    fn recipient_entries(
        &self,
        id: Option<IncidentId>,
    ) -> Result<Vec<crate::domain::delivery::StoredRecipient>, StoreError>;

    /// Every stored outbox record in key order, each as read.
    fn message_entries(&self) -> Result<Vec<crate::domain::delivery::StoredMessage>, StoreError>;

    /// Every account, in the order they were added (the users tree, derived from the log).
    fn users(&self) -> Result<Vec<User>, StoreError>;

    /// One account: one key read.
    fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// Every API token, revoked ones too, in the order they were created.
    fn tokens(&self) -> Result<Vec<Token>, StoreError>;

    /// One token: one key read.
    fn token(&self, id: TokenId) -> Result<Option<Token>, StoreError>;

    /// An account's stored password hash (PHC string), if one was set: one key read.
    fn password(&self, id: UserId) -> Result<Option<String>, StoreError>;

    /// The token whose stored hash is `hash` (`domain::account::token_hash`), if any: one key
    /// read, never a scan, however many tokens there are.
    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenId>, StoreError>;

    /// The caller is about to wait (on a mail server, a pause between messages) and will not
    /// touch the store until its next call. A store that keeps other processes out while it is
    /// open may let go until then; everything committed before is already durable, so the
    /// at-most-once protocol is unchanged. The next call takes the store back (waiting for
    /// another process to finish). Use-cases call it before every network wait.
    fn idle(&self) {}
}

/// Why mail could not be set up or built (not a delivery outcome: those are `Outcome`s).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP settings: {0}")]
    Settings(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("{dir}: {message}")]
    Folder { dir: PathBuf, message: String },
}

/// A message ready for the wire: its envelope and its exact bytes (RFC 5322), so the SHA-256
/// of what was sent is known before it goes.
#[derive(Debug, Clone)]
pub struct Composed {
    pub from: String,
    pub to: Vec<String>,
    pub bytes: Vec<u8>,
    /// A readable file name for the outbox folder: date, incident, document, recipient.
    pub file_name: String,
}

/// Where messages go: an SMTP server, or the outbox folder. Building a message's bytes from a
/// [`crate::domain::outbox::Letter`] is the mailer's job because the wire format is.
pub trait Mailer {
    /// Words for where messages go ("the SMTP server mail.example.com:587 (STARTTLS)").
    fn describe(&self, org: &Organisation) -> String;

    /// The exact bytes of a letter.
    fn compose(&self, letter: &crate::domain::outbox::Letter) -> Result<Composed, MailError>;

    /// Hands one message over and says what is known of its fate. Never retries by itself:
    /// the retry policy is the outbox's (`domain::outbox`).
    fn deliver(&self, message: &Composed) -> Outcome;
}
