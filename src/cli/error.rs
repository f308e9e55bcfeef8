//! The CLI's error: every failure from the layers below, with the exit code it maps to.
//!
//! Exit codes (documented in the README):
//! 0 success; 1 refused for another reason (store already initialised, output not written);
//! 2 usage error (clap); 3 store locked by another process; 4 invalid input (file or flags);
//! 5 lifecycle refused the step (or a document is not approved); 6 not found (incident,
//! organisation profile, template); 7 store damaged; 8 a document lacks facts it needs;
//! 9 the event log, a stored tree or an evidence bundle does not verify;
//! 10 an output path inside the data directory, or an existing link in its place;
//! 13 `audit repair` refused because the event log itself does not verify;
//! 14 not signed in (the team server refused the credentials); 15 signed in, and no role of
//! the person's may do this;
//! 20-22 sending ran but not everyone has the message (20 some refused or deferred, 21 none
//! delivered, 22 some uncertain: a person must decide);
//! 70 internal error (a bug: please report it).

use crate::app::AppError;
use crate::app::input::InputError;
use crate::app::ports::StoreError;
use crate::domain::outbox::Shortfall;

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
/// `audit repair` refused: the event log itself does not verify, so nothing is rebuilt from it.
pub const EXIT_LOG_BROKEN: u8 = 13;
/// Not signed in: no credentials, or ones the team server does not accept.
pub const EXIT_UNAUTHENTICATED: u8 = 14;
/// Signed in, and none of the person's roles may do this (`domain::permission`).
pub const EXIT_FORBIDDEN: u8 = 15;
/// Delivery fell short: some messages were refused for good or deferred, others delivered.
pub const EXIT_SOME_FAILED: u8 = 20;
/// Delivery fell short: nothing was delivered (refused, deferred, or the relay unreachable).
pub const EXIT_NONE_DELIVERED: u8 = 21;
/// Delivery fell short: some messages may or may not have been delivered (takes precedence).
pub const EXIT_SOME_UNCERTAIN: u8 = 22;
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
                StoreError::NotInitialised(_) | StoreError::UnknownIncident(..) => EXIT_NOT_FOUND,
                StoreError::OutOfOrder(_) => EXIT_INVALID_INPUT,
                StoreError::NotAStore(_)
                | StoreError::Conflict { .. }
                | StoreError::AccountConflict(_) => EXIT_FAILURE,
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
            CliError::LogBroken(_) => EXIT_LOG_BROKEN,
            CliError::NotFound(_) => EXIT_NOT_FOUND,
            CliError::Unauthenticated(_) => EXIT_UNAUTHENTICATED,
            CliError::Forbidden(_) => EXIT_FORBIDDEN,
            CliError::Undelivered { shortfall, .. } => match shortfall {
                Shortfall::SomeFailed => EXIT_SOME_FAILED,
                Shortfall::NoneDelivered => EXIT_NONE_DELIVERED,
                Shortfall::SomeUncertain => EXIT_SOME_UNCERTAIN,
            },
            CliError::Mail(e) => match e {
                crate::app::ports::MailError::Folder { .. } => EXIT_FAILURE,
                _ => EXIT_INVALID_INPUT,
            },
        }
    }

    /// The exit code's name, for scripts reading `--format json` errors.
    pub fn code(&self) -> &'static str {
        code_name(self.exit_code())
    }

    /// The error as the JSON document `--format json` prints on stderr:
    /// `{"error": {"code", "exit", "message", "hint", "file", "problems": [{"path", "message"}]}}`.
    /// `problems` lists each invalid input value by JSON pointer (empty when there are none).
    pub fn to_json(&self) -> serde_json::Value {
        let (file, problems) = match self {
            CliError::Input(InputError::Invalid { file, problems }) => (
                Some(file.clone()),
                problems
                    .iter()
                    .map(|p| serde_json::json!({ "path": p.pointer, "message": p.message }))
                    .collect(),
            ),
            CliError::Input(InputError::Read { file, .. } | InputError::Syntax { file, .. }) => {
                (Some(file.clone()), Vec::new())
            }
            _ => (None, Vec::new()),
        };
        serde_json::json!({
            "error": {
                "code": self.code(),
                "exit": self.exit_code(),
                "message": self.to_string(),
                "hint": self.hint(),
                "file": file,
                "problems": problems,
            }
        })
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
            CliError::Undelivered {
                shortfall: Shortfall::SomeUncertain,
                ..
            } => Some(
                "check with the recipients or the mail server's log, then `breachflow outbox resolve KEY --sent | --resend` (bulk: `outbox resolve ID --bulk DOC --uncertain --sent | --resend`)",
            ),
            CliError::Undelivered { .. } => Some(
                "what was sent is recorded; fix the relay or the addresses, then `breachflow outbox deliver` (deferred messages) or `notify-subjects ... --retry-failed`; `outbox recipients ID DOC --csv` lists each recipient's state",
            ),
            CliError::Store(StoreError::UnknownIncident(..)) => {
                Some("`breachflow incident list` shows the incidents in this store")
            }
            _ => None,
        }
    }
}

/// The name of an exit code, as documented in the README.
pub fn code_name(exit: u8) -> &'static str {
    match exit {
        0 => "ok",
        EXIT_FAILURE => "failed",
        EXIT_USAGE => "usage",
        EXIT_LOCKED => "store_locked",
        EXIT_INVALID_INPUT => "invalid_input",
        EXIT_REFUSED => "refused",
        EXIT_NOT_FOUND => "not_found",
        EXIT_DAMAGED => "store_damaged",
        EXIT_INCOMPLETE => "incomplete",
        EXIT_TAMPERED => "does_not_verify",
        EXIT_LOG_BROKEN => "repair_refused",
        EXIT_UNAUTHENTICATED => "unauthenticated",
        EXIT_FORBIDDEN => "forbidden",
        EXIT_SOME_FAILED => "some_failed",
        EXIT_NONE_DELIVERED => "none_delivered",
        EXIT_SOME_UNCERTAIN => "some_uncertain",
        EXIT_INTERNAL => "internal",
        _ => "other",
    }
}
