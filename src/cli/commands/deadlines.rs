//! `breachflow deadlines`, `whatif`, `calendar` and `regimes`: the clocks, across incidents.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::obligation::{due_words, obligation_json, remaining};
use super::open_store;
use crate::app::ports::{DeadlineEntry, Store};
use crate::cli::output::{self, Format, instant};
use crate::cli::{CliError, Ctx};
use crate::domain::assessment::AssessmentInput;
use crate::domain::event::Event;
use crate::domain::incident::{
    Impact, IncidentFacts, IncidentId, Occurrence, Reporter, YesNoUnknown,
};
use crate::domain::obligation::{self, Obligation};
use crate::domain::record::IncidentRecord;
use crate::domain::workflow;

/// Reads "72h", "3d", "90m", "2w" (and combinations such as "1d12h").
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration; expected e.g. 72h, 3d, 90m, 2w or 1d12h");
    let mut total = Duration::zero();
    let mut number = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().map_err(|_| bad())?;
        number.clear();
        let unit = match c {
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            'w' => Duration::try_weeks(n),
            _ => None,
        }
        .ok_or_else(bad)?;
        total = total.checked_add(&unit).ok_or_else(bad)?;
    }
    if !number.is_empty() || total <= Duration::zero() {
        return Err(bad());
    }
    Ok(total)
}

/// Loads each incident once for a list of index entries.
fn records(
    store: &dyn Store,
    entries: &[DeadlineEntry],
) -> Result<BTreeMap<IncidentId, IncidentRecord>, CliError> {
    let mut map = BTreeMap::new();
    for e in entries {
        if let std::collections::btree_map::Entry::Vacant(slot) = map.entry(e.incident) {
            slot.insert(store.incident(e.incident)?);
        }
    }
    Ok(map)
}

pub fn deadlines(
    ctx: &Ctx,
    within: Option<Duration>,
    overdue: bool,
    incident: Option<IncidentId>,
    explain: Option<&str>,
) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let zone = org.zone();
    if let Some(wanted) = explain {
        return explain_one(ctx, &store, incident, wanted, zone);
    }
    // Overdue and due-soon are range scans of the index; only a plain listing reads it all.
    let mut entries = if overdue {
        store.due_until(ctx.now - Duration::milliseconds(1))?
    } else if let Some(w) = within {
        store.due_until(ctx.now + w)?
    } else {
        let mut all = store.all_due()?;
        all.extend(store.waiting()?);
        all
    };
    if let Some(id) = incident {
        entries.retain(|e| e.incident == id);
    }
    let records = records(&store, &entries)?;
    let rows: Vec<(&IncidentRecord, &Obligation)> = entries
        .iter()
        .filter_map(|e| {
            let r = records.get(&e.incident)?;
            let o = r.obligations.iter().find(|o| o.id == e.obligation)?;
            Some((r, o))
        })
        // `--overdue` means past a deadline in law; a passed internal target is not "overdue".
        .filter(|(_, o)| !overdue || o.due.is_statutory())
        .collect();
    match ctx.format {
        Format::Json => {
            let list: Vec<_> = rows
                .iter()
                .map(|(r, o)| {
                    let mut v = obligation_json(o, ctx.now);
                    v["incident"] = json!(r.id);
                    v["incident_title"] = json!(r.facts.title);
                    v
                })
                .collect();
            output::print_json(&list);
        }
        Format::Table | Format::Csv | Format::Html => {
            if rows.is_empty() {
                output::print("No open obligations match.");
                return Ok(());
            }
            let mut t = output::table(&[
                "Due",
                "Now",
                "Warning",
                "Incident",
                "Obligation",
                "Recipient",
            ]);
            for (r, o) in &rows {
                t.add_row([
                    due_words(&o.due, zone),
                    remaining(&o.due, ctx.now),
                    obligation::warning(&o.due, ctx.now)
                        .map(|w| w.as_str())
                        .unwrap_or("")
                        .to_string(),
                    r.id.to_string(),
                    o.id.clone(),
                    o.recipient.clone(),
                ]);
            }
            output::print(&format!("As of {}:\n{t}", instant(ctx.now, zone)));
        }
    }
    Ok(())
}

