//! breachflow: a regulatory breach notification workflow engine.
//!
//! # Layout
//!
//! The pure core (no I/O, no clock reads):
//! - [`incident`]: the facts of an incident and their checks; incident ids.
//! - [`assessment`]: the exposure assessment and the ENISA severity method.
//! - [`decision`]: the recommendation that follows from the risk level, and the DPO's decision.
//! - [`lifecycle`]: the incident state machine.
//! - [`event`]: the event log's entries.
//! - [`adherence`]: deadline adherence per obligation and per regime.
//! - [`audit`]: the hash chain that makes the log tamper-evident, and its verification.
//! - [`record`]: an incident's current state as the fold of its events.
//! - [`workflow`]: each command as (record, input) -> events or refusal.
//! - [`organisation`]: the organisation profile.
//! - [`casefile`]: the facts a document is rendered from, and their names on the forms.
//! - [`document`]: document versions, their hashes and approval.
//! - [`template`]: the templates, the facts each needs, rendering to text and HTML.
//! - [`outbox`]: messages and their states (at most once), and the disclosure order.
//!
//! The edges:
//! - [`input`]: reading JSON files, validated against [`schema`]s generated from the types.
//! - [`store`]: sled; one transaction and a flush per command.
//! - [`clock`]: the only wall-clock read.
//! - [`mail`]: building messages and handing them to SMTP or the outbox folder (lettre).
//! - [`cli`]: the command line, output formats and exit codes.

pub mod adapters;
pub mod app;
pub mod cli;
pub mod domain;
mod embedded;
pub mod render;
