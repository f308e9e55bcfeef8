//! An in-memory [`Store`] for the use-cases' unit tests: every method over BTreeMaps, with the
//! same commit path as `SledStore` (`domain::log::prepare_commit` / `prepare_import`), so what
//! a test sees is what the real store would hold.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::app::ports::{
    Change, Committed, DeadlineEntry, Import, LogEntries, Rebuild, RecipientOf, Recorded, Store,
    StoreError, Subject, VersionOf,
};
use crate::domain::account::{
    AccountError, Accounts, Credential, CredentialKey, Token, TokenId, User, UserId, commitment,
};
use crate::domain::delivery::{StoredMessage, StoredRecipient};
use crate::domain::document::DocumentBody;
use crate::domain::event::{Event, EventKind};
use crate::domain::incident::IncidentId;
use crate::domain::integrity::{self, Entry, Stored};
use crate::domain::log::{self, Head, Target};
use crate::domain::organisation::Organisation;
use crate::domain::outbox::{OutMessage, RecipientState, address_digest};
use crate::domain::record::IncidentRecord;

#[derive(Default, Clone)]
struct Inner {
    organisation: Option<Organisation>,
    counters: BTreeMap<u16, u32>,
    head: Head,
    events: Vec<Event>,
    incidents: BTreeMap<IncidentId, IncidentRecord>,
    documents: BTreeMap<(IncidentId, String, u32), DocumentBody>,
    messages: BTreeMap<(IncidentId, u32), OutMessage>,
    reminders: BTreeSet<(IncidentId, String, String)>,
    recipients: BTreeMap<(IncidentId, String, [u8; 16]), RecipientState>,
    accounts: Accounts,
    passwords: BTreeMap<UserId, String>,
    /// Token hash -> token.
    token_hashes: BTreeMap<String, TokenId>,
}

/// The store, in memory. Each method is atomic because it works on a copy and swaps it in.
#[derive(Default)]
pub(crate) struct MemoryStore {
    inner: RefCell<Inner>,
}

impl MemoryStore {
    pub(crate) fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Deletes a bulk recipient's state behind the log's back, as an attacker with file access
    /// could.
    pub(crate) fn forget_recipient(&self, id: IncidentId, document: &str, address: &str) {
        self.inner.borrow_mut().recipients.remove(&(
            id,
            document.to_string(),
            address_digest(address),
        ));
    }

    fn deadlines_where(&self, keep: impl Fn(&DeadlineEntry) -> bool) -> Vec<DeadlineEntry> {
        self.deadlines().into_iter().filter(|d| keep(d)).collect()
    }

    fn deadlines(&self) -> Vec<DeadlineEntry> {
        let inner = self.inner.borrow();
        let mut out: Vec<DeadlineEntry> = inner
            .incidents
            .values()
            .flat_map(|r| {
                r.open_obligations().map(|o| DeadlineEntry {
                    at: o.due.instant(),
                    incident: r.id,
                    obligation: o.id.clone(),
                })
            })
            .collect();
        out.sort_by(|a, b| {
            (a.at, a.incident, &a.obligation).cmp(&(b.at, b.incident, &b.obligation))
        });
        out
    }
}

impl Store for MemoryStore {
    fn location(&self) -> PathBuf {
        PathBuf::from("memory")
    }

    fn organisation(&self) -> Result<Option<Organisation>, StoreError> {
        Ok(self.inner.borrow().organisation.clone())
    }

    fn incident(&self, id: IncidentId) -> Result<IncidentRecord, StoreError> {
        self.inner
            .borrow()
            .incidents
            .get(&id)
            .cloned()
            .ok_or(StoreError::UnknownIncident(id, Default::default()))
    }

