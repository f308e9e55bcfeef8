//! `audit verify`, `audit log`, `report adherence`, `register export`, `timeline` and
//! `bundle export` / `bundle import`: what compliance and a regulator read later.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::open_store;
use crate::app::ports::Store;
use crate::cli::output::{self, Format, instant, table};
use crate::cli::{CliError, Ctx};
use crate::domain::adherence::{self, Filter, Row, Status, Summary};
use crate::domain::document::DocumentBody;
use crate::domain::event::Event;
use crate::domain::incident::IncidentId;
use crate::domain::outbox::OutMessage;
use crate::domain::record::IncidentRecord;
use crate::render::template::sha256_hex;

/// `breachflow audit verify`.
pub fn verify(ctx: &Ctx) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    match crate::app::audit::verify(&store)? {
        Ok(n) => {
            match ctx.format {
                Format::Json => output::print_json(&json!({ "verified": true, "events": n })),
                _ => output::print(&format!(
                    "Verified: {n} events, every digest and link intact, every record the replay of its events."
                )),
            }
            Ok(())
        }
        Err(b) => {
            if ctx.format == Format::Json {
                output::print_json(
                    &json!({ "verified": false, "first_bad_event": b.seq(), "problem": b.to_string() }),
                );
            }
            Err(CliError::Tampered(b.to_string()))
        }
    }
}

/// `breachflow audit log [ID]`: events as a table, or JSON lines.
pub fn log(ctx: &Ctx, id: Option<IncidentId>) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let zone = store
        .organisation()?
        .map(|o| o.zone())
        .unwrap_or(chrono_tz::Europe::London);
    let events: Vec<Event> = match id {
        Some(id) => store.events_for(id)?,
        None => store.events().collect::<Result<_, _>>()?,
    };
    match ctx.format {
        Format::Json => {
            let mut s = String::new();
            for e in &events {
                s.push_str(&serde_json::to_string(e).unwrap_or_default());
                s.push('\n');
            }
            output::print(s.trim_end());
        }
        _ => {
            let mut t = table(&["#", "When", "Incident", "Who", "What", "Hash"]);
            for e in &events {
                t.add_row(vec![
                    e.seq.to_string(),
                    instant(e.at, zone),
                    e.incident.map(|i| i.to_string()).unwrap_or_default(),
                    e.actor.clone(),
                    super::incident::event_line(&e.what),
                    e.seal.hash.get(..12).unwrap_or("").to_string(),
                ]);
            }
            output::print(&t.to_string());
        }
    }
    Ok(())
}

fn parse_day(s: &str, flag: &str) -> Result<NaiveDate, CliError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| CliError::InvalidArgs(format!("{flag} {s:?}: {e}; expected YYYY-MM-DD")))
}

fn records(store: &crate::adapters::store::SledStore) -> Result<Vec<IncidentRecord>, CliError> {
    Ok(store.incidents().collect::<Result<Vec<_>, _>>()?)
}

fn hours_text(h: Option<f64>) -> String {
    match h {
        Some(h) => {
            let m = (h * 60.0).round() as i64;
            output::minutes(m)
        }
        None => String::new(),
    }
}

/// `breachflow report adherence`.
pub fn adherence(
    ctx: &Ctx,
    from: Option<&str>,
    to: Option<&str>,
    regime: Option<&str>,
    out: Option<&Path>,
) -> Result<(), CliError> {
    let filter = Filter {
        from: from.map(|f| parse_day(f, "--from")).transpose()?,
        to: to.map(|t| parse_day(t, "--to")).transpose()?,
        regime: regime.map(str::to_string),
    };
    let store = open_store(ctx)?;
    let text = adherence_report(&store, ctx, &filter)?;
    match out {
        Some(path) => {
            super::document::write_private(path, &text)?;
            eprintln!("written to {}", path.display());
        }
        None => output::print(text.trim_end()),
    }
    Ok(())
}

