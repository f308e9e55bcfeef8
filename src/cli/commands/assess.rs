//! `breachflow assess ID --file F`: a new version of the exposure assessment.

use std::path::Path;

use serde_json::json;

use super::open_store;
use crate::app;
use crate::cli::output::{self, Format};
use crate::cli::{CliError, Ctx};
use crate::domain::assessment::AssessmentInput;
use crate::domain::incident::IncidentId;

pub fn run(ctx: &Ctx, id: IncidentId, file: &Path) -> Result<(), CliError> {
    let assessment: AssessmentInput = crate::adapters::files::load(file)?;
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let book = super::rulebook(ctx)?;
    let app::incident::Assessed { record, kept } = app::incident::assess(
        &store,
        &ctx.app(),
        &book,
        id,
        &file.display().to_string(),
        &assessment,
    )?;
    let Some(current) = record.current_assessment() else {
        return Err(CliError::Failed("the assessment was not recorded".into()));
    };
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": id,
            "state": record.state,
            "assessment": current,
            "kept": kept.iter().map(|(o, why)| json!({"obligation": o, "why": why})).collect::<Vec<_>>(),
        })),
        Format::Table | Format::Csv | Format::Html => {
            let mut s = format!(
                "{id} is {}.\n{}",
                record.state,
                crate::render::words::assessment(current, org.zone())
            );
            for (o, why) in &kept {
                s.push_str(&format!("  Still owed: {o}: {why}\n"));
            }
            output::print(&s)
        }
    }
    Ok(())
}
