//! Printing: instants in the organisation's zone, tables, and JSON for `--format json`.
//!
//! Writes ignore a closed pipe (`breachflow incident list | head` must not fail). While a
//! command runs its output is held in memory and written after the command returns, when its
//! store is closed: a slow reader (`| less`, a full pipe) never keeps the store locked.
//!
//! On the team server a command's standard output and its notes (what would go to stderr) are
//! captured instead, per request thread, and sent back to the command line that asked, which
//! prints them: the same words either way.

use std::cell::RefCell;
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

thread_local! {
    /// Output held until the command has returned (and closed its store).
    static HELD: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    /// What a command run for a remote command line printed, while the server captures it.
    static CAPTURED: RefCell<Option<Captured>> = const { RefCell::new(None) };
    /// The width tables are drawn to on this thread (the remote terminal's), when set.
    static COLUMNS: std::cell::Cell<Option<u16>> = const { std::cell::Cell::new(None) };
}

/// A command's standard output and error as the server captured them.
#[derive(Debug, Default)]
pub struct Captured {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// From now on, until [`end_capture`], what this thread prints is captured, and tables are
/// drawn `columns` wide (the asking terminal's width) when given.
pub fn begin_capture(columns: Option<u16>) {
    CAPTURED.with(|c| *c.borrow_mut() = Some(Captured::default()));
    // Not the server's own terminal: the asking one's width, or the width used for a pipe.
    COLUMNS.with(|c| c.set(Some(columns.unwrap_or(110))));
}

/// Stops capturing and returns what was printed.
pub fn end_capture() -> Captured {
    COLUMNS.with(|c| c.set(None));
    CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default()
}

/// Whether this thread's output is captured for a remote command line (nobody is at this
/// process's terminal to answer a question).
pub fn capturing() -> bool {
    CAPTURED.with(|c| c.borrow().is_some())
}

/// Appends to the capture if one is running; false when nothing is captured.
fn captured(stderr: bool, text: &[u8]) -> bool {
    CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(cap) => {
            let buf = if stderr {
                &mut cap.stderr
            } else {
                &mut cap.stdout
            };
            buf.extend_from_slice(text);
            true
        }
        None => false,
    })
}

/// A line for the person rather than the output (progress, where a file was written, an
/// error): stderr, or the capture on the server. A newline is added when missing.
pub fn note(text: &str) {
    let mut line = text.to_string();
    if !line.ends_with('\n') {
        line.push('\n');
    }
    if !captured(true, line.as_bytes()) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }
}

/// Like [`note`] without the added newline: a prompt, or text that ends its own lines.
pub fn note_raw(text: &str) {
    if !captured(true, text.as_bytes()) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }
}

/// From now on, output is held in memory until [`release`].
pub fn hold() {
    HELD.with(|h| *h.borrow_mut() = Some(Vec::new()));
}

/// Writes the held output to stdout and stops holding.
pub fn release() {
    if let Some(bytes) = HELD.with(|h| h.borrow_mut().take()) {
        if captured(false, &bytes) {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&bytes);
        let _ = out.flush();
    }
}

/// Prints text to stdout (or holds it, see [`hold`]); a closed pipe is not an error.
pub fn print(text: &str) {
    let held = HELD.with(|h| match h.borrow_mut().as_mut() {
        Some(buf) => {
            buf.extend_from_slice(text.as_bytes());
            if !text.ends_with('\n') {
                buf.push(b'\n');
            }
            true
        }
        None => false,
    });
    if held {
        return;
    }
    let mut line = text.to_string();
    if !line.ends_with('\n') {
        line.push('\n');
    }
    if captured(false, line.as_bytes()) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Prints text exactly as given (what a server captured), no newline added.
pub fn print_raw(text: &str) {
    if text.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
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
    let columns = COLUMNS.with(|c| c.get()).or_else(|| {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
    });
    match columns {
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

/// The longest word a table cell keeps whole; longer ones (a stored value from before the
/// input bounds) are cut into lines of this many characters here, in one pass, because the
/// table library's own splitting of a word wider than its column takes time quadratic in the
/// word's length (7.6 s for a 400,000-character word).
pub const CELL_WORD: usize = 100;

/// `text` with every word longer than [`CELL_WORD`] characters cut into lines of that length.
/// Linear in the text's length.
pub fn prewrap(text: &str) -> std::borrow::Cow<'_, str> {
    if crate::domain::bounds::longest_word(text) <= CELL_WORD {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + text.len() / CELL_WORD + 1);
    let mut run = 0;
    for c in text.chars() {
        if c.is_whitespace() {
            run = 0;
        } else {
            if run == CELL_WORD {
                out.push('\n');
                run = 0;
            }
            run += 1;
        }
        out.push(c);
    }
    std::borrow::Cow::Owned(out)
}

/// Before printing: no column narrower than its longest word, so an id, a path, an address or
/// a hash is never broken across lines (wrapping happens between words; a table too wide for
/// every word is wider than asked rather than wrong). A word longer than [`CELL_WORD`] is cut
/// first ([`prewrap`]), so formatting stays linear in the table's size.
pub fn fit(t: &mut comfy_table::Table) {
    let too_long = t
        .header()
        .into_iter()
        .chain(t.row_iter())
        .flat_map(|r| r.cell_iter())
        .any(|c| crate::domain::bounds::longest_word(&c.content()) > CELL_WORD);
    if too_long {
        // Cells cannot be edited in place: the table is rebuilt with the same header and style.
        let header: Vec<String> = t
            .header()
            .map(|h| h.cell_iter().map(|c| c.content()).collect())
            .unwrap_or_default();
        let rows: Vec<Vec<String>> = t
            .row_iter()
            .map(|r| {
                r.cell_iter()
                    .map(|c| prewrap(&c.content()).into_owned())
                    .collect()
            })
            .collect();
        let names: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut fresh = table(&names);
        for row in rows {
            fresh.add_row(row);
        }
        *t = fresh;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_word_in_a_table_is_cut_in_linear_time() {
        let word = "x".repeat(400_000);
        let mut t = table(&["Field", "Value"]);
        t.add_row(vec!["summary".to_string(), format!("before {word} after")]);
        let start = std::time::Instant::now();
        fit(&mut t);
        let text = t.to_string();
        let took = start.elapsed();
        // Quadratic splitting took 7.6 s in a release build; cut first, it takes milliseconds.
        assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
        assert_eq!(text.matches('x').count(), 400_000, "nothing is lost");
        assert!(
            text.lines().all(|l| l.chars().count() < 130),
            "every line is cut"
        );
    }

    #[test]
    fn prewrap_leaves_ordinary_text_alone() {
        assert!(matches!(
            prewrap("an ordinary sentence"),
            std::borrow::Cow::Borrowed(_)
        ));
        let long = "y".repeat(250);
        let cut = prewrap(&long);
        assert_eq!(
            cut.lines().map(str::len).collect::<Vec<_>>(),
            [100, 100, 50]
        );
    }
}
