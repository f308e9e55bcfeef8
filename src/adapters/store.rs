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
//!   bulk recipient's state (JSON), so a resumed run skips who already has the notice;
//! - `reminders`: incident key + obligation id + 0 + warning level -> nothing, once sent;
//! - `meta` also holds `inflight` + incident key + document name: the bulk batch being sent,
//!   so the next run knows exactly which recipients a crash left uncertain.
//!
//! Every command writes its record and events in one transaction across these trees and then
//! flushes, so success is printed only for what is on disk. The directory is 0700 and the files
//! 0600 (the process umask is 077 and `open` tightens anything older).

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::domain::document::DocumentBody;
use crate::domain::event::{Event, EventKind};
use crate::domain::incident::IncidentId;
use crate::domain::organisation::Organisation;
use crate::domain::outbox::OutMessage;
use crate::domain::record::{IncidentRecord, ReplayError};

const FORMAT: &[u8] = b"breachflow-store-1";
const KEY_FORMAT: &[u8] = b"format";
const KEY_ORGANISATION: &[u8] = b"organisation";
const KEY_NEXT_SEQ: &[u8] = b"next_seq";
/// The last event's hash, kept apart from the log so a log cut short shows.
const KEY_LAST_HASH: &[u8] = b"last_hash";
const KEY_COUNTER: &[u8] = b"counter";

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store at {0} is in use by another breachflow process; wait for it to finish and try again"
    )]
    Locked(PathBuf),
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
    #[error("incident {0} not found")]
    UnknownIncident(IncidentId),
    #[error(
        "incident {id} changed while this command ran (expected version {expected}, found {found}); run the command again"
    )]
    Conflict {
        id: IncidentId,
        expected: u64,
        found: u64,
    },
}

