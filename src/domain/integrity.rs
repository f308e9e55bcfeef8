//! What the event log implies about every other stored tree, and where a store differs from it.
//!
//! The log is the truth. Everything else a store keeps is either derived from it (incident
//! records, the incident-events index, the deadline index, the incident counters, the
//! organisation profile, the sent-reminder marks, the last recorded time) or checked against it
//! (document bodies, whose SHA-256s the `DocumentRendered` events record). [`Expected`] folds the
//! log into what those trees must hold; each `check_*` function compares it with what a store
//! read back ([`Stored`]) and returns one [`Finding`] per difference, naming the tree, the key,
//! and the expected and found values. `app::audit` runs the checks as one list (`audit verify`)
//! and writes [`Expected`] back (`audit repair`). Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::domain::account::{Accounts, CredentialKey, Token, TokenId, User, UserId};
use crate::domain::document::BodyHashes;
use crate::domain::event::{Event, EventKind};
use crate::domain::incident::IncidentId;
use crate::domain::organisation::Organisation;
use crate::domain::record::IncidentRecord;

/// One place where a stored tree is not what the log implies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The tree (`incidents`, `deadlines`, `documents`, ...).
    pub tree: &'static str,
    /// The entry, as a person reads it (`BR-2024-0001`, `BR-2024-0001 ico-report v2`).
    pub key: String,
    /// What the log says the entry holds ("nothing" when it should not exist).
    pub expected: String,
    /// What the store holds ("nothing" when the entry is missing).
    pub found: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} tree, {}: expected {}, found {}",
            self.tree, self.key, self.expected, self.found
        )
    }
}

/// What an absent entry is called in a finding.
pub const NOTHING: &str = "nothing";

/// A document version's place: incident, document name, version.
pub type DocKey = (IncidentId, String, u32);

/// A sent-reminder mark: incident, obligation id, warning level.
pub type Reminder = (IncidentId, String, String);

/// One entry of the deadline index: an open obligation, by its due instant (to the
/// millisecond, as the index keeps it), or waiting for its clock to start.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline {
    pub at: Option<DateTime<Utc>>,
    pub incident: IncidentId,
    pub obligation: String,
}

/// One stored entry as a store read it back: its key as stored (so a repair can remove it
/// whatever it holds) and the decoded key and value, or why they cannot be read.
#[derive(Debug, Clone)]
pub struct Entry<K, V> {
    pub raw: Vec<u8>,
    pub read: Result<(K, V), String>,
}

impl<K, V> Entry<K, V> {
    pub fn ok(raw: Vec<u8>, key: K, value: V) -> Self {
        Entry {
            raw,
            read: Ok((key, value)),
        }
    }

    pub fn bad(raw: Vec<u8>, why: impl Into<String>) -> Self {
        Entry {
            raw,
            read: Err(why.into()),
        }
    }
}

/// Everything a store keeps beside the log, entry by entry, as read back.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    pub records: Vec<Entry<IncidentId, IncidentRecord>>,
    /// The incident-events index: incident and sequence number.
    pub index: Vec<Entry<(IncidentId, u64), ()>>,
    pub deadlines: Vec<Entry<Deadline, ()>>,
    /// Incident counters: year -> the last number given.
    pub counters: Vec<Entry<u16, u32>>,
    /// Document bodies, as the hashes of their parts (a body's bytes are read when needed).
    pub documents: Vec<Entry<DocKey, BodyHashes>>,
    pub reminders: Vec<Entry<Reminder, ()>>,
    pub organisation: Option<Entry<(), Organisation>>,
    pub last_recorded: Option<Entry<(), DateTime<Utc>>>,
    /// Keys of the `meta` tree that no part of breachflow writes.
    pub unknown_meta: Vec<Vec<u8>>,
    /// The `users` tree: accounts and tokens.
    pub users: Vec<Entry<UserId, User>>,
    pub tokens: Vec<Entry<TokenId, Token>>,
    /// The `credentials` tree: which secret each entry is, and the SHA-256 of its record (the
    /// commitment an event must have recorded).
    pub credentials: Vec<Entry<CredentialKey, String>>,
}

