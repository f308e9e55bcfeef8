//! The files compiled into the binary: every regime, holiday calendar and template, listed by
//! `build.rs` from `regimes/`, `calendars/` and `templates/`, so the binary works with no files
//! beside it and its list can never fall behind the folders. Data, not I/O.

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
