//! The clocks across incidents: what is due or overdue (range scans of the deadline index, so
//! the cost follows what is returned, not the size of the store), how one due instant was
//! worked out, and what-if questions answered without storing anything.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::app::ports::{DeadlineEntry, Store};
use crate::app::{AppError, Context};
use crate::domain::assessment::AssessmentInput;
use crate::domain::event::{Event, EventKind};
use crate::domain::incident::{
    Impact, IncidentFacts, IncidentId, Occurrence, Reporter, YesNoUnknown,
};
use crate::domain::obligation::Obligation;
use crate::domain::record::IncidentRecord;
use crate::domain::regime::Rulebook;
use crate::domain::workflow::{self, Rules};

/// Loads each incident once for a list of index entries, shared (not copied) by the entries
/// that name it.
pub fn records(
    store: &dyn Store,
    entries: &[DeadlineEntry],
) -> Result<BTreeMap<IncidentId, std::sync::Arc<IncidentRecord>>, AppError> {
    let mut map = BTreeMap::new();
    for e in entries {
        if let std::collections::btree_map::Entry::Vacant(slot) = map.entry(e.incident) {
            slot.insert(store.incident_shared(e.incident)?);
        }
    }
    Ok(map)
}

/// Which open obligations `due` lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query {
    /// Due within this time from now.
    pub within: Option<Duration>,
    /// Past a deadline in law (a passed internal target is not "overdue").
    pub overdue: bool,
    pub incident: Option<IncidentId>,
}

/// One open obligation and its incident, which the rows of its other obligations share.
#[derive(Debug, Clone)]
pub struct DueRow {
    pub record: std::sync::Arc<IncidentRecord>,
    /// Which of the record's obligations.
    index: usize,
}

impl DueRow {
    pub fn obligation(&self) -> &Obligation {
        &self.record.obligations[self.index]
    }
}

/// Open obligations soonest first, each with its incident.
pub fn due(store: &dyn Store, now: DateTime<Utc>, query: Query) -> Result<Vec<DueRow>, AppError> {
    let mut entries = if query.overdue {
        store.due_until(now - Duration::milliseconds(1))?
    } else if let Some(w) = query.within {
        let until = now.checked_add_signed(w).ok_or_else(|| {
            AppError::InvalidArgs("--within reaches beyond the last representable date".into())
        })?;
        store.due_until(until)?
    } else {
        let mut all = store.all_due()?;
        all.extend(store.waiting()?);
        all
    };
    if let Some(id) = query.incident {
        entries.retain(|e| e.incident == id);
    }
    Ok(rows(store, &entries)?
        .into_iter()
        .filter(|row| !query.overdue || row.obligation().due.is_statutory())
        .collect())
}

/// What the workspace's dashboard shows: every open obligation with an instant, soonest first
/// (the deadline index: its cost follows the open work), and the newest incidents.
pub struct Dashboard {
    pub due: Vec<DueRow>,
    pub recent: Vec<std::sync::Arc<IncidentRecord>>,
}

/// How many of the newest incidents the dashboard lists.
pub const DASHBOARD_RECENT: usize = 50;