/// What the log implies every derived tree holds: the fold of the whole log, in order.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub records: BTreeMap<IncidentId, IncidentRecord>,
    pub index: BTreeSet<(IncidentId, u64)>,
    /// Per year, the highest incident number the log uses: the next `incident open` takes
    /// the one after it.
    pub counters: BTreeMap<u16, u32>,
    /// The profile of the latest `OrganisationRecorded` event.
    pub organisation: Option<Organisation>,
    pub reminders: BTreeSet<Reminder>,
    /// The last recorded time of an event written here (imported events keep their own).
    pub last_recorded: Option<DateTime<Utc>>,
    /// Incidents whose events do not fold into a record, and why: the log itself is wrong.
    pub unreplayable: BTreeMap<IncidentId, String>,
    /// Every account and token, as the account events leave them.
    pub accounts: Accounts,
    /// Account events that do not apply (an account added twice, changed before it was
    /// added), by sequence number: the log itself is wrong.
    pub unfoldable_accounts: Vec<(u64, String)>,
}

impl Expected {
    /// The fold of `events`, oldest first.
    pub fn of<'a>(events: impl IntoIterator<Item = &'a Event>) -> Expected {
        let mut x = Expected::default();
        for e in events {
            x.observe(e);
        }
        x
    }

    /// Folds in the next event of the log.
    pub fn observe(&mut self, e: &Event) {
        // As `log::Head::link` keeps it.
        if e.recorded_at.is_some() && !e.seal.imported {
            self.last_recorded = e.recorded_at;
        }
        let Some(id) = e.incident else {
            if let EventKind::OrganisationRecorded { organisation, .. } = &e.what {
                self.organisation = Some(organisation.clone());
            }
            if let Err(why) = self.accounts.observe(e) {
                self.unfoldable_accounts.push((e.seq, why.to_string()));
            }
            return;
        };
        self.index.insert((id, e.seq));
        let counter = self.counters.entry(id.year).or_insert(0);
        *counter = (*counter).max(id.number);
        if let EventKind::ReminderSent {
            obligation, level, ..
        } = &e.what
        {
            self.reminders
                .insert((id, obligation.clone(), level.clone()));
        }
        if self.unreplayable.contains_key(&id) {
            return;
        }
        let before = self.records.remove(&id);
        match IncidentRecord::apply(before, e) {
            Ok(record) => {
                self.records.insert(id, record);
            }
            Err(err) => {
                self.unreplayable.insert(id, err.to_string());
            }
        }
    }

    /// The deadline index the records imply: every open obligation of every incident.
    pub fn deadlines(&self) -> BTreeSet<Deadline> {
        self.records.values().flat_map(deadlines_of).collect()
    }

    /// Every document version the log records, with the SHA-256s of its parts.
    pub fn documents(&self) -> BTreeMap<DocKey, BodyHashes> {
        self.records
            .values()
            .flat_map(|r| {
                r.documents
                    .iter()
                    .map(|d| ((r.id, d.document.clone(), d.version), d.hashes()))
            })
            .collect()
    }
}

/// The deadline-index entries of one record: what every commit writes for it.
pub fn deadlines_of(record: &IncidentRecord) -> Vec<Deadline> {
    record
        .open_obligations()
        .map(|o| Deadline {
            // The index keeps milliseconds.
            at: o
                .due
                .instant()
                .and_then(|at| DateTime::from_timestamp_millis(at.timestamp_millis())),
            incident: record.id,
            obligation: o.id.clone(),
        })
        .collect()
}