/// The adherence report in the context's format.
pub fn adherence_report(
    store: &crate::adapters::store::SledStore,
    ctx: &Ctx,
    filter: &Filter,
) -> Result<String, CliError> {
    let org = store.require_organisation()?;
    let zone = org.zone();
    let recs = records(store)?;
    let rows = adherence::rows(&recs, filter, ctx.now);
    let summaries = adherence::summarise(&rows);
    let text = match ctx.format {
        Format::Json => serde_json::to_string_pretty(&json!({
            "generated_at": ctx.now, "from": filter.from, "to": filter.to, "regime": filter.regime,
            "regimes": summaries, "obligations": rows,
        }))
        .unwrap_or_default(),
        Format::Csv => csv_rows(&rows)?,
        Format::Html => html(&org.name, &rows, &summaries, &recs, zone, ctx.now),
        Format::Table => {
            let mut s = String::from("Per regime\n");
            let mut t = table(&[
                "Regime",
                "Obligations",
                "On time",
                "Late",
                "Waived",
                "Open",
                "Overdue",
                "Share on time",
                "Median to notify",
                "Worst",
            ]);
            for m in &summaries {
                t.add_row(vec![
                    m.regime.clone(),
                    m.obligations.to_string(),
                    m.on_time.to_string(),
                    m.late.to_string(),
                    m.waived.to_string(),
                    m.open.to_string(),
                    m.overdue.to_string(),
                    m.share_on_time
                        .map(|s| format!("{:.0}%", s * 100.0))
                        .unwrap_or_else(|| "-".into()),
                    hours_text(m.median_hours_to_notify),
                    hours_text(m.worst_hours_to_notify),
                ]);
            }
            s.push_str(&t.to_string());
            s.push_str("\n\nPer obligation\n");
            let mut t = table(&[
                "Incident",
                "Obligation",
                "Due",
                "Met",
                "Status",
                "Time to notify",
                "Reason",
            ]);
            for r in &rows {
                t.add_row(vec![
                    r.incident.clone(),
                    r.obligation.clone(),
                    r.due
                        .map(|d| {
                            format!(
                                "{}{}",
                                if r.statutory { "" } else { "(target) " },
                                instant(d, zone)
                            )
                        })
                        .unwrap_or_default(),
                    r.met_at.map(|d| instant(d, zone)).unwrap_or_default(),
                    match r.late_by_minutes {
                        Some(m) => format!("late by {}", output::minutes(m)),
                        None => r.status.as_str().to_string(),
                    },
                    hours_text(r.hours_to_notify),
                    r.reason.clone().unwrap_or_default(),
                ]);
            }
            s.push_str(&t.to_string());
            s
        }
    };
    Ok(text)
}

fn csv_text<I: IntoIterator<Item = String>>(records: Vec<I>) -> Result<String, CliError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in records {
        w.write_record(r.into_iter().collect::<Vec<_>>())
            .map_err(|e| CliError::Failed(e.to_string()))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).to_string())
}

fn csv_rows(rows: &[Row]) -> Result<String, CliError> {
    let at = |d: Option<DateTime<Utc>>| d.map(|d| d.to_rfc3339()).unwrap_or_default();
    let num = |h: Option<f64>| h.map(|h| format!("{h:.2}")).unwrap_or_default();
    let mut out = vec![
        [
            "incident",
            "obligation",
            "regime",
            "recipient",
            "clock_start",
            "due",
            "statutory",
            "met_at",
            "status",
            "late_by_minutes",
            "hours_to_notify",
            "hours_allowed",
            "reference",
            "reason",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>(),
    ];
    for r in rows {
        out.push(vec![
            r.incident.clone(),
            r.obligation.clone(),
            r.regime.clone(),
            r.recipient.clone(),
            at(r.clock_start),
            at(r.due),
            r.statutory.to_string(),
            at(r.met_at),
            r.status.as_str().to_string(),
            r.late_by_minutes.map(|m| m.to_string()).unwrap_or_default(),
            num(r.hours_to_notify),
            num(r.hours_allowed),
            r.reference.clone().unwrap_or_default(),
            r.reason.clone().unwrap_or_default(),
        ]);
    }
    csv_text(out)
}

fn esc(s: &str) -> String {
    handlebars::html_escape(s)
}

fn colour(s: Status) -> &'static str {
    match s {
        Status::OnTime | Status::MetNoDeadline => "#1b7f3b",
        Status::Late | Status::Overdue => "#c0392b",
        Status::Waived => "#7f8c8d",
        Status::Open | Status::NotStarted => "#d68910",
    }
}

