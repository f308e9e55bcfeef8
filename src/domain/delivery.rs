//! What the log says about delivery: the outbox records and the bulk recipient states rebuilt
//! from their events, and compared with what the store holds, by tree and key.
//!
//! Every change of a message is a `MessageChanged` event carrying the record's detail, and every
//! change of bulk recipients a `BulkRecipients` event carrying the batch's addresses and
//! outcomes; the stored trees are caches of these folds, so a flipped, deleted, swapped or
//! planted entry shows. Two kinds of entry predate these events and are checked only in part:
//! outbox records whose events carry no detail (before 0.3: state, address, Message-ID and
//! document are checked), and the recipients of a document whose bulk runs all predate
//! `BulkRecipients` (the next run adopts them into the log, and from then on they are sealed).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::event::{Event, EventKind};
use crate::domain::incident::IncidentId;
use crate::domain::outbox::{
    self, MessageDetail, OutMessage, Recipient, RecipientChange, RecipientState, Step,
};

/// A bulk recipient's key: incident, document, address digest.
pub type RecipientKey = (IncidentId, String, [u8; 16]);

/// An outbox record as its events rebuild it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rebuilt {
    pub message: OutMessage,
    /// Every event carried the record's detail (events before 0.3 did not).
    pub exact: bool,
}

pub use crate::domain::integrity::Finding;

/// The message number in a key `<incident>/<n>`; none for a bulk run's marker
/// (`<incident>/bulk-<doc>`), which is not an outbox record.
fn number_of(key: &str) -> Option<u32> {
    key.rsplit_once('/').and_then(|(_, n)| n.parse().ok())
}

/// The outbox records the log implies, by key.
pub fn messages_from<'a>(events: impl IntoIterator<Item = &'a Event>) -> BTreeMap<String, Rebuilt> {
    let mut out: BTreeMap<String, Rebuilt> = BTreeMap::new();
    for e in events {
        let (
            Some(id),
            EventKind::MessageChanged {
                message,
                state,
                to,
                document,
                message_id,
                note,
                detail,
            },
        ) = (e.incident, &e.what)
        else {
            continue;
        };
        let Some(number) = number_of(message) else {
            continue;
        };
        let r = out.entry(message.clone()).or_insert_with(|| Rebuilt {
            message: OutMessage::new(
                id,
                number,
                document.clone(),
                "",
                Recipient {
                    role: None,
                    name: None,
                    address: to.clone(),
                },
                String::new(),
                message_id.clone().unwrap_or_default(),
            ),
            exact: true,
        });
        let m = &mut r.message;
        m.key = message.clone();
        m.state = *state;
        m.to.address = to.clone();
        if document.is_some() {
            m.document = document.clone();
        }
        if let Some(mid) = message_id {
            m.message_id = mid.clone();
        }
        m.history.push(Step {
            at: e.at,
            state: *state,
            by: e.actor.clone(),
            note: note.clone(),
        });
        match detail.as_deref() {
            Some(MessageDetail {
                audience,
                subject,
                role,
                name,
                waiting_on,
                hold_lifted_by,
                attempts,
                bytes_sha256,
                reply,
            }) => {
                m.audience = audience.clone();
                m.subject = subject.clone();
                m.to.role = role.clone();
                m.to.name = name.clone();
                m.waiting_on = waiting_on.clone();
                m.hold_lifted_by = hold_lifted_by.clone();
                m.attempts = *attempts;
                m.bytes_sha256 = bytes_sha256.clone();
                m.reply = reply.clone();
            }
            None => r.exact = false,
        }
    }
    out
}

/// A recipient's state after `change`, from its state before (if any), at the event's
/// effective time `at`. The one rule for both the stored state and its rebuilding.
pub fn apply_change(
    before: Option<&RecipientState>,
    change: &RecipientChange,
    at: DateTime<Utc>,
) -> RecipientState {
    let mut s = before.cloned().unwrap_or(RecipientState {
        line: 0,
        address: change.address.clone(),
        message_id: String::new(),
        state: change.state,
        note: None,
        at,
        version: None,
    });
    s.address = change.address.clone();
    if let Some(line) = change.line {
        s.line = line;
    }
    if let Some(mid) = &change.message_id {
        s.message_id = mid.clone();
    }
    if change.version.is_some() {
        s.version = change.version;
    }
    s.state = change.state;
    s.note = change.note.clone();
    s.at = change.at.unwrap_or(at);
    s
}