/// The subject of a commit.
pub enum Subject<'a> {
    /// The organisation profile (the event must be `OrganisationRecorded`).
    Organisation(&'a Organisation),
    /// A new incident, numbered in `year`.
    NewIncident { year: u16 },
    /// An existing incident at the version it was read.
    Incident(&'a IncidentRecord),
}

/// What a commit stored.
#[derive(Debug, Clone)]
pub struct Committed {
    pub record: Option<IncidentRecord>,
    pub events: Vec<Event>,
}

/// An open store. Holds sled's exclusive lock on the directory until dropped.
pub struct Store {
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
}

/// One entry of the deadline index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineEntry {
    /// The deadline or internal target; none when the clock has not started.
    pub at: Option<DateTime<Utc>>,
    pub incident: IncidentId,
    pub obligation: String,
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
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        prepare_dir(dir)?;
        let path = dir.to_path_buf();
        // sled may panic on some damaged files; a damaged store must be an error, not a crash.
        let opened = std::panic::catch_unwind(|| {
            // Every commit flushes itself; a background flusher thread would only add start-up
            // and shut-down time to each short-lived command.
            sled::Config::new().path(&path).flush_every_ms(None).open()
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
        let store = Store {
            meta: tree("meta")?,
            incidents: tree("incidents")?,
            events: tree("events")?,
            incident_events: tree("incident_events")?,
            deadlines: tree("deadlines")?,
            documents: tree("documents")?,
            messages: tree("messages")?,
            recipients: tree("recipients")?,
            reminders: tree("reminders")?,
            dir: dir.to_path_buf(),
            db,
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
        tighten_permissions(dir);
        Ok(store)
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
            Some(bytes) => Ok(Some(self.decode("the organisation profile", &bytes)?)),
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
        match self.incidents.get(id.key()).map_err(|e| self.io(e))? {
            Some(bytes) => self.decode(&format!("incident {id}"), &bytes),
            None => Err(StoreError::UnknownIncident(id)),
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

    /// Records `kinds` against `subject` in one transaction, then flushes. Returns the new record
    /// (for incidents) and the stored events.
    pub fn commit(
        &self,
        subject: Subject<'_>,
        kinds: &[EventKind],
        at: DateTime<Utc>,
        actor: &str,
    ) -> Result<Committed, StoreError> {
        self.commit_with_documents(subject, kinds, at, actor, &[])
    }

    /// `commit`, also storing document bodies (incident, document name, version, body) in the
    /// same transaction, so a version's events never exist without its text.
    pub fn commit_with_documents(
        &self,
        subject: Subject<'_>,
        kinds: &[EventKind],
        at: DateTime<Utc>,
        actor: &str,
        bodies: &[(IncidentId, &str, u32, &DocumentBody)],
    ) -> Result<Committed, StoreError> {
        self.commit_with(
            subject,
            kinds,
            at,
            actor,
            &Writes {
                documents: bodies,
                ..Writes::default()
            },
        )
    }

    /// `commit`, with other writes in the same transaction.
    pub fn commit_with(
        &self,
        subject: Subject<'_>,
        kinds: &[EventKind],
        at: DateTime<Utc>,
        actor: &str,
        writes: &Writes<'_>,
    ) -> Result<Committed, StoreError> {
        let mut encoded = Vec::with_capacity(writes.documents.len());
        for (id, name, version, body) in writes.documents {
            let bytes = serde_json::to_vec(body).map_err(|e| self.damaged(e.to_string()))?;
            encoded.push((document_key(*id, name, *version), bytes));
        }
        let mut messages = Vec::with_capacity(writes.messages.len());
        for m in writes.messages {
            let bytes = serde_json::to_vec(m).map_err(|e| self.damaged(e.to_string()))?;
            messages.push((message_key(m.incident, m.number), bytes));
        }
        let reminders: Vec<Vec<u8>> = writes
            .reminders
            .iter()
            .map(|(id, obligation, level)| reminder_key(*id, obligation, level))
            .collect();
        let trees = (
            &self.meta,
            &self.incidents,
            &self.events,
            &self.incident_events,
            &self.deadlines,
            &self.documents,
            &self.messages,
            &self.reminders,
        );
        let result = trees.transaction(
            |(meta, incidents, events, index, deadlines, documents, outbox, sent_reminders)| {
                for (key, bytes) in &encoded {
                    documents.insert(key.as_slice(), bytes.as_slice())?;
                }
                for (key, bytes) in &messages {
                    outbox.insert(key.as_slice(), bytes.as_slice())?;
                }
                for key in &reminders {
                    sent_reminders.insert(key.as_slice(), &[])?;
                }
                let mut last_hash = match meta.get(KEY_LAST_HASH)? {
                    Some(v) => String::from_utf8_lossy(&v).to_string(),
                    None => crate::domain::audit::GENESIS.to_string(),
                };
                let mut seq = match meta.get(KEY_NEXT_SEQ)? {
                    Some(v) => be_u64(&v),
                    None => 1,
                };
                let (id, mut record) = match &subject {
                    Subject::Organisation(org) => {
                        let bytes = serde_json::to_vec(org).map_err(|e| {
                            ConflictableTransactionError::Abort(Abort::Damaged(e.to_string()))
                        })?;
                        meta.insert(KEY_ORGANISATION, bytes)?;
                        (None, None)
                    }
                    Subject::NewIncident { year } => {
                        let mut key = KEY_COUNTER.to_vec();
                        key.extend_from_slice(&year.to_be_bytes());
                        let number = match meta.get(&key)? {
                            Some(v) => be_u32(&v) + 1,
                            None => 1,
                        };
                        meta.insert(key, &number.to_be_bytes())?;
                        (
                            Some(IncidentId {
                                year: *year,
                                number,
                            }),
                            None,
                        )
                    }
                    Subject::Incident(current) => {
                        let stored: IncidentRecord = match incidents.get(current.id.key())? {
                            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                                ConflictableTransactionError::Abort(Abort::Damaged(e.to_string()))
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
                        (Some(current.id), Some(stored))
                    }
                };
                let old_keys = record.as_ref().map(deadline_keys).unwrap_or_default();
                let mut stored_events = Vec::with_capacity(kinds.len());
                for kind in kinds {
                    let version = match (&record, id) {
                        (Some(r), _) => r.version + 1,
                        (None, Some(_)) => 1,
                        (None, None) => 0,
                    };
                    let mut event = Event {
                        seq,
                        incident: id,
                        version,
                        at,
                        actor: actor.to_string(),
                        what: kind.clone(),
                        seal: Default::default(),
                    };
                    let prev_chain = match &record {
                        Some(r) if !r.chain.is_empty() => r.chain.clone(),
                        _ => crate::domain::audit::GENESIS.to_string(),
                    };
                    crate::domain::audit::seal(&mut event, &last_hash, &prev_chain);
                    last_hash = event.seal.hash.clone();
                    if id.is_some() {
                        record = Some(IncidentRecord::apply(record.take(), &event).map_err(
                            |e: ReplayError| {
                                ConflictableTransactionError::Abort(Abort::Damaged(e.to_string()))
                            },
                        )?);
                    }
                    let bytes = serde_json::to_vec(&event).map_err(|e| {
                        ConflictableTransactionError::Abort(Abort::Damaged(e.to_string()))
                    })?;
                    events.insert(&seq.to_be_bytes(), bytes)?;
                    if let Some(id) = id {
                        let mut key = id.key().to_vec();
                        key.extend_from_slice(&seq.to_be_bytes());
                        index.insert(key, &[])?;
                    }
                    stored_events.push(event);
                    seq += 1;
                }
                meta.insert(KEY_NEXT_SEQ, &seq.to_be_bytes())?;
                meta.insert(KEY_LAST_HASH, last_hash.as_bytes())?;
                if let (Some(id), Some(rec)) = (id, &record) {
                    let bytes = serde_json::to_vec(rec).map_err(|e| {
                        ConflictableTransactionError::Abort(Abort::Damaged(e.to_string()))
                    })?;
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
                    events: stored_events,
                })
            },
        );
        let committed = match result {
            Ok(c) => c,
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
            Err(TransactionError::Storage(e)) => return Err(self.io(e)),
        };
        self.flush()?;
        Ok(committed)
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
pub fn recipient_key(id: IncidentId, document: &str, address: &str) -> Vec<u8> {
    use sha2::Digest;
    let mut key = id.key().to_vec();
    key.extend_from_slice(document.as_bytes());
    key.push(0);
    let digest = sha2::Sha256::digest(address.trim().to_lowercase().as_bytes());
    key.extend_from_slice(&digest[..16]);
    key
}

fn inflight_key(id: IncidentId, document: &str) -> Vec<u8> {
    let mut key = b"inflight".to_vec();
    key.extend_from_slice(&id.key());
    key.extend_from_slice(document.as_bytes());
    key
}

impl Store {
    /// One incident's outbox, oldest first (a prefix scan).
    pub fn messages_for(&self, id: IncidentId) -> Result<Vec<OutMessage>, StoreError> {
        let mut out = Vec::new();
        for item in self.messages.scan_prefix(id.key()) {
            let (_, v) = item.map_err(|e| self.io(e))?;
            out.push(self.decode("an outbox record", &v)?);
        }
        Ok(out)
    }

    /// Every message in the store.
    pub fn all_messages(&self) -> Result<Vec<OutMessage>, StoreError> {
        let mut out = Vec::new();
        for item in self.messages.iter() {
            let (_, v) = item.map_err(|e| self.io(e))?;
            out.push(self.decode("an outbox record", &v)?);
        }
        Ok(out)
    }

    /// The number the next message of `id` gets.
    pub fn next_message_number(&self, id: IncidentId) -> Result<u32, StoreError> {
        match self.messages.scan_prefix(id.key()).next_back() {
            Some(item) => {
                let (k, _) = item.map_err(|e| self.io(e))?;
                let n = k.get(6..10).ok_or_else(|| self.damaged("bad outbox key"))?;
                Ok(u32::from_be_bytes([n[0], n[1], n[2], n[3]]) + 1)
            }
            None => Ok(1),
        }
    }

    /// Whether the reminder for (incident, obligation, level) has been sent.
    pub fn reminded(
        &self,
        id: IncidentId,
        obligation: &str,
        level: &str,
    ) -> Result<bool, StoreError> {
        self.reminders
            .contains_key(reminder_key(id, obligation, level))
            .map_err(|e| self.io(e))
    }

    /// A bulk recipient's stored state.
    pub fn recipient(&self, key: &[u8]) -> Result<Option<serde_json::Value>, StoreError> {
        match self.recipients.get(key).map_err(|e| self.io(e))? {
            Some(v) => Ok(Some(self.decode("a recipient record", &v)?)),
            None => Ok(None),
        }
    }

    /// Records bulk recipients' states and the batch in flight (or none) in one transaction,
    /// then flushes: what is marked `sending` is on disk before the first byte goes out.
    pub fn put_recipients(
        &self,
        id: IncidentId,
        document: &str,
        states: &[(Vec<u8>, serde_json::Value)],
        inflight: Option<&[Vec<u8>]>,
    ) -> Result<(), StoreError> {
        let mut encoded = Vec::with_capacity(states.len());
        for (k, v) in states {
            encoded.push((
                k.clone(),
                serde_json::to_vec(v).map_err(|e| self.damaged(e.to_string()))?,
            ));
        }
        let marker = match inflight {
            Some(keys) => Some(
                serde_json::to_vec(&keys.iter().map(hex::encode).collect::<Vec<_>>())
                    .map_err(|e| self.damaged(e.to_string()))?,
            ),
            None => None,
        };
        let key = inflight_key(id, document);
        let result: Result<(), TransactionError<()>> =
            (&self.meta, &self.recipients).transaction(|(meta, recipients)| {
                for (k, v) in &encoded {
                    recipients.insert(k.as_slice(), v.as_slice())?;
                }
                match &marker {
                    Some(m) => {
                        meta.insert(key.as_slice(), m.as_slice())?;
                    }
                    None => {
                        meta.remove(key.as_slice())?;
                    }
                }
                Ok(())
            });
        result.map_err(|e| self.io(format!("{e:?}")))?;
        self.flush()
    }

    /// The recipients a crashed run left mid-batch, if any.
    pub fn inflight(&self, id: IncidentId, document: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        match self
            .meta
            .get(inflight_key(id, document))
            .map_err(|e| self.io(e))?
        {
            Some(v) => {
                let keys: Vec<String> = self.decode("the batch in flight", &v)?;
                keys.iter()
                    .map(|k| hex::decode(k).map_err(|e| self.damaged(e.to_string())))
                    .collect()
            }
            None => Ok(Vec::new()),
        }
    }
}

impl Store {
    /// Walks the whole log and every record: the first place where the store is not what was
    /// written, or the number of events checked.
    pub fn verify(&self) -> Result<Result<u64, crate::domain::audit::Break>, StoreError> {
        use crate::domain::audit::Break;
        let mut v = crate::domain::audit::Verifier::default();
        for item in self.events.iter() {
            let (k, bytes) = item.map_err(|e| self.io(e))?;
            let key = if k.len() == 8 { be_u64(&k) } else { 0 };
            let event: Event = match serde_json::from_slice(&bytes) {
                Ok(e) => e,
                Err(e) => {
                    return Ok(Err(Break::Unreadable {
                        seq: key,
                        detail: e.to_string(),
                    }));
                }
            };
            if let Err(b) = v.next(key, &event) {
                return Ok(Err(b));
            }
        }
        let count = match self.meta.get(KEY_NEXT_SEQ).map_err(|e| self.io(e))? {
            Some(n) => be_u64(&n) - 1,
            None => 0,
        };
        let head = self
            .meta
            .get(KEY_LAST_HASH)
            .map_err(|e| self.io(e))?
            .map(|h| String::from_utf8_lossy(&h).to_string());
        if let Err(b) = v.finish(count, head.as_deref()) {
            return Ok(Err(b));
        }
        // Each stored record must be the replay of its events.
        for item in self.incidents.iter() {
            let (k, bytes) = item.map_err(|e| self.io(e))?;
            let Some(id) = IncidentId::from_key(&k) else {
                continue;
            };
            let stored: Result<IncidentRecord, _> = serde_json::from_slice(&bytes);
            let replayed = IncidentRecord::replay(&self.events_for(id)?);
            match (stored, replayed) {
                (Ok(s), Ok(Some(r))) if s == r => {}
                (Err(e), _) => {
                    return Ok(Err(Break::Record {
                        incident: id,
                        detail: format!(": it cannot be read ({e})"),
                    }));
                }
                (_, Err(e)) => {
                    return Ok(Err(Break::Record {
                        incident: id,
                        detail: format!(": {e}"),
                    }));
                }
                _ => {
                    return Ok(Err(Break::Record {
                        incident: id,
                        detail: String::new(),
                    }));
                }
            }
        }
        Ok(Ok(v.events))
    }
}

impl Store {
    /// Loads an incident from an evidence bundle: its events keep their digests and incident
    /// chain and join this store's log with new sequence numbers, in one transaction with the
    /// record, its indexes, document bodies and outbox records. Refuses an id already in use.
    pub fn import_incident(
        &self,
        record: &IncidentRecord,
        events: &[Event],
        documents: &[(String, u32, DocumentBody)],
        messages: &[OutMessage],
    ) -> Result<(), StoreError> {
        let id = record.id;
        if self
            .incidents
            .contains_key(id.key())
            .map_err(|e| self.io(e))?
        {
            return Err(StoreError::Conflict {
                id,
                expected: 0,
                found: record.version,
            });
        }
        let mut bodies = Vec::with_capacity(documents.len());
        for (name, version, body) in documents {
            let bytes = serde_json::to_vec(body).map_err(|e| self.damaged(e.to_string()))?;
            bodies.push((document_key(id, name, *version), bytes));
        }
        let mut outbox = Vec::with_capacity(messages.len());
        for m in messages {
            let bytes = serde_json::to_vec(m).map_err(|e| self.damaged(e.to_string()))?;
            outbox.push((message_key(m.incident, m.number), bytes));
        }
        let record_bytes = serde_json::to_vec(record).map_err(|e| self.damaged(e.to_string()))?;
        let trees = (
            &self.meta,
            &self.incidents,
            &self.events,
            &self.incident_events,
            &self.deadlines,
            &self.documents,
            &self.messages,
        );
        let result: Result<(), TransactionError<()>> =
            trees.transaction(|(meta, incidents, log, index, deadlines, docs, out)| {
                let mut last_hash = match meta.get(KEY_LAST_HASH)? {
                    Some(v) => String::from_utf8_lossy(&v).to_string(),
                    None => crate::domain::audit::GENESIS.to_string(),
                };
                let mut seq = match meta.get(KEY_NEXT_SEQ)? {
                    Some(v) => be_u64(&v),
                    None => 1,
                };
                for e in events {
                    let mut e = e.clone();
                    e.seq = seq;
                    e.seal.hash = crate::domain::audit::hash_link(&last_hash, seq, &e.seal.chain);
                    last_hash = e.seal.hash.clone();
                    let bytes = serde_json::to_vec(&e).unwrap_or_default();
                    log.insert(&seq.to_be_bytes(), bytes)?;
                    let mut key = id.key().to_vec();
                    key.extend_from_slice(&seq.to_be_bytes());
                    index.insert(key, &[])?;
                    seq += 1;
                }
                meta.insert(KEY_NEXT_SEQ, &seq.to_be_bytes())?;
                meta.insert(KEY_LAST_HASH, last_hash.as_bytes())?;
                let mut counter = KEY_COUNTER.to_vec();
                counter.extend_from_slice(&id.year.to_be_bytes());
                let current = meta.get(&counter)?.map(|v| be_u32(&v)).unwrap_or(0);
                if id.number > current {
                    meta.insert(counter, &id.number.to_be_bytes())?;
                }
                incidents.insert(&id.key(), record_bytes.as_slice())?;
                for key in deadline_keys(record) {
                    deadlines.insert(key.as_slice(), &[])?;
                }
                for (k, v) in &bodies {
                    docs.insert(k.as_slice(), v.as_slice())?;
                }
                for (k, v) in &outbox {
                    out.insert(k.as_slice(), v.as_slice())?;
                }
                Ok(())
            });
        result.map_err(|e| self.io(format!("{e:?}")))?;
        self.flush()
    }
}
