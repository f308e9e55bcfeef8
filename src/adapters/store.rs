//! The store: sled under the data directory, and the only module that knows it.
//!
//! Trees (a small fixed set, because sled's space use grows with the number of trees):
//! - `meta`: format version, the organisation profile, the next event sequence number, and the
//!   per-year incident counters (`counter` + year, big-endian);
//! - `incidents`: incident key (year, number; big-endian) -> current record (JSON);
//! - `events`: sequence number (big-endian) -> event (JSON); append-only, store-wide order;
//! - `incident_events`: incident key + sequence number -> nothing; the index that lists one
//!   incident's events without scanning the whole log;
//! - `deadlines`: the index of obligations still owed, `d` + due instant + incident key +
//!   obligation id for those with an instant (a deadline or an internal target), and `w` +
//!   incident key + obligation id for those whose clock has not started. Overdue and due-soon
//!   queries are range scans whose cost follows the number of obligations returned;
//! - `documents`: incident key + document name + 0 + version (big-endian) -> the version's text,
//!   HTML and case file (JSON). The record holds their hashes;
//! - `messages`: incident key + message number (big-endian) -> the outbox record (JSON);
//! - `recipients`: incident key + document name + 0 + SHA-256 of the address (16 bytes) -> one
//!   bulk recipient's state (JSON), so a resumed run skips who already has the notice; written
//!   in the commit of the `BulkRecipients` event it is the fold of;
//! - `reminders`: incident key + obligation id + 0 + warning level -> nothing, once sent.
//!   (Stores written before 0.3 may also hold `inflight` + incident key + document name in
//!   `meta`: the batch then in flight. It is no longer read: a recipient left `sending` is
//!   found by its state.)
//! - `users`: `u` + user id (big-endian) -> the account, `t` + token id -> the API token (JSON):
//!   the fold of the account events (`domain::account`), written in their commit;
//! - `credentials`: `p` + user id -> the account's Argon2id password hash (PHC string), `t` +
//!   the SHA-256 (hex) of a token's text -> the token id. The only secrets kept, and the only
//!   entries not derived from the log: each is checked against the commitment (SHA-256) its
//!   event recorded. Looking a token up is one key read.
//!
//! Every command writes its record and events in one transaction across these trees and then
//! flushes, so success is printed only for what is on disk. Threads sharing one store (the
//! team server) share their flushes: see `group_flush`. The directory is 0700 and the files
//! 0600 (the process umask is 077 and `open` tightens anything older).
//!
//! Longer than our ~600-line guide on purpose: it is the one file that knows sled, so every tree,
//! key encoding and transaction is reviewed in one place.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::adapters::group_flush::GroupFlush;
use crate::app::ports::{
    Change, Committed, DeadlineEntry, Import, LogEntries, Nearest, Rebuild, RecipientOf, Recorded,
    Store, StoreError, Subject, VersionOf,
};
use crate::domain::account::{self, Credential, CredentialKey, TokenId, UserId};
use crate::domain::delivery::{StoredMessage, StoredRecipient};
use crate::domain::document::DocumentBody;
use crate::domain::event::{Event, EventKind};
use crate::domain::incident::IncidentId;
use crate::domain::integrity::{self, Stored};
use crate::domain::log::{self, Head, Target};
use crate::domain::organisation::Organisation;
use crate::domain::outbox::{OutMessage, RecipientState};
use crate::domain::record::IncidentRecord;

const FORMAT: &[u8] = b"breachflow-store-1";
const KEY_FORMAT: &[u8] = b"format";
const KEY_ORGANISATION: &[u8] = b"organisation";
const KEY_NEXT_SEQ: &[u8] = b"next_seq";
/// The trees of a commit: meta, incidents, events, incident_events, deadlines, documents,
/// messages, reminders, recipients.
type Trees<'a> = (
    &'a sled::Tree,
    &'a sled::Tree,
    &'a sled::Tree,
    &'a sled::Tree,
    &'a sled::Tree,
    &'a sled::Tree,
    &'a sled::Tree,
    &'a sled::Tree,
    &'a sled::Tree,
);

/// A key and its encoded value, ready for a transaction.
type Entry = (Vec<u8>, Vec<u8>);

/// The last event's hash, kept apart from the log so a log cut short shows.
const KEY_LAST_HASH: &[u8] = b"last_hash";
const KEY_COUNTER: &[u8] = b"counter";
/// The last event's recorded time (RFC 3339), so the next one can be later whatever the clock.
const KEY_LAST_RECORDED: &[u8] = b"last_recorded";

/// An open store. Holds sled's exclusive lock on the directory until dropped.
pub struct SledStore {
    dir: PathBuf,
    db: sled::Db,
    meta: sled::Tree,
    incidents: sled::Tree,
    events: sled::Tree,
    incident_events: sled::Tree,
    deadlines: sled::Tree,
    documents: sled::Tree,
    messages: sled::Tree,
    recipients: sled::Tree,
    reminders: sled::Tree,
    users: sled::Tree,
    credentials: sled::Tree,
    /// The system clock (or, in `test-clock` builds, the test's; in the demo, the scenario's),
    /// read at each commit.
    clock: std::sync::Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    /// Things an operator should know, printed to stderr when the store is closed.
    warnings: std::sync::Mutex<Vec<String>>,
    /// The flush that commits made at about the same time, by threads sharing this store,
    /// share (group commit).
    group: std::sync::Arc<GroupFlush>,
    /// Incident records already decoded, shared by every handle on this store (a reader
    /// always checks them against the stored bytes).
    decoded: std::sync::Arc<super::decoded::Decoded<IncidentId, IncidentRecord>>,
    /// The organisation profile, likewise (most commands read it).
    organisation: std::sync::Arc<super::decoded::Decoded<(), Organisation>>,
}

impl Drop for SledStore {
    fn drop(&mut self) {
        if let Ok(warnings) = self.warnings.lock() {
            for w in warnings.iter() {
                eprintln!("warning: {w}");
            }
        }
    }
}

/// Index keys of a record's open obligations.
fn deadline_keys(record: &IncidentRecord) -> Vec<Vec<u8>> {
    record
        .open_obligations()
        .map(|o| match o.due.instant() {
            Some(at) => {
                let mut key = vec![b'd'];
                key.extend_from_slice(&instant_key(at));
                key.extend_from_slice(&record.id.key());
                key.extend_from_slice(o.id.as_bytes());
                key
            }
            None => {
                let mut key = vec![b'w'];
                key.extend_from_slice(&record.id.key());
                key.extend_from_slice(o.id.as_bytes());
                key
            }
        })
        .collect()
}

/// Milliseconds since the epoch with the sign bit flipped, so byte order is time order.
fn instant_key(at: DateTime<Utc>) -> [u8; 8] {
    ((at.timestamp_millis() as u64) ^ (1 << 63)).to_be_bytes()
}

fn instant_from_key(bytes: &[u8]) -> Option<DateTime<Utc>> {
    let raw = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?) ^ (1 << 63);
    DateTime::from_timestamp_millis(raw as i64)
}

fn parse_deadline_key(key: &[u8]) -> Option<DeadlineEntry> {
    match key.first()? {
        b'd' => Some(DeadlineEntry {
            at: Some(instant_from_key(key.get(1..9)?)?),
            incident: IncidentId::from_key(key.get(9..15)?)?,
            obligation: String::from_utf8(key.get(15..)?.to_vec()).ok()?,
        }),
        b'w' => Some(DeadlineEntry {
            at: None,
            incident: IncidentId::from_key(key.get(1..7)?)?,
            obligation: String::from_utf8(key.get(7..)?.to_vec()).ok()?,
        }),
        _ => None,
    }
}

/// Aborts a transaction with a domain-level reason.
#[derive(Debug, thiserror::Error)]
enum Abort {
    #[error("conflict")]
    Conflict { expected: u64, found: u64 },
    #[error("{0}")]
    Damaged(String),
    #[error("{0}")]
    OutOfOrder(String),
}