/// The bulk recipient states the log implies, and the (incident, document) pairs that have
/// any `BulkRecipients` event (the others' stored states predate them).
pub fn recipients_from<'a>(
    events: impl IntoIterator<Item = &'a Event>,
) -> (
    BTreeMap<RecipientKey, RecipientState>,
    BTreeSet<(IncidentId, String)>,
) {
    let mut states: BTreeMap<RecipientKey, RecipientState> = BTreeMap::new();
    let mut logged = BTreeSet::new();
    for e in events {
        let (
            Some(id),
            EventKind::BulkRecipients {
                document,
                recipients,
                ..
            },
        ) = (e.incident, &e.what)
        else {
            continue;
        };
        logged.insert((id, document.clone()));
        for c in recipients {
            let key = (id, document.clone(), outbox::address_digest(&c.address));
            let next = apply_change(states.get(&key), c, e.at);
            states.insert(key, next);
        }
    }
    (states, logged)
}

/// The first field where two records differ, as `field = value` each side.
fn difference(expected: &impl serde::Serialize, found: &impl serde::Serialize) -> (String, String) {
    let (e, f) = (
        serde_json::to_value(expected).unwrap_or(Value::Null),
        serde_json::to_value(found).unwrap_or(Value::Null),
    );
    let show = |v: Option<&Value>| {
        let s = v.map(Value::to_string).unwrap_or_else(|| "(absent)".into());
        if s.chars().count() > 160 {
            format!("{}...", s.chars().take(160).collect::<String>())
        } else {
            s
        }
    };
    if let (Value::Object(a), Value::Object(b)) = (&e, &f) {
        // The fields that say whose record it is come first: a swap shows as one.
        let first = ["key", "address", "to", "state"];
        let rest: BTreeSet<&String> = a
            .keys()
            .chain(b.keys())
            .filter(|k| !first.contains(&k.as_str()))
            .collect();
        let fields = first
            .iter()
            .map(|k| k.to_string())
            .chain(rest.into_iter().cloned());
        for k in fields {
            let k = k.as_str();
            if a.get(k) != b.get(k) {
                return (
                    format!("{k} = {}", show(a.get(k))),
                    format!("{k} = {}", show(b.get(k))),
                );
            }
        }
    }
    (show(Some(&e)), show(Some(&f)))
}

/// One stored outbox record as read: its key's parts and the record, or why it cannot be read.
pub struct StoredMessage {
    pub incident: IncidentId,
    pub number: u32,
    pub message: Result<OutMessage, String>,
}

/// One stored bulk recipient as read.
pub struct StoredRecipient {
    pub incident: IncidentId,
    pub document: String,
    pub digest: [u8; 16],
    pub state: Result<RecipientState, String>,
}

impl StoredRecipient {
    /// How the key is named in findings: incident, document and the digest's hex.
    pub fn key(&self) -> String {
        recipient_key_name(&(self.incident, self.document.clone(), self.digest))
    }
}

fn recipient_key_name(k: &RecipientKey) -> String {
    format!("{}/{}/{}", k.0, k.1, hex::encode(k.2))
}

/// The stored outbox against the log: every record the fold of its events, none missing, none
/// without events.
pub fn check_messages(
    expected: &BTreeMap<String, Rebuilt>,
    stored: &[StoredMessage],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for s in stored {
        let key = format!("{}/{}", s.incident, s.number);
        let finding = |expected: String, found: String| Finding {
            tree: "messages",
            key: key.clone(),
            expected,
            found,
        };
        let Some(want) = expected.get(&key) else {
            out.push(finding(
                "no record (no event records this message)".into(),
                match &s.message {
                    Ok(m) => format!("a record to {} ({})", m.to.address, m.state),
                    Err(e) => format!("an unreadable record ({e})"),
                },
            ));
            continue;
        };
        seen.insert(key.clone());
        let m = match &s.message {
            Ok(m) => m,
            Err(e) => {
                out.push(finding(
                    format!(
                        "the record to {} ({})",
                        want.message.to.address, want.message.state
                    ),
                    format!("an unreadable record ({e})"),
                ));
                continue;
            }
        };
        let same = if want.exact {
            *m == want.message
        } else {
            // Before 0.3 the events carried only these.
            m.key == want.message.key
                && m.state == want.message.state
                && m.to.address == want.message.to.address
                && m.message_id == want.message.message_id
                && m.document == want.message.document
        };
        if !same {
            let (e, f) = if want.exact {
                difference(&want.message, m)
            } else {
                difference(
                    &(
                        &want.message.key,
                        want.message.state,
                        &want.message.to.address,
                    ),
                    &(&m.key, m.state, &m.to.address),
                )
            };
            out.push(finding(e, f));
        }
    }
    for (key, want) in expected {
        if !seen.contains(key) {
            out.push(Finding {
                tree: "messages",
                key: key.clone(),
                expected: format!(
                    "the record to {} ({})",
                    want.message.to.address, want.message.state
                ),
                found: "nothing (the record is missing)".into(),
            });
        }
    }
    out
}

