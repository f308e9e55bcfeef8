//! `breachflow schema export DIR`: the JSON Schemas of the input files.

use std::path::Path;

use crate::cli::output::{self, Format};
use crate::cli::{CliError, Ctx};

pub fn export(ctx: &Ctx, dir: &Path) -> Result<(), CliError> {
    super::check_output(ctx, dir)?;
    let written = crate::adapters::schema::export(dir)
        .map_err(|e| CliError::Failed(format!("cannot write schemas to {}: {e}", dir.display())))?;
    match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({ "written": written })),
        Format::Table | Format::Csv | Format::Html => {
            let list: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
            output::print(&list.join("\n"));
        }
    }
    Ok(())
}
