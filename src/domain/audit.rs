//! The tamper-evident log: every event is sealed with SHA-256 hashes that chain it to the one
//! before, store-wide and within its incident.
//!
//! - `digest`: SHA-256 of the event's content (incident, version, time, actor, what happened)
//!   in a canonical encoding: JSON with object keys sorted, no whitespace.
//! - `chain`: SHA-256 over the incident's previous `chain`, the version and the digest. It
//!   depends only on the incident's own events, so an evidence bundle carries it to another
//!   store unchanged.
//! - `hash`: SHA-256 over the store's previous `hash`, the sequence number and the `chain`. The
//!   last one is also kept apart from the log, so cutting events off the end shows.
//!
//! Changing, deleting, inserting or reordering any stored event breaks a digest or a link, and
//! `verify` names the first event where that happens. Pure.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::domain::event::Event;
use crate::domain::incident::IncidentId;

/// The link before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn sha256(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// SHA-256 of the event's content, canonically encoded (as stored: however the command that
/// asks prints its output, `serial::storing`).
pub fn digest(e: &Event) -> String {
    super::serial::storing(|| digest_stored(e))
}

fn digest_stored(e: &Event) -> String {
    let mut content = serde_json::json!({
        "incident": e.incident,
        "version": e.version,
        "at": e.at,
        "actor": e.actor,
        "what": e.what,
    });
    // Sealed when present; an event written before they existed keeps its digest.
    if let Some(recorded_at) = e.recorded_at {
        content["recorded_at"] = serde_json::json!(recorded_at);
    }
    if let Some(identity) = e.identity {
        content["identity"] = serde_json::json!(identity);
    }
    if let Some(user) = &e.user {
        content["user"] = serde_json::json!(user);
    }
    let mut bytes = Vec::new();
    canonical(&content, &mut bytes);
    sha256(&[b"breachflow-event-v1", &bytes])
}

/// JSON with every object's keys in byte order and no whitespace, written here rather than
/// left to serde_json's map type: a dependency enabling serde_json's `preserve_order` feature
/// would otherwise change every digest and fail every existing log.
/// `tests::a_known_event_has_a_known_digest` pins the encoding.
fn canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(&Value::String(k.clone()), out);
                out.push(b':');
                canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(v, out);
            }
            out.push(b']');
        }
        // Scalars have one encoding in serde_json whatever the map type.
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

pub fn chain_link(prev_chain: &str, version: u64, digest: &str) -> String {
    sha256(&[
        prev_chain.as_bytes(),
        &version.to_be_bytes(),
        digest.as_bytes(),
    ])
}

pub fn hash_link(prev_hash: &str, seq: u64, chain: &str) -> String {
    sha256(&[prev_hash.as_bytes(), &seq.to_be_bytes(), chain.as_bytes()])
}

/// The store-wide link of an event: an imported one's link also seals that it was imported.
pub fn store_link(prev_hash: &str, e: &Event) -> String {
    if e.seal.imported {
        sha256(&[
            prev_hash.as_bytes(),
            &e.seq.to_be_bytes(),
            e.seal.chain.as_bytes(),
            b"imported",
        ])
    } else {
        hash_link(prev_hash, e.seq, &e.seal.chain)
    }
}

/// Sets `e`'s digest and incident chain after `prev_chain`, its incident's previous link. The
/// store-wide link is `log::Head::link`'s.
pub fn seal_incident(e: &mut Event, prev_chain: &str) {
    let digest = digest(e);
    e.seal.chain = chain_link(prev_chain, e.version, &digest);
    e.seal.digest = digest;
}

/// Where the log stops being what was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    #[error("event {seq} cannot be read: {detail}")]
    Unreadable { seq: u64, detail: String },
    #[error("the event stored under number {key} says it is number {seq}: events were moved")]
    Moved { key: u64, seq: u64 },
    #[error("event {seq} is missing: the log goes from {before} to {after}")]
    Missing { seq: u64, before: u64, after: u64 },
    #[error("event {seq} was changed: its content no longer matches its digest")]
    Changed { seq: u64 },
    #[error("event {seq} does not follow event {before}: the chain of hashes is broken there")]
    Unlinked { seq: u64, before: u64 },
    #[error("event {seq} of {incident} does not follow that incident's previous event")]
    IncidentUnlinked { seq: u64, incident: IncidentId },
    #[error(
        "event {seq} was recorded at {recorded_at}, not after the event before it ({previous}): recorded time must only move forward"
    )]
    RecordedOutOfOrder {
        seq: u64,
        recorded_at: String,
        previous: String,
    },
    #[error("event {seq} has no recorded time although an earlier event has one")]
    RecordedMissing { seq: u64 },
    #[error("event {seq} has no seal")]
    Unsealed { seq: u64 },
    #[error(
        "the log ends at event {last} but the store recorded {expected} events: events were cut off the end"
    )]
    Truncated { last: u64, expected: u64 },
    #[error(
        "the last event's hash is not the one the store recorded: the end of the log was changed"
    )]
    Head,
    #[error("a stored record cannot be read: {detail}")]
    UnreadableRecord { detail: String },
    #[error("{incident}: the stored record is not the replay of its events{detail}")]
    Record {
        incident: IncidentId,
        detail: String,
    },
}

impl Break {
    /// The first event concerned, if the break is at one.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Break::Unreadable { seq, .. }
            | Break::Moved { seq, .. }
            | Break::Missing { seq, .. }
            | Break::Changed { seq }
            | Break::Unlinked { seq, .. }
            | Break::IncidentUnlinked { seq, .. }
            | Break::Unsealed { seq }
            | Break::RecordedOutOfOrder { seq, .. }
            | Break::RecordedMissing { seq } => Some(*seq),
            _ => None,
        }
    }
}