/// A self-contained page: inline styles and SVG, no scripts, nothing fetched.
fn html(
    org: &str,
    rows: &[Row],
    summaries: &[Summary],
    records: &[IncidentRecord],
    zone: Tz,
    now: DateTime<Utc>,
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>Deadline adherence: {}</title>\n<style>\nbody{{font:11pt/1.4 Helvetica,Arial,sans-serif;color:#111;max-width:60em;margin:2em auto;padding:0 1em}}\ntable{{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}}th,td{{border:1px solid #bbb;padding:.2em .4em;text-align:left;font-size:9.5pt}}th{{background:#eee}}\n.late{{color:#c0392b;font-weight:bold}}.ok{{color:#1b7f3b}}\n@page{{size:A4;margin:15mm}}@media print{{body{{margin:0;max-width:none}}svg,table,tr{{break-inside:avoid}}}}\n</style>\n</head>\n<body>\n<h1>Deadline adherence</h1>\n<p>{} · generated {} · {} obligations in {} incidents</p>\n",
        esc(org),
        esc(org),
        esc(&instant(now, zone)),
        rows.len(),
        records.len()
    );
    h.push_str("<h2>Per regime</h2>\n<table>\n<tr><th>Regime</th><th>Obligations</th><th>On time</th><th>Late</th><th>Waived</th><th>Open</th><th>Overdue</th><th>Share on time</th><th>Median time to notify</th><th>Worst</th></tr>\n");
    for m in summaries {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.regime_name),
            m.obligations,
            m.on_time,
            if m.late > 0 { "late" } else { "" },
            m.late,
            m.waived,
            m.open,
            if m.overdue > 0 { "late" } else { "" },
            m.overdue,
            m.share_on_time
                .map(|s| format!("{:.0}%", s * 100.0))
                .unwrap_or_else(|| "-".into()),
            esc(&hours_text(m.median_hours_to_notify)),
            esc(&hours_text(m.worst_hours_to_notify)),
        );
    }
    h.push_str("</table>\n");

    // Time to notify against the time allowed, one bar per obligation met or owed.
    let charted: Vec<&Row> = rows
        .iter()
        .filter(|r| r.hours_allowed.is_some() || r.hours_to_notify.is_some())
        .collect();
    if !charted.is_empty() {
        let max = charted
            .iter()
            .flat_map(|r| [r.hours_allowed, r.hours_to_notify])
            .flatten()
            .fold(1.0f64, f64::max);
        let (left, width, bar) = (260.0, 420.0, 18.0);
        let height = 30.0 + charted.len() as f64 * (bar + 6.0);
        let _ = writeln!(
            h,
            "<h2>Time to notify against the deadline</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"{height:.0}\" role=\"img\" aria-label=\"Time to notify against each deadline\">"
        );
        for (i, r) in charted.iter().enumerate() {
            let y = 20.0 + i as f64 * (bar + 6.0);
            let _ = writeln!(
                h,
                "<text x=\"0\" y=\"{:.0}\" font-size=\"10\">{} {}</text>",
                y + 13.0,
                esc(&r.incident),
                esc(&r.obligation)
            );
            if let Some(t) = r.hours_to_notify {
                let _ = writeln!(
                    h,
                    "<rect x=\"{left}\" y=\"{y:.0}\" width=\"{:.1}\" height=\"{bar}\" fill=\"{}\"><title>{}: {}</title></rect>",
                    (t / max * width).max(1.0),
                    colour(r.status),
                    esc(r.status.as_str()),
                    esc(&hours_text(Some(t)))
                );
            }
            if let Some(a) = r.hours_allowed {
                let x = left + a / max * width;
                let _ = writeln!(
                    h,
                    "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.0}\" y2=\"{:.0}\" stroke=\"#111\" stroke-width=\"2\"><title>deadline: {}</title></line>",
                    y - 2.0,
                    y + bar + 2.0,
                    esc(&hours_text(Some(a)))
                );
            }
            let _ = writeln!(
                h,
                "<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"10\">{}</text>",
                left + width + 8.0,
                y + 13.0,
                esc(&match (r.hours_to_notify, r.status) {
                    (Some(t), _) => format!("{} ({})", hours_text(Some(t)), r.status.as_str()),
                    (None, s) => s.as_str().to_string(),
                })
            );
        }
        h.push_str("</svg>\n<p>Bars: time from the clock's start to filing or sending; black line: the deadline in law. Red is late.</p>\n");
    }

    // One timeline per incident: awareness, each clock's deadline, each filing.
    h.push_str("<h2>Timelines</h2>\n");
    for rec in records {
        let mine: Vec<&Row> = rows
            .iter()
            .filter(|r| r.incident == rec.id.to_string())
            .collect();
        if mine.is_empty() {
            continue;
        }
        let start = rec.facts.aware_at;
        let end = mine
            .iter()
            .flat_map(|r| [r.due, r.met_at])
            .flatten()
            .chain([start + chrono::Duration::hours(1)])
            .max()
            .unwrap_or(start);
        let span = (end - start).num_seconds().max(1) as f64;
        let x = |t: DateTime<Utc>| 20.0 + (t - start).num_seconds().max(0) as f64 / span * 660.0;
        let height = 50.0 + mine.len() as f64 * 22.0;
        let _ = writeln!(
            h,
            "<h3>{} {}</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"{height:.0}\" role=\"img\" aria-label=\"Timeline of {}\">\n<line x1=\"20\" x2=\"680\" y1=\"20\" y2=\"20\" stroke=\"#555\"/>\n<circle cx=\"20\" cy=\"20\" r=\"5\" fill=\"#111\"><title>aware {}</title></circle>\n<text x=\"20\" y=\"12\" font-size=\"9\">aware {}</text>",
            esc(&rec.id.to_string()),
            esc(&rec.facts.title),
            esc(&rec.id.to_string()),
            esc(&instant(start, zone)),
            esc(&instant(start, zone))
        );
        for (i, r) in mine.iter().enumerate() {
            let y = 45.0 + i as f64 * 22.0;
            let _ = writeln!(
                h,
                "<text x=\"20\" y=\"{y:.0}\" font-size=\"9\">{}</text>",
                esc(&r.obligation)
            );
            if let Some(d) = r.due {
                let _ = writeln!(
                    h,
                    "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.0}\" y2=\"{:.0}\" stroke=\"#111\" stroke-dasharray=\"{}\"><title>{} {}</title></line>",
                    x(d),
                    x(d),
                    y - 10.0,
                    y + 4.0,
                    if r.statutory { "0" } else { "3,2" },
                    if r.statutory {
                        "deadline"
                    } else {
                        "internal target"
                    },
                    esc(&instant(d, zone))
                );
            }
            if let Some(m) = r.met_at {
                let (cx, cy) = (x(m), y - 3.0);
                let _ = writeln!(
                    h,
                    "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"{}\"><title>{} {}</title></polygon>",
                    cx,
                    cy - 6.0,
                    cx + 6.0,
                    cy,
                    cx,
                    cy + 6.0,
                    cx - 6.0,
                    cy,
                    colour(r.status),
                    esc(r.status.as_str()),
                    esc(&instant(m, zone))
                );
            }
        }
        h.push_str("</svg>\n");
    }

    h.push_str("<h2>Per obligation</h2>\n<table>\n<tr><th>Incident</th><th>Obligation</th><th>Clock start</th><th>Due</th><th>Met</th><th>Status</th><th>Time to notify</th><th>Reason</th></tr>\n");
    for r in rows {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.incident),
            esc(&r.obligation),
            esc(&r.clock_start.map(|d| instant(d, zone)).unwrap_or_default()),
            esc(&r
                .due
                .map(|d| format!(
                    "{}{}",
                    if r.statutory { "" } else { "(target) " },
                    instant(d, zone)
                ))
                .unwrap_or_default()),
            esc(&r.met_at.map(|d| instant(d, zone)).unwrap_or_default()),
            match r.status {
                Status::Late | Status::Overdue => "late",
                Status::OnTime => "ok",
                _ => "",
            },
            esc(&match r.late_by_minutes {
                Some(m) => format!("late by {}", output::minutes(m)),
                None => r.status.as_str().to_string(),
            }),
            esc(&hours_text(r.hours_to_notify)),
            esc(r.reason.as_deref().unwrap_or("")),
        );
    }
    h.push_str("</table>\n</body>\n</html>\n");
    h
}

