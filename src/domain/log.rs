//! Appending to the log: numbering, sealing and folding a command's events, as one pure step
//! that every store runs inside its own transaction.
//!
//! A store reads its head (next sequence number, last hash) and the incident's stored record,
//! hands them here, and writes back exactly what comes out. Commits and bundle imports share
//! [`Head::link`], so there is one way an event joins the store-wide chain.

use chrono::{DateTime, Duration, SubsecRound, Utc};

use crate::domain::audit::{self, GENESIS};
use crate::domain::event::{Event, EventKind, Identity};
use crate::domain::incident::IncidentId;
use crate::domain::record::{IncidentRecord, ReplayError};

/// Where the store-wide chain stands before an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The sequence number the next event gets (1 for an empty log).
    pub next_seq: u64,
    /// The last event's hash (`GENESIS` for an empty log).
    pub last_hash: String,
    /// The last event's recorded time, if any event has one.
    pub last_recorded: Option<DateTime<Utc>>,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            next_seq: 1,
            last_hash: GENESIS.to_string(),
            last_recorded: None,
        }
    }
}

impl Head {
    /// The recorded time of the next event: the clock's reading, or a microsecond after the last
    /// recorded time if the clock reads the same or earlier, so recorded time only moves
    /// forward. Also returns how far the clock went back, when it did by more than a second.
    pub fn next_recorded(&self, clock: DateTime<Utc>) -> (DateTime<Utc>, Option<Duration>) {
        let clock = clock.trunc_subsecs(6);
        match self.last_recorded {
            Some(last) if clock <= last => {
                let back = last - clock;
                (
                    last + Duration::microseconds(1),
                    (back > Duration::seconds(1)).then_some(back),
                )
            }
            _ => (clock, None),
        }
    }

    /// Gives `event` the next sequence number and links it after the last hash. The event's
    /// digest and incident chain must already be set.
    pub fn link(&mut self, event: &mut Event) {
        event.seq = self.next_seq;
        event.seal.hash = audit::store_link(&self.last_hash, event);
        self.last_hash = event.seal.hash.clone();
        if event.recorded_at.is_some() && !event.seal.imported {
            self.last_recorded = event.recorded_at;
        }
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
    /// How far the store's clock had gone back behind the log, when by more than a second.
    pub clock_went_back: Option<Duration>,
}

/// Who records, and when the thing happened.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// The effective time.
    pub at: DateTime<Utc>,
    pub actor: String,
    pub identity: Identity,
    /// The signed-in user and the role the act was permitted under (authenticated acts only).
    pub user: Option<crate::domain::account::UserRef>,
}

/// Why a commit was not prepared.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The events do not apply to the record (a damaged store).
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The effective time is not one a record can honestly carry.
    #[error("{0}")]
    Time(String),
}

/// How far ahead of the clock an effective time may be: clocks of different machines differ.
pub const FUTURE_TOLERANCE_MINUTES: i64 = 5;

/// The order guards every commit passes: nothing is recorded as happening in the future (beyond
/// the tolerance), and nothing about an incident as happening before it was opened, except the
/// intake facts themselves (when it occurred, was detected, became known), which by nature come
/// first.
fn check_times(
    target: &Target,
    kinds: &[EventKind],
    stamp: &Stamp,
    clock: DateTime<Utc>,
) -> Result<(), CommitError> {
    if stamp.at > clock + Duration::minutes(FUTURE_TOLERANCE_MINUTES) {
        return Err(CommitError::Time(format!(
            "the effective time {} is in the future (the clock reads {}); record what has happened, when it happened",
            stamp.at.to_rfc3339(),
            clock.trunc_subsecs(0).to_rfc3339()
        )));
    }
    if let Target::Existing(record) = target
        && stamp.at < record.opened_at
    {
        let intake_only = kinds.iter().all(|k| match k {
            EventKind::FactsUpdated { changes, .. } => changes
                .iter()
                .all(|c| matches!(c.field.as_str(), "occurred" | "detected_at" | "aware_at")),
            _ => false,
        });
        if !intake_only {
            return Err(CommitError::Time(format!(
                "the effective time {} is before {} was opened ({}); only when it occurred, was detected and became known can be earlier",
                stamp.at.to_rfc3339(),
                record.id,
                record.opened_at.to_rfc3339()
            )));
        }
    }
    Ok(())
}

