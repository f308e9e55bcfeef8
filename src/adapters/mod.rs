//! The edges: everything that touches the disk, the network or the wall clock.
//!
//! - [`store`]: sled, the only implementation of the `app::Store` port today, with
//!   [`group_flush`], the flush concurrent commits share, [`decoded`], records kept decoded
//!   for as long as their stored bytes are unchanged, and [`lease`]: the same store held only
//!   between network waits, for the sending commands;
//! - [`mail`]: lettre, SMTP or the outbox folder, the implementations of `app::Mailer`;
//! - [`regimes`], [`files`], [`schema`]: regime and calendar files, input files (checked by
//!   `app::input` against the JSON Schemas generated from the domain types), schema export;
//! - [`clock`]: the only wall-clock read.

pub mod clock;
pub mod decoded;
pub mod files;
pub mod group_flush;
pub mod lease;
pub mod mail;
pub mod regimes;
pub mod schema;
pub mod store;