/// Compares what the log implies (`expected`) with what the store holds (`found`): a finding
/// for each unreadable entry, each missing, extra or differing one.
fn compare<K: Ord + Clone, V: PartialEq>(
    tree: &'static str,
    expected: &BTreeMap<K, V>,
    found: &[Entry<K, V>],
    name: impl Fn(&K) -> String,
    show: impl Fn(&V) -> String,
    differ: impl Fn(&V, &V) -> (String, String),
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<K, &V> = BTreeMap::new();
    for entry in found {
        match &entry.read {
            Ok((k, v)) => {
                seen.insert(k.clone(), v);
            }
            Err(why) => out.push(Finding {
                tree,
                key: format!("key {}", printable(&entry.raw)),
                expected: "an entry the log implies".into(),
                found: format!("an unreadable entry ({why})"),
            }),
        }
    }
    for (k, want) in expected {
        match seen.get(k) {
            None => out.push(Finding {
                tree,
                key: name(k),
                expected: show(want),
                found: NOTHING.into(),
            }),
            Some(have) if *have != want => {
                let (expected, found) = differ(want, have);
                out.push(Finding {
                    tree,
                    key: name(k),
                    expected,
                    found,
                });
            }
            Some(_) => {}
        }
    }
    for (k, have) in &seen {
        if !expected.contains_key(k) {
            out.push(Finding {
                tree,
                key: name(k),
                expected: format!("{NOTHING} (no event records it)"),
                found: show(have),
            });
        }
    }
    out
}

fn set<K: Ord + Clone>(keys: &BTreeSet<K>) -> BTreeMap<K, ()> {
    keys.iter().map(|k| (k.clone(), ())).collect()
}

const PRESENT: &str = "an entry";

fn present(_: &()) -> String {
    PRESENT.into()
}

fn same(_: &(), _: &()) -> (String, String) {
    (PRESENT.into(), PRESENT.into())
}

/// Each stored record is the replay of its events; every incident in the log has one.
pub fn check_records(x: &Expected, s: &Stored) -> Vec<Finding> {
    let mut out: Vec<Finding> = x
        .unreplayable
        .iter()
        .map(|(id, why)| Finding {
            tree: "incidents",
            key: id.to_string(),
            expected: "events that replay into a record".into(),
            found: format!("an event that does not apply ({why})"),
        })
        .collect();
    let found: Vec<_> = s
        .records
        .iter()
        .filter(|e| {
            e.read
                .as_ref()
                .map_or(true, |(id, _)| !x.unreplayable.contains_key(id))
        })
        .cloned()
        .collect();
    out.extend(compare(
        "incidents",
        &x.records,
        &found,
        |id| id.to_string(),
        |r| format!("the record at version {} ({:?})", r.version, r.facts.title),
        first_difference,
    ));
    out
}

/// The incident-events index lists exactly each incident's events.
pub fn check_index(x: &Expected, s: &Stored) -> Vec<Finding> {
    compare(
        "incident_events",
        &set(&x.index),
        &s.index,
        |(id, seq)| format!("{id} event {seq}"),
        present,
        same,
    )
}

/// The deadline index holds exactly the open obligations of the records the log implies.
pub fn check_deadlines(x: &Expected, s: &Stored) -> Vec<Finding> {
    compare(
        "deadlines",
        &set(&x.deadlines()),
        &s.deadlines,
        |d| match d.at {
            Some(at) => format!("{} {} due {}", d.incident, d.obligation, at.to_rfc3339()),
            None => format!("{} {} (clock not started)", d.incident, d.obligation),
        },
        present,
        same,
    )
}

/// Each year's counter is the highest incident number the log uses, so the next incident
/// never takes an id in use.
pub fn check_counters(x: &Expected, s: &Stored) -> Vec<Finding> {
    compare(
        "meta",
        &x.counters,
        &s.counters,
        |year| format!("incident counter {year}"),
        |n| format!("the last number {n}"),
        |want, have| {
            (
                format!("the last number {want}"),
                format!("the last number {have}"),
            )
        },
    )
}

