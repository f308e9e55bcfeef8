//! The application layer's one error: every failure from the layers below, and the refusals
//! of the use-cases themselves.

use crate::app::input::InputError;
use crate::app::ports::StoreError;
use crate::domain::lifecycle::TransitionRefused;
use crate::domain::workflow::WorkflowError;

/// Why a use-case did not do what was asked. Front ends map it to what they speak: the CLI to
/// exit codes (`cli::error`), the server to HTTP statuses.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Refused(#[from] TransitionRefused),
    /// The outbox's transition table refused a move.
    #[error(transparent)]
    Outbox(#[from] crate::domain::outbox::MoveRefused),
    #[error(transparent)]
    Template(#[from] crate::render::template::TemplateError),
    #[error(transparent)]
    Mail(#[from] crate::app::ports::MailError),
    /// A document lacks facts it needs; every one is listed.
    #[error("{0}")]
    Incomplete(String),
    /// The log or a bundle is not what was written.
    #[error("{0}")]
    Tampered(String),
    /// `audit repair` refused: the event log itself does not verify, so nothing can be
    /// rebuilt from it.
    #[error("{0}")]
    LogBroken(String),
    /// Input given on the command line (not a file) breaks a rule.
    #[error("{0}")]
    InvalidArgs(String),
    #[error("{0}")]
    Failed(String),
    /// The step is refused while something is still owed.
    #[error("{0}")]
    Blocked(String),
    /// Sending ran, and not everyone has the message: what was recorded stands, and the
    /// shortfall says what is left to do.
    #[error("{detail}")]
    Undelivered {
        shortfall: crate::domain::outbox::Shortfall,
        detail: String,
    },
    /// An output path that would write into the data directory or through a link.
    #[error("{0}")]
    OutputRefused(String),
    /// Something named (an account, a token) that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The person is not signed in (no credentials, or ones not accepted).
    #[error("{0}")]
    Unauthenticated(String),
    /// The person is signed in, and none of their roles may do this (`domain::permission`).
    #[error("{0}")]
    Forbidden(String),
}

impl AppError {
    /// A workflow refusal; `file` names the input file the problems belong to, if any.
    pub fn from_workflow(e: WorkflowError, file: Option<&str>) -> AppError {
        match (e, file) {
            (WorkflowError::Refused(r), _) => AppError::Refused(r),
            (WorkflowError::Invalid(problems), Some(file)) => {
                AppError::Input(InputError::invalid(file, problems))
            }
            (e @ WorkflowError::Invalid(_), None) => AppError::InvalidArgs(e.to_string()),
            (WorkflowError::ReasonRequired(msg), _) => AppError::InvalidArgs(msg),
            (e @ WorkflowError::Blocked(_), _) => AppError::Blocked(e.to_string()),
            (WorkflowError::NotApproved(msg), _) => AppError::Blocked(msg),
            (WorkflowError::SameAuthor(msg), _) => AppError::Blocked(msg),
        }
    }
}