/// The stored bulk recipients against the log. States of a document with no `BulkRecipients`
/// event predate them and are passed over (see the module's comment).
pub fn check_recipients(
    expected: &BTreeMap<RecipientKey, RecipientState>,
    logged: &BTreeSet<(IncidentId, String)>,
    stored: &[StoredRecipient],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for s in stored {
        if !logged.contains(&(s.incident, s.document.clone())) {
            continue;
        }
        let key = (s.incident, s.document.clone(), s.digest);
        let finding = |expected: String, found: String| Finding {
            tree: "recipients",
            key: s.key(),
            expected,
            found,
        };
        let Some(want) = expected.get(&key) else {
            out.push(finding(
                "no state (no event records this recipient)".into(),
                match &s.state {
                    Ok(r) => format!("{} {}", r.address, r.state),
                    Err(e) => format!("an unreadable state ({e})"),
                },
            ));
            continue;
        };
        seen.insert(key);
        match &s.state {
            Ok(r) if r == want => {}
            Ok(r) => {
                let (e, f) = difference(want, r);
                out.push(finding(format!("{}: {e}", want.address), f));
            }
            Err(e) => out.push(finding(
                format!("{} {}", want.address, want.state),
                format!("an unreadable state ({e})"),
            )),
        }
    }
    for (key, want) in expected {
        if !seen.contains(key) {
            out.push(Finding {
                tree: "recipients",
                key: recipient_key_name(key),
                expected: format!("{} {}", want.address, want.state),
                found: "nothing (the state is missing)".into(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outbox::{BulkStep, MessageState};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn event(what: EventKind) -> Event {
        Event {
            seq: 1,
            incident: Some("BR-2024-0001".parse().unwrap()),
            version: 2,
            at: at("2024-03-30T21:45:00Z"),
            recorded_at: None,
            actor: "dpo".into(),
            identity: None,
            user: None,
            what,
            seal: Default::default(),
        }
    }

    fn batch(step: BulkStep, changes: Vec<RecipientChange>) -> Event {
        event(EventKind::BulkRecipients {
            document: "subject-notice".into(),
            step,
            recipients: changes,
        })
    }

    #[test]
    fn an_outbox_record_before_0_3_is_checked_on_what_its_events_carry() {
        let changed = |state: MessageState| {
            event(EventKind::MessageChanged {
                message: "BR-2024-0001/1".into(),
                state,
                to: "chair@example.com".into(),
                document: None,
                message_id: Some("<m@x>".into()),
                note: None,
                detail: None,
            })
        };
        let events = vec![changed(MessageState::Queued), changed(MessageState::Sent)];
        let rebuilt = messages_from(&events);
        let r = &rebuilt["BR-2024-0001/1"];
        assert!(!r.exact);
        let mut stored = r.message.clone();
        // What the events never carried is not held against the record...
        stored.subject = "Board briefing".into();
        stored.attempts = 1;
        let entry = |m: OutMessage| StoredMessage {
            incident: m.incident,
            number: m.number,
            message: Ok(m),
        };
        assert!(check_messages(&rebuilt, &[entry(stored.clone())]).is_empty());
        // ...what they carried is.
        stored.state = MessageState::Failed;
        let f = check_messages(&rebuilt, &[entry(stored)]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].key, "BR-2024-0001/1");
    }

    #[test]
    fn a_recipient_is_the_fold_of_its_batches_and_a_deleted_or_changed_state_is_named() {
        let mark = RecipientChange {
            line: Some(2),
            message_id: Some("<m@x>".into()),
            version: Some(1),
            ..RecipientChange::to("Alice@Example.com", MessageState::Sending, None)
        };
        let events = vec![
            batch(BulkStep::Sending, vec![mark]),
            batch(
                BulkStep::Outcome,
                vec![RecipientChange::to(
                    "Alice@Example.com",
                    MessageState::Failed,
                    Some("554 no".into()),
                )],
            ),
        ];
        let (states, logged) = recipients_from(&events);
        assert_eq!(states.len(), 1);
        let s = states.values().next().unwrap().clone();
        assert_eq!(
            (s.line, s.state, s.version),
            (2, MessageState::Failed, Some(1))
        );
        assert_eq!(s.note.as_deref(), Some("554 no"));
        let key = states.keys().next().unwrap().clone();
        let stored = |state: Result<RecipientState, String>| StoredRecipient {
            incident: key.0,
            document: key.1.clone(),
            digest: key.2,
            state,
        };
        assert!(check_recipients(&states, &logged, &[stored(Ok(s.clone()))]).is_empty());
        let deleted = check_recipients(&states, &logged, &[]);
        assert_eq!(deleted.len(), 1);
        assert!(deleted[0].found.contains("missing"), "{}", deleted[0]);
        let mut flipped = s.clone();
        flipped.state = MessageState::Sent;
        let f = check_recipients(&states, &logged, &[stored(Ok(flipped))]);
        assert_eq!(f[0].tree, "recipients");
        assert!(f[0].expected.contains("\"failed\""), "{}", f[0]);
        assert!(f[0].found.contains("\"sent\""), "{}", f[0]);
    }
}