/// `breachflow register export`: every incident, notified or not (UK GDPR Art 33(5)).
pub fn register(ctx: &Ctx) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let recs = records(&store)?;
    let entries: Vec<Value> = recs.iter().map(register_entry).collect();
    match ctx.format {
        Format::Json => {
            output::print_json(&json!({ "generated_at": ctx.now, "incidents": entries }))
        }
        Format::Csv | Format::Table | Format::Html => {
            let cols = [
                "id",
                "title",
                "state",
                "detected_at",
                "aware_at",
                "occurred_from",
                "occurred_to",
                "facts",
                "data_categories",
                "subjects",
                "risk_level",
                "effects",
                "remedial_action",
                "notify_ico",
                "tell_subjects",
                "decided_by",
                "decided_at",
                "decision_reasoning",
                "ico_filed_at",
                "ico_reference",
                "late_reason",
            ];
            let mut out = vec![cols.iter().map(|c| c.to_string()).collect::<Vec<_>>()];
            for e in &entries {
                out.push(
                    cols.iter()
                        .map(|c| match &e[*c] {
                            Value::Null => String::new(),
                            Value::String(s) => s.clone(),
                            v => v.to_string(),
                        })
                        .collect(),
                );
            }
            output::print(csv_text(out)?.trim_end());
        }
    }
    Ok(())
}

