//! What compliance and a regulator read later, as data: the audit log, deadline adherence,
//! the breach register and an incident's timeline. Each reads the store and returns rows; the
//! front end chooses the format (`render::report` writes the page and the CSV).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::app::AppError;
use crate::app::ports::{Store, StoreError};
use crate::domain::adherence::{self, Adherence, Filter};
use crate::domain::event::{Event, EventKind};
use crate::domain::incident::IncidentId;
use crate::domain::record::IncidentRecord;
use crate::domain::regime::Rulebook;
use crate::domain::register::RegisterEntry;

/// The zone instants are shown in before `init` has run.
const DEFAULT_ZONE: Tz = chrono_tz::Europe::London;

/// Events of the log, with the zone to show them in.
#[derive(Debug, Clone)]
pub struct Log {
    pub zone: Tz,
    pub events: Vec<Event>,
}

/// One incident's events, or the whole log, oldest first.
pub fn audit_log(store: &dyn Store, id: Option<IncidentId>) -> Result<Log, AppError> {
    let zone = store
        .organisation()?
        .map(|o| o.zone())
        .unwrap_or(DEFAULT_ZONE);
    let events = match id {
        Some(id) => store.events_for(id)?,
        None => {
            let mut events = Vec::new();
            for item in store.log() {
                let (_, event) = item?;
                // An event that cannot be decoded makes the store damaged here; `audit verify`
                // is the command that says where.
                events.push(event.map_err(|detail| StoreError::Damaged {
                    dir: store.location(),
                    detail: format!("an event cannot be read: {detail}"),
                })?);
            }
            events
        }
    };
    Ok(Log { zone, events })
}

fn records(store: &dyn Store) -> Result<Vec<IncidentRecord>, AppError> {
    Ok(store.incidents().collect::<Result<Vec<_>, _>>()?)
}

/// Deadline adherence of every incident the filter selects, as of `now`.
pub fn adherence_report(
    store: &dyn Store,
    filter: &Filter,
    now: DateTime<Utc>,
) -> Result<Adherence, AppError> {
    let org = store.require_organisation()?;
    let records = records(store)?;
    let mut rows = adherence::rows(&records, filter, now);
    mark_recorded_later(store, &mut rows, org.zone())?;
    let summaries = adherence::summarise(&rows);
    Ok(Adherence {
        organisation: org.name.clone(),
        zone: org.zone(),
        generated_at: now,
        filter: filter.clone(),
        records,
        rows,
        summaries,
    })
}

/// Marks each filing whose completion was recorded later than it happened, from its event.
fn mark_recorded_later(
    store: &dyn Store,
    rows: &mut [adherence::Row],
    zone: chrono_tz::Tz,
) -> Result<(), AppError> {
    let mut incidents: Vec<&str> = rows.iter().map(|r| r.incident.as_str()).collect();
    incidents.dedup();
    let mut marks: Vec<(String, String, String)> = Vec::new();
    for id in incidents {
        let Ok(id) = id.parse::<IncidentId>() else {
            continue;
        };
        for e in store.events_for(id)? {
            if let EventKind::ObligationCompleted { obligation, .. } = &e.what
                && let Some(words) = crate::render::format::recorded_later(&e, zone)
            {
                marks.push((id.to_string(), obligation.clone(), words));
            }
        }
    }
    for row in rows.iter_mut() {
        row.recorded_later = marks
            .iter()
            .find(|(i, o, _)| *i == row.incident && *o == row.obligation)
            .map(|(_, _, w)| w.clone());
    }
    Ok(())
}

