//! The iCalendar (RFC 5545) export of deadlines: one event per open obligation with an
//! instant, with alarms 12 and 2 hours before, folded and escaped as the RFC requires.

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