fn register_entry(r: &IncidentRecord) -> Value {
    let f = &r.facts;
    let a = r.assessments.last();
    let d = r.decisions.last();
    let ico = r
        .obligations
        .iter()
        .find(|o| o.id == "uk-gdpr-art33/initial");
    let remedial: Vec<&str> = [
        f.containment.as_deref(),
        f.details.remedial_actions.as_deref(),
        f.details.prevention.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    json!({
        "id": r.id.to_string(),
        "title": f.title,
        "state": r.state.to_string(),
        "detected_at": f.detected_at,
        "aware_at": f.aware_at,
        "occurred_from": f.occurred.from,
        "occurred_to": f.occurred.to,
        "facts": f.summary,
        "data_categories": a.map(|a| a.input.data_categories.iter().map(|c| c.label()).collect::<Vec<_>>().join("; ")),
        "subjects": a.map(|a| a.input.subjects.to_string()),
        "risk_level": a.map(|a| a.severity.level.to_string()),
        "effects": a.and_then(|a| a.input.consequences_description.clone()),
        "remedial_action": if remedial.is_empty() { Value::Null } else { json!(remedial.join(" ")) },
        "notify_ico": d.map(|d| d.decision.notify_ico),
        "tell_subjects": d.map(|d| d.decision.tell_subjects),
        "decided_by": d.map(|d| d.by.clone()),
        "decided_at": d.map(|d| d.at),
        "decision_reasoning": d.map(|d| {
            let mut parts = vec![d.decision.recommendation.basis.clone()];
            if !d.decision.follows_recommendation {
                parts.push("The DPO overrode the recommendation.".into());
            }
            parts.extend(d.decision.reasoning.iter().cloned());
            if let Some(r) = &d.decision.reason {
                parts.push(format!("DPO: {r}"));
            }
            parts.join(" ")
        }),
        "ico_filed_at": ico.and_then(|o| o.completion.as_ref()).map(|c| c.at),
        "ico_reference": ico.and_then(|o| o.completion.as_ref()).and_then(|c| c.reference.clone()),
        "late_reason": ico.and_then(|o| o.completion.as_ref()).and_then(|c| c.late_reason.clone()),
        "decisions": r.decisions,
        "assessments": r.assessments.iter().map(|a| json!({"version": a.version, "at": a.at, "by": a.by, "level": a.severity.level, "score": a.severity.score})).collect::<Vec<_>>(),
    })
}

/// `breachflow timeline ID`: facts, events, clocks and documents in time order.
pub fn timeline(ctx: &Ctx, id: IncidentId) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let zone = org.zone();
    let r = store.incident(id)?;
    let mut items: Vec<(DateTime<Utc>, &'static str, String)> = Vec::new();
    if let Some(from) = r.facts.occurred.from {
        items.push((from, "fact", "the breach began (earliest known)".into()));
    }
    if let Some(to) = r.facts.occurred.to {
        items.push((to, "fact", "the breach ended".into()));
    }
    items.push((
        r.facts.detected_at,
        "fact",
        format!("detected: {}", r.facts.discovery),
    ));
    items.push((
        r.facts.aware_at,
        "fact",
        "aware (UK GDPR Art 33 clock starts)".into(),
    ));
    for t in &r.triggers {
        items.push((
            t.at,
            "fact",
            format!(
                "{} (decided by {})",
                t.anchor.as_str().replace('_', " "),
                t.decided_by
            ),
        ));
    }
    for e in store.events_for(id)? {
        items.push((
            e.at,
            "event",
            format!("{} by {}", super::incident::event_line(&e.what), e.actor),
        ));
    }
    for o in &r.obligations {
        let due = o.completion.as_ref().map(|c| &c.due).unwrap_or(&o.due);
        if let Some(at) = due.instant() {
            items.push((
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
            ));
        }
    }
    for d in &r.documents {
        items.push((
            d.rendered_at,
            "document",
            format!(
                "{} v{} rendered by {}",
                d.document, d.version, d.rendered_by
            ),
        ));
        if let Some(a) = &d.approval {
            items.push((
                a.at,
                "document",
                format!("{} v{} approved by {}", d.document, d.version, a.by),
            ));
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": id,
            "timeline": items.iter().map(|(at, kind, what)| json!({"at": at, "kind": kind, "what": what})).collect::<Vec<_>>(),
        })),
        _ => {
            let mut t = table(&["When", "Kind", "What"]);
            for (at, kind, what) in &items {
                t.add_row(vec![instant(*at, zone), kind.to_string(), what.clone()]);
            }
            output::print(&format!("{id}: {}\n{t}", r.facts.title));
        }
    }
    Ok(())
}

