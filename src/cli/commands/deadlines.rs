//! `breachflow deadlines`, `whatif`, `calendar` and `regimes`: the clocks, across incidents.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::obligation::obligation_json;
use super::open_store;
use crate::app;
use crate::app::ports::Store;
use crate::cli::output::{self, Format, instant};
use crate::cli::{CliError, Ctx};
use crate::domain::assessment::AssessmentInput;
use crate::domain::incident::IncidentId;
use crate::domain::obligation::{self, Obligation};
use crate::domain::record::IncidentRecord;
use crate::render::words::{due_words, remaining};

/// Reads "72h", "3d", "90m", "2w" (and combinations such as "1d12h").
/// The longest duration accepted: 100 years, far beyond any deadline.
const MAX_DAYS: i64 = 36525;

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let too_long =
        || format!("{s:?} is too long: a duration is at most {MAX_DAYS} days (100 years)");
    let bad = || format!("{s:?} is not a duration; expected e.g. 72h, 3d, 90m, 2w or 1d12h");
    let mut total = Duration::zero();
    let mut number = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        if number.is_empty() {
            return Err(bad());
        }
        // Digits that overflow, or a unit that does, are a length, not a typo of the form.
        let n: i64 = number.parse().map_err(|_| too_long())?;
        number.clear();
        let unit = match c {
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            'w' => Duration::try_weeks(n),
            _ => None,
        }
        .ok_or_else(|| {
            if "mhdw".contains(c) {
                too_long()
            } else {
                bad()
            }
        })?;
        total = total.checked_add(&unit).ok_or_else(too_long)?;
    }
    if !number.is_empty() || total <= Duration::zero() {
        return Err(bad());
    }
    if total > Duration::days(MAX_DAYS) {
        return Err(format!(
            "{s:?} is too long: a duration is at most {MAX_DAYS} days (100 years)"
        ));
    }
    Ok(total)
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
    let found = app::deadlines::due(
        &store,
        ctx.now,
        app::deadlines::Query {
            within,
            overdue,
            incident,
        },
    )?;
    let rows: Vec<(&IncidentRecord, &Obligation)> = found
        .iter()
        .map(|row| (row.record.as_ref(), row.obligation()))
        .collect();
    match ctx.format {
        Format::Json => {
            let list: Vec<_> = rows.iter().map(|(r, o)| Row::new(r, o, ctx.now)).collect();
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
            crate::cli::output::fit(&mut t);
            output::print(&format!("As of {}:\n{t}", instant(ctx.now, zone)));
        }
    }
    Ok(())
}

/// One row of `deadlines --format json`: the obligation as `obligation list` shows it (the
/// same fields, checked by `tests/cli/deadlines.rs`), with its incident. Written straight to
/// text, not through `serde_json::Value` (half the server's time for a list of 100).
#[derive(serde::Serialize)]
struct Row<'a> {
    id: &'a str,
    regime: &'a str,
    regime_name: &'a str,
    jurisdiction: &'a str,
    citation: &'a str,
    recipient: &'a str,
    owner_role: &'a str,
    phase: RowPhase<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: &'a Option<String>,
    #[serde(skip_serializing_if = "crate::domain::serial::skip_empty")]
    unverified: &'a Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    follows_decision: &'a Option<crate::domain::regime::DecisionLink>,
    state: &'a obligation::ObligationState,
    due: &'a crate::domain::deadline::Due,
    #[serde(skip_serializing_if = "Option::is_none")]
    completion: &'a Option<obligation::Completion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: &'a Option<obligation::Waiver>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retired_because: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arose_at: &'a Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    indeterminate: &'a Option<String>,
    statutory: bool,
    overdue: bool,
    warning: Option<obligation::Warning>,
    verdict: Option<crate::domain::deadline::Verdict>,
    minutes_remaining: Option<i64>,
    incident: IncidentId,
    incident_title: &'a str,
}

/// The phase without its required content: the rulebook's list, the same in every row of a
/// regime (`breachflow regimes`, `obligation list` show it); carried in each row it made a
/// list of 100 rows 300 KB.
#[derive(serde::Serialize)]
struct RowPhase<'a> {
    id: &'a str,
    name: &'a str,
    anchor: &'a crate::domain::regime::Anchor,
    deadline: &'a crate::domain::regime::Deadline,
    #[serde(skip_serializing_if = "Option::is_none")]
    also_within: &'a Option<crate::domain::regime::Limit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    citation: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    only_if: &'a Option<crate::domain::regime::Anchor>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    delayable: bool,
}