fn explain_one(
    ctx: &Ctx,
    store: &dyn Store,
    incident: Option<IncidentId>,
    wanted: &str,
    zone: chrono_tz::Tz,
) -> Result<(), CliError> {
    let (id, obl) = match (wanted.split_once(':'), incident) {
        (Some((id, obl)), _) => (
            id.parse::<IncidentId>()
                .map_err(|e| CliError::InvalidArgs(e.to_string()))?,
            obl,
        ),
        (None, Some(id)) => (id, wanted),
        (None, None) => {
            return Err(CliError::InvalidArgs(
                "--explain needs the incident: --incident ID --explain OBL, or --explain ID:OBL"
                    .into(),
            ));
        }
    };
    let record = store.incident(id)?;
    let o =
        workflow::find_obligation(&record, obl).map_err(|e| CliError::from_workflow(e, None))?;
    match ctx.format {
        Format::Json => output::print_json(
            &json!({ "incident": id, "obligation": obligation_json(o, ctx.now), "explain": o.due.explain() }),
        ),
        Format::Table | Format::Csv | Format::Html => {
            let mut s = format!(
                "{id} {}: {} -> {}\n{}\n\n",
                o.id, o.regime_name, o.recipient, o.citation
            );
            s.push_str(&format!("{}: {:?}\n", o.phase.name, o.phase.deadline));
            for line in o.due.explain() {
                s.push_str(&format!("  {line}\n"));
            }
            if let Some(c) = &o.completion {
                s.push_str(&format!(
                    "Completed {} ({}); due instant and lateness frozen then.\n",
                    instant(c.at, zone),
                    match c.late_by_minutes {
                        Some(m) => format!(
                            "{} late: {}",
                            output::minutes(m),
                            c.late_reason.clone().unwrap_or_default()
                        ),
                        None => "on time".into(),
                    }
                ));
            } else if o.state.is_open() {
                s.push_str(&format!(
                    "Now {}: {}.\n",
                    instant(ctx.now, zone),
                    remaining(&o.due, ctx.now)
                ));
            }
            for u in &o.unverified {
                s.push_str(&format!("{u}\n"));
            }
            output::print(&s);
        }
    }
    Ok(())
}

/// The clocks that would run for an incident the organisation became aware of at `aware_at`.
pub fn whatif(ctx: &Ctx, aware_at: DateTime<Utc>, file: Option<&Path>) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let book = super::rulebook(ctx)?;
    let rules = super::rules(&org, &book);
    let assumed = file.is_none();
    let assessment: AssessmentInput = match file {
        Some(path) => crate::adapters::files::load(path)?,
        // No assessment given: assume every threshold is met, so every clock the organisation's
        // profile can start is shown.
        None => serde_json::from_value(json!({
            "data_categories": ["not_yet_known"],
            "subject_categories": ["not_yet_known"],
            "subjects": { "estimate": u64::MAX },
            "identifiability": "maximum",
            "circumstances": { "confidentiality": "disclosure", "integrity": "irrecoverable", "availability": "permanent", "malicious": true }
        }))
        .map_err(|e| CliError::Failed(e.to_string()))?,
    };
    let facts = IncidentFacts {
        title: "What if".into(),
        summary: "A hypothetical incident for `breachflow whatif`.".into(),
        occurred: Occurrence::default(),
        detected_at: aware_at,
        aware_at,
        awareness_justification: None,
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
    let apply = |kinds: Vec<crate::domain::event::EventKind>,
                 record: &mut Option<IncidentRecord>|
     -> Result<(), CliError> {
        for what in kinds {
            let version = record.as_ref().map_or(1, |r| r.version + 1);
            let event = Event {
                seq: 0,
                incident: Some(id),
                version,
                at: now,
                actor: ctx.actor.clone(),
                what,
                seal: Default::default(),
            };
            *record = Some(
                IncidentRecord::apply(record.take(), &event)
                    .map_err(|e| CliError::Failed(e.to_string()))?,
            );
        }
        Ok(())
    };
    apply(
        workflow::open(&facts, now).map_err(|e| CliError::from_workflow(e, None))?,
        &mut record,
    )?;
    let opened = record
        .clone()
        .ok_or_else(|| CliError::Failed("no record".into()))?;
    let file_name = file.map(|p| p.display().to_string());
    apply(
        workflow::assess(&opened, &assessment, &rules, now, &ctx.actor)
            .map_err(|e| CliError::from_workflow(e, file_name.as_deref()))?,
        &mut record,
    )?;
    let record = record.ok_or_else(|| CliError::Failed("no record".into()))?;
    let zone = org.zone();
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "aware_at": aware_at,
            "thresholds_assumed_met": assumed,
            "obligations": record.obligations.iter().map(|o| obligation_json(o, now)).collect::<Vec<_>>(),
        })),
        Format::Table | Format::Csv | Format::Html => {
            let mut s = format!(
                "If {} became aware at {} (nothing is stored):\n",
                org.name,
                instant(aware_at, zone)
            );
            if assumed {
                s.push_str("No assessment given: every regime the organisation's profile brings in is shown, as if every risk threshold were met.\n");
            }
            s.push_str(&super::obligation::table(&record, now, zone));
            output::print(&s);
        }
    }
    Ok(())
}

/// RFC 5545 text: escape, then fold lines at 75 octets.
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace('\n', "\\n")
}

fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
    out
}