const BUNDLE_FORMAT: &str = "breachflow-bundle/1";

/// `breachflow bundle export ID FILE`.
pub fn bundle_export(ctx: &Ctx, id: IncidentId, file: &Path) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let record = store.incident(id)?;
    let events = store.events_for(id)?;
    let mut documents = Vec::new();
    for d in &record.documents {
        let body = store.document_body(id, &d.document, d.version)?;
        documents.push(json!({ "document": d.document, "version": d.version, "body": body }));
    }
    let messages = store.messages_for(id)?;
    let mut bundle = json!({
        "format": BUNDLE_FORMAT,
        "exported_at": ctx.now,
        "exported_by": ctx.actor,
        "organisation": org,
        "incident": record,
        "events": events,
        "documents": documents,
        "messages": messages,
        "chain_head": record.chain,
    });
    let sha = sha256_hex(&serde_json::to_vec(&bundle).unwrap_or_default());
    bundle["sha256"] = json!(sha);
    let text =
        serde_json::to_string_pretty(&bundle).map_err(|e| CliError::Failed(e.to_string()))?;
    super::document::write_private(file, &text)?;
    match ctx.format {
        Format::Json => output::print_json(
            &json!({ "id": id, "file": file, "sha256": sha, "events": events.len(), "chain_head": record.chain }),
        ),
        _ => output::print(&format!(
            "{id}: {} events, {} document versions and {} messages written to {} (SHA-256 {sha}; chain head {}).",
            events.len(),
            record.documents.len(),
            messages.len(),
            file.display(),
            record.chain
        )),
    }
    Ok(())
}