/// The breach register: every incident, notified or not (UK GDPR Art 33(5)). Which filing is
/// the regulator filing comes from the regimes (`register_phase`).
pub fn register(store: &dyn Store, rules: &Rulebook) -> Result<Vec<RegisterEntry>, AppError> {
    let filings = rules.register_filings();
    let zone = store.require_organisation()?.zone();
    let mut entries = Vec::new();
    for r in records(store)? {
        let mut entry = RegisterEntry::of(&r, &filings);
        if entry.ico_filed_at.is_some() {
            entry.ico_filing_recorded_later =
                store.events_for(r.id)?.iter().find_map(|e| match &e.what {
                    EventKind::ObligationCompleted { obligation, .. }
                        if filings.contains(obligation) =>
                    {
                        crate::render::format::recorded_later(e, zone)
                    }
                    _ => None,
                });
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// What a timeline entry says.
#[derive(Debug, Clone)]
pub enum What {
    /// Words, ready to show.
    Text(String),
    /// An event of the log; the front end puts it in words.
    Event {
        what: Box<EventKind>,
        actor: String,
        /// "recorded ..., later, by ..." when the event was backfilled.
        recorded_later: Option<String>,
    },
}

/// One entry of a timeline.
#[derive(Debug, Clone)]
pub struct Item {
    pub at: DateTime<Utc>,
    /// "fact", "event", "clock" or "document".
    pub kind: &'static str,
    pub what: What,
}

/// One incident's facts, events, clocks and documents in time order.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub zone: Tz,
    pub record: IncidentRecord,
    pub items: Vec<Item>,
}

/// The timeline of `id`. The clock named at awareness comes from the regimes
/// (`awareness_clock`).
pub fn timeline(store: &dyn Store, rules: &Rulebook, id: IncidentId) -> Result<Timeline, AppError> {
    let org = store.require_organisation()?;
    let r = store.incident(id)?;
    let mut items: Vec<Item> = Vec::new();
    let mut push = |at, kind, text: String| {
        items.push(Item {
            at,
            kind,
            what: What::Text(text),
        })
    };
    if let Some(from) = r.facts.occurred.from {
        push(from, "fact", "the breach began (earliest known)".into());
    }
    if let Some(to) = r.facts.occurred.to {
        push(to, "fact", "the breach ended".into());
    }
    push(
        r.facts.detected_at,
        "fact",
        format!("detected: {}", r.facts.discovery),
    );
    push(
        r.facts.aware_at,
        "fact",
        match rules.awareness_clock() {
            Some(clock) => format!("aware ({clock} clock starts)"),
            None => "aware".into(),
        },
    );
    for t in &r.triggers {
        push(
            t.at,
            "fact",
            format!(
                "{} (decided by {})",
                t.anchor.as_str().replace('_', " "),
                t.decided_by
            ),
        );
    }
    for o in &r.obligations {
        let due = o.completion.as_ref().map(|c| &c.due).unwrap_or(&o.due);
        if let Some(at) = due.instant() {
            push(
                at,
                "clock",
                format!(
                    "{} {} ({})",
                    o.id,
                    if due.is_statutory() {
                        "due"
                    } else {
                        "internal target"
                    },
                    o.recipient
                ),
            );
        }
    }
    for d in &r.documents {
        push(
            d.rendered_at,
            "document",
            format!(
                "{} v{} rendered by {}",
                d.document, d.version, d.rendered_by
            ),
        );
        if let Some(a) = &d.approval {
            push(
                a.at,
                "document",
                format!("{} v{} approved by {}", d.document, d.version, a.by),
            );
        }
    }
    for e in store.events_for(id)? {
        let recorded_later = crate::render::format::recorded_later(&e, org.zone());
        // A signed-in actor is shown with their role and user id; a self-declared one by name,
        // as before accounts existed.
        let actor = match e.user {
            Some(_) => crate::render::format::who(&e),
            None => e.actor,
        };
        items.push(Item {
            at: e.at,
            kind: "event",
            what: What::Event {
                what: Box::new(e.what),
                actor,
                recorded_later,
            },
        });
    }
    // Stable: entries at the same instant and of the same kind keep the order above.
    items.sort_by(|a, b| a.at.cmp(&b.at).then(a.kind.cmp(b.kind)));
    Ok(Timeline {
        zone: org.zone(),
        record: r,
        items,
    })
}