impl SledStore {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        let store = SledStore::open_only(dir)?;
        tighten_permissions(dir);
        Ok(store)
    }

    /// Opens the store, waiting up to `wait` while another process holds it (a sender holds
    /// it only for each commit, so a short wait gets in between).
    pub fn open_waiting(dir: &Path, wait: std::time::Duration) -> Result<SledStore, StoreError> {
        retry_locked(wait, 5, || SledStore::open(dir))
    }

    /// Takes the store back after [`Store::idle`] let it go: like `open_waiting`, without
    /// walking the directory for permissions again (the first open did).
    pub(crate) fn reopen_waiting(
        dir: &Path,
        wait: std::time::Duration,
    ) -> Result<SledStore, StoreError> {
        retry_locked(wait, 2, || SledStore::open_only(dir))
    }

    /// The warnings gathered so far, taken out so they are printed once by whoever outlives
    /// this handle.
    pub(crate) fn take_warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }

    fn open_only(dir: &Path) -> Result<SledStore, StoreError> {
        const CACHE_BYTES: u64 = 64 * 1024 * 1024;
        prepare_dir(dir)?;
        let path = dir.to_path_buf();
        // sled may panic on some damaged files; a damaged store must be an error, not a crash.
        let opened = std::panic::catch_unwind(|| {
            // Every commit is flushed before it returns; a background flusher thread would
            // only add start-up and shut-down time to each short-lived command.
            // The page cache is bounded well below sled's 1 GB default: the team server keeps
            // the store open for weeks, and its memory should level off, not track the store.
            sled::Config::new()
                .path(&path)
                .flush_every_ms(None)
                .cache_capacity(CACHE_BYTES)
                .open()
        });
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(map_open_error(dir, e)),
            Err(_) => {
                return Err(StoreError::Damaged {
                    dir: dir.to_path_buf(),
                    detail: "the database files could not be read".into(),
                });
            }
        };
        let tree = |name: &str| {
            db.open_tree(name).map_err(|e| StoreError::Damaged {
                dir: dir.to_path_buf(),
                detail: e.to_string(),
            })
        };
        let store = SledStore {
            meta: tree("meta")?,
            incidents: tree("incidents")?,
            events: tree("events")?,
            incident_events: tree("incident_events")?,
            deadlines: tree("deadlines")?,
            documents: tree("documents")?,
            messages: tree("messages")?,
            recipients: tree("recipients")?,
            reminders: tree("reminders")?,
            users: tree("users")?,
            credentials: tree("credentials")?,
            dir: dir.to_path_buf(),
            db,
            clock: std::sync::Arc::new(crate::adapters::clock::recorded_now),
            warnings: std::sync::Mutex::new(Vec::new()),
            group: std::sync::Arc::new(GroupFlush::new()),
            decoded: Default::default(),
            organisation: Default::default(),
        };
        match store.meta.get(KEY_FORMAT).map_err(|e| store.io(e))? {
            Some(v) if v.as_ref() == FORMAT => {}
            Some(v) => {
                return Err(store.damaged(format!(
                    "unknown store format {:?}",
                    String::from_utf8_lossy(&v)
                )));
            }
            None => {
                store
                    .meta
                    .insert(KEY_FORMAT, FORMAT)
                    .map_err(|e| store.io(e))?;
                store.flush()?;
            }
        }
        Ok(store)
    }

    /// Opens a store whose recorded times come from `clock` instead of the system clock. Only
    /// `breachflow demo` does this: its store is a simulation of a past incident, recorded on
    /// the scenario's clock so that its log reads as the week it depicts.
    pub fn open_simulated(
        dir: &Path,
        clock: Box<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    ) -> Result<SledStore, StoreError> {
        let mut store = SledStore::open(dir)?;
        store.clock = std::sync::Arc::from(clock);
        Ok(store)
    }

    /// Another handle on this open store, for one request of the team server: sled's trees are
    /// shared (a commit through either is seen by both); warnings are the new handle's own.
    pub fn share(&self) -> SledStore {
        SledStore {
            dir: self.dir.clone(),
            db: self.db.clone(),
            meta: self.meta.clone(),
            incidents: self.incidents.clone(),
            events: self.events.clone(),
            incident_events: self.incident_events.clone(),
            deadlines: self.deadlines.clone(),
            documents: self.documents.clone(),
            messages: self.messages.clone(),
            recipients: self.recipients.clone(),
            reminders: self.reminders.clone(),
            users: self.users.clone(),
            credentials: self.credentials.clone(),
            clock: self.clock.clone(),
            warnings: std::sync::Mutex::new(Vec::new()),
            // One group of flushes per open store, whichever handle commits.
            group: self.group.clone(),
            decoded: self.decoded.clone(),
            organisation: self.organisation.clone(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Io {
            dir: self.dir.clone(),
            detail: e.to_string(),
        }
    }

    fn damaged(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Damaged {
            dir: self.dir.clone(),
            detail: detail.into(),
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|e| self.io(e))
    }

    /// Returns once the transaction this thread just applied is on disk: one flush shared with
    /// the commits of other threads made meanwhile (group commit), or this thread's own.
    fn durable(&self) -> Result<(), StoreError> {
        self.group
            .durable(|| self.db.flush().map(|_| ()).map_err(|e| e.to_string()))
            .map_err(|e| self.io(e))
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        bytes: &[u8],
    ) -> Result<T, StoreError> {
        serde_json::from_slice(bytes)
            .map_err(|e| self.damaged(format!("{what} cannot be read: {e}")))
    }

    /// The organisation profile, if `init` has run.
    pub fn organisation(&self) -> Result<Option<Organisation>, StoreError> {
        match self.meta.get(KEY_ORGANISATION).map_err(|e| self.io(e))? {
            Some(bytes) => {
                let kept = self
                    .organisation
                    .get_or_decode((), bytes, |b| self.decode("the organisation profile", b))?;
                Ok(Some(Organisation::clone(&kept)))
            }
            None => Ok(None),
        }
    }

    /// The organisation profile, or the error telling the user to run `init`.
    pub fn require_organisation(&self) -> Result<Organisation, StoreError> {
        self.organisation()?
            .ok_or_else(|| StoreError::NotInitialised(self.dir.clone()))
    }

    /// One incident's current record.
    pub fn incident(&self, id: IncidentId) -> Result<IncidentRecord, StoreError> {
        self.incident_shared(id)
            .map(std::sync::Arc::unwrap_or_clone)
    }

    /// One incident's current record, decoded once for as long as its stored bytes are the
    /// same (the team server reads the same records again and again).
    pub fn incident_shared(
        &self,
        id: IncidentId,
    ) -> Result<std::sync::Arc<IncidentRecord>, StoreError> {
        match self.incidents.get(id.key()).map_err(|e| self.io(e))? {
            Some(bytes) => self
                .decoded
                .get_or_decode(id, bytes, |b| self.decode(&format!("incident {id}"), b)),
            None => {
                let key = id.key();
                let nearest = [self.incidents.get_lt(key), self.incidents.get_gt(key)]
                    .into_iter()
                    .filter_map(|found| found.ok().flatten())
                    .filter_map(|(k, _)| IncidentId::from_key(&k))
                    .collect();
                Err(StoreError::UnknownIncident(id, Nearest(nearest)))
            }
        }
    }

    /// Every incident, in the order they were opened.
    pub fn incidents(&self) -> impl Iterator<Item = Result<IncidentRecord, StoreError>> + '_ {
        self.incidents.iter().map(move |item| {
            let (key, bytes) = item.map_err(|e| self.io(e))?;
            let id = IncidentId::from_key(&key)
                .map(|id| id.to_string())
                .unwrap_or_else(|| "(bad key)".into());
            self.decode(&format!("incident {id}"), &bytes)
        })
    }

    /// The ids of the `n` newest incidents, newest first: keys only, from the end of the tree,
    /// so the cost does not grow with the store (shell completion).
    pub fn newest_incident_ids(&self, n: usize) -> Vec<IncidentId> {
        self.incidents
            .iter()
            .keys()
            .rev()
            .filter_map(|k| k.ok().and_then(|k| IncidentId::from_key(&k)))
            .take(n)
            .collect()
    }

    /// One incident's events, oldest first, through the index.
    pub fn events_for(&self, id: IncidentId) -> Result<Vec<Event>, StoreError> {
        let mut out = Vec::new();
        for item in self.incident_events.scan_prefix(id.key()) {
            let (key, _) = item.map_err(|e| self.io(e))?;
            let seq = key
                .get(6..14)
                .ok_or_else(|| self.damaged("bad index key"))?;
            let bytes = self
                .events
                .get(seq)
                .map_err(|e| self.io(e))?
                .ok_or_else(|| self.damaged(format!("event {} of {id} is missing", be_u64(seq))))?;
            out.push(self.decode("an event", &bytes)?);
        }
        Ok(out)
    }

    /// The whole event log, oldest first.
    pub fn events(&self) -> impl Iterator<Item = Result<Event, StoreError>> + '_ {
        self.events.iter().map(move |item| {
            let (_, bytes) = item.map_err(|e| self.io(e))?;
            self.decode("an event", &bytes)
        })
    }

    /// Open obligations due (deadline or internal target) at or before `until`, soonest first.
    /// A range scan: its cost follows the number returned, not the size of the store.
    pub fn due_until(&self, until: DateTime<Utc>) -> Result<Vec<DeadlineEntry>, StoreError> {
        let mut end = vec![b'd'];
        end.extend_from_slice(&instant_key(until + chrono::Duration::milliseconds(1)));
        self.scan_deadlines(self.deadlines.range(b"d".to_vec()..end))
    }

    /// Every open obligation with an instant, soonest first.
    pub fn all_due(&self) -> Result<Vec<DeadlineEntry>, StoreError> {
        self.scan_deadlines(self.deadlines.scan_prefix(b"d"))
    }

    /// Open obligations whose clock has not started.
    pub fn waiting(&self) -> Result<Vec<DeadlineEntry>, StoreError> {
        self.scan_deadlines(self.deadlines.scan_prefix(b"w"))
    }

    fn scan_deadlines(&self, iter: sled::Iter) -> Result<Vec<DeadlineEntry>, StoreError> {
        let mut out = Vec::new();
        for item in iter {
            let (key, _) = item.map_err(|e| self.io(e))?;
            out.push(
                parse_deadline_key(&key).ok_or_else(|| self.damaged("bad deadline index key"))?,
            );
        }
        Ok(out)
    }

    /// A stored document version's text, HTML and case file.
    pub fn document_body(
        &self,
        id: IncidentId,
        name: &str,
        version: u32,
    ) -> Result<DocumentBody, StoreError> {
        match self
            .documents
            .get(document_key(id, name, version))
            .map_err(|e| self.io(e))?
        {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| self.damaged(format!("{id} {name} version {version}: {e}"))),
            None => Err(self.damaged(format!(
                "{id} {name} version {version} is in the log but its text is missing"
            ))),
        }
    }
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[8 - n..].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(b)
}