/// Walks the log in order, checking every digest and link.
#[derive(Default)]
pub struct Verifier {
    prev_seq: u64,
    prev_hash: Option<String>,
    chains: HashMap<IncidentId, String>,
    prev_recorded: Option<chrono::DateTime<chrono::Utc>>,
    pub events: u64,
}

impl Verifier {
    /// Checks the event stored under `key`.
    pub fn next(&mut self, key: u64, e: &Event) -> Result<(), Break> {
        if e.seq != key {
            return Err(Break::Moved { key, seq: e.seq });
        }
        if e.seq != self.prev_seq + 1 {
            return Err(Break::Missing {
                seq: self.prev_seq + 1,
                before: self.prev_seq,
                after: e.seq,
            });
        }
        if e.seal.is_empty() {
            return Err(Break::Unsealed { seq: e.seq });
        }
        if digest(e) != e.seal.digest {
            return Err(Break::Changed { seq: e.seq });
        }
        if let Some(id) = e.incident {
            let prev = self.chains.get(&id).map(String::as_str).unwrap_or(GENESIS);
            if chain_link(prev, e.version, &e.seal.digest) != e.seal.chain {
                return Err(Break::IncidentUnlinked {
                    seq: e.seq,
                    incident: id,
                });
            }
            self.chains.insert(id, e.seal.chain.clone());
        } else if chain_link(GENESIS, e.version, &e.seal.digest) != e.seal.chain {
            return Err(Break::Changed { seq: e.seq });
        }
        let prev = self.prev_hash.as_deref().unwrap_or(GENESIS);
        if store_link(prev, e) != e.seal.hash {
            return Err(Break::Unlinked {
                seq: e.seq,
                before: self.prev_seq,
            });
        }
        match (self.prev_recorded, e.recorded_at) {
            _ if e.seal.imported => {}
            (Some(prev), Some(at)) if at <= prev => {
                return Err(Break::RecordedOutOfOrder {
                    seq: e.seq,
                    recorded_at: at.to_rfc3339(),
                    previous: prev.to_rfc3339(),
                });
            }
            (Some(_), None) => return Err(Break::RecordedMissing { seq: e.seq }),
            _ => {}
        }
        if e.recorded_at.is_some() && !e.seal.imported {
            self.prev_recorded = e.recorded_at;
        }
        self.prev_seq = e.seq;
        self.prev_hash = Some(e.seal.hash.clone());
        self.events += 1;
        Ok(())
    }

    /// Checks the end of the log against what the store recorded apart from it.
    pub fn finish(&self, recorded_count: u64, recorded_head: Option<&str>) -> Result<(), Break> {
        if self.prev_seq != recorded_count {
            return Err(Break::Truncated {
                last: self.prev_seq,
                expected: recorded_count,
            });
        }
        if recorded_head.unwrap_or(GENESIS) != self.prev_hash.as_deref().unwrap_or(GENESIS) {
            return Err(Break::Head);
        }
        Ok(())
    }
}

/// Checks one incident's events on their own (an evidence bundle): digests and the incident
/// chain, from its first event. Returns the chain's head.
pub fn verify_incident(events: &[Event]) -> Result<String, Break> {
    let mut prev = GENESIS.to_string();
    for (i, e) in events.iter().enumerate() {
        if e.version != i as u64 + 1 {
            return Err(Break::Missing {
                seq: e.seq,
                before: i as u64,
                after: e.version,
            });
        }
        if digest(e) != e.seal.digest {
            return Err(Break::Changed { seq: e.seq });
        }
        if chain_link(&prev, e.version, &e.seal.digest) != e.seal.chain {
            return Err(Break::IncidentUnlinked {
                seq: e.seq,
                incident: e.incident.unwrap_or(IncidentId { year: 0, number: 0 }),
            });
        }
        prev = e.seal.chain.clone();
    }
    Ok(prev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::EventKind;
    use crate::domain::incident::{FactChange, IncidentId};

    /// Pins the canonical event encoding. The expected digest was computed outside Rust, by a
    /// few lines of Python implementing the documented encoding (`json.dumps(content,
    /// sort_keys=True, separators=(',', ':'), ensure_ascii=False)`, then SHA-256 over the
    /// length-prefixed parts `breachflow-event-v1` and those bytes). If this fails, every stored
    /// log would stop verifying: change the encoding only with a new version tag.
    #[test]
    fn a_known_event_has_a_known_digest() {
        let event = Event {
            seq: 7,
            incident: Some(IncidentId {
                year: 2024,
                number: 1,
            }),
            version: 2,
            at: "2024-03-31T08:30:00Z".parse().unwrap(),
            actor: "Tom Okafor (Head of IT Security)".into(),
            what: EventKind::FactsUpdated {
                changes: vec![FactChange {
                    field: "containment".into(),
                    old: serde_json::Value::Null,
                    new: "Isolated the practice-management servers; Zürich backups intact".into(),
                }],
                note: Some("after triage".into()),
            },
            recorded_at: None,
            identity: None,
            user: None,
            seal: Default::default(),
        };
        assert_eq!(
            digest(&event),
            "8f42e4a07fec62d1147fc50f627f4d98a1f246c1555069c5afc6444f7bebc18a"
        );
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_whatever_the_map_order() {
        let value = serde_json::json!({"b": {"z": 1, "a": [ {"y": true, "x": null} ]}, "a": "é"});
        let mut out = Vec::new();
        canonical(&value, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":"é","b":{"a":[{"x":null,"y":true}],"z":1}}"#
        );
    }
}
