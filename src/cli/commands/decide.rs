//! `breachflow decide ID`: the DPO's decision on notifying the ICO and telling data subjects.

use super::open_store;
use crate::app;
use crate::cli::output::{self, Format};
use crate::cli::{CliError, Ctx};
use crate::domain::incident::IncidentId;
use crate::domain::workflow::DecideRequest;

pub fn run(ctx: &Ctx, id: IncidentId, request: &DecideRequest) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let book = super::rulebook(ctx)?;
    let record = app::incident::decide(&store, &ctx.app(), &book, id, request)?;
    let Some(decision) = record.current_decision() else {
        return Err(CliError::Failed("the decision was not recorded".into()));
    };
    match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({
            "id": id,
            "state": record.state,
            "decision": decision,
        })),
        Format::Table | Format::Csv | Format::Html => output::print(&format!(
            "{id} is {}.\n{}",
            record.state,
            crate::render::words::decision(decision, org.zone())
        )),
    }
    Ok(())
}
