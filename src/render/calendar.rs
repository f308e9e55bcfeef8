//! The iCalendar (RFC 5545) export of deadlines: one event per obligation with an instant.
//! An open obligation's event has alarms 12 and 2 hours before; a filed, waived or retired one
//! keeps its event, with the same UID and `STATUS:CANCELLED`, so a calendar that imported or
//! subscribed to an earlier export clears it and its alarms instead of keeping a stale alarm.
//! Lines are folded and text escaped as the RFC requires.

use chrono::{DateTime, Utc};

use crate::domain::obligation::Obligation;
use crate::domain::record::IncidentRecord;

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

/// The iCalendar document of obligations with an instant. `domain` (the organisation's, from
/// its DPO's address) makes the UIDs globally unique, as RFC 5545 §3.8.4.7 asks.
pub fn ics(rows: &[(&IncidentRecord, &Obligation)], now: DateTime<Utc>, domain: &str) -> String {
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
        // The recipient is in the phase's name ("Initial report to the ICO"); saying it again
        // made summaries too long for a calendar's day view.
        let summary = format!("{kind}: {} ({})", o.phase.name, r.id);
        let mut description = format!(
            "{} {}\n{}: {}\n{}",
            r.id, r.facts.title, o.regime_name, o.recipient, o.citation
        );
        if !o.due.is_statutory() {
            description.push_str("\nNo deadline in law: this is breachflow's internal target.");
        }
        let open = o.state.is_open();
        if !open {
            description.push_str(&format!("\nNo longer due: {}.", o.state));
        }
        let uid = format!("{}.{}@{domain}", r.id, o.id.replace('/', "."));
        let mut lines = vec![
            "BEGIN:VEVENT".to_string(),
            format!("UID:{uid}"),
            format!("DTSTAMP:{}", ics_time(now)),
            // Re-importing an updated file replaces the event: same UID, higher SEQUENCE.
            format!("SEQUENCE:{}", r.version),
            format!("STATUS:{}", if open { "CONFIRMED" } else { "CANCELLED" }),
            format!("DTSTART:{}", ics_time(at)),
            "DURATION:PT15M".to_string(),
            format!("SUMMARY:{}", ics_text(&summary)),
            format!("DESCRIPTION:{}", ics_text(&description)),
        ];
        if open {
            for (left, trigger) in [("12 hours", "-PT12H"), ("2 hours", "-PT2H")] {
                lines.extend([
                    "BEGIN:VALARM".to_string(),
                    "ACTION:DISPLAY".to_string(),
                    format!(
                        "DESCRIPTION:{}",
                        ics_text(&format!("{left} left: {summary}"))
                    ),
                    format!("TRIGGER:{trigger}"),
                    "END:VALARM".to_string(),
                ]);
            }
        }
        lines.push("END:VEVENT".to_string());
        for line in lines {
            out.push_str(&fold(&line));
        }
    }
    out.push_str(&fold("END:VCALENDAR"));
    out
}