fn be_u32(bytes: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    let n = bytes.len().min(4);
    b[4 - n..].copy_from_slice(&bytes[..n]);
    u32::from_be_bytes(b)
}

/// Creates the directory 0700, or checks that an existing one is empty or already a store, so
/// that a mistyped `--data-dir` (a home directory, say) is never written into or re-permissioned.
fn prepare_dir(dir: &Path) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::Io {
        dir: dir.to_path_buf(),
        detail: e.to_string(),
    };
    if dir.exists() {
        if !dir.is_dir() {
            return Err(StoreError::NotAStore(dir.to_path_buf()));
        }
        let is_store = dir.join("conf").exists() && dir.join("db").exists();
        let empty = std::fs::read_dir(dir).map_err(io)?.next().is_none();
        if !is_store && !empty {
            return Err(StoreError::NotAStore(dir.to_path_buf()));
        }
    } else {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    Ok(())
}

/// Files 0600 and directories 0700 below the store. Best effort: a failure here leaves the
/// permissions sled's umask gave, which the process umask (077) already keeps private.
fn tighten_permissions(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700));
            tighten_permissions(&path);
        } else {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        }
    }
}

fn map_open_error(dir: &Path, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::WouldBlock
                || io.to_string().contains("could not acquire lock") =>
        {
            StoreError::Locked(dir.to_path_buf())
        }
        sled::Error::Io(io) => StoreError::Io {
            dir: dir.to_path_buf(),
            detail: io.to_string(),
        },
        other => StoreError::Damaged {
            dir: dir.to_path_buf(),
            detail: other.to_string(),
        },
    }
}

fn document_key(id: IncidentId, name: &str, version: u32) -> Vec<u8> {
    let mut key = id.key().to_vec();
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

fn message_key(id: IncidentId, number: u32) -> Vec<u8> {
    let mut key = id.key().to_vec();
    key.extend_from_slice(&number.to_be_bytes());
    key
}

fn reminder_key(id: IncidentId, obligation: &str, level: &str) -> Vec<u8> {
    let mut key = id.key().to_vec();
    key.extend_from_slice(obligation.as_bytes());
    key.push(0);
    key.extend_from_slice(level.as_bytes());
    key
}

/// The key of one bulk recipient: the address is hashed so the key has a fixed length and the
/// address itself is not repeated in the key.
fn recipient_key(id: IncidentId, document: &str, address: &str) -> Vec<u8> {
    let mut key = id.key().to_vec();
    key.extend_from_slice(document.as_bytes());
    key.push(0);
    key.extend_from_slice(&crate::domain::outbox::address_digest(address));
    key
}

/// Stores one sealed event under its sequence number, and in its incident's index.
fn put_event(
    events: &sled::transaction::TransactionalTree,
    index: &sled::transaction::TransactionalTree,
    event: &Event,
) -> Result<(), ConflictableTransactionError<Abort>> {
    let bytes = serde_json::to_vec(event)
        .map_err(|e| ConflictableTransactionError::Abort(Abort::Damaged(e.to_string())))?;
    events.insert(&event.seq.to_be_bytes(), bytes)?;
    if let Some(id) = event.incident {
        let mut key = id.key().to_vec();
        key.extend_from_slice(&event.seq.to_be_bytes());
        index.insert(key, &[])?;
    }
    Ok(())
}

fn read_head<E>(
    meta: &sled::transaction::TransactionalTree,
) -> Result<Head, ConflictableTransactionError<E>> {
    let mut head = Head::default();
    if let Some(v) = meta.get(KEY_LAST_RECORDED)? {
        head.last_recorded = DateTime::parse_from_rfc3339(&String::from_utf8_lossy(&v))
            .ok()
            .map(|t| t.with_timezone(&Utc));
    }
    if let Some(v) = meta.get(KEY_LAST_HASH)? {
        head.last_hash = String::from_utf8_lossy(&v).to_string();
    }
    if let Some(v) = meta.get(KEY_NEXT_SEQ)? {
        head.next_seq = be_u64(&v);
    }
    Ok(head)
}

fn write_head<E>(
    meta: &sled::transaction::TransactionalTree,
    head: &Head,
) -> Result<(), ConflictableTransactionError<E>> {
    meta.insert(KEY_NEXT_SEQ, &head.next_seq.to_be_bytes())?;
    meta.insert(KEY_LAST_HASH, head.last_hash.as_bytes())?;
    if let Some(at) = head.last_recorded {
        meta.insert(
            KEY_LAST_RECORDED,
            at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                .as_bytes(),
        )?;
    }
    Ok(())
}

/// What a key of the `meta` tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MetaKey {
    /// The format, the next sequence number and the last hash: the log's own, checked by the
    /// log's verification.
    Log,
    Organisation,
    LastRecorded,
    Counter,
    /// A bulk batch in flight (the bulk run's own record).
    Inflight,
    Unknown,
}

fn meta_key(key: &[u8]) -> MetaKey {
    match key {
        KEY_FORMAT | KEY_NEXT_SEQ | KEY_LAST_HASH => MetaKey::Log,
        KEY_ORGANISATION => MetaKey::Organisation,
        KEY_LAST_RECORDED => MetaKey::LastRecorded,
        k if k.starts_with(KEY_COUNTER) => MetaKey::Counter,
        k if k.starts_with(b"inflight") => MetaKey::Inflight,
        _ => MetaKey::Unknown,
    }
}

fn counter_key(year: u16) -> Vec<u8> {
    let mut key = KEY_COUNTER.to_vec();
    key.extend_from_slice(&year.to_be_bytes());
    key
}

fn parse_document_key(key: &[u8]) -> Option<integrity::DocKey> {
    let id = IncidentId::from_key(key.get(..6)?)?;
    let split = key.len().checked_sub(5)?;
    if split < 7 || key[split] != 0 {
        return None;
    }
    let name = String::from_utf8(key[6..split].to_vec()).ok()?;
    Some((id, name, be_u32(&key[split + 1..])))
}

fn parse_reminder_key(key: &[u8]) -> Option<integrity::Reminder> {
    let id = IncidentId::from_key(key.get(..6)?)?;
    let rest = &key[6..];
    let nul = rest.iter().position(|b| *b == 0)?;
    Some((
        id,
        String::from_utf8(rest[..nul].to_vec()).ok()?,
        String::from_utf8(rest[nul + 1..].to_vec()).ok()?,
    ))
}

impl SledStore {
    /// One incident's outbox, oldest first (a prefix scan).
    fn messages_in(&self, id: IncidentId) -> Result<Vec<OutMessage>, StoreError> {
        let mut out = Vec::new();
        for item in self.messages.scan_prefix(id.key()) {
            let (_, v) = item.map_err(|e| self.io(e))?;
            out.push(self.decode("an outbox record", &v)?);
        }
        Ok(out)
    }

