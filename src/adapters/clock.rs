//! The one place that reads the wall clock.
//!
//! Every deadline and every event timestamp in breachflow is a function of an injected instant, so
//! that tests, the demo and "what if" questions can fix time with `--now` / `BREACHFLOW_NOW`.
//! Nothing outside this module may call `Utc::now()`.

use chrono::{DateTime, Utc};

/// The instant a command acts at: the `--now` override when given, otherwise the system clock.
pub fn now_or(fixed: Option<DateTime<Utc>>) -> DateTime<Utc> {
    fixed.unwrap_or_else(Utc::now)
}