pub fn dashboard(store: &dyn Store, now: DateTime<Utc>) -> Result<Dashboard, AppError> {
    let mut due = due(store, now, Query::default())?;
    due.retain(|row| row.obligation().due.instant().is_some());
    let recent = store
        .newest_incidents(DASHBOARD_RECENT)?
        .into_iter()
        .map(|id| store.incident_shared(id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Dashboard { due, recent })
}

/// Index entries joined with their incidents and obligations. An incident with several
/// obligations due is read once and shared by its rows, not copied into each.
fn rows(store: &dyn Store, entries: &[DeadlineEntry]) -> Result<Vec<DueRow>, AppError> {
    let records = records(store, entries)?;
    Ok(entries
        .iter()
        .filter_map(|e| {
            let record = records.get(&e.incident)?;
            let index = record
                .obligations
                .iter()
                .position(|o| o.id == e.obligation)?;
            Some(DueRow {
                record: record.clone(),
                index,
            })
        })
        .collect())
}

/// The obligations with an instant, for the calendar export: one incident's, or those of every
/// incident with an open or waiting obligation (read from the deadline index, so the cost
/// follows the open work, not the size of the store). Filed, waived and retired obligations are
/// included so the calendar can cancel their events rather than drop them.
pub fn calendar(
    store: &dyn Store,
    incident: Option<IncidentId>,
) -> Result<Vec<(IncidentRecord, Obligation)>, AppError> {
    store.require_organisation()?;
    let records = match incident {
        Some(id) => BTreeMap::from([(id, store.incident_shared(id)?)]),
        None => {
            let mut entries = store.all_due()?;
            entries.extend(store.waiting()?);
            records(store, &entries)?
        }
    };
    Ok(records
        .into_values()
        .flat_map(|r| {
            let obligations: Vec<Obligation> = r
                .obligations
                .iter()
                .filter(|o| o.due.instant().is_some())
                .cloned()
                .collect();
            obligations
                .into_iter()
                .map(move |o| (IncidentRecord::clone(&r), o))
        })
        .collect())
}

/// One obligation, named `ID:OBL`, or `OBL` with the incident given apart.
pub fn find(
    store: &dyn Store,
    incident: Option<IncidentId>,
    wanted: &str,
) -> Result<(IncidentId, Obligation), AppError> {
    let (id, obl) = match (wanted.split_once(':'), incident) {
        (Some((id, obl)), _) => (
            id.parse::<IncidentId>()
                .map_err(|e| AppError::InvalidArgs(e.to_string()))?,
            obl,
        ),
        (None, Some(id)) => (id, wanted),
        (None, None) => {
            return Err(AppError::InvalidArgs(
                "--explain needs the incident: --incident ID --explain OBL, or --explain ID:OBL"
                    .into(),
            ));
        }
    };
    let record = store.incident(id)?;
    let o =
        workflow::find_obligation(&record, obl).map_err(|e| AppError::from_workflow(e, None))?;
    Ok((id, o.clone()))
}

/// What `whatif` found: the hypothetical incident's record (never stored).
pub struct WhatIf {
    pub record: IncidentRecord,
    /// True when no assessment was given and every threshold was assumed met.
    pub thresholds_assumed_met: bool,
    /// The instant the clocks are read at.
    pub now: DateTime<Utc>,
    /// Regimes in force that do not apply, with why.
    pub not_applicable: Vec<(String, String)>,
}

/// The clocks that would run for an incident the organisation became aware of at `aware_at`,
/// with `assessment` (from `file`) or, with none, every threshold assumed met.
pub fn whatif(
    store: &dyn Store,
    ctx: &Context,
    rulebook: &Rulebook,
    aware_at: DateTime<Utc>,
    assessment: Option<(&str, AssessmentInput)>,
) -> Result<WhatIf, AppError> {
    let org = store.require_organisation()?;
    let rules = Rules {
        org: &org,
        rulebook,
    };
    let assumed = assessment.is_none();
    let (file_name, assessment) = match assessment {
        Some((name, a)) => (Some(name), a),
        None => (
            None,
            serde_json::from_value(json!({
                "data_categories": ["not_yet_known"],
                "subject_categories": ["not_yet_known"],
                "subjects": { "estimate": u64::MAX },
                "identifiability": "maximum",
                "circumstances": { "confidentiality": "disclosure", "integrity": "irrecoverable", "availability": "permanent", "malicious": true }
            }))
            .map_err(|e| AppError::Failed(e.to_string()))?,
        ),
    };
    let facts = IncidentFacts {
        title: "What if".into(),
        summary: "A hypothetical incident for `breachflow whatif`.".into(),
        occurred: Occurrence::default(),
        detected_at: aware_at,
        aware_at,
        awareness_justification: None,
        aware_precision: Default::default(),
        discovery: "hypothetical".into(),
        systems_affected: Vec::new(),
        containment: None,
        impact: Impact {
            confidentiality: true,
            integrity: false,
            availability: false,
        },
        cyber_incident: YesNoUnknown::Unknown,
        reporter: Reporter {
            name: ctx.actor.clone(),
            role: None,
            email: None,
            phone: None,
        },
        details: Default::default(),
    };
    let now = ctx.now.max(aware_at);
    let id = IncidentId { year: 0, number: 0 };
    let mut record: Option<IncidentRecord> = None;
    let apply =
        |kinds: Vec<EventKind>, record: &mut Option<IncidentRecord>| -> Result<(), AppError> {
            for what in kinds {
                let version = record.as_ref().map_or(1, |r| r.version + 1);
                let event = Event {
                    seq: 0,
                    incident: Some(id),
                    version,
                    at: now,
                    actor: ctx.actor.clone(),
                    what,
                    recorded_at: None,
                    identity: None,
                    user: None,
                    seal: Default::default(),
                };
                *record = Some(
                    IncidentRecord::apply(record.take(), &event)
                        .map_err(|e| AppError::Failed(e.to_string()))?,
                );
            }
            Ok(())
        };
    apply(
        workflow::open(&facts, now).map_err(|e| AppError::from_workflow(e, None))?,
        &mut record,
    )?;
    let opened = record
        .clone()
        .ok_or_else(|| AppError::Failed("no record".into()))?;
    apply(
        workflow::assess(&opened, &assessment, &rules, now, &ctx.actor)
            .map_err(|e| AppError::from_workflow(e, file_name))?,
        &mut record,
    )?;
    let record = record.ok_or_else(|| AppError::Failed("no record".into()))?;
    let not_applicable = workflow::not_applicable(&record, &rules, now);
    Ok(WhatIf {
        record,
        thresholds_assumed_met: assumed,
        now,
        not_applicable,
    })
}
