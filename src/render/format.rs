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

/// The actor, with how they are known: "Priya Raman (self-declared)".
pub fn who(e: &crate::domain::event::Event) -> String {
    format!("{} ({})", e.actor, e.identity().as_str())
}