    /// The highest incident number of `year` that a record or the incident-events index uses.
    fn highest_number(&self, year: u16) -> Result<u32, StoreError> {
        let mut highest = 0;
        for tree in [&self.incidents, &self.incident_events] {
            if let Some(item) = tree.scan_prefix(year.to_be_bytes()).next_back() {
                let (key, _) = item.map_err(|e| self.io(e))?;
                if let Some(id) = IncidentId::from_key(&key) {
                    highest = highest.max(id.number);
                }
            }
        }
        Ok(highest)
    }

    /// Every entry of `tree`, decoded by `read` (none: the key cannot be read).
    fn entries<K, V>(
        &self,
        tree: &sled::Tree,
        read: impl Fn(&[u8], &[u8]) -> Result<(K, V), String>,
    ) -> Result<Vec<integrity::Entry<K, V>>, StoreError> {
        let mut out = Vec::new();
        for item in tree.iter() {
            let (k, v) = item.map_err(|e| self.io(e))?;
            out.push(integrity::Entry {
                raw: k.to_vec(),
                read: read(&k, &v),
            });
        }
        Ok(out)
    }

    fn to_json(&self, value: &impl serde::Serialize) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(value).map_err(|e| self.damaged(e.to_string()))
    }

    fn read_stored(&self) -> Result<Stored, StoreError> {
        let bad_key = |what: &str| format!("not a key of the {what}");
        let json = |v: &[u8]| -> Result<DocumentBody, String> {
            serde_json::from_slice(v).map_err(|e| e.to_string())
        };
        let mut stored = Stored {
            records: self.entries(&self.incidents, |k, v| {
                let id = (k.len() == 6)
                    .then(|| IncidentId::from_key(k))
                    .flatten()
                    .ok_or_else(|| bad_key("incidents"))?;
                let record = serde_json::from_slice(v).map_err(|e| format!("{id}: {e}"))?;
                Ok((id, record))
            })?,
            index: self.entries(&self.incident_events, |k, _| {
                match (k.len() == 14).then(|| IncidentId::from_key(k)).flatten() {
                    Some(id) => Ok(((id, be_u64(&k[6..])), ())),
                    None => Err(bad_key("incident-events index")),
                }
            })?,
            deadlines: self.entries(&self.deadlines, |k, _| {
                let d = parse_deadline_key(k).ok_or_else(|| bad_key("deadline index"))?;
                Ok((
                    integrity::Deadline {
                        at: d.at,
                        incident: d.incident,
                        obligation: d.obligation,
                    },
                    (),
                ))
            })?,
            documents: self.entries(&self.documents, |k, v| {
                let key = parse_document_key(k).ok_or_else(|| bad_key("documents"))?;
                let body = json(v).map_err(|e| format!("{} {} v{}: {e}", key.0, key.1, key.2))?;
                Ok((key, body.hashes()))
            })?,
            reminders: self.entries(&self.reminders, |k, _| {
                Ok((
                    parse_reminder_key(k).ok_or_else(|| bad_key("reminders"))?,
                    (),
                ))
            })?,
            ..Stored::default()
        };
        for item in self.users.iter() {
            let (k, v) = item.map_err(|e| self.io(e))?;
            let raw = k.to_vec();
            match read_account(&k, &v) {
                Ok(account::Record::User(u)) => {
                    stored.users.push(integrity::Entry::ok(raw, u.id, u))
                }
                Ok(account::Record::Token(t)) => {
                    stored.tokens.push(integrity::Entry::ok(raw, t.id, t))
                }
                Err(why) => stored.users.push(integrity::Entry::bad(raw, why)),
            }
        }
        stored.credentials = self.entries(&self.credentials, read_credential)?;
        for item in self.meta.iter() {
            let (k, v) = item.map_err(|e| self.io(e))?;
            let raw = k.to_vec();
            match meta_key(&k) {
                MetaKey::Log | MetaKey::Inflight => {}
                MetaKey::Organisation => {
                    stored.organisation = Some(integrity::Entry {
                        raw,
                        read: serde_json::from_slice(&v)
                            .map(|o| ((), o))
                            .map_err(|e| e.to_string()),
                    });
                }
                MetaKey::LastRecorded => {
                    stored.last_recorded = Some(integrity::Entry {
                        raw,
                        read: DateTime::parse_from_rfc3339(&String::from_utf8_lossy(&v))
                            .map(|t| ((), t.with_timezone(&Utc)))
                            .map_err(|e| e.to_string()),
                    });
                }
                MetaKey::Counter => stored.counters.push(integrity::Entry {
                    read: match (k.len(), v.len()) {
                        (9, 4) => Ok((be_u32(&k[7..]) as u16, be_u32(&v))),
                        _ => Err("not a counter (year, number)".into()),
                    },
                    raw,
                }),
                MetaKey::Unknown => stored.unknown_meta.push(raw),
            }
        }
        Ok(stored)
    }

    fn rebuild_trees(&self, rebuild: &Rebuild<'_>) -> Result<(), StoreError> {
        let x = rebuild.expected;
        // Encoded before the transaction, which may run twice.
        let mut records = Vec::with_capacity(x.records.len());
        for r in x.records.values() {
            records.push((r.id.key().to_vec(), self.to_json(r)?));
        }
        let index: Vec<Vec<u8>> = x
            .index
            .iter()
            .map(|(id, seq)| [id.key().as_slice(), &seq.to_be_bytes()].concat())
            .collect();
        let deadlines: Vec<Vec<u8>> = x.records.values().flat_map(deadline_keys).collect();
        let counters: Vec<Entry> = x
            .counters
            .iter()
            .map(|(year, n)| (counter_key(*year), n.to_be_bytes().to_vec()))
            .collect();
        let reminders: Vec<Vec<u8>> = x
            .reminders
            .iter()
            .map(|(id, o, l)| reminder_key(*id, o, l))
            .collect();
        let organisation = x
            .organisation
            .as_ref()
            .map(|o| self.to_json(o))
            .transpose()?;
        let last_recorded = x.last_recorded.map(|at| {
            at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                .into_bytes()
        });
        let bodies = self.encode_documents(
            rebuild
                .documents
                .iter()
                .map(|((id, name, version), body)| (*id, name.as_str(), *version, body)),
        )?;
        let messages = rebuild
            .messages
            .map(|m| self.encode_messages(m))
            .transpose()?;
        let recipients = rebuild
            .recipients
            .map(|r| self.encode_recipients(r))
            .transpose()?;
        // What is there now, to clear.
        let keys = |tree: &sled::Tree| -> Result<Vec<sled::IVec>, StoreError> {
            tree.iter()
                .keys()
                .collect::<Result<_, _>>()
                .map_err(|e| self.io(e))
        };
        let (old_records, old_index, old_deadlines, old_reminders) = (
            keys(&self.incidents)?,
            keys(&self.incident_events)?,
            keys(&self.deadlines)?,
            keys(&self.reminders)?,
        );
        let old_messages = keys(&self.messages)?;
        let old_recipients = keys(&self.recipients)?;
        let old_meta: Vec<sled::IVec> = keys(&self.meta)?
            .into_iter()
            .filter(|k| {
                matches!(
                    meta_key(k),
                    MetaKey::Organisation
                        | MetaKey::LastRecorded
                        | MetaKey::Counter
                        | MetaKey::Unknown
                )
            })
            .collect();
        // The accounts and tokens as the log leaves them, replacing the users tree.
        let mut accounts: Vec<Entry> = Vec::new();
        for u in x.accounts.users.values() {
            accounts.push((account_key(account::Key::User(u.id)), self.to_json(u)?));
        }
        for t in x.accounts.tokens.values() {
            accounts.push((account_key(account::Key::Token(t.id)), self.to_json(t)?));
        }
        let old_accounts = keys(&self.users)?;
        // Eleven trees: more than sled's tuples take, so a slice of them.
        let trees = [
            &self.meta,
            &self.incidents,
            &self.events,
            &self.incident_events,
            &self.deadlines,
            &self.documents,
            &self.messages,
            &self.reminders,
            &self.recipients,
            &self.users,
            &self.credentials,
        ];
        let result: Result<(), TransactionError<()>> = trees[..].transaction(|trees| {
            let [
                meta,
                incidents,
                _,
                index_tree,
                deadline_tree,
                documents,
                out,
                reminder_tree,
                bulk,
                users,
                credentials,
            ] = trees.as_slice()
            else {
                return Err(ConflictableTransactionError::Abort(()));
            };
            for k in &old_accounts {
                users.remove(k)?;
            }
            put(users, &accounts)?;
            for k in rebuild.remove_credentials {
                credentials.remove(k.as_slice())?;
            }
            for (tree, old, new) in [
                (out, &old_messages, &messages),
                (bulk, &old_recipients, &recipients),
            ] {
                if let Some(new) = new {
                    for k in old {
                        tree.remove(k)?;
                    }
                    for (k, v) in new {
                        tree.insert(k.as_slice(), v.as_slice())?;
                    }
                }
            }
            for k in &old_meta {
                meta.remove(k)?;
            }
            for (k, v) in &counters {
                meta.insert(k.as_slice(), v.as_slice())?;
            }
            if let Some(o) = &organisation {
                meta.insert(KEY_ORGANISATION, o.as_slice())?;
            }
            if let Some(at) = &last_recorded {
                meta.insert(KEY_LAST_RECORDED, at.as_slice())?;
            }
            for k in &old_records {
                incidents.remove(k)?;
            }
            for (k, v) in &records {
                incidents.insert(k.as_slice(), v.as_slice())?;
            }
            for (tree, old, new) in [
                (index_tree, &old_index, &index),
                (deadline_tree, &old_deadlines, &deadlines),
                (reminder_tree, &old_reminders, &reminders),
            ] {
                for k in old {
                    tree.remove(k)?;
                }
                for k in new {
                    tree.insert(k.as_slice(), &[])?;
                }
            }
            for k in rebuild.remove_documents {
                documents.remove(k.as_slice())?;
            }
            for (k, v) in &bodies {
                documents.insert(k.as_slice(), v.as_slice())?;
            }
            Ok(())
        });
        result.map_err(|e| self.io(format!("{e:?}")))?;
        self.flush()
    }

    /// Every tree a commit or an import writes, for one transaction across them.
    fn trees(&self) -> Trees<'_> {
        (
            &self.meta,
            &self.incidents,
            &self.events,
            &self.incident_events,
            &self.deadlines,
            &self.documents,
            &self.messages,
            &self.reminders,
            &self.recipients,
        )
    }

    /// Document bodies under their keys, encoded before a transaction (which may run twice).
    fn encode_documents<'b>(
        &self,
        bodies: impl Iterator<Item = (IncidentId, &'b str, u32, &'b DocumentBody)>,
    ) -> Result<Vec<Entry>, StoreError> {
        bodies
            .map(|(id, name, version, body)| {
                let bytes = serde_json::to_vec(body).map_err(|e| self.damaged(e.to_string()))?;
                Ok((document_key(id, name, version), bytes))
            })
            .collect()
    }

    /// Bulk recipient states under their keys.
    fn encode_recipients(
        &self,
        states: &[(IncidentId, &str, RecipientState)],
    ) -> Result<Vec<Entry>, StoreError> {
        states
            .iter()
            .map(|(id, document, state)| {
                let bytes = serde_json::to_vec(state).map_err(|e| self.damaged(e.to_string()))?;
                Ok((recipient_key(*id, document, &state.address), bytes))
            })
            .collect()
    }

    /// Outbox records under their keys.
    fn encode_messages(&self, messages: &[OutMessage]) -> Result<Vec<Entry>, StoreError> {
        messages
            .iter()
            .map(|m| {
                let bytes = serde_json::to_vec(m).map_err(|e| self.damaged(e.to_string()))?;
                Ok((message_key(m.incident, m.number), bytes))
            })
            .collect()
    }

    fn abort_to_error(&self, e: TransactionError<Abort>, id: Option<IncidentId>) -> StoreError {
        match e {
            TransactionError::Abort(Abort::Conflict { expected, found }) => StoreError::Conflict {
                id: id.unwrap_or(IncidentId { year: 0, number: 0 }),
                expected,
                found,
            },
            TransactionError::Abort(Abort::Damaged(detail)) => self.damaged(detail),
            TransactionError::Abort(Abort::OutOfOrder(m)) => StoreError::OutOfOrder(m),
            TransactionError::Storage(e) => self.io(e),
        }
    }
}

