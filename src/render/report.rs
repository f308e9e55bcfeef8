//! The adherence report as a page (HTML with inline SVG) and as CSV, and the register as CSV:
//! pure functions from the report data to text, so every front end writes the same bytes.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::domain::adherence::{Adherence, Row, Status};
use crate::domain::register::RegisterEntry;
use crate::render::format::{count, hours, instant, minutes};

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Csv(String),
}

/// Records as CSV, the header first.
pub fn csv_text<I: IntoIterator<Item = String>>(records: Vec<I>) -> Result<String, ReportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in records {
        w.write_record(r.into_iter().collect::<Vec<_>>())
            .map_err(|e| ReportError::Csv(e.to_string()))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReportError::Csv(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).to_string())
}

/// A cell a spreadsheet would not take for a formula: text beginning `=`, `+`, `-` or `@` (an
/// address in a recipients file can) gets a leading apostrophe.
fn inert(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@']) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// Bulk recipients' states as CSV, in the order given: the per-recipient report of a bulk
/// notice (`outbox recipients ID DOC --csv`). Times in UTC (RFC 3339).
pub fn recipients_csv(
    states: &[crate::domain::outbox::RecipientState],
) -> Result<String, ReportError> {
    let mut out = vec![
        [
            "line",
            "address",
            "state",
            "version",
            "at",
            "message_id",
            "reply_or_reason",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for s in states {
        let mut cells = recipient_cells(s, s.at.to_rfc3339());
        cells.insert(5, s.message_id.clone());
        out.push(cells.into_iter().map(inert).collect());
    }
    csv_text(out)
}

/// One bulk recipient as a person reads it: line, address, state, notice version, `when`, and
/// the server's reply or the reason (the table and the CSV both start from this).
pub fn recipient_cells(s: &crate::domain::outbox::RecipientState, when: String) -> Vec<String> {
    vec![
        s.line.to_string(),
        s.address.clone(),
        s.state.to_string(),
        s.notice_version()
            .map(|v| v.to_string())
            .unwrap_or_default(),
        when,
        s.note.clone().unwrap_or_default(),
    ]
}

/// The adherence rows as CSV.
pub fn adherence_csv(rows: &[Row]) -> Result<String, ReportError> {
    let at = |d: Option<DateTime<Utc>>| d.map(|d| d.to_rfc3339()).unwrap_or_default();
    let num = |h: Option<f64>| h.map(|h| format!("{h:.2}")).unwrap_or_default();
    let mut out = vec![
        [
            "incident",
            "incident_title",
            "aware_at",
            "obligation",
            "phase",
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
            "recorded_later",
            "warning",
            "precision_note",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>(),
    ];
    for r in rows {
        out.push(vec![
            r.incident.clone(),
            r.incident_title.clone(),
            r.aware_at.to_rfc3339(),
            r.obligation.clone(),
            r.phase.clone(),
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
            r.recorded_later.clone().unwrap_or_default(),
            r.warning.clone().unwrap_or_default(),
            r.precision_note.clone().unwrap_or_default(),
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
        Status::Indeterminate => "#8e44ad",
        Status::Waived => "#7f8c8d",
        Status::Open | Status::NotStarted | Status::AfterTarget => "#b9770e",
    }
}

/// Day marks for a time axis from `start` to `end` drawn by `x`: midnight in the
/// organisation's zone, every day (or every week over a long span), labelled "Sat 30 Mar", so
/// the page can be read on paper, where hover text is lost.
fn day_marks(
    h: &mut String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    zone: chrono_tz::Tz,
    x: impl Fn(DateTime<Utc>) -> f64,
    (top, bottom): (f64, f64),
) {
    use chrono::TimeZone;
    let step = if (end - start).num_days() > 20 { 7 } else { 1 };
    let mut day = start.with_timezone(&zone).date_naive();
    for _ in 0..400 {
        day = match day.checked_add_days(chrono::Days::new(step)) {
            Some(d) => d,
            None => return,
        };
        let Some(midnight) = day
            .and_hms_opt(0, 0, 0)
            .and_then(|t| zone.from_local_datetime(&t).earliest())
            .map(|t| t.with_timezone(&Utc))
        else {
            continue;
        };
        if midnight >= end {
            return;
        }
        let at = x(midnight);
        let _ = writeln!(
            h,
            "<line x1=\"{at:.1}\" x2=\"{at:.1}\" y1=\"{top:.0}\" y2=\"{bottom:.0}\" stroke=\"#ccc\"/><text x=\"{at:.1}\" y=\"{:.0}\" font-size=\"8\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            bottom + 10.0,
            day.format("%a %-d %b")
        );
    }
}

/// The adherence report as a self-contained page: inline styles and SVG, no scripts, nothing
/// fetched.
pub fn adherence_html(report: &Adherence) -> String {
    let (org, rows, summaries, records, zone, now) = (
        report.organisation.as_str(),
        report.rows.as_slice(),
        report.summaries.as_slice(),
        report.records.as_slice(),
        report.zone,
        report.generated_at,
    );
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>Deadline adherence: {}</title>\n<style>\nbody{{font:11pt/1.4 Helvetica,Arial,sans-serif;color:#111;max-width:60em;margin:2em auto;padding:0 1em}}\ntable{{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}}th,td{{border:1px solid #bbb;padding:.2em .4em;text-align:left;font-size:9.5pt}}th{{background:#eee}}\n.late{{color:#c0392b;font-weight:bold}}.ok{{color:#1b7f3b}}\n@page{{size:A4;margin:15mm}}@media print{{body{{margin:0;max-width:none}}svg,table,tr{{break-inside:avoid}}}}\n</style>\n</head>\n<body>\n<h1>Deadline adherence</h1>\n<p>{} · generated {} · {} in {}</p>\n",
        esc(org),
        esc(org),
        esc(&instant(now, zone)),
        count(rows.len() as u64, "obligation", "obligations"),
        count(records.len() as u64, "incident", "incidents")
    );
    let warned: Vec<&Row> = rows.iter().filter(|r| r.warning.is_some()).collect();
    if !warned.is_empty() {
        h.push_str("<h2>To check</h2>\n<ul>\n");
        for r in warned {
            let _ = writeln!(
                h,
                "<li class=\"late\">{} {}: {}</li>",
                esc(&r.incident),
                esc(&r.obligation),
                esc(r.warning.as_deref().unwrap_or_default())
            );
        }
        h.push_str("</ul>\n");
    }
    h.push_str("<h2>Per regime and phase</h2>\n<table>\n<tr><th>Regime</th><th>Phase</th><th>Obligations</th><th>On time</th><th>Late</th><th>Indeterminate</th><th>Waived</th><th>Open</th><th>Overdue</th><th>Share on time</th><th>Median time to notify</th><th>Worst</th><th>Recorded later</th></tr>\n");
    for m in summaries {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.regime_name),
            esc(&m.phase),
            m.obligations,
            m.on_time,
            if m.late > 0 { "late" } else { "" },
            m.late,
            m.indeterminate,
            m.waived,
            m.open,
            if m.overdue > 0 { "late" } else { "" },
            m.overdue,
            m.share_on_time
                .map(|s| format!("{:.0}%", s * 100.0))
                .unwrap_or_else(|| "-".into()),
            esc(&hours(m.median_hours_to_notify)),
            esc(&hours(m.worst_hours_to_notify)),
            m.recorded_later,
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
        let (left, width, bar) = (230.0, 380.0, 18.0);
        let height = 45.0 + charted.len() as f64 * (bar + 6.0);
        // 900 wide: the status text right of the bars (up to ~210 px) stays inside the image.
        let _ = writeln!(
            h,
            "<h2>Time to notify against the deadline</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"{height:.0}\" viewBox=\"0 0 900 {height:.0}\" role=\"img\" aria-label=\"Time to notify against each deadline\">"
        );
        // Hour marks every day's worth of hours (every week's over long spans), printed.
        let step = if max > 24.0 * 20.0 { 168.0 } else { 24.0 };
        let mut mark = step;
        while mark <= max {
            let x = left + mark / max * width;
            let _ = writeln!(
                h,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"14\" y2=\"{:.0}\" stroke=\"#ddd\"/><text x=\"{x:.1}\" y=\"10\" font-size=\"8\" text-anchor=\"middle\" fill=\"#555\">{mark:.0} h</text>",
                height - 8.0
            );
            mark += step;
        }
        for (i, r) in charted.iter().enumerate() {
            let y = 22.0 + i as f64 * (bar + 6.0);
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
                    esc(&hours(Some(t)))
                );
            }
            if let Some(a) = r.hours_allowed {
                let x = left + a / max * width;
                let _ = writeln!(
                    h,
                    "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.0}\" y2=\"{:.0}\" stroke=\"#111\" stroke-width=\"2\"><title>deadline: {}</title></line>",
                    y - 2.0,
                    y + bar + 2.0,
                    esc(&hours(Some(a)))
                );
            }
            let _ = writeln!(
                h,
                "<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"10\">{}</text>",
                left + width + 8.0,
                y + 13.0,
                esc(&match (r.hours_to_notify, r.status) {
                    (Some(t), _) => format!("{} ({})", hours(Some(t)), r.status.as_str()),
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
        // Labels in their own column (0-230), the time axis right of it (240-880), so no
        // label sits under a marker.
        let (axis_from, axis_to) = (240.0, 880.0);
        let x = |t: DateTime<Utc>| {
            axis_from + (t - start).num_seconds().max(0) as f64 / span * (axis_to - axis_from)
        };
        let height = 62.0 + mine.len() as f64 * 22.0;
        let _ = writeln!(
            h,
            "<h3>{} {}</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"{height:.0}\" viewBox=\"0 0 900 {height:.0}\" role=\"img\" aria-label=\"Timeline of {}\">\n<line x1=\"{axis_from}\" x2=\"{axis_to}\" y1=\"20\" y2=\"20\" stroke=\"#555\"/>\n<circle cx=\"{axis_from}\" cy=\"20\" r=\"5\" fill=\"#111\"><title>aware {}</title></circle>\n<text x=\"{axis_from}\" y=\"12\" font-size=\"9\">aware {}</text>",
            esc(&rec.id.to_string()),
            esc(&rec.facts.title),
            esc(&rec.id.to_string()),
            esc(&instant(start, zone)),
            esc(&instant(start, zone))
        );
        day_marks(&mut h, start, end, zone, x, (24.0, height - 14.0));
        for (i, r) in mine.iter().enumerate() {
            let y = 45.0 + i as f64 * 22.0;
            let _ = writeln!(
                h,
                "<text x=\"4\" y=\"{y:.0}\" font-size=\"9\">{}</text>",
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
            esc(&match (&r.met_at, &r.recorded_later) {
                (Some(d), Some(later)) => format!("{} ({later})", instant(*d, zone)),
                (Some(d), None) => instant(*d, zone),
                _ => String::new(),
            }),
            match r.status {
                Status::Late | Status::Overdue => "late",
                Status::OnTime => "ok",
                _ => "",
            },
            esc(&match (&r.precision_note, r.late_by_minutes) {
                (Some(note), _) => note.clone(),
                (None, Some(m)) => format!("late by {}", minutes(m)),
                (None, None) => r.status.as_str().to_string(),
            }),
            esc(&hours(r.hours_to_notify)),
            esc(&[r.reason.as_deref(), r.warning.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ")),
        );
    }
    h.push_str("</table>\n</body>\n</html>\n");
    h
}

/// The register as CSV: one row per incident, the columns of [`RegisterEntry::COLUMNS`].
pub fn register_csv(entries: &[RegisterEntry]) -> Result<String, ReportError> {
    let mut out = vec![
        RegisterEntry::COLUMNS
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>(),
    ];
    for e in entries {
        out.push(e.cells());
    }
    csv_text(out)
}