/// `breachflow bundle import FILE`: verified before anything is stored.
pub fn bundle_import(ctx: &Ctx, file: &Path) -> Result<(), CliError> {
    let name = file.display().to_string();
    let bad = |m: String| CliError::Tampered(format!("{name}: {m}; nothing was imported"));
    let text =
        std::fs::read_to_string(file).map_err(|e| CliError::InvalidArgs(format!("{name}: {e}")))?;
    let mut bundle: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::Input(crate::app::input::InputError::Syntax {
            file: name.clone(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    })?;
    if bundle["format"] != BUNDLE_FORMAT {
        return Err(bad(format!(
            "not a breachflow bundle (format {})",
            bundle["format"]
        )));
    }
    let claimed = bundle
        .as_object_mut()
        .and_then(|m| m.remove("sha256"))
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    if sha256_hex(&serde_json::to_vec(&bundle).unwrap_or_default()) != claimed {
        return Err(bad(
            "its SHA-256 does not match its content: it was changed or damaged".into(),
        ));
    }
    let parse = |v: &Value, what: &str| -> Result<Value, CliError> {
        if v.is_null() {
            return Err(bad(format!("{what} is missing")));
        }
        Ok(v.clone())
    };
    let record: IncidentRecord =
        serde_json::from_value(parse(&bundle["incident"], "the incident")?)
            .map_err(|e| bad(format!("the incident cannot be read: {e}")))?;
    let events: Vec<Event> = serde_json::from_value(parse(&bundle["events"], "the events")?)
        .map_err(|e| bad(format!("the events cannot be read: {e}")))?;
    let org: crate::domain::organisation::Organisation =
        serde_json::from_value(parse(&bundle["organisation"], "the organisation")?)
            .map_err(|e| bad(format!("the organisation cannot be read: {e}")))?;
    let messages: Vec<OutMessage> = serde_json::from_value(bundle["messages"].clone())
        .map_err(|e| bad(format!("the messages cannot be read: {e}")))?;
    if events.iter().any(|e| e.incident != Some(record.id)) {
        return Err(bad(format!(
            "it holds events of incidents other than {}",
            record.id
        )));
    }
    let head = crate::domain::audit::verify_incident(&events).map_err(|b| bad(b.to_string()))?;
    if head != record.chain || bundle["chain_head"] != json!(head) {
        return Err(bad("its chain head does not match its events".into()));
    }
    let replayed = IncidentRecord::replay(&events).map_err(|e| bad(e.to_string()))?;
    if replayed.as_ref() != Some(&record) {
        return Err(bad("the incident is not the replay of its events".into()));
    }
    let mut documents = Vec::new();
    for d in bundle["documents"].as_array().cloned().unwrap_or_default() {
        let name = d["document"].as_str().unwrap_or_default().to_string();
        let version = d["version"].as_u64().unwrap_or_default() as u32;
        // Names are only ever keys in the store, but a name that is not a template name is not
        // one we wrote.
        crate::render::template::check_name(&name).map_err(|e| bad(e.to_string()))?;
        let body: DocumentBody = serde_json::from_value(d["body"].clone())
            .map_err(|e| bad(format!("{name} v{version} cannot be read: {e}")))?;
        let recorded = record.versions(&name).find(|v| v.version == version);
        if recorded.is_none_or(|v| v.sha256 != sha256_hex(body.text.as_bytes())) {
            return Err(bad(format!(
                "{name} v{version} does not match its recorded SHA-256"
            )));
        }
        documents.push((name, version, body));
    }
    let store = open_store(ctx)?;
    if store.organisation()?.is_none() {
        crate::app::incident::record_organisation(&store, &ctx.app(), &name, org, false)?;
    }
    store
        .import(&crate::app::ports::Import {
            record: &record,
            events: &events,
            documents: &documents,
            messages: &messages,
        })
        .map_err(|e| match e {
            crate::app::ports::StoreError::Conflict { .. } => CliError::Failed(format!(
                "{} is already in this store; nothing was imported",
                record.id
            )),
            e => CliError::Store(e),
        })?;
    match ctx.format {
        Format::Json => output::print_json(
            &json!({ "id": record.id, "events": events.len(), "chain_head": head }),
        ),
        _ => output::print(&format!(
            "{}: verified and imported {} events, {} document versions, {} messages (chain head {head}).",
            record.id,
            events.len(),
            documents.len(),
            messages.len()
        )),
    }
    Ok(())
}
