//! The pure core: the law, the incident and its log, with no I/O, no clock and no printing.
//!
//! Nothing here imports sled, lettre, the file system, the network, the wall clock or an outer layer
//! (`app`, `adapters`, `render`, `cli`); `tests/cli/architecture.rs` fails if anything does.
//! Time arrives as a parameter, so every function here is a function of its arguments.

pub mod account;
pub mod adherence;
pub mod assessment;
pub mod audit;
pub mod bounds;
pub mod bundle;
pub mod casefile;
pub mod deadline;
pub mod decision;
pub mod delivery;
pub mod document;
pub mod event;
pub mod incident;
pub mod integrity;
pub mod lifecycle;
pub mod log;
pub mod obligation;
pub mod organisation;
pub mod outbox;
pub mod permission;
pub mod record;
pub mod regime;
pub mod register;
pub mod spelling;
pub mod workflow;
