//! Printing: instants in the organisation's zone, tables, and JSON for `--format json`.
//!
//! Writes ignore a closed pipe (`breachflow incident list | head` must not fail).

use std::io::Write;

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

pub use crate::render::format::{instant, minutes};

/// A new table with the house style.
pub fn table(header: &[&str]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    // `COLUMNS` when set (a script or a wide pager asks for it); otherwise the terminal's width,
    // or, for a pipe or a file, a width that still reads on paper.
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|c| *c >= 40)
    {
        t.set_width(columns);
    } else if t.width().is_none() {
        t.set_width(110);
    }
    t
}
