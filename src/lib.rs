//! breachflow: a regulatory breach notification workflow engine.
//!
//! # Layout
//!
//! Four layers, each importing only the ones below it (`tests/cli/architecture.rs` checks):
//!
//! - [`cli`] (and, next, a server): flags or a request -> one [`app`] call -> output.
//! - [`app`]: the use-cases (incidents, documents, deadlines, sending, audit), over two ports,
//!   [`app::Store`] and [`app::Mailer`]. They take their inputs and return data or an
//!   [`app::AppError`]; none prints, reads a file or the clock.
//! - `adapters` (private): sled behind `Store` ([`SledStore`]), lettre behind `Mailer`,
//!   regime, calendar, template and input files, and the one wall-clock read.
//! - [`render`]: templates to text, HTML and iCalendar; pure.
//! - [`domain`]: the law and the incident, pure: no I/O, no clock, no printing.
//!
//! The public surface is `app` with the domain and render types its functions take and return,
//! [`SledStore`] for embedding (and [`LeasedStore`], the same store held only between waits),
//! and [`cli::main`] for the binary.

mod adapters;
pub mod app;
pub mod cli;
pub mod domain;
mod embedded;
pub mod render;
pub mod server;

pub use adapters::lease::LeasedStore;
pub use adapters::store::SledStore;
