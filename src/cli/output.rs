//! Printing: instants in the organisation's zone, tables, and JSON for `--format json`.
//!
//! Writes ignore a closed pipe (`breachflow incident list | head` must not fail).

use std::io::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text and tables.
    Table,
    /// One JSON document on stdout (shapes documented in the README).
    Json,
    /// CSV (`report adherence`, `register export`).
    Csv,
    /// A self-contained HTML page (`report adherence`).
    Html,
}

/// Prints text to stdout; a closed pipe is not an error.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Prints a value as pretty JSON.
pub fn print_json<T: Serialize>(value: &T) {
    print(
        &serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")),
    );
}

/// An instant in the organisation's zone with its abbreviation and offset:
/// "Sat 30 Mar 2024 21:10 GMT (+00:00)".
pub fn instant(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%a %-d %b %Y %H:%M %Z (%:z)")
        .to_string()
}

/// A new table with the house style.
pub fn table(header: &[&str]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    // Not a terminal (a pipe, a file, a test): wrap at a width that still reads on paper.
    if t.width().is_none() {
        t.set_width(110);
    }
    t
}

/// A duration in minutes as "2 d 3 h 5 min" (the domain's words, shared with reminders).
pub use crate::domain::deadline::minutes;
