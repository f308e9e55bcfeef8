//! The one place that reads the wall clock.
//!
//! Two times matter (README, "Times in the log"). The effective time of what a command records
//! is the `--now` override when given, otherwise this clock. The recorded time of each event is
//! always this clock, read by the store at commit: no flag sets it. Only a build with the
//! `test-clock` feature (never a release) lets a test fix it, through
//! `BREACHFLOW_TEST_RECORDED_CLOCK` (an RFC 3339 instant, or `effective` to follow the run's
//! effective time), so that tests are repeatable.
//! Nothing outside this module may call `Utc::now()`.

use chrono::{DateTime, Utc};

/// The instant a command acts at: the `--now` override when given, otherwise the system clock.
pub fn now_or(fixed: Option<DateTime<Utc>>) -> DateTime<Utc> {
    fixed.unwrap_or_else(recorded_now)
}

/// The system clock, as the store stamps recorded times with it.
pub fn recorded_now() -> DateTime<Utc> {
    #[cfg(feature = "test-clock")]
    if let Some(fixed) = test_clock() {
        return fixed;
    }
    Utc::now()
}

/// The real time, for the server's request log: never the test clock, which fixes only what
/// the store records.
pub fn log_time() -> DateTime<Utc> {
    Utc::now()
}

/// The effective time of this run, for the test clock's `effective` mode.
#[cfg(feature = "test-clock")]
static EFFECTIVE: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();

/// Tells the clock the run's effective time (`--now`), which a `test-clock` build's
/// `BREACHFLOW_TEST_RECORDED_CLOCK=effective` follows. Does nothing in a release build.
pub fn note_effective(_at: DateTime<Utc>) {
    #[cfg(feature = "test-clock")]
    let _ = EFFECTIVE.set(_at);
}

#[cfg(feature = "test-clock")]
fn test_clock() -> Option<DateTime<Utc>> {
    let value = std::env::var("BREACHFLOW_TEST_RECORDED_CLOCK").ok()?;
    if value == "effective" {
        return EFFECTIVE.get().copied();
    }
    DateTime::parse_from_rfc3339(&value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
