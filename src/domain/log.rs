//! Appending to the log: numbering, sealing and folding a command's events, as one pure step
//! that every store runs inside its own transaction.
//!
//! A store reads its head (next sequence number, last hash) and the incident's stored record,
//! hands them here, and writes back exactly what comes out. Commits and bundle imports share
//! [`Head::link`], so there is one way an event joins the store-wide chain.

use chrono::{DateTime, Utc};

use crate::domain::audit::{self, GENESIS};
use crate::domain::event::{Event, EventKind};
use crate::domain::incident::IncidentId;
use crate::domain::record::{IncidentRecord, ReplayError};

/// Where the store-wide chain stands before an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The sequence number the next event gets (1 for an empty log).
    pub next_seq: u64,
    /// The last event's hash (`GENESIS` for an empty log).
    pub last_hash: String,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            next_seq: 1,
            last_hash: GENESIS.to_string(),
        }
    }
}

impl Head {
    /// Gives `event` the next sequence number and links it after the last hash. The event's
    /// digest and incident chain must already be set.
    pub fn link(&mut self, event: &mut Event) {
        event.seq = self.next_seq;
        event.seal.hash = audit::hash_link(&self.last_hash, event.seq, &event.seal.chain);
        self.last_hash = event.seal.hash.clone();
        self.next_seq += 1;
    }
}

/// What the events of a commit are about, as read inside the store's transaction.
pub enum Target {
    /// The organisation profile: events with no incident.
    Organisation,
    /// A new incident with the id the store's counter gave it.
    New(IncidentId),
    /// An existing incident as stored.
    Existing(Box<IncidentRecord>),
}

/// What a store writes for a commit.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The incident's record after the events (none for organisation events).
    pub record: Option<IncidentRecord>,
    /// The sealed events, in order.
    pub events: Vec<Event>,
}

/// Seals `kinds` after `head`, folds them into the target's record, and advances `head`.
pub fn prepare_commit(
    head: &mut Head,
    target: Target,
    kinds: &[EventKind],
    at: DateTime<Utc>,
    actor: &str,
) -> Result<Prepared, ReplayError> {
    let (id, mut record) = match target {
        Target::Organisation => (None, None),
        Target::New(id) => (Some(id), None),
        Target::Existing(r) => (Some(r.id), Some(*r)),
    };
    let mut events = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let version = match (&record, id) {
            (Some(r), _) => r.version + 1,
            (None, Some(_)) => 1,
            (None, None) => 0,
        };
        let mut event = Event {
            seq: head.next_seq,
            incident: id,
            version,
            at,
            actor: actor.to_string(),
            what: kind.clone(),
            seal: Default::default(),
        };
        let prev_chain = match &record {
            Some(r) if !r.chain.is_empty() => r.chain.as_str(),
            _ => GENESIS,
        };
        audit::seal_incident(&mut event, prev_chain);
        head.link(&mut event);
        if id.is_some() {
            record = Some(IncidentRecord::apply(record.take(), &event)?);
        }
        events.push(event);
    }
    Ok(Prepared { record, events })
}

/// Re-links a verified bundle's events after `head`: each keeps its digest and incident chain
/// (they travel with the incident) and gets this store's sequence number and store-wide hash.
pub fn prepare_import(head: &mut Head, events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            head.link(&mut e);
            e
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_and_import_link_the_same_way() {
        let at = DateTime::parse_from_rfc3339("2024-03-30T21:10:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let kinds = [EventKind::FactsUpdated {
            changes: Vec::new(),
            note: Some("first".into()),
        }];
        let mut head = Head::default();
        let org = prepare_commit(&mut head, Target::Organisation, &kinds, at, "a").unwrap();
        assert_eq!(org.events[0].seq, 1);
        assert_eq!(head.next_seq, 2);
        // Importing the same events after the same head gives the same seals.
        let mut again = Head::default();
        let imported = prepare_import(&mut again, &org.events);
        assert_eq!(imported, org.events);
        assert_eq!(again, head);
    }
}