    fn incidents(&self) -> Box<dyn Iterator<Item = Result<IncidentRecord, StoreError>> + '_> {
        let all: Vec<IncidentRecord> = self.inner.borrow().incidents.values().cloned().collect();
        Box::new(all.into_iter().map(Ok))
    }

    fn events_for(&self, id: IncidentId) -> Result<Vec<Event>, StoreError> {
        Ok(self
            .inner
            .borrow()
            .events
            .iter()
            .filter(|e| e.incident == Some(id))
            .cloned()
            .collect())
    }

    fn log(&self) -> LogEntries<'_> {
        let all: Vec<Event> = self.inner.borrow().events.clone();
        Box::new(all.into_iter().map(|e| Ok((e.seq, Ok(e)))))
    }

    fn recorded(&self) -> Result<Recorded, StoreError> {
        let inner = self.inner.borrow();
        Ok(Recorded {
            count: inner.head.next_seq - 1,
            last_hash: (!inner.events.is_empty()).then(|| inner.head.last_hash.clone()),
        })
    }

    fn due_until(&self, until: DateTime<Utc>) -> Result<Vec<DeadlineEntry>, StoreError> {
        Ok(self.deadlines_where(|d| d.at.is_some_and(|at| at <= until)))
    }

    fn all_due(&self) -> Result<Vec<DeadlineEntry>, StoreError> {
        Ok(self.deadlines_where(|d| d.at.is_some()))
    }

    fn waiting(&self) -> Result<Vec<DeadlineEntry>, StoreError> {
        Ok(self.deadlines_where(|d| d.at.is_none()))
    }

    fn document_body(&self, of: VersionOf<'_>) -> Result<DocumentBody, StoreError> {
        let (id, name, version) = of;
        self.inner
            .borrow()
            .documents
            .get(&(id, name.to_string(), version))
            .cloned()
            .ok_or_else(|| StoreError::Damaged {
                dir: self.location(),
                detail: format!("no body for {id} {name} version {version}"),
            })
    }

    fn commit(&self, change: Change<'_>) -> Result<Committed, StoreError> {
        let (subject, kinds, stamp, writes) =
            (change.subject, change.kinds, change.stamp, change.writes);
        let mut next = self.inner.borrow().clone();
        let damaged = |detail: String| StoreError::Damaged {
            dir: PathBuf::from("memory"),
            detail,
        };
        for (id, name, version, body) in writes.documents {
            next.documents
                .insert((*id, name.to_string(), *version), (*body).clone());
        }
        for m in writes.messages {
            next.messages.insert((m.incident, m.number), m.clone());
        }
        for (id, document, state) in writes.recipients {
            next.recipients.insert(
                (*id, document.to_string(), address_digest(&state.address)),
                state.clone(),
            );
        }
        for (id, obligation, level) in writes.reminders {
            next.reminders
                .insert((*id, obligation.to_string(), level.to_string()));
        }
        for c in writes.credentials {
            match c {
                Credential::Password { user, phc } => {
                    next.passwords.insert(*user, phc.clone());
                }
                Credential::Token { token, hash } => {
                    next.token_hashes.insert(hash.clone(), *token);
                }
            }
        }
        for k in kinds {
            if let EventKind::TokenRevoked { token } = k {
                next.token_hashes.retain(|_, t| t != token);
            }
        }
        let target = match &subject {
            Subject::Organisation(org) => {
                next.organisation = Some((*org).clone());
                Target::Organisation
            }
            Subject::Log | Subject::Accounts => Target::Organisation,
            Subject::NewIncident { year } => {
                let number = next.counters.get(year).copied().unwrap_or(0) + 1;
                next.counters.insert(*year, number);
                Target::New(IncidentId {
                    year: *year,
                    number,
                })
            }
            Subject::Incident(current) => {
                let stored = next
                    .incidents
                    .get(&current.id)
                    .cloned()
                    .ok_or_else(|| damaged(format!("incident {} vanished", current.id)))?;
                if stored.version != current.version {
                    return Err(StoreError::Conflict {
                        id: current.id,
                        expected: current.version,
                        found: stored.version,
                    });
                }
                Target::Existing(Box::new(stored))
            }
        };
        // The test store's clock reads the effective time, as the `test-clock` build's
        // `effective` mode does: outputs are repeatable and recorded time still only moves
        // forward (`log::Head::next_recorded`).
        let prepared = log::prepare_commit(&mut next.head, target, kinds, &stamp, stamp.at)
            .map_err(|e| match e {
                log::CommitError::Time(m) => StoreError::OutOfOrder(m),
                e => damaged(e.to_string()),
            })?;
        for e in &prepared.events {
            if let Err(why) = next.accounts.observe(e) {
                return Err(match why {
                    AccountError::Exists(k) | AccountError::Missing(k) => {
                        StoreError::AccountConflict(k)
                    }
                    e => damaged(e.to_string()),
                });
            }
        }
        next.events.extend(prepared.events.iter().cloned());
        if let Some(record) = &prepared.record {
            next.incidents.insert(record.id, record.clone());
        }
        *self.inner.borrow_mut() = next;
        Ok(Committed {
            record: prepared.record,
            events: prepared.events,
            clock_went_back: prepared.clock_went_back,
        })
    }

    fn import(&self, import: &Import<'_>) -> Result<(), StoreError> {
        let mut next = self.inner.borrow().clone();
        let id = import.record.id;
        if next.incidents.contains_key(&id) {
            return Err(StoreError::Conflict {
                id,
                expected: 0,
                found: import.record.version,
            });
        }
        let events = log::prepare_import(&mut next.head, import.events);
        next.events.extend(events);
        let counter = next.counters.entry(id.year).or_insert(0);
        *counter = (*counter).max(id.number);
        next.incidents.insert(id, import.record.clone());
        for (name, version, body) in import.documents {
            next.documents
                .insert((id, name.clone(), *version), body.clone());
        }
        for (doc, state) in import.recipients {
            next.recipients.insert(
                (id, doc.clone(), address_digest(&state.address)),
                state.clone(),
            );
        }
        for m in import.messages {
            next.messages.insert((m.incident, m.number), m.clone());
        }
        for e in import.events {
            if let crate::domain::event::EventKind::ReminderSent {
                obligation, level, ..
            } = &e.what
            {
                next.reminders
                    .insert((id, obligation.clone(), level.clone()));
            }
        }
        *self.inner.borrow_mut() = next;
        Ok(())
    }

    fn stored(&self) -> Result<Stored, StoreError> {
        let inner = self.inner.borrow();
        Ok(Stored {
            records: inner
                .incidents
                .iter()
                .map(|(id, r)| Entry::ok(Vec::new(), *id, r.clone()))
                .collect(),
            index: inner
                .events
                .iter()
                .filter_map(|e| Some(Entry::ok(Vec::new(), (e.incident?, e.seq), ())))
                .collect(),
            deadlines: inner
                .incidents
                .values()
                .flat_map(integrity::deadlines_of)
                .map(|d| Entry::ok(Vec::new(), d, ()))
                .collect(),
            counters: inner
                .counters
                .iter()
                .map(|(y, n)| Entry::ok(Vec::new(), *y, *n))
                .collect(),
            documents: inner
                .documents
                .iter()
                .map(|(k, b)| Entry::ok(Vec::new(), k.clone(), b.hashes()))
                .collect(),
            reminders: inner
                .reminders
                .iter()
                .map(|k| Entry::ok(Vec::new(), k.clone(), ()))
                .collect(),
            organisation: inner
                .organisation
                .clone()
                .map(|o| Entry::ok(Vec::new(), (), o)),
            last_recorded: inner
                .head
                .last_recorded
                .map(|at| Entry::ok(Vec::new(), (), at)),
            unknown_meta: Vec::new(),
            users: inner
                .accounts
                .users
                .values()
                .map(|u| Entry::ok(Vec::new(), u.id, u.clone()))
                .collect(),
            tokens: inner
                .accounts
                .tokens
                .values()
                .map(|t| Entry::ok(Vec::new(), t.id, t.clone()))
                .collect(),
            credentials: inner
                .passwords
                .iter()
                .map(|(id, phc)| {
                    Entry::ok(
                        [b"p".as_slice(), &id.key()].concat(),
                        CredentialKey::Password(*id),
                        commitment(phc),
                    )
                })
                .chain(inner.token_hashes.iter().map(|(hash, id)| {
                    Entry::ok(
                        [b"t".as_slice(), hash.as_bytes()].concat(),
                        CredentialKey::Token(*id),
                        commitment(hash),
                    )
                }))
                .collect(),
        })
    }

    fn rebuild(&self, rebuild: &Rebuild<'_>) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        let x = rebuild.expected;
        inner.incidents = x.records.clone();
        inner.counters = x.counters.clone();
        inner.organisation = x.organisation.clone();
        inner.reminders = x.reminders.iter().cloned().collect();
        inner.accounts = x.accounts.clone();
        for raw in rebuild.remove_credentials {
            match raw.split_first() {
                Some((b'p', id)) => {
                    if let Some(id) = UserId::from_key(id) {
                        inner.passwords.remove(&id);
                    }
                }
                Some((b't', hash)) => {
                    inner
                        .token_hashes
                        .remove(String::from_utf8_lossy(hash).as_ref());
                }
                _ => {}
            }
        }
        for (key, body) in rebuild.documents {
            inner.documents.insert(key.clone(), body.clone());
        }
        if let Some(messages) = rebuild.messages {
            inner.messages = messages
                .iter()
                .map(|m| ((m.incident, m.number), m.clone()))
                .collect();
        }
        if let Some(recipients) = rebuild.recipients {
            inner.recipients = recipients
                .iter()
                .map(|(id, doc, s)| {
                    (
                        (*id, doc.to_string(), address_digest(&s.address)),
                        s.clone(),
                    )
                })
                .collect();
        }
        Ok(())
    }

    fn messages_for(&self, id: IncidentId) -> Result<Vec<OutMessage>, StoreError> {
        Ok(self
            .inner
            .borrow()
            .messages
            .range((id, 0)..=(id, u32::MAX))
            .map(|(_, m)| m.clone())
            .collect())
    }

    fn all_messages(&self) -> Result<Vec<OutMessage>, StoreError> {
        Ok(self.inner.borrow().messages.values().cloned().collect())
    }

    fn next_message_number(&self, id: IncidentId) -> Result<u32, StoreError> {
        Ok(self
            .inner
            .borrow()
            .messages
            .range((id, 0)..=(id, u32::MAX))
            .next_back()
            .map(|((_, n), _)| n + 1)
            .unwrap_or(1))
    }

    fn reminded(&self, id: IncidentId, obligation: &str, level: &str) -> Result<bool, StoreError> {
        Ok(self
            .inner
            .borrow()
            .reminders
            .contains(&(id, obligation.to_string(), level.to_string())))
    }

    fn recipient(&self, of: RecipientOf<'_>) -> Result<Option<RecipientState>, StoreError> {
        let (id, document, address) = of;
        Ok(self
            .inner
            .borrow()
            .recipients
            .get(&(id, document.to_string(), address_digest(address)))
            .cloned())
    }

    fn recipient_entries(
        &self,
        id: Option<IncidentId>,
    ) -> Result<Vec<StoredRecipient>, StoreError> {
        Ok(self
            .inner
            .borrow()
            .recipients
            .iter()
            .filter(|((i, _, _), _)| id.is_none_or(|id| id == *i))
            .map(|((incident, document, digest), s)| StoredRecipient {
                incident: *incident,
                document: document.clone(),
                digest: *digest,
                state: Ok(s.clone()),
            })
            .collect())
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        Ok(self
            .inner
            .borrow()
            .accounts
            .users
            .values()
            .cloned()
            .collect())
    }

    fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.inner.borrow().accounts.users.get(&id).cloned())
    }

    fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        Ok(self
            .inner
            .borrow()
            .accounts
            .tokens
            .values()
            .cloned()
            .collect())
    }

    fn token(&self, id: TokenId) -> Result<Option<Token>, StoreError> {
        Ok(self.inner.borrow().accounts.tokens.get(&id).cloned())
    }

    fn password(&self, id: UserId) -> Result<Option<String>, StoreError> {
        Ok(self.inner.borrow().passwords.get(&id).cloned())
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenId>, StoreError> {
        Ok(self.inner.borrow().token_hashes.get(hash).copied())
    }

    fn message_entries(&self) -> Result<Vec<StoredMessage>, StoreError> {
        Ok(self
            .inner
            .borrow()
            .messages
            .iter()
            .map(|((incident, number), m)| StoredMessage {
                incident: *incident,
                number: *number,
                message: Ok(m.clone()),
            })
            .collect())
    }
}