/// Why an account commit's transaction stopped.
#[derive(Debug)]
enum AccountAbort {
    /// The account or token was added meanwhile, or is gone.
    Account(account::Key),
    Damaged(String),
    OutOfOrder(String),
}

/// The `users` key of an account or token.
fn account_key(key: account::Key) -> Vec<u8> {
    match key {
        account::Key::User(id) => [b"u".as_slice(), &id.key()].concat(),
        account::Key::Token(id) => [b"t".as_slice(), &id.key()].concat(),
    }
}

/// The `credentials` key and value of a credential.
fn credential_entry(c: &Credential) -> Entry {
    match c {
        Credential::Password { user, phc } => (
            [b"p".as_slice(), &user.key()].concat(),
            phc.as_bytes().to_vec(),
        ),
        Credential::Token { token, hash } => (
            [b"t".as_slice(), hash.as_bytes()].concat(),
            token.to_string().into_bytes(),
        ),
    }
}

/// Reads a `users` entry: an account or a token, by its key's letter.
fn read_account(key: &[u8], value: &[u8]) -> Result<account::Record, String> {
    let record = read_account_value(key, value)?;
    // An entry under another's key would hide behind it in every comparison.
    if account_key(record.key()) != key {
        return Err(format!("its key does not name {}", record.key()));
    }
    Ok(record)
}

fn read_account_value(key: &[u8], value: &[u8]) -> Result<account::Record, String> {
    match (key.first(), key.get(1..)) {
        (Some(b'u'), Some(n)) if n.len() == 4 => serde_json::from_slice::<account::User>(value)
            .map(account::Record::User)
            .map_err(|e| e.to_string()),
        (Some(b't'), Some(n)) if n.len() == 4 => serde_json::from_slice::<account::Token>(value)
            .map(account::Record::Token)
            .map_err(|e| e.to_string()),
        _ => Err("not a key of the users tree".into()),
    }
}

/// Reads a `credentials` entry: which secret it is, and the SHA-256 of its record.
fn read_credential(key: &[u8], value: &[u8]) -> Result<(CredentialKey, String), String> {
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| "not text".to_string());
    match (key.first(), key.get(1..)) {
        (Some(b'p'), Some(n)) => {
            let id = UserId::from_key(n).ok_or("not a user id")?;
            Ok((
                CredentialKey::Password(id),
                account::commitment(&text(value)?),
            ))
        }
        (Some(b't'), Some(hash)) if hash.len() == 64 => {
            let token: TokenId = text(value)?.parse()?;
            Ok((
                CredentialKey::Token(token),
                account::commitment(&text(hash)?),
            ))
        }
        _ => Err("not a key of the credentials tree".into()),
    }
}

impl SledStore {
    /// Commits account events (`Subject::Accounts`) in their own transaction over the trees
    /// they touch: the log, the users tree (each event folded into the record it names, read
    /// inside the transaction) and the credentials. None when `change` is not about accounts;
    /// a commit that mixes account events with others is refused.
    fn accounts_commit(&self, change: &Change<'_>) -> Option<Result<Committed, StoreError>> {
        let accounts = matches!(change.subject, Subject::Accounts);
        let of_accounts = change
            .kinds
            .iter()
            .filter(|k| account::is_account_event(k))
            .count();
        if !accounts && of_accounts == 0 {
            return None;
        }
        if !accounts || of_accounts != change.kinds.len() {
            return Some(Err(self.damaged(
                "account events are committed on their own, as accounts (a bug)",
            )));
        }
        Some(self.commit_accounts(change))
    }

