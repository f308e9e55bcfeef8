//! One file per subcommand, plus what they share: opening the store and committing a workflow
//! step against an incident.

pub mod assess;
pub mod audit;
pub mod deadlines;
pub mod decide;
pub mod demo;
pub mod document;
pub mod incident;
pub mod init;
pub mod obligation;
pub mod schema;
pub mod send;

use crate::adapters::store::SledStore;
use crate::cli::{CliError, Ctx};
use crate::domain::regime::Rulebook;

/// Opens the store named by the context.
pub fn open_store(ctx: &Ctx) -> Result<SledStore, CliError> {
    Ok(SledStore::open(&ctx.data_dir)?)
}

/// The built-in regimes plus the user's override folder.
pub fn rulebook(ctx: &Ctx) -> Result<Rulebook, CliError> {
    Ok(Rulebook::load(ctx.regimes_dir.as_deref())?)
}

/// The built-in templates plus the user's override folder.
pub fn templates(ctx: &Ctx) -> Result<crate::render::template::TemplateSet, CliError> {
    crate::adapters::files::templates(ctx.templates_dir.as_deref()).map_err(Into::into)
}