/// Seals `kinds` after `head`, folds them into the target's record, and advances `head`.
/// `clock` is the store's reading of the system clock, which gives each event its recorded time.
pub fn prepare_commit(
    head: &mut Head,
    target: Target,
    kinds: &[EventKind],
    stamp: &Stamp,
    clock: DateTime<Utc>,
) -> Result<Prepared, CommitError> {
    check_times(&target, kinds, stamp, clock)?;
    let (id, mut record) = match target {
        Target::Organisation => (None, None),
        Target::New(id) => (Some(id), None),
        Target::Existing(r) => (Some(r.id), Some(*r)),
    };
    let mut events = Vec::with_capacity(kinds.len());
    let mut clock_went_back = None;
    for kind in kinds {
        let (recorded_at, back) = head.next_recorded(clock);
        clock_went_back = clock_went_back.or(back);
        let version = match (&record, id) {
            (Some(r), _) => r.version + 1,
            (None, Some(_)) => 1,
            (None, None) => 0,
        };
        let mut event = Event {
            seq: head.next_seq,
            incident: id,
            version,
            at: stamp.at,
            recorded_at: Some(recorded_at),
            actor: stamp.actor.clone(),
            identity: Some(stamp.identity),
            user: stamp.user.clone(),
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
    Ok(Prepared {
        record,
        events,
        clock_went_back,
    })
}

/// Re-links a verified bundle's events after `head`: each keeps its digest and incident chain
/// (they travel with the incident) and gets this store's sequence number and store-wide hash.
pub fn prepare_import(head: &mut Head, events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.seal.imported = true;
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
        let stamp = Stamp {
            at,
            actor: "a".into(),
            identity: Identity::SelfDeclared,
            user: None,
        };
        let org = prepare_commit(&mut head, Target::Organisation, &kinds, &stamp, at).unwrap();
        assert_eq!(org.events[0].seq, 1);
        assert_eq!(head.next_seq, 2);
        // Importing the same events after the same head keeps their digests and chains, and
        // seals that they were imported into the store-wide link.
        let mut again = Head::default();
        let imported = prepare_import(&mut again, &org.events);
        for (i, o) in imported.iter().zip(&org.events) {
            assert_eq!(
                (i.seq, &i.seal.digest, &i.seal.chain),
                (o.seq, &o.seal.digest, &o.seal.chain)
            );
            assert!(i.seal.imported);
            assert_ne!(i.seal.hash, o.seal.hash);
        }
        let mut v = crate::domain::audit::Verifier::default();
        for e in &imported {
            v.next(e.seq, e).unwrap();
        }
    }

    #[test]
    fn recorded_time_only_moves_forward() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let mut head = Head::default();
        let stamp = Stamp {
            at: t("2025-12-03T09:00:00Z"),
            actor: "dpo".into(),
            identity: Identity::SelfDeclared,
            user: None,
        };
        let kinds = [
            EventKind::FactsUpdated {
                changes: Vec::new(),
                note: None,
            },
            EventKind::FactsUpdated {
                changes: Vec::new(),
                note: None,
            },
        ];
        // Two events in one commit at one clock reading: the second a microsecond later.
        let first = prepare_commit(
            &mut head,
            Target::Organisation,
            &kinds,
            &stamp,
            t("2025-12-06T09:20:00.000000500Z"),
        )
        .unwrap();
        let r: Vec<_> = first
            .events
            .iter()
            .map(|e| e.recorded_at.unwrap())
            .collect();
        assert_eq!(r[0], t("2025-12-06T09:20:00Z"));
        assert_eq!(r[1], t("2025-12-06T09:20:00.000001Z"));
        assert_eq!(first.clock_went_back, None);
        // The clock went back an hour: the next event still comes after, and it is reported.
        let later = prepare_commit(
            &mut head,
            Target::Organisation,
            &kinds[..1],
            &stamp,
            t("2025-12-06T08:20:00Z"),
        )
        .unwrap();
        assert_eq!(
            later.events[0].recorded_at.unwrap(),
            t("2025-12-06T09:20:00.000002Z")
        );
        assert_eq!(
            later.clock_went_back,
            Some(Duration::hours(1) + Duration::microseconds(1))
        );
        // A backfilled fact: effective three days before it was recorded.
        assert_eq!(
            later.events[0].recorded_later(),
            Some(t("2025-12-06T09:20:00.000002Z") - t("2025-12-03T09:00:00Z"))
        );
        // The verifier refuses a log whose recorded times do not increase.
        let mut events = first.events.clone();
        events.extend(later.events.clone());
        let mut v = crate::domain::audit::Verifier::default();
        for e in &events {
            v.next(e.seq, e).unwrap();
        }
        let mut swapped = events.clone();
        swapped[1].recorded_at = swapped[0].recorded_at;
        let mut relinked = Head::default();
        for e in &mut swapped {
            crate::domain::audit::seal_incident(e, GENESIS);
            relinked.link(e);
        }
        let mut v = crate::domain::audit::Verifier::default();
        v.next(1, &swapped[0]).unwrap();
        assert!(matches!(
            v.next(2, &swapped[1]),
            Err(crate::domain::audit::Break::RecordedOutOfOrder { seq: 2, .. })
        ));
    }
}