/// Each document version the log records has its body, and each part (text, HTML, case file)
/// has the SHA-256 its event recorded. Bodies cannot be rebuilt from events: a finding here
/// stays until the body is restored.
pub fn check_documents(x: &Expected, s: &Stored) -> Vec<Finding> {
    compare(
        "documents",
        &x.documents(),
        &s.documents,
        |(id, name, version)| format!("{id} {name} v{version}"),
        |h| format!("a body (text SHA-256 {})", short(&h.text)),
        |want, have| {
            let parts: Vec<String> = want
                .differing(have)
                .into_iter()
                .map(|part| format!("{part} SHA-256 differs"))
                .collect();
            (
                "the SHA-256s its event recorded".into(),
                format!("a different body: {}", parts.join(", ")),
            )
        },
    )
}

/// The stored profile is the one the latest `OrganisationRecorded` event recorded.
pub fn check_organisation(x: &Expected, s: &Stored) -> Vec<Finding> {
    let expected: BTreeMap<(), Organisation> =
        x.organisation.iter().map(|o| ((), o.clone())).collect();
    compare(
        "meta",
        &expected,
        s.organisation.as_slice(),
        |_| "organisation".into(),
        |o| format!("the profile of {:?}", o.name),
        first_difference,
    )
}

/// A reminder is marked sent exactly when a `ReminderSent` event says so: a deleted mark
/// would send it again, an extra one would keep it from being sent.
pub fn check_reminders(x: &Expected, s: &Stored) -> Vec<Finding> {
    compare(
        "reminders",
        &set(&x.reminders),
        &s.reminders,
        |(id, obligation, level)| format!("{id} {obligation} {level}"),
        present,
        same,
    )
}

/// The recorded time the next event must follow is the last one written here, and `meta`
/// holds no key breachflow does not write.
pub fn check_meta(x: &Expected, s: &Stored) -> Vec<Finding> {
    let expected: BTreeMap<(), DateTime<Utc>> =
        x.last_recorded.iter().map(|at| ((), *at)).collect();
    let mut out = compare(
        "meta",
        &expected,
        s.last_recorded.as_slice(),
        |_| "last_recorded".into(),
        |at| at.to_rfc3339(),
        |want, have| (want.to_rfc3339(), have.to_rfc3339()),
    );
    out.extend(s.unknown_meta.iter().map(|k| Finding {
        tree: "meta",
        key: printable(k),
        expected: format!("{NOTHING} (no part of breachflow writes this key)"),
        found: PRESENT.into(),
    }));
    out
}

/// Each account in the `users` tree is the fold of its events, and every account the log adds
/// is there.
pub fn check_users(x: &Expected, s: &Stored) -> Vec<Finding> {
    let mut out: Vec<Finding> = x
        .unfoldable_accounts
        .iter()
        .map(|(seq, why)| Finding {
            tree: "users",
            key: format!("event {seq}"),
            expected: "an account event that applies".into(),
            found: format!("one that does not ({why})"),
        })
        .collect();
    out.extend(compare(
        "users",
        &x.accounts.users,
        &s.users,
        |id| format!("user {id}"),
        |u| format!("the account of {:?}", u.name),
        first_difference,
    ));
    out.extend(compare(
        "users",
        &x.accounts.tokens,
        &s.tokens,
        |id| format!("token {id}"),
        |t| format!("token {:?} of {}", t.label, t.user),
        first_difference,
    ));
    out
}

