//! One file per subcommand, plus what they share: opening the store and committing a workflow
//! step against an incident.

pub mod account;
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
pub mod serve;

use std::time::Duration;

use crate::adapters::lease::LeasedStore;
use crate::adapters::store::SledStore;
use crate::cli::{CliError, Ctx};
use crate::domain::regime::Rulebook;

/// How long a command waits for a store another process is using before it says so (exit 3).
/// A sender holds the store only for each read and commit, so this gets in between them.
pub const LOCK_WAIT: Duration = Duration::from_secs(1);

/// Opens the store named by the context (on the team server: a handle on the open store).
pub fn open_store(ctx: &Ctx) -> Result<SledStore, CliError> {
    match &ctx.server {
        Some(side) => Ok(side.store.share()),
        None => Ok(SledStore::open_waiting(&ctx.data_dir, LOCK_WAIT)?),
    }
}

pub use crate::adapters::lease::SEND_QUEUE_WAIT;

/// Opens the store for a command that sends mail: held only between network waits, with the
/// sending lock for the whole command (`adapters::lease`). On the team server the store stays
/// open (nobody else needs it closed) and the command waits its turn for the sending lock.
pub fn open_for_sending(ctx: &Ctx) -> Result<LeasedStore, CliError> {
    match &ctx.server {
        Some(side) => Ok(LeasedStore::shared_for_sending(
            side.store.share(),
            SEND_QUEUE_WAIT,
        )?),
        None => Ok(LeasedStore::for_sending(&ctx.data_dir, LOCK_WAIT)?),
    }
}

/// Refuses an output path the person chose that resolves inside the data directory, or names an
/// existing link or non-file (`adapters::files::check_output`).
pub fn check_output(ctx: &Ctx, path: &std::path::Path) -> Result<(), CliError> {
    crate::adapters::files::check_output(path, &ctx.data_dir)
}

/// The built-in regimes plus the user's override folder (on the team server: the ones it read
/// when it started).
pub fn rulebook(ctx: &Ctx) -> Result<std::sync::Arc<Rulebook>, CliError> {
    if let Some(side) = &ctx.server {
        // Shared, not copied: a copy per request cost the server a tenth of its time.
        return Ok(side.rulebook.clone());
    }
    Ok(std::sync::Arc::new(Rulebook::load(
        ctx.regimes_dir.as_deref(),
    )?))
}

/// The built-in templates plus the user's override folder (on the team server: the ones it
/// read when it started).
pub fn templates(
    ctx: &Ctx,
) -> Result<std::sync::Arc<crate::render::template::TemplateSet>, CliError> {
    if let Some(side) = &ctx.server {
        return Ok(side.templates.clone());
    }
    crate::adapters::files::templates(ctx.templates_dir.as_deref())
        .map(std::sync::Arc::new)
        .map_err(Into::into)
}