    fn commit_accounts(&self, change: &Change<'_>) -> Result<Committed, StoreError> {
        let clock = (self.clock)();
        let puts: Vec<Entry> = change
            .writes
            .credentials
            .iter()
            .map(credential_entry)
            .collect();
        // A revoked token's hash goes with it; found before the transaction, which cannot
        // scan (revoking is rare, and tokens few).
        let revoked: Vec<TokenId> = change
            .kinds
            .iter()
            .filter_map(|k| match k {
                EventKind::TokenRevoked { token } => Some(*token),
                _ => None,
            })
            .collect();
        let mut removes: Vec<Vec<u8>> = Vec::new();
        if !revoked.is_empty() {
            for item in self.credentials.scan_prefix(b"t") {
                let (k, v) = item.map_err(|e| self.io(e))?;
                if let Ok((CredentialKey::Token(id), _)) = read_credential(&k, &v)
                    && revoked.contains(&id)
                {
                    removes.push(k.to_vec());
                }
            }
        }
        let abort = ConflictableTransactionError::Abort;
        let result = (&self.meta, &self.events, &self.users, &self.credentials).transaction(
            |(meta, events, users, credentials)| {
                let mut head = read_head(meta)?;
                let prepared = log::prepare_commit(
                    &mut head,
                    Target::Organisation,
                    change.kinds,
                    &change.stamp,
                    clock,
                )
                .map_err(|e| {
                    abort(match e {
                        log::CommitError::Time(m) => AccountAbort::OutOfOrder(m),
                        e => AccountAbort::Damaged(e.to_string()),
                    })
                })?;
                for event in &prepared.events {
                    let bytes = serde_json::to_vec(event)
                        .map_err(|e| abort(AccountAbort::Damaged(e.to_string())))?;
                    events.insert(&event.seq.to_be_bytes(), bytes)?;
                    let Some(key) = account::key_of(&event.what) else {
                        continue;
                    };
                    let raw = account_key(key);
                    let before = match users.get(&raw)? {
                        Some(v) => Some(
                            read_account(&raw, &v)
                                .map_err(|e| abort(AccountAbort::Damaged(format!("{key}: {e}"))))?,
                        ),
                        None => None,
                    };
                    let after = account::apply(before, event)
                        .map_err(|_| abort(AccountAbort::Account(key)))?;
                    let bytes = match &after {
                        account::Record::User(u) => serde_json::to_vec(u),
                        account::Record::Token(t) => serde_json::to_vec(t),
                    }
                    .map_err(|e| abort(AccountAbort::Damaged(e.to_string())))?;
                    users.insert(raw, bytes)?;
                }
                write_head(meta, &head)?;
                for k in &removes {
                    credentials.remove(k.as_slice())?;
                }
                for (k, v) in &puts {
                    credentials.insert(k.as_slice(), v.as_slice())?;
                }
                Ok(Committed {
                    record: None,
                    events: prepared.events,
                    clock_went_back: prepared.clock_went_back,
                })
            },
        );
        let committed = match result {
            Ok(c) => c,
            Err(TransactionError::Abort(AccountAbort::Account(key))) => {
                return Err(StoreError::AccountConflict(key));
            }
            Err(TransactionError::Abort(AccountAbort::Damaged(d))) => return Err(self.damaged(d)),
            Err(TransactionError::Abort(AccountAbort::OutOfOrder(m))) => {
                return Err(StoreError::OutOfOrder(m));
            }
            Err(TransactionError::Storage(e)) => return Err(self.io(e)),
        };
        self.flush()?;
        Ok(committed)
    }

    /// Every entry of the `users` tree, in key order, decoded.
    fn account_records(&self, prefix: &[u8]) -> Result<Vec<account::Record>, StoreError> {
        let mut out = Vec::new();
        for item in self.users.scan_prefix(prefix) {
            let (k, v) = item.map_err(|e| self.io(e))?;
            out.push(
                read_account(&k, &v)
                    .map_err(|e| self.damaged(format!("the users tree cannot be read: {e}")))?,
            );
        }
        Ok(out)
    }

    fn account_record(&self, key: account::Key) -> Result<Option<account::Record>, StoreError> {
        let raw = account_key(key);
        match self.users.get(&raw).map_err(|e| self.io(e))? {
            Some(v) => read_account(&raw, &v)
                .map(Some)
                .map_err(|e| self.damaged(format!("{key} cannot be read: {e}"))),
            None => Ok(None),
        }
    }
}

impl Store for SledStore {
    fn location(&self) -> PathBuf {
        self.dir.clone()
    }

    fn organisation(&self) -> Result<Option<Organisation>, StoreError> {
        SledStore::organisation(self)
    }

    fn incident(&self, id: IncidentId) -> Result<IncidentRecord, StoreError> {
        SledStore::incident(self, id)
    }

    fn incident_shared(
        &self,
        id: IncidentId,
    ) -> Result<std::sync::Arc<IncidentRecord>, StoreError> {
        SledStore::incident_shared(self, id)
    }

    fn newest_incidents(&self, n: usize) -> Result<Vec<IncidentId>, StoreError> {
        Ok(self.newest_incident_ids(n))
    }