fn ics_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The iCalendar document of open obligations with an instant.
pub fn ics(rows: &[(&IncidentRecord, &Obligation)], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//breachflow//breachflow//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        out.push_str(&fold(line));
    }
    for (r, o) in rows {
        let Some(at) = o.due.instant() else { continue };
        let kind = if o.due.is_statutory() {
            "Deadline"
        } else {
            "Internal target"
        };
        let summary = format!("{kind}: {} to {} ({})", o.phase.name, o.recipient, r.id);
        let mut description = format!(
            "{} {}\n{}\n{}",
            r.id, r.facts.title, o.regime_name, o.citation
        );
        if !o.due.is_statutory() {
            description.push_str("\nNo deadline in law: this is breachflow's internal target.");
        }
        let uid = format!("{}.{}@breachflow", r.id, o.id.replace('/', "."));
        let lines = [
            "BEGIN:VEVENT".to_string(),
            format!("UID:{uid}"),
            format!("DTSTAMP:{}", ics_time(now)),
            // Re-importing an updated file replaces the event: same UID, higher SEQUENCE.
            format!("SEQUENCE:{}", r.version),
            format!("DTSTART:{}", ics_time(at)),
            "DURATION:PT15M".to_string(),
            format!("SUMMARY:{}", ics_text(&summary)),
            format!("DESCRIPTION:{}", ics_text(&description)),
            "BEGIN:VALARM".to_string(),
            "ACTION:DISPLAY".to_string(),
            format!(
                "DESCRIPTION:{}",
                ics_text(&format!("12 hours left: {summary}"))
            ),
            "TRIGGER:-PT12H".to_string(),
            "END:VALARM".to_string(),
            "BEGIN:VALARM".to_string(),
            "ACTION:DISPLAY".to_string(),
            format!(
                "DESCRIPTION:{}",
                ics_text(&format!("2 hours left: {summary}"))
            ),
            "TRIGGER:-PT2H".to_string(),
            "END:VALARM".to_string(),
            "END:VEVENT".to_string(),
        ];
        for line in lines {
            out.push_str(&fold(&line));
        }
    }
    out.push_str(&fold("END:VCALENDAR"));
    out
}

pub fn calendar(ctx: &Ctx, incident: Option<IncidentId>) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    store.require_organisation()?;
    let entries = match incident {
        Some(id) => {
            let r = store.incident(id)?;
            r.open_obligations()
                .map(|o| DeadlineEntry {
                    at: o.due.instant(),
                    incident: id,
                    obligation: o.id.clone(),
                })
                .collect()
        }
        None => store.all_due()?,
    };
    let records = records(&store, &entries)?;
    let rows: Vec<(&IncidentRecord, &Obligation)> = entries
        .iter()
        .filter_map(|e| {
            let r = records.get(&e.incident)?;
            Some((r, r.obligations.iter().find(|o| o.id == e.obligation)?))
        })
        .collect();
    output::print(&ics(&rows, ctx.now));
    Ok(())
}

pub fn regimes(ctx: &Ctx) -> Result<(), CliError> {
    let book = super::rulebook(ctx)?;
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "regimes": book.regimes.values().collect::<Vec<_>>(),
            "sources": book.sources,
            "calendars": book.calendars.0.values().map(|c| json!({"id": c.id, "name": c.name, "first_year": c.first_year, "last_year": c.last_year, "unverified": c.unverified})).collect::<Vec<_>>(),
        })),
        Format::Table | Format::Csv | Format::Html => {
            let mut t = output::table(&["Regime", "Name", "In force", "Phases", "Source"]);
            for r in book.regimes.values() {
                let phases: Vec<String> = r
                    .phases
                    .iter()
                    .map(|p| format!("{}: {}", p.id, deadline_short(&p.deadline)))
                    .collect();
                t.add_row([
                    if r.unverified.is_empty() {
                        r.id.clone()
                    } else {
                        format!("{} †", r.id)
                    },
                    r.name.clone(),
                    match r.effective_to {
                        Some(to) => format!("{} to {to}", r.effective_from),
                        None => format!("from {}", r.effective_from),
                    },
                    phases.join("\n"),
                    book.sources.get(&r.id).cloned().unwrap_or_default(),
                ]);
            }
            let mut s = t.to_string();
            s.push_str("\n\nUnverified facts (†), to confirm against the primary text:\n");
            for r in book.regimes.values() {
                for u in &r.unverified {
                    s.push_str(&format!("  {}: {u}\n", r.id));
                }
            }
            for c in book.calendars.0.values() {
                s.push_str(&format!(
                    "Holiday calendar {} covers {} to {}.\n",
                    c.id, c.first_year, c.last_year
                ));
            }
            output::print(&s);
        }
    }
    Ok(())
}

fn deadline_short(d: &crate::domain::regime::Deadline) -> String {
    use crate::domain::regime::Deadline::*;
    match d {
        Hours { hours } => format!("{hours} h"),
        Days {
            days,
            business_calendar: Some(c),
            ..
        } => format!("{days} business days ({c})"),
        Days { days, .. } => format!("{days} days"),
        Months { months } => format!("{months} month(s)"),
        Standard { standard, .. } => format!("\"{standard}\""),
    }
}
