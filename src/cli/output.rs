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
    // COLUMNS when set (a script or a narrow terminal says how wide), else the terminal's
    // width; not a terminal (a pipe, a file, a test): a width that still reads on paper.
    match std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
    {
        Some(c) if c >= 20 => {
            t.set_width(c);
        }
        _ if t.width().is_none() => {
            t.set_width(110);
        }
        _ => {}
    }
    t
}

/// Before printing: no column narrower than its longest word, so an id, a path, an address or
/// a hash is never broken across lines (wrapping happens between words; a table too wide for
/// every word is wider than asked rather than wrong).
pub fn fit(t: &mut comfy_table::Table) {
    let mut widest: Vec<usize> = Vec::new();
    let rows = t.header().into_iter().chain(t.row_iter());
    for row in rows {
        for (i, cell) in row.cell_iter().enumerate() {
            let longest = cell
                .content()
                .split_whitespace()
                .map(|w| w.chars().count())
                .max()
                .unwrap_or(0);
            if widest.len() <= i {
                widest.resize(i + 1, 0);
            }
            widest[i] = widest[i].max(longest);
        }
    }
    for (i, w) in widest.into_iter().enumerate() {
        if let Some(c) = t.column_mut(i) {
            // The boundary counts the cell's padding as well as its content.
            let w = u16::try_from(w)
                .unwrap_or(u16::MAX)
                .saturating_add(c.padding_width());
            c.set_constraint(comfy_table::ColumnConstraint::LowerBoundary(
                comfy_table::Width::Fixed(w),
            ));
        }
    }
}