    fn incidents(&self) -> Box<dyn Iterator<Item = Result<IncidentRecord, StoreError>> + '_> {
        Box::new(SledStore::incidents(self))
    }

    fn events_for(&self, id: IncidentId) -> Result<Vec<Event>, StoreError> {
        SledStore::events_for(self, id)
    }

    fn log(&self) -> LogEntries<'_> {
        Box::new(self.events.iter().map(move |item| {
            let (k, bytes) = item.map_err(|e| self.io(e))?;
            let key = if k.len() == 8 { be_u64(&k) } else { 0 };
            Ok((
                key,
                serde_json::from_slice::<Event>(&bytes).map_err(|e| e.to_string()),
            ))
        }))
    }

    fn recorded(&self) -> Result<Recorded, StoreError> {
        let count = match self.meta.get(KEY_NEXT_SEQ).map_err(|e| self.io(e))? {
            Some(n) => be_u64(&n).saturating_sub(1),
            None => 0,
        };
        let last_hash = self
            .meta
            .get(KEY_LAST_HASH)
            .map_err(|e| self.io(e))?
            .map(|h| String::from_utf8_lossy(&h).to_string());
        Ok(Recorded { count, last_hash })
    }

    fn due_until(&self, until: DateTime<Utc>) -> Result<Vec<DeadlineEntry>, StoreError> {
        SledStore::due_until(self, until)
    }

    fn all_due(&self) -> Result<Vec<DeadlineEntry>, StoreError> {
        SledStore::all_due(self)
    }

    fn waiting(&self) -> Result<Vec<DeadlineEntry>, StoreError> {
        SledStore::waiting(self)
    }

    fn document_body(&self, of: VersionOf<'_>) -> Result<DocumentBody, StoreError> {
        SledStore::document_body(self, of.0, of.1, of.2)
    }

    fn commit(&self, change: Change<'_>) -> Result<Committed, StoreError> {
        if let Some(done) = self.accounts_commit(&change) {
            return done;
        }
        let (subject, kinds, stamp, writes) =
            (change.subject, change.kinds, change.stamp, change.writes);
        let clock = (self.clock)();
        let encoded = self.encode_documents(
            writes
                .documents
                .iter()
                .map(|(id, name, version, body)| (*id, *name, *version, *body)),
        )?;
        let messages = self.encode_messages(writes.messages)?;
        let reminders: Vec<Vec<u8>> = writes
            .reminders
            .iter()
            .map(|(id, obligation, level)| reminder_key(*id, obligation, level))
            .collect();
        // The highest number of the year that any record or any event uses: a new incident is
        // numbered after it whatever the counter says, so a lost or lowered counter never
        // hands out an id in use. (Read before the transaction: sled's cannot scan.)
        let floor = match &subject {
            Subject::NewIncident { year } => self.highest_number(*year)?,
            _ => 0,
        };
        let recipients = self.encode_recipients(writes.recipients)?;
        // The record's bytes as the transaction wrote them (its last attempt's).
        let written: std::cell::RefCell<Option<sled::IVec>> = std::cell::RefCell::new(None);
        let result = self.trees().transaction(
            |(
                meta,
                incidents,
                events,
                index,
                deadlines,
                documents,
                outbox,
                sent_reminders,
                bulk,
            )| {
                put(bulk, &recipients)?;
                put(documents, &encoded)?;
                put(outbox, &messages)?;
                mark(sent_reminders, &reminders)?;
                let mut head = read_head(meta)?;
                let target = match &subject {
                    Subject::Organisation(org) => {
                        let bytes = serde_json::to_vec(org).map_err(|e| {
                            ConflictableTransactionError::Abort(Abort::Damaged(e.to_string()))
                        })?;
                        meta.insert(KEY_ORGANISATION, bytes)?;
                        Target::Organisation
                    }
                    Subject::Log | Subject::Accounts => Target::Organisation,
                    Subject::NewIncident { year } => {
                        let mut key = KEY_COUNTER.to_vec();
                        key.extend_from_slice(&year.to_be_bytes());
                        let counter = meta.get(&key)?.map(|v| be_u32(&v)).unwrap_or(0);
                        let number = counter.max(floor) + 1;
                        let id = IncidentId {
                            year: *year,
                            number,
                        };
                        // An id already in use is never overwritten, whatever the counter says.
                        if incidents.get(id.key())?.is_some() {
                            return Err(ConflictableTransactionError::Abort(Abort::Damaged(
                                format!("the incident counter gives {id}, which is already in use"),
                            )));
                        }
                        meta.insert(key, &number.to_be_bytes())?;
                        Target::New(id)
                    }
                    Subject::Incident(current) => {
                        let stored = match incidents.get(current.id.key())? {
                            Some(bytes) => self.decoded.get_or_decode(current.id, bytes, |b| {
                                serde_json::from_slice::<IncidentRecord>(b).map_err(|e| {
                                    ConflictableTransactionError::Abort(Abort::Damaged(
                                        e.to_string(),
                                    ))
                                })
                            })?,
                            None => {
                                return Err(ConflictableTransactionError::Abort(Abort::Damaged(
                                    format!("incident {} vanished", current.id),
                                )));
                            }
                        };
                        if stored.version != current.version {
                            return Err(ConflictableTransactionError::Abort(Abort::Conflict {
                                expected: current.version,
                                found: stored.version,
                            }));
                        }
                        Target::Existing(Box::new(std::sync::Arc::unwrap_or_clone(stored)))
                    }
                };
                let old_keys = match &target {
                    Target::Existing(r) => deadline_keys(r),
                    _ => Vec::new(),
                };
                let prepared = log::prepare_commit(&mut head, target, kinds, &stamp, clock)
                    .map_err(|e| {
                        ConflictableTransactionError::Abort(match e {
                            log::CommitError::Time(m) => Abort::OutOfOrder(m),
                            e => Abort::Damaged(e.to_string()),
                        })
                    })?;
                for event in &prepared.events {
                    put_event(events, index, event)?;
                }
                write_head(meta, &head)?;
                let record = prepared.record;
                if let Some(rec) = &record {
                    let id = rec.id;
                    let bytes = serde_json::to_vec(rec).map_err(|e| {
                        ConflictableTransactionError::Abort(Abort::Damaged(e.to_string()))
                    })?;
                    let bytes = sled::IVec::from(bytes);
                    *written.borrow_mut() = Some(bytes.clone());
                    incidents.insert(&id.key(), bytes)?;
                    let new_keys = deadline_keys(rec);
                    for key in old_keys.iter().filter(|k| !new_keys.contains(k)) {
                        deadlines.remove(key.as_slice())?;
                    }
                    for key in new_keys.iter().filter(|k| !old_keys.contains(k)) {
                        deadlines.insert(key.as_slice(), &[])?;
                    }
                }
                Ok(Committed {
                    record,
                    events: prepared.events,
                    clock_went_back: prepared.clock_went_back,
                })
            },
        );
        let committed = match result {
            Ok(c) => {
                // What the next reader of this incident would decode: kept now, while both
                // are in hand.
                if let (Some(record), Some(bytes)) = (&c.record, written.take()) {
                    self.decoded
                        .keep(record.id, bytes, std::sync::Arc::new(record.clone()));
                }
                c
            }
            Err(TransactionError::Abort(Abort::Conflict { expected, found })) => {
                let id = match subject {
                    Subject::Incident(r) => r.id,
                    _ => IncidentId { year: 0, number: 0 },
                };
                return Err(StoreError::Conflict {
                    id,
                    expected,
                    found,
                });
            }
            Err(TransactionError::Abort(Abort::Damaged(detail))) => {
                return Err(self.damaged(detail));
            }
            Err(TransactionError::Abort(Abort::OutOfOrder(m))) => {
                return Err(StoreError::OutOfOrder(m));
            }
            Err(TransactionError::Storage(e)) => return Err(self.io(e)),
        };
        self.durable()?;
        if let Some(back) = committed.clock_went_back
            && let Ok(mut w) = self.warnings.lock()
        {
            let warning = format!(
                "this machine's clock is {} behind the last recorded event; the new events were recorded just after it instead; check the system clock",
                crate::domain::deadline::minutes(back.num_minutes().max(1))
            );
            // Said once per command, however many commits (a bulk run makes one per batch).
            if !w.contains(&warning) {
                w.push(warning);
            }
        }
        Ok(committed)
    }

    fn import(&self, import: &Import<'_>) -> Result<(), StoreError> {
        let record = import.record;
        let id = record.id;
        let bodies = self.encode_documents(
            import
                .documents
                .iter()
                .map(|(name, version, body)| (id, name.as_str(), *version, body)),
        )?;
        let outbox = self.encode_messages(import.messages)?;
        let states: Vec<(IncidentId, &str, RecipientState)> = import
            .recipients
            .iter()
            .map(|(doc, s)| (id, doc.as_str(), s.clone()))
            .collect();
        let bulk = self.encode_recipients(&states)?;
        let record_bytes = serde_json::to_vec(record).map_err(|e| self.damaged(e.to_string()))?;
        // The reminders the bundle's events say were sent are marked, as their commits did.
        let marks: Vec<Vec<u8>> = import
            .events
            .iter()
            .filter_map(|e| match &e.what {
                crate::domain::event::EventKind::ReminderSent {
                    obligation, level, ..
                } => Some(reminder_key(id, obligation, level)),
                _ => None,
            })
            .collect();
        let result = self.trees().transaction(
            |(meta, incidents, events, index, deadlines, docs, out, sent_reminders, recipients)| {
                // Checked inside the transaction, so two imports of one id cannot both pass.
                if incidents.get(id.key())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(Abort::Conflict {
                        expected: 0,
                        found: record.version,
                    }));
                }
                let mut head = read_head(meta)?;
                for e in log::prepare_import(&mut head, import.events) {
                    put_event(events, index, &e)?;
                }
                write_head(meta, &head)?;
                let mut counter = KEY_COUNTER.to_vec();
                counter.extend_from_slice(&id.year.to_be_bytes());
                let current = meta.get(&counter)?.map(|v| be_u32(&v)).unwrap_or(0);
                if id.number > current {
                    meta.insert(counter, &id.number.to_be_bytes())?;
                }
                incidents.insert(&id.key(), record_bytes.as_slice())?;
                mark(deadlines, &deadline_keys(record))?;
                put(docs, &bodies)?;
                put(out, &outbox)?;
                mark(sent_reminders, &marks)?;
                put(recipients, &bulk)?;
                Ok(())
            },
        );
        result.map_err(|e| self.abort_to_error(e, Some(id)))?;
        self.durable()
    }

    fn stored(&self) -> Result<Stored, StoreError> {
        self.read_stored()
    }

    fn rebuild(&self, rebuild: &Rebuild<'_>) -> Result<(), StoreError> {
        self.rebuild_trees(rebuild)
    }

    fn messages_for(&self, id: IncidentId) -> Result<Vec<OutMessage>, StoreError> {
        self.messages_in(id)
    }

    fn all_messages(&self) -> Result<Vec<OutMessage>, StoreError> {
        let mut out = Vec::new();
        for item in self.messages.iter() {
            let (_, v) = item.map_err(|e| self.io(e))?;
            out.push(self.decode("an outbox record", &v)?);
        }
        Ok(out)
    }

    fn next_message_number(&self, id: IncidentId) -> Result<u32, StoreError> {
        match self.messages.scan_prefix(id.key()).next_back() {
            Some(item) => {
                let (k, _) = item.map_err(|e| self.io(e))?;
                let n = k.get(6..10).ok_or_else(|| self.damaged("bad outbox key"))?;
                Ok(u32::from_be_bytes([n[0], n[1], n[2], n[3]]) + 1)
            }
            None => Ok(1),
        }
    }

    fn reminded(&self, id: IncidentId, obligation: &str, level: &str) -> Result<bool, StoreError> {
        self.reminders
            .contains_key(reminder_key(id, obligation, level))
            .map_err(|e| self.io(e))
    }

    fn recipient(&self, of: RecipientOf<'_>) -> Result<Option<RecipientState>, StoreError> {
        let (id, document, address) = of;
        match self
            .recipients
            .get(recipient_key(id, document, address))
            .map_err(|e| self.io(e))?
        {
            Some(v) => Ok(Some(self.decode("a recipient record", &v)?)),
            None => Ok(None),
        }
    }

    fn recipient_entries(
        &self,
        id: Option<IncidentId>,
    ) -> Result<Vec<StoredRecipient>, StoreError> {
        let iter = match id {
            Some(id) => self.recipients.scan_prefix(id.key()),
            None => self.recipients.iter(),
        };
        let mut out = Vec::new();
        for item in iter {
            let (k, v) = item.map_err(|e| self.io(e))?;
            // incident key (6) + document + 0 + digest (16)
            let bad = || self.damaged(format!("bad recipients key {}", hex::encode(&k)));
            let incident = k.get(..6).and_then(IncidentId::from_key).ok_or_else(bad)?;
            if k.len() < 6 + 1 + 16 || k[k.len() - 17] != 0 {
                return Err(bad());
            }
            let document = String::from_utf8(k[6..k.len() - 17].to_vec()).map_err(|_| bad())?;
            let mut digest = [0u8; 16];
            digest.copy_from_slice(&k[k.len() - 16..]);
            out.push(StoredRecipient {
                incident,
                document,
                digest,
                state: serde_json::from_slice(&v).map_err(|e| e.to_string()),
            });
        }
        Ok(out)
    }

    fn message_entries(&self) -> Result<Vec<StoredMessage>, StoreError> {
        let mut out = Vec::new();
        for item in self.messages.iter() {
            let (k, v) = item.map_err(|e| self.io(e))?;
            let bad = || self.damaged(format!("bad outbox key {}", hex::encode(&k)));
            let incident = k.get(..6).and_then(IncidentId::from_key).ok_or_else(bad)?;
            let number = k.get(6..10).filter(|_| k.len() == 10).ok_or_else(bad)?;
            out.push(StoredMessage {
                incident,
                number: be_u32(number),
                message: serde_json::from_slice(&v).map_err(|e| e.to_string()),
            });
        }
        Ok(out)
    }

    fn users(&self) -> Result<Vec<account::User>, StoreError> {
        Ok(self
            .account_records(b"u")?
            .into_iter()
            .filter_map(|r| match r {
                account::Record::User(u) => Some(u),
                account::Record::Token(_) => None,
            })
            .collect())
    }

    fn user(&self, id: UserId) -> Result<Option<account::User>, StoreError> {
        Ok(match self.account_record(account::Key::User(id))? {
            Some(account::Record::User(u)) => Some(u),
            _ => None,
        })
    }

    fn tokens(&self) -> Result<Vec<account::Token>, StoreError> {
        Ok(self
            .account_records(b"t")?
            .into_iter()
            .filter_map(|r| match r {
                account::Record::Token(t) => Some(t),
                account::Record::User(_) => None,
            })
            .collect())
    }

    fn token(&self, id: TokenId) -> Result<Option<account::Token>, StoreError> {
        Ok(match self.account_record(account::Key::Token(id))? {
            Some(account::Record::Token(t)) => Some(t),
            _ => None,
        })
    }

    fn password(&self, id: UserId) -> Result<Option<String>, StoreError> {
        let key = [b"p".as_slice(), &id.key()].concat();
        match self.credentials.get(key).map_err(|e| self.io(e))? {
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|_| self.damaged(format!("the password of {id} cannot be read"))),
            None => Ok(None),
        }
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenId>, StoreError> {
        let key = [b"t".as_slice(), hash.as_bytes()].concat();
        match self.credentials.get(key).map_err(|e| self.io(e))? {
            // An entry that does not name a token is no token (`audit verify` names it).
            Some(v) => Ok(std::str::from_utf8(&v).ok().and_then(|t| t.parse().ok())),
            None => Ok(None),
        }
    }
}
/// Calls `open` until it does not find the store locked, for up to `wait`, pausing `pause_ms`
/// between tries.
fn retry_locked(
    wait: std::time::Duration,
    pause_ms: u64,
    open: impl Fn() -> Result<SledStore, StoreError>,
) -> Result<SledStore, StoreError> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match open() {
            Err(StoreError::Locked(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(pause_ms));
            }
            other => return other,
        }
    }
}