impl<'a> Row<'a> {
    fn new(r: &'a IncidentRecord, o: &'a Obligation, now: DateTime<Utc>) -> Row<'a> {
        let (p, due, open) = (&o.phase, &o.due, o.state.is_open());
        Row {
            id: &o.id,
            regime: &o.regime,
            regime_name: &o.regime_name,
            jurisdiction: &o.jurisdiction,
            citation: &o.citation,
            recipient: &o.recipient,
            owner_role: &o.owner_role,
            phase: RowPhase {
                id: &p.id,
                name: &p.name,
                anchor: &p.anchor,
                deadline: &p.deadline,
                also_within: &p.also_within,
                citation: &p.citation,
                recipient: &p.recipient,
                only_if: &p.only_if,
                delayable: p.delayable,
            },
            previous: &o.previous,
            unverified: &o.unverified,
            notes: &o.notes,
            follows_decision: &o.follows_decision,
            state: &o.state,
            due,
            completion: &o.completion,
            waiver: &o.waiver,
            retired_because: &o.retired_because,
            arose_at: &o.arose_at,
            indeterminate: &o.indeterminate,
            statutory: due.is_statutory(),
            overdue: open && due.is_statutory() && due.instant().is_some_and(|at| now > at),
            warning: if open {
                obligation::warning(due, now)
            } else {
                None
            },
            verdict: o.completion.as_ref().and_then(|c| c.verdict()),
            minutes_remaining: if open {
                due.instant().map(|at| (at - now).num_minutes())
            } else {
                None
            },
            incident: r.id,
            incident_title: &r.facts.title,
        }
    }
}

fn explain_one(
    ctx: &Ctx,
    store: &dyn Store,
    incident: Option<IncidentId>,
    wanted: &str,
    zone: chrono_tz::Tz,
) -> Result<(), CliError> {
    let (id, o) = app::deadlines::find(store, incident, wanted)?;
    let o = &o;
    match ctx.format {
        Format::Json => output::print_json(
            &json!({ "incident": id, "obligation": obligation_json(o, ctx.now), "explain": o.due.explain() }),
        ),
        Format::Table | Format::Csv | Format::Html => {
            let mut s = format!(
                "{id} {}: {} -> {}\n{}\n\n",
                o.id, o.regime_name, o.recipient, o.citation
            );
            s.push_str(&format!(
                "{}: {}\n",
                o.phase.name,
                crate::render::format::deadline(&o.phase.deadline)
            ));
            for line in o.due.explain() {
                s.push_str(&format!("  {line}\n"));
            }
            if let Some(c) = &o.completion {
                s.push_str(&format!(
                    "Completed {} ({}); due instant and lateness frozen then.\n",
                    if c.precision.is_instant() {
                        instant(c.at, zone)
                    } else {
                        c.when_words(zone)
                    },
                    match (c.late_by_minutes, c.verdict()) {
                        (Some(m), _) => format!(
                            "{} late: {}",
                            output::minutes(m),
                            c.late_reason.clone().unwrap_or_default()
                        ),
                        (None, Some(v)) => v.words(),
                        (None, None) => "no deadline in law".into(),
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
    let assessment = match file {
        Some(path) => Some((
            path.display().to_string(),
            crate::adapters::files::load::<AssessmentInput>(path)?,
        )),
        None => None,
    };
    let found = app::deadlines::whatif(
        &store,
        &ctx.app(),
        &book,
        aware_at,
        assessment.as_ref().map(|(n, a)| (n.as_str(), a.clone())),
    )?;
    let (record, assumed, now) = (found.record, found.thresholds_assumed_met, found.now);
    let zone = org.zone();
    let not_applicable: Vec<_> = found
        .not_applicable
        .iter()
        .map(|(regime, why)| json!({ "regime": regime, "why": why }))
        .collect();
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "aware_at": aware_at,
            "thresholds_assumed_met": assumed,
            "obligations": record.obligations.iter().map(|o| obligation_json(o, now)).collect::<Vec<_>>(),
            "not_applicable": not_applicable,
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
            if !found.not_applicable.is_empty() {
                s.push_str("\n\nNot applicable (regimes in force on that day whose conditions are not met):\n");
                for (regime, why) in &found.not_applicable {
                    s.push_str(&format!("  {regime}: {why}\n"));
                }
            }
            output::print(&s);
        }
    }
    Ok(())
}

pub fn calendar(
    ctx: &Ctx,
    incident: Option<IncidentId>,
    out: Option<&std::path::Path>,
) -> Result<(), CliError> {
    if let Some(path) = out {
        super::check_output(ctx, path)?;
    }
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let found = app::deadlines::calendar(&store, incident)?;
    let rows: Vec<(&IncidentRecord, &Obligation)> = found.iter().map(|(r, o)| (r, o)).collect();
    let text = crate::render::calendar::ics(&rows, ctx.now, &org.calendar_domain());
    match out {
        Some(path) => super::document::write_private(path, &text)?,
        None => output::print(&text),
    }
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
            let mut t = output::table(&[
                "Regime",
                "Name",
                "In force",
                "Applies when",
                "Phases",
                "Source",
            ]);
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
                        Some(to) => format!("{} to {to} ({})", r.effective_from, r.zone()),
                        None => format!("from {} ({})", r.effective_from, r.zone()),
                    },
                    r.conditions(),
                    phases.join("\n"),
                    book.sources.get(&r.id).cloned().unwrap_or_default(),
                ]);
            }
            crate::cli::output::fit(&mut t);
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