/// Each stored credential is the one the log's latest commitment names: a password hash for
/// each account whose password was set, a token hash for each token not revoked, and nothing
/// else. A credential the log does not know (a token written in with disk access, a swapped
/// password hash) is a finding.
pub fn check_credentials(x: &Expected, s: &Stored) -> Vec<Finding> {
    let mut out = Vec::new();
    // Two entries for one secret (a second hash for a token): every one after the first is
    // named, since the comparison below keys on the secret.
    let mut seen = BTreeSet::new();
    let mut unique = Vec::with_capacity(s.credentials.len());
    for entry in &s.credentials {
        if let Ok((key, commitment)) = &entry.read
            && !seen.insert(*key)
        {
            out.push(Finding {
                tree: "credentials",
                key: key.to_string(),
                expected: "one credential".into(),
                found: format!(
                    "a second one (SHA-256 {}) that no event records",
                    short(commitment)
                ),
            });
            continue;
        }
        unique.push(entry.clone());
    }
    out.extend(compare(
        "credentials",
        &x.accounts.credentials(),
        &unique,
        |k| k.to_string(),
        |c| format!("a credential committed as {}", short(c)),
        |want, have| {
            (
                format!("the credential the log commits to ({})", short(want)),
                format!("a different one ({})", short(have)),
            )
        },
    ));
    out
}

/// The first place two values differ, as (path = expected, path = found).
fn first_difference<T: Serialize>(want: &T, have: &T) -> (String, String) {
    let (a, b) = (
        serde_json::to_value(want).unwrap_or(Value::Null),
        serde_json::to_value(have).unwrap_or(Value::Null),
    );
    match diff_path(&a, &b, String::new()) {
        Some((path, x, y)) => (format!("{path} = {x}"), format!("{path} = {y}")),
        None => ("(equal as JSON)".into(), "(equal as JSON)".into()),
    }
}

fn diff_path(a: &Value, b: &Value, path: String) -> Option<(String, String, String)> {
    let at = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => diff_path(p, q, at(k)),
                (p, q) => Some((at(k), shown(p), shown(q))),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| diff_path(p, q, at(&i.to_string()))),
        (Value::Array(x), Value::Array(y)) => {
            Some((at("length"), x.len().to_string(), y.len().to_string()))
        }
        _ if a == b => None,
        _ => Some((
            if path.is_empty() {
                "value".into()
            } else {
                path
            },
            shown(Some(a)),
            shown(Some(b)),
        )),
    }
}

fn shown(v: Option<&Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(80).collect::<String>())
            } else {
                s
            }
        }
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// A stored key as a person can read it: its text where it is text, else hex.
pub fn printable(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => format!("{s:?}"),
        _ => format!("0x{}", hex::encode(raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_names_missing_extra_changed_and_unreadable_entries() {
        let expected: BTreeMap<u16, u32> = [(2024, 3), (2025, 1)].into_iter().collect();
        let found = vec![
            Entry::ok(vec![1], 2024, 2),
            Entry::ok(vec![2], 2026, 1),
            Entry::bad(vec![0xff], "not a year"),
        ];
        let f = compare(
            "meta",
            &expected,
            &found,
            |y| y.to_string(),
            |n| n.to_string(),
            |a, b| (a.to_string(), b.to_string()),
        );
        let lines: Vec<String> = f.iter().map(Finding::to_string).collect();
        assert_eq!(
            lines,
            [
                "meta tree, key 0xff: expected an entry the log implies, found an unreadable entry (not a year)",
                "meta tree, 2024: expected 3, found 2",
                "meta tree, 2025: expected 1, found nothing",
                "meta tree, 2026: expected nothing (no event records it), found 1",
            ]
        );
    }

    #[test]
    fn the_first_difference_is_named_by_its_path() {
        let a = serde_json::json!({"facts": {"title": "A", "n": [1, 2]}, "version": 3});
        let b = serde_json::json!({"facts": {"title": "B", "n": [1, 2]}, "version": 3});
        assert_eq!(
            first_difference(&a, &b),
            ("facts.title = \"A\"".into(), "facts.title = \"B\"".into())
        );
        let c = serde_json::json!({"facts": {"title": "A", "n": [1]}, "version": 3});
        assert_eq!(
            first_difference(&a, &c),
            ("facts.n.length = 2".into(), "facts.n.length = 1".into())
        );
    }
}
