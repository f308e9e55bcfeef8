//! The JSON Schemas of every input file, generated from the Rust types.
//!
//! `schemas/` in the repository holds the same files; a test regenerates them and fails on any
//! difference, so the published schemas can never drift from what the binary accepts.

use std::path::{Path, PathBuf};

use crate::app::input::schema_of;
use crate::domain::assessment::AssessmentInput;
use crate::domain::incident::{IncidentFacts, IncidentUpdate};
use crate::domain::organisation::Organisation;
use crate::domain::regime::{CalendarAdditions, HolidayCalendar, Regime};

/// (file name, schema) for every input type.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("organisation.schema.json", schema_of::<Organisation>()),
        ("incident.schema.json", schema_of::<IncidentFacts>()),
        ("incident-update.schema.json", schema_of::<IncidentUpdate>()),
        ("assessment.schema.json", schema_of::<AssessmentInput>()),
        ("regime.schema.json", schema_of::<Regime>()),
        (
            "holiday-calendar.schema.json",
            schema_of::<HolidayCalendar>(),
        ),
        (
            "calendar-additions.schema.json",
            schema_of::<CalendarAdditions>(),
        ),
    ]
}

/// The text written for a schema: pretty JSON with a final newline, stable across runs.
pub fn render(schema: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes every schema into `dir`, creating it if needed.
pub fn export(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, schema) in all() {
        let path = dir.join(name);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            return Err(std::io::Error::other(format!(
                "{} exists and is not a plain file (a link is never followed)",
                path.display()
            )));
        }
        crate::adapters::files::write_private(&path, render(&schema).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}