/// Writes `entries` into `tree` inside a transaction.
fn put(
    tree: &sled::transaction::TransactionalTree,
    entries: &[Entry],
) -> Result<(), sled::transaction::UnabortableTransactionError> {
    for (k, v) in entries {
        tree.insert(k.as_slice(), v.as_slice())?;
    }
    Ok(())
}

/// Writes `keys` into `tree`, each with no value (a mark), inside a transaction.
fn mark(
    tree: &sled::transaction::TransactionalTree,
    keys: &[Vec<u8>],
) -> Result<(), sled::transaction::UnabortableTransactionError> {
    for k in keys {
        tree.insert(k.as_slice(), &[])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::app::Context;
    use crate::app::incident;
    use crate::domain::incident::{IncidentFacts, IncidentUpdate};
    use crate::domain::regime::Rulebook;

    /// The team server shares one open store among its request threads.
    #[test]
    fn a_store_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<SledStore>();
    }

    fn at() -> DateTime<Utc> {
        "2024-04-01T09:00:00Z".parse().unwrap()
    }

    /// A store with the example organisation and `n` incidents of the example, recorded on a
    /// fixed clock (so the effective time is never ahead of it).
    fn seeded(dir: &Path, n: usize) -> (SledStore, Vec<IncidentId>) {
        let mut store = SledStore::open(dir).unwrap();
        store.clock = std::sync::Arc::new(|| "2024-04-02T00:00:00Z".parse().unwrap());
        let org: Organisation =
            serde_json::from_str(include_str!("../../examples/organisation.json")).unwrap();
        let ctx = Context::self_declared(at(), "tester");
        incident::record_organisation(&store, &ctx, "org.json", org, false).unwrap();
        let facts: IncidentFacts =
            serde_json::from_str(include_str!("../../examples/incident-ransomware.json")).unwrap();
        let ids = (0..n)
            .map(|_| {
                incident::open(&store, &ctx, "incident.json", &facts)
                    .unwrap()
                    .id
            })
            .collect();
        (store, ids)
    }

    fn retitle(store: &SledStore, book: &Rulebook, id: IncidentId, who: &str, i: usize) {
        let update = IncidentUpdate {
            title: Some(format!("Ransomware, revision {i} by {who}")),
            ..IncidentUpdate::default()
        };
        incident::update(
            store,
            &Context::self_declared(at(), who),
            book,
            id,
            "update.json",
            &update,
        )
        .unwrap_or_else(|e| panic!("{who}'s update {i} of {id}: {e}"));
    }

    /// Group commit: many threads committing at once through one store, each to its own
    /// incident; every commit is in the log afterwards and the log verifies.
    #[test]
    fn many_threads_commit_through_one_store() {
        let tmp = tempfile::tempdir().unwrap();
        let (threads, each) = (16, 10);
        let (store, ids) = seeded(&tmp.path().join("store"), threads);
        let before = store.recorded().unwrap().count;
        let (store, book) = (Arc::new(store), Arc::new(Rulebook::load(None).unwrap()));
        let workers: Vec<_> = ids
            .iter()
            .map(|&id| {
                let (store, book) = (store.clone(), book.clone());
                std::thread::spawn(move || {
                    for i in 0..each {
                        retitle(&store, &book, id, &format!("writer {id}"), i);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        for &id in &ids {
            let record = store.incident(id).unwrap();
            assert_eq!(
                record.facts.title,
                format!("Ransomware, revision {} by writer {id}", each - 1)
            );
            let updates = store
                .events_for(id)
                .unwrap()
                .iter()
                .filter(|e| matches!(e.what, crate::domain::event::EventKind::FactsUpdated { .. }))
                .count();
            assert_eq!(updates, each, "{id}");
        }
        assert!(store.recorded().unwrap().count >= before + (threads * each) as u64);
        let verified = crate::app::audit::verify(store.as_ref()).unwrap();
        assert!(verified.is_ok(), "{verified:?}");
    }

    /// Two people updating the same incident at once: a commit that finds the incident changed
    /// since it was loaded is tried again on what it now is, so both succeed, and the
    /// incident's versions run on without a gap.
    #[test]
    fn two_writers_of_one_incident_both_succeed() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, ids) = seeded(&tmp.path().join("store"), 1);
        let id = ids[0];
        let start = store.incident(id).unwrap().version;
        let (store, book) = (Arc::new(store), Arc::new(Rulebook::load(None).unwrap()));
        let each = 25;
        let together = Arc::new(std::sync::Barrier::new(2));
        let workers: Vec<_> = ["Dana", "Walter"]
            .into_iter()
            .map(|who| {
                let (store, book, together) = (store.clone(), book.clone(), together.clone());
                std::thread::spawn(move || {
                    together.wait();
                    for i in 0..each {
                        retitle(&store, &book, id, who, i);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        let events = store.events_for(id).unwrap();
        let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
        let last = store.incident(id).unwrap().version;
        assert!(last >= start + 2 * each as u64);
        assert_eq!(versions, (1..=last).collect::<Vec<u64>>());
        for who in ["Dana", "Walter"] {
            let updates = events
                .iter()
                .filter(|e| e.actor == who)
                .filter(|e| matches!(e.what, crate::domain::event::EventKind::FactsUpdated { .. }))
                .count();
            assert_eq!(updates, each, "{who}");
        }
        let verified = crate::app::audit::verify(store.as_ref()).unwrap();
        assert!(verified.is_ok(), "{verified:?}");
    }
}
