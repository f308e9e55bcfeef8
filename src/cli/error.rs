//! The CLI's error: every failure from the layers below, with the exit code it maps to.
//!
//! Exit codes (documented in the README):
//! 0 success; 1 refused for another reason (store already initialised, output not written);
//! 2 usage error (clap); 3 store locked by another process; 4 invalid input (file or flags);
//! 5 lifecycle refused the step (or a document is not approved); 6 not found (incident,
//! organisation profile, template); 7 store damaged; 8 a document lacks facts it needs;
//! 9 the event log or an evidence bundle does not verify; 10 an output path inside the data
//! directory, or an existing link in its place;
//! 70 internal error (a bug: please report it).

use crate::app::AppError;
use crate::app::input::InputError;
use crate::app::ports::StoreError;

pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_LOCKED: u8 = 3;
pub const EXIT_INVALID_INPUT: u8 = 4;
pub const EXIT_REFUSED: u8 = 5;
pub const EXIT_NOT_FOUND: u8 = 6;
pub const EXIT_DAMAGED: u8 = 7;
/// A document lacks facts it needs (render without --draft, check).
pub const EXIT_INCOMPLETE: u8 = 8;
/// The event log (or an evidence bundle) does not verify: something was changed.
pub const EXIT_TAMPERED: u8 = 9;
/// An output path (`--out`, a bundle, a schema folder) inside the data directory, or an
/// existing link or non-file there: refused, nothing written.
pub const EXIT_OUTPUT_REFUSED: u8 = 10;
pub const EXIT_INTERNAL: u8 = 70;

/// The CLI reports the application layer's error; this file adds its exit code and hint.
pub type CliError = AppError;

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Input(_) | CliError::InvalidArgs(_) => EXIT_INVALID_INPUT,
            CliError::Refused(_) | CliError::Blocked(_) | CliError::Outbox(_) => EXIT_REFUSED,
            CliError::Store(e) => match e {
                StoreError::Locked(_) | StoreError::Sending(_) => EXIT_LOCKED,
                StoreError::Damaged { .. } | StoreError::Io { .. } => EXIT_DAMAGED,
                StoreError::NotInitialised(_) | StoreError::UnknownIncident(_) => EXIT_NOT_FOUND,
                StoreError::OutOfOrder(_) => EXIT_INVALID_INPUT,
                StoreError::NotAStore(_) | StoreError::Conflict { .. } => EXIT_FAILURE,
            },
            CliError::Failed(_) => EXIT_FAILURE,
            CliError::OutputRefused(_) => EXIT_OUTPUT_REFUSED,
            CliError::Template(e) => match e {
                crate::render::template::TemplateError::Unknown { .. } => EXIT_NOT_FOUND,
                crate::render::template::TemplateError::Render { .. } => EXIT_FAILURE,
                _ => EXIT_INVALID_INPUT,
            },
            CliError::Incomplete(_) => EXIT_INCOMPLETE,
            CliError::Tampered(_) => EXIT_TAMPERED,
            CliError::Mail(e) => match e {
                crate::app::ports::MailError::Folder { .. } => EXIT_FAILURE,
                _ => EXIT_INVALID_INPUT,
            },
        }
    }

    /// What to do next, printed after the message.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            CliError::Refused(_) | CliError::Blocked(_) | CliError::Outbox(_) => {
                Some("nothing was changed")
            }
            CliError::OutputRefused(_) => Some("nothing was written"),
            CliError::Input(InputError::Invalid { .. }) => Some(
                "nothing was stored; the schemas are in schemas/ (or run `breachflow schema export DIR`)",
            ),
            CliError::Input(_)
            | CliError::InvalidArgs(_)
            | CliError::Store(StoreError::OutOfOrder(_)) => Some("nothing was stored"),
            CliError::Incomplete(_) => Some(
                "record the answers with `breachflow incident update ID --file F` (under \"details\"), or render with --draft to review",
            ),
            CliError::Store(StoreError::UnknownIncident(_)) => {
                Some("`breachflow incident list` shows the incidents in this store")
            }
            _ => None,
        }
    }
}
