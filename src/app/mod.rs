//! Use-cases over ports: what a front end (the command line today, the team server next) asks
//! breachflow to do. Each use-case takes its inputs and returns data or a typed error; none prints.

pub mod accounts;
pub mod anchor;
pub mod audit;
pub mod bulk;
pub mod bundle;
pub mod deadlines;
pub mod documents;
pub mod error;
pub mod incident;
pub mod input;
#[cfg(test)]
pub(crate) mod memory;
pub mod outbox;
pub mod ports;
pub mod recipients;
pub mod remind;
pub mod reports;
pub mod send;
#[cfg(test)]
mod tests;

pub use error::AppError;
pub use ports::{Mailer, Store, StoreError};

use chrono::{DateTime, Utc};

use crate::domain::account::{Principal, Role, UserRef};
use crate::domain::event::Identity;
use crate::domain::log::Stamp;

/// Who is acting, and the effective time of what they record.
#[derive(Debug, Clone)]
pub struct Context {
    /// The effective time: the clock, or `--now`.
    pub now: DateTime<Utc>,
    pub actor: String,
    /// How the actor is known: self-declared on the command line, authenticated by the server.
    pub identity: Identity,
    /// The signed-in user and the role their act is permitted under; none when self-declared.
    pub user: Option<UserRef>,
}

impl Context {
    /// A person acting under a name they declared themselves (the command line).
    pub fn self_declared(now: DateTime<Utc>, actor: impl Into<String>) -> Context {
        Context {
            now,
            actor: actor.into(),
            identity: Identity::SelfDeclared,
            user: None,
        }
    }

    /// A signed-in person acting under `role` (the role `domain::permission::permits` granted
    /// the command with): the log records their name, user id and that role, authenticated.
    pub fn authenticated(now: DateTime<Utc>, principal: &Principal, role: Role) -> Context {
        Context {
            now,
            actor: principal.name.clone(),
            identity: Identity::Authenticated,
            user: Some(principal.acting_as(role)),
        }
    }

    /// What a commit records of who and when.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            at: self.now,
            actor: self.actor.clone(),
            identity: self.identity,
            user: self.user.clone(),
        }
    }
}
