//! Instants and durations in words, the same in every output: the terminal, CSV and the HTML
//! report.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// An instant in the organisation's zone with its abbreviation and offset:
/// "Sat 30 Mar 2024 21:10 GMT (+00:00)".
pub fn instant(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%a %-d %b %Y %H:%M %Z (%:z)")
        .to_string()
}

/// A duration in minutes as "2 d 3 h 5 min" (the domain's words, shared with reminders).
pub use crate::domain::deadline::minutes;

/// Hours as a duration to the minute, or nothing.
pub fn hours(h: Option<f64>) -> String {
    match h {
        Some(h) => minutes((h * 60.0).round() as i64),
        None => String::new(),
    }
}

/// For an event written up after it happened (by more than the tolerance), the words that say
/// so: "recorded Sun 31 Mar 2024 08:30 BST (+01:00), 8 h 50 min later, by Tom Okafor
/// (self-declared)".
pub fn recorded_later(e: &crate::domain::event::Event, zone: Tz) -> Option<String> {
    let gap = e.recorded_later()?;
    let recorded = e.recorded_at?;
    Some(format!(
        "recorded {}, {} later, by {}",
        instant(recorded, zone),
        minutes(gap.num_minutes()),
        who(e)
    ))
}

/// The actor, with how they are known: "Priya Raman (self-declared)", or for a signed-in user
/// the role the act was permitted under and their user id: "Dana Scully (dpo, u2,
/// authenticated)".
pub fn who(e: &crate::domain::event::Event) -> String {
    match &e.user {
        Some(u) => format!(
            "{} ({}, {}, {})",
            e.actor,
            u.role.as_str(),
            u.id,
            e.identity().as_str()
        ),
        None => format!("{} ({})", e.actor, e.identity().as_str()),
    }
}

/// An ENISA severity band in words: "very high", not `VeryHigh`.
pub fn band(b: crate::domain::assessment::SeverityBand) -> &'static str {
    use crate::domain::assessment::SeverityBand;
    match b {
        SeverityBand::Low => "low",
        SeverityBand::Medium => "medium",
        SeverityBand::High => "high",
        SeverityBand::VeryHigh => "very high",
    }
}

/// A deadline rule in words: "72 hours", "4 business days (us-federal), due 17:00", "as soon as
/// possible (our internal target: 4 hours)".
pub fn deadline(d: &crate::domain::regime::Deadline) -> String {
    use crate::domain::regime::Deadline;
    let plural = |n: u32, one: &str, many: &str| count(u64::from(n), one, many);
    match d {
        Deadline::Hours { hours } => format!("{} elapsed", plural(*hours, "hour", "hours")),
        Deadline::Days {
            days,
            business_calendar,
            due_time,
            zone,
        } => {
            let mut s = match business_calendar {
                Some(c) => format!(
                    "{} ({c} calendar)",
                    plural(*days, "business day", "business days")
                ),
                None => plural(*days, "calendar day", "calendar days"),
            };
            s.push_str(&format!(
                ", due {}",
                due_time.map_or("23:59".to_string(), |t| t.format("%H:%M").to_string())
            ));
            if let Some(z) = zone {
                s.push_str(&format!(" {z}"));
            }
            s
        }
        Deadline::Months { months } => plural(*months, "calendar month", "calendar months"),
        Deadline::Standard {
            standard,
            target_hours,
        } => match target_hours {
            Some(h) => format!(
                "{standard}, no number in law (our internal target: {})",
                plural(*h, "hour", "hours")
            ),
            None => format!("{standard}, no number in law"),
        },
    }
}

/// The first `n` characters of a hash, as shown to a person. A value read back from a store or
/// a bundle may be shorter than a real SHA-256 (tampered): it is then shown whole, never a
/// panic.
pub fn short(hash: &str, n: usize) -> &str {
    hash.get(..n).unwrap_or(hash)
}

/// "1 incident", "2 incidents".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
