//! Deadline arithmetic: from a phase's terms and the instants its clock may start from, the due
//! instant and the working that led to it, in words a DPO can check by hand.
//!
//! Rules (the time-arithmetic traps each regime file's citation is read against):
//! - instants are UTC; local time only for day-based rules and for display;
//! - hours are elapsed hours: 72 hours is 72 hours across weekends, bank holidays and clock
//!   changes (we do not apply Reg 1182/71's start-at-the-next-hour rule: aware + 72 h is the
//!   stricter reading);
//! - calendar days end at `due_time` (default 23:59) on the last day, in the rule's zone;
//! - business days count from the anchor's day as day 0 and skip weekends and the named
//!   calendar's holidays; a day outside the calendar's years is an error, not a guess;
//! - months keep the date and wall-clock time, or the month's last day when it is shorter;
//! - a standard with no number ("without undue delay") has no due instant, only the internal
//!   target if the regime sets one.
//!
//! Pure: the clock is a parameter and calendars are passed in.
//!
//! Longer than our ~600-line guide: the due instant, the verdict on an instant known only to a
//! window (on time, late, indeterminate) and their hand-worked tests are one piece of arithmetic,
//! easier to check side by side.

use std::collections::BTreeMap;

use chrono::{
    DateTime, Datelike, Days, Duration, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::regime::{Anchor, Deadline, HolidayCalendar, Phase};

/// When an obligation is due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Due {
    /// A deadline set by the rule.
    At {
        at: DateTime<Utc>,
        /// The instant the clock started.
        from: DateTime<Utc>,
        /// The working, line by line.
        explain: Vec<String>,
        /// Where the clock's start is known only to a day or a month (awareness recorded as
        /// "on 7 Feb"), the latest the due instant can be; `at` is then the earliest, the
        /// stricter reading, and a verdict between the two is indeterminate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<DateTime<Utc>>,
    },
    /// A standard with no number in law; `target` is our internal target, not a deadline.
    Standard {
        standard: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<DateTime<Utc>>,
        from: DateTime<Utc>,
        explain: Vec<String>,
    },
    /// The clock waits on an instant that has not happened (or not been recorded) yet.
    NotStarted { waiting_on: Anchor },
    /// The deadline cannot be computed; never a silently wrong answer.
    Error { message: String },
}

impl Due {
    /// A clock that cannot be computed, and why.
    fn error(message: impl Into<String>) -> Due {
        Due::Error {
            message: message.into(),
        }
    }
    /// The instant to sort and warn by: the deadline, else the internal target.
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        match self {
            Due::At { at, .. } => Some(*at),
            Due::Standard { target, .. } => *target,
            _ => None,
        }
    }

    /// True when the instant is a deadline in law, not an internal target.
    pub fn is_statutory(&self) -> bool {
        matches!(self, Due::At { .. })
    }

    pub fn from(&self) -> Option<DateTime<Utc>> {
        match self {
            Due::At { from, .. } | Due::Standard { from, .. } => Some(*from),
            _ => None,
        }
    }

    pub fn explain(&self) -> Vec<String> {
        match self {
            Due::At { explain, .. } | Due::Standard { explain, .. } => explain.clone(),
            Due::NotStarted { waiting_on } => vec![format!(
                "Not started: the clock runs from {}, which has not been recorded yet.",
                anchor_words(*waiting_on)
            )],
            Due::Error { message } => vec![message.clone()],
        }
    }
}

/// How precisely an instant is known. Records often hold a date without a time ("notified the
/// ICO on 7 Feb"), a month ("late November"), or nothing: a verdict on such an instant is only as
/// sure as its bounds allow (regimes reference §5.8: compute earliest and latest bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// Known to the minute.
    #[default]
    Instant,
    /// Known to the civil day, in the organisation's zone.
    Day,
    /// Known to the civil month, in the organisation's zone.
    Month,
    /// Not known: only that it happened after the clock started and before it was recorded.
    Unknown,
}

impl Precision {
    pub fn is_instant(&self) -> bool {
        *self == Precision::Instant
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Instant => "instant",
            Precision::Day => "day",
            Precision::Month => "month",
            Precision::Unknown => "unknown",
        }
    }
}

/// The bounds of an instant known less than exactly: from `earliest` (inclusive) to `latest`
/// (exclusive: the start of the next day or month, or the moment it was recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Window {
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
}

/// What is known of when something happened, as a person records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// To the minute.
    At(DateTime<Utc>),
    /// On this civil day.
    Day(NaiveDate),
    /// In the month of this date (its first day).
    Month(NaiveDate),
    /// Not known.
    Unknown,
}

impl Known {
    pub fn precision(&self) -> Precision {
        match self {
            Known::At(_) => Precision::Instant,
            Known::Day(_) => Precision::Day,
            Known::Month(_) => Precision::Month,
            Known::Unknown => Precision::Unknown,
        }
    }

    /// The bounds of a day or month in `zone` (from its first local instant to the next
    /// period's); an exact instant and an unknown one have none here.
    pub fn window(&self, zone: Tz) -> Option<Window> {
        let (first, next) = match *self {
            Known::At(_) | Known::Unknown => return None,
            Known::Day(d) => (d, d.succ_opt()?),
            Known::Month(d) => {
                let first = d.with_day(1)?;
                (first, first.checked_add_months(Months::new(1))?)
            }
        };
        let start = |d: NaiveDate| resolve(zone, d.and_time(NaiveTime::MIN));
        Some(Window {
            earliest: start(first)?,
            latest: start(next)?,
        })
    }
}

/// A completion judged against a statutory due instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Certainly by the due instant.
    OnTime,
    /// Certainly after it: by `minutes` at least, and at most `up_to` when known only to a
    /// window.
    Late {
        minutes: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        up_to: Option<i64>,
    },
    /// The window straddles the due instant: between `early` minutes early and `late` minutes
    /// late. Never reported as on time.
    Indeterminate { early: i64, late: i64 },
}

/// Minutes from `a` to `b`, rounded up (a filing 10 seconds late is a minute late).
fn minutes_up(a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
    ((b - a).num_seconds() + 59).div_euclid(60)
}

/// The verdict against a due instant that is itself known only to a window (from `due` to
/// `until`, the clock's start known only to a day or month): on time only if done by the
/// earliest it can be, late only if done after the latest.
pub fn judge_between(
    due: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
    window: Option<Window>,
) -> Verdict {
    let Some(until) = until.filter(|u| *u > due) else {
        return judge(due, at, window);
    };
    let (first, last) = window.map_or((at, at), |w| (w.earliest, w.latest));
    if last <= due || (window.is_none() && at <= due) {
        Verdict::OnTime
    } else if first > until {
        Verdict::Late {
            minutes: minutes_up(until, first),
            up_to: Some(minutes_up(due, last)),
        }
    } else {
        Verdict::Indeterminate {
            early: (until - first).num_minutes(),
            late: minutes_up(due, last),
        }
    }
}

/// The due instant of a phase whose awareness is known only to `aware` (a day or a month):
/// computed from the window's first instant (the deadline shown, the stricter reading) and from
/// its last, which bounds it. Other anchors are exact.
pub fn compute_within(
    phase: &Phase,
    anchors: Anchors<'_>,
    aware: Option<Window>,
    zone: Tz,
    calendars: &Calendars,
) -> Due {
    let uses_awareness = phase.anchor == Anchor::Aware
        || phase
            .also_within
            .as_ref()
            .is_some_and(|l| l.anchor == Anchor::Aware);
    let Some(w) = aware.filter(|_| uses_awareness) else {
        return compute(phase, anchors, zone, calendars);
    };
    let at = |t: DateTime<Utc>| {
        move |a: Anchor| {
            if a == Anchor::Aware {
                Some(t)
            } else {
                anchors(a)
            }
        }
    };
    let early = compute(phase, &at(w.earliest), zone, calendars);
    // `latest` is the start of the next day: the last minute of the window is one before it.
    let last = w.latest - Duration::minutes(1);
    let late = compute(phase, &at(last), zone, calendars);
    match (early, late) {
        (
            Due::At {
                at,
                from,
                mut explain,
                ..
            },
            Due::At { at: until, .. },
        ) => {
            explain.insert(
                0,
                format!(
                    "Awareness is known only to a window, {} to {}: the clock is run from its first instant (the deadline shown, the stricter reading) and from its last.",
                    local(w.earliest, zone),
                    local(last, zone)
                ),
            );
            explain.push(format!(
                "From the window's last instant it would be due {} ({}): a filing between the two is indeterminate until awareness is known more precisely.",
                local(until, zone),
                until.to_rfc3339()
            ));
            Due::At {
                at,
                from,
                explain,
                until: Some(until),
            }
        }
        (early, _) => early,
    }
}

/// The verdict on something done at `at`, or within `window`, against the due instant `due`.
pub fn judge(due: DateTime<Utc>, at: DateTime<Utc>, window: Option<Window>) -> Verdict {
    match window {
        None if at <= due => Verdict::OnTime,
        None => Verdict::Late {
            minutes: minutes_up(due, at),
            up_to: None,
        },
        // `latest` is exclusive: a day ending at midnight was over by the due instant midnight.
        Some(w) if w.latest <= due => Verdict::OnTime,
        Some(w) if w.earliest > due => Verdict::Late {
            minutes: minutes_up(due, w.earliest),
            up_to: Some(minutes_up(due, w.latest)),
        },
        Some(w) => Verdict::Indeterminate {
            early: (due - w.earliest).num_minutes(),
            late: minutes_up(due, w.latest),
        },
    }
}

impl Verdict {
    /// In words: "on time", "late by 2 h", "indeterminate: between 2 h early and 22 h late".
    pub fn words(&self) -> String {
        match *self {
            Verdict::OnTime => "on time".into(),
            Verdict::Late {
                minutes: m,
                up_to: None,
            } => format!("late by {}", minutes(m)),
            Verdict::Late {
                minutes: m,
                up_to: Some(u),
            } => format!("late by {} to {}", minutes(m), minutes(u)),
            // An unrecorded time entered before the due instant: no later bound is known.
            Verdict::Indeterminate { early, late } if late <= 0 => format!(
                "indeterminate: the time was not recorded (entered before the due instant; up to {} early)",
                minutes(early)
            ),
            Verdict::Indeterminate { early, late } => format!(
                "indeterminate: between {} early and {} late",
                minutes(early),
                minutes(late)
            ),
        }
    }
}

/// The holiday calendars, by id.
#[derive(Debug, Clone, Default)]
pub struct Calendars(pub BTreeMap<String, HolidayCalendar>);

/// Instants a clock may start from, for one incident.
pub type Anchors<'a> = &'a dyn Fn(Anchor) -> Option<DateTime<Utc>>;

pub fn anchor_words(anchor: Anchor) -> &'static str {
    match anchor {
        Anchor::Aware => "awareness (aware_at)",
        Anchor::Detected => "detection (detected_at)",
        Anchor::Discovered => "discovery (HIPAA: known, or known with reasonable diligence)",
        Anchor::ClassifiedMajor => "classification as a major incident",
        Anchor::ClassifiedSignificant => "classification as a significant incident",
        Anchor::MaterialityDetermined => "the determination that the incident is material",
        Anchor::InsideInformation => "the moment the information became inside information",
        Anchor::EligibleBreach => "reasonable grounds to believe an eligible data breach happened",
        Anchor::PreviousPhase => "completion of the previous report",
        Anchor::DutyArose => "the assessment or decision that created this duty",
        Anchor::DisclosureDelayed => "the decision to delay disclosure (UK MAR Art 17(4))",
        Anchor::ConfidentialityLost => "the loss of confidentiality (a leak or rumour)",
        Anchor::SignificantImpact => {
            "the finding of a significant impact on the continuity of the essential service"
        }
        Anchor::SubstantialImpact => "the finding of a substantial impact on the digital service",
    }
}

/// Local time with abbreviation and offset, for the working.
pub fn local(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%a %-d %b %Y %H:%M %Z (%:z)")
        .to_string()
}

/// A duration in minutes as "2 d 3 h 5 min".
pub fn minutes(total: i64) -> String {
    let sign = if total < 0 { "-" } else { "" };
    let m = total.unsigned_abs();
    let (d, h, min) = (m / 1440, (m % 1440) / 60, m % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d} d"));
    }
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if min > 0 || parts.is_empty() {
        parts.push(format!("{min} min"));
    }
    format!("{sign}{}", parts.join(" "))
}

/// The due instant of a phase.
pub fn compute(phase: &Phase, anchors: Anchors<'_>, zone: Tz, calendars: &Calendars) -> Due {
    let primary = limit(phase.anchor, &phase.deadline, anchors, zone, calendars);
    let Some(also) = &phase.also_within else {
        return primary;
    };
    let second = limit(also.anchor, &also.deadline, anchors, zone, calendars);
    match (primary, second) {
        (
            Due::At {
                at: a,
                from,
                explain: mut ea,
                ..
            },
            Due::At {
                at: b, explain: eb, ..
            },
        ) => {
            ea.push("A second limit also binds:".into());
            ea.extend(eb.into_iter().map(|l| format!("  {l}")));
            // A backstop that ran out before the main clock even started no longer binds (DORA:
            // classified as major only after 24 hours -> 4 hours from classification).
            if b < from {
                ea.push("The second limit had passed before the main clock started, so the main limit applies.".into());
                ea.push(format!("Due {} ({}).", local(a, zone), a.to_rfc3339()));
                return Due::At {
                    at: a,
                    from,
                    explain: ea,
                    until: None,
                };
            }
            let at = a.min(b);
            ea.push(format!(
                "The earlier of the two is due: {} ({}).",
                local(at, zone),
                at.to_rfc3339()
            ));
            Due::At {
                at,
                from,
                explain: ea,
                until: None,
            }
        }
        // The second limit's clock has started but the primary's has not (DORA: aware, but not
        // yet classified): the backstop is already running.
        (
            Due::NotStarted { waiting_on },
            Due::At {
                at,
                from,
                mut explain,
                ..
            },
        ) => {
            explain.insert(
                0,
                format!(
                    "The main clock waits on {}; until then the backstop limit applies.",
                    anchor_words(waiting_on)
                ),
            );
            Due::At {
                at,
                from,
                explain,
                until: None,
            }
        }
        (primary, _) => primary,
    }
}

fn limit(
    anchor: Anchor,
    deadline: &Deadline,
    anchors: Anchors<'_>,
    zone: Tz,
    calendars: &Calendars,
) -> Due {
    let Some(from) = anchors(anchor) else {
        return Due::NotStarted { waiting_on: anchor };
    };
    let mut explain = vec![format!(
        "Clock starts at {}: {} ({}).",
        anchor_words(anchor),
        local(from, zone),
        from.to_rfc3339()
    )];
    // A clock that adds a length to its start: the due instant, with the rule in words.
    let elapsed = |at: Option<DateTime<Utc>>, words: String, explain: Vec<String>| match at {
        Some(at) => due_at(at, from, [explain, vec![words]].concat(), zone),
        None => Due::error("date out of range"),
    };
    match deadline {
        Deadline::Hours { hours } => elapsed(
            from.checked_add_signed(Duration::hours(i64::from(*hours))),
            format!(
                "Adds {hours} elapsed hours: weekends, bank holidays and clock changes do not stop the clock."
            ),
            explain,
        ),
        Deadline::Days {
            days,
            business_calendar,
            due_time,
            zone: rule_zone,
        } => {
            let zone = match rule_zone {
                Some(name) => match name.parse::<Tz>() {
                    Ok(z) => z,
                    Err(_) => {
                        return Due::error(format!("unknown time zone {name:?} in the regime"));
                    }
                },
                None => zone,
            };
            let due_time =
                due_time.unwrap_or(NaiveTime::from_hms_opt(23, 59, 0).unwrap_or_default());
            let start = from.with_timezone(&zone).date_naive();
            let last = match business_calendar {
                None => {
                    let Some(last) = start.checked_add_days(Days::new(u64::from(*days))) else {
                        return Due::error("date out of range");
                    };
                    explain.push(format!(
                        "Adds {days} calendar days from {} ({}): the last day is {}.",
                        start.format("%a %-d %b %Y"),
                        zone.name(),
                        last.format("%a %-d %b %Y")
                    ));
                    last
                }
                Some(id) => {
                    let Some(calendar) = calendars.0.get(id) else {
                        return Due::Error {
                            message: format!(
                                "the regime names holiday calendar {id:?}, which is not installed"
                            ),
                        };
                    };
                    match business_days(start, *days, calendar) {
                        Ok((last, skipped)) => {
                            explain.push(format!(
                                "Counts {days} business days from {} (day 0) in {}, skipping weekends and {}.",
                                start.format("%a %-d %b %Y"),
                                zone.name(),
                                calendar.name
                            ));
                            for (day, why) in skipped {
                                explain.push(format!(
                                    "  skipped {}: {why}",
                                    day.format("%a %-d %b %Y")
                                ));
                            }
                            explain
                                .push(format!("The last day is {}.", last.format("%a %-d %b %Y")));
                            last
                        }
                        Err(message) => return Due::Error { message },
                    }
                }
            };
            let at = match resolve(zone, last.and_time(due_time)) {
                Some(at) => at,
                None => {
                    return Due::error("due time does not exist");
                }
            };
            explain.push(format!(
                "Due at {} local time on that day: {} ({}).",
                due_time.format("%H:%M"),
                local(at, zone),
                at.to_rfc3339()
            ));
            Due::At {
                at,
                from,
                explain,
                until: None,
            }
        }
        Deadline::Months { months } => {
            let start = from.with_timezone(&zone).naive_local();
            let Some(end) = start.checked_add_months(Months::new(*months)) else {
                return Due::error("date out of range");
            };
            match resolve(zone, end) {
                None => Due::error("due time does not exist"),
                at => elapsed(
                    at,
                    format!(
                        "Adds {months} calendar month(s): the same date and time, or the last day of a shorter month; no roll-over to a working day."
                    ),
                    explain,
                ),
            }
        }
        Deadline::Standard {
            standard,
            target_hours,
        } => {
            explain.push(format!(
                "The rule says \"{standard}\": there is no deadline in law, so none is shown."
            ));
            let target =
                target_hours.and_then(|h| from.checked_add_signed(Duration::hours(i64::from(h))));
            if let (Some(h), Some(t)) = (target_hours, target) {
                explain.push(format!(
                    "Internal target (ours, not the law's): {h} hours after the clock start, {} ({}).",
                    local(t, zone),
                    t.to_rfc3339()
                ));
            }
            Due::Standard {
                standard: standard.clone(),
                target,
                from,
                explain,
            }
        }
    }
}

/// A local date-time as a UTC instant. An ambiguous time (the repeated hour in autumn) takes
/// the earlier instant, so a deadline is never later than the rule allows; a time that does
/// not exist (the skipped hour in spring) takes the first instant after the gap.
fn resolve(zone: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => {
            let mut probe = naive;
            for _ in 0..180 {
                probe += Duration::minutes(1);
                if let LocalResult::Single(t) = zone.from_local_datetime(&probe) {
                    return Some(t.with_timezone(&Utc));
                }
            }
            None
        }
    }
}

/// A due instant with the rest of its working: the clock changes on the way, and the result.
fn due_at(at: DateTime<Utc>, from: DateTime<Utc>, mut explain: Vec<String>, zone: Tz) -> Due {
    explain.extend(clock_changes(from, at, zone));
    explain.push(format!("Due {} ({}).", local(at, zone), at.to_rfc3339()));
    Due::At {
        at,
        from,
        explain,
        until: None,
    }
}

/// The clock changes between two instants, in words.
fn clock_changes(from: DateTime<Utc>, to: DateTime<Utc>, zone: Tz) -> Vec<String> {
    use chrono::Offset;
    let offset = |t: DateTime<Utc>| t.with_timezone(&zone).offset().fix();
    let mut lines = Vec::new();
    let mut cursor = from;
    while cursor < to {
        let next = (cursor + Duration::hours(1)).min(to);
        if offset(cursor) != offset(next) {
            // Narrow down to the minute of the change.
            let (mut lo, mut hi) = (cursor, next);
            while hi - lo > Duration::minutes(1) {
                let mid = lo + (hi - lo) / 2;
                if offset(mid) == offset(lo) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            lines.push(format!(
                "Crosses a clock change at {} UTC: {} becomes {}; the local due time moves, the elapsed time does not.",
                hi.format("%-d %b %Y %H:%M"),
                lo.with_timezone(&zone).format("%Z (%:z)"),
                hi.with_timezone(&zone).format("%Z (%:z)")
            ));
        }
        cursor = next;
    }
    lines
}

/// The day `days` business days after `start` (day 0), and the days skipped on the way.
pub fn business_days(
    start: NaiveDate,
    days: u32,
    calendar: &HolidayCalendar,
) -> Result<(NaiveDate, Vec<(NaiveDate, String)>), String> {
    let covered = |d: NaiveDate| d.year() >= calendar.first_year && d.year() <= calendar.last_year;
    if !covered(start) {
        return Err(outside(start, calendar));
    }
    let mut day = start;
    let mut counted = 0;
    let mut skipped = Vec::new();
    while counted < days {
        day = day.succ_opt().ok_or("date out of range")?;
        if !covered(day) {
            return Err(outside(day, calendar));
        }
        if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            skipped.push((day, "weekend".to_string()));
        } else if let Some(h) = calendar.holidays.iter().find(|h| h.date == day) {
            skipped.push((day, format!("{} ({})", h.name, calendar.name)));
        } else {
            counted += 1;
        }
    }
    Ok((day, skipped))
}

fn outside(day: NaiveDate, calendar: &HolidayCalendar) -> String {
    format!(
        "{} is outside the {} holiday calendar, which covers {} to {}; add the year's holidays to calendars/{}.toml (or an override) before relying on this deadline",
        day.format("%-d %b %Y"),
        calendar.name,
        calendar.first_year,
        calendar.last_year,
        calendar.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::London;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn phase(anchor: Anchor, deadline: Deadline) -> Phase {
        Phase {
            id: "p".into(),
            name: "p".into(),
            anchor,
            deadline,
            also_within: None,
            citation: None,
            content: Vec::new(),
            recipient: None,
            only_if: None,
            delayable: false,
        }
    }

    /// The due instant of one phase whose anchor happened at `from`, in London, no holidays.
    fn in_london(anchor: Anchor, deadline: Deadline, from: DateTime<Utc>) -> Due {
        compute(
            &phase(anchor, deadline),
            &|_| Some(from),
            London,
            &Calendars::default(),
        )
    }

    fn due_at(d: Due) -> DateTime<Utc> {
        match d {
            Due::At { at, .. } => at,
            other => panic!("not a deadline: {other:?}"),
        }
    }

    #[test]
    fn seventy_two_hours_across_the_autumn_change() {
        // regimes.md §5.3: aware 09:00 BST Fri 24 Oct 2025 -> due 08:00 GMT Mon 27 Oct.
        let aware = at("2025-10-24T09:00:00+01:00");
        let d = in_london(Anchor::Aware, Deadline::Hours { hours: 72 }, aware);
        assert_eq!(due_at(d.clone()), at("2025-10-27T08:00:00+00:00"));
        assert!(
            d.explain()
                .iter()
                .any(|l| l.contains("clock change at 26 Oct 2025 01:00 UTC")),
            "{:?}",
            d.explain()
        );
    }

    #[test]
    fn seventy_two_hours_across_the_spring_change() {
        // regimes.md §5.3: aware 09:00 GMT Fri 28 Mar 2025 -> due 10:00 BST Mon 31 Mar.
        let aware = at("2025-03-28T09:00:00+00:00");
        let d = in_london(Anchor::Aware, Deadline::Hours { hours: 72 }, aware);
        assert_eq!(due_at(d), at("2025-03-31T10:00:00+01:00"));
    }

    fn us_2025() -> Calendars {
        let cal = HolidayCalendar::us_2025_for_tests(
            NaiveDate::from_ymd_opt(2025, 7, 4).unwrap(),
            "Independence Day",
        );
        Calendars(BTreeMap::from([("us-federal".to_string(), cal)]))
    }

    /// SEC Item 1.05's four US business days from a materiality determination at `determined`.
    fn sec_four_business_days(determined: DateTime<Utc>, due_time: Option<NaiveTime>) -> Due {
        let deadline = Deadline::Days {
            days: 4,
            business_calendar: Some("us-federal".into()),
            due_time,
            zone: Some("America/New_York".into()),
        };
        compute(
            &phase(Anchor::MaterialityDetermined, deadline),
            &|_| Some(determined),
            London,
            &us_2025(),
        )
    }

    #[test]
    fn sec_four_business_days_over_independence_day() {
        // regimes.md §5.4: determination Thu 3 Jul 2025 -> due Thu 10 Jul (Fri 4 Jul holiday).
        let d = sec_four_business_days(
            at("2025-07-03T15:00:00-04:00"),
            NaiveTime::from_hms_opt(17, 30, 0),
        );
        let explain = d.explain();
        assert_eq!(due_at(d), at("2025-07-10T17:30:00-04:00"));
        assert!(
            explain
                .iter()
                .any(|l| l.contains("skipped Fri 4 Jul 2025: Independence Day")),
            "{explain:?}"
        );
        assert!(
            explain
                .iter()
                .any(|l| l.contains("skipped Sat 5 Jul 2025: weekend"))
        );
    }

    #[test]
    fn business_days_outside_the_calendar_are_an_error() {
        let d = sec_four_business_days(at("2025-12-30T12:00:00-05:00"), None);
        match d {
            Due::Error { message } => assert!(message.contains("covers 2025 to 2025"), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn months_clamp_to_the_end_of_a_shorter_month() {
        // 31 Jan 2025 10:00 GMT + 1 month = 28 Feb 2025 10:00 GMT.
        let from = at("2025-01-31T10:00:00Z");
        let d = in_london(Anchor::PreviousPhase, Deadline::Months { months: 1 }, from);
        assert_eq!(due_at(d), at("2025-02-28T10:00:00Z"));
        // 15 Mar 2025 09:00 GMT + 1 month = 15 Apr 2025 09:00 BST (08:00 UTC): wall-clock time kept.
        let from = at("2025-03-15T09:00:00Z");
        let d = in_london(Anchor::PreviousPhase, Deadline::Months { months: 1 }, from);
        assert_eq!(due_at(d), at("2025-04-15T08:00:00Z"));
    }

    #[test]
    fn calendar_days_end_at_the_due_time() {
        // HIPAA-style: discovered Mon 6 Jan 2025 (any time) + 60 calendar days = Fri 7 Mar 2025 23:59 GMT.
        let from = at("2025-01-06T15:00:00Z");
        let deadline = Deadline::Days {
            days: 60,
            business_calendar: None,
            due_time: None,
            zone: None,
        };
        let d = in_london(Anchor::Discovered, deadline, from);
        assert_eq!(due_at(d), at("2025-03-07T23:59:00Z"));
    }

    #[test]
    fn standards_have_no_deadline_only_a_target() {
        let from = at("2025-01-06T15:00:00Z");
        let deadline = Deadline::Standard {
            standard: "without undue delay".into(),
            target_hours: Some(24),
        };
        let d = in_london(Anchor::Aware, deadline, from);
        assert!(!d.is_statutory());
        assert_eq!(d.instant(), Some(at("2025-01-07T15:00:00Z")));
    }

    #[test]
    fn a_clock_waiting_on_a_previous_step_has_not_started() {
        let d = compute(
            &phase(Anchor::PreviousPhase, Deadline::Months { months: 1 }),
            &|_| None,
            London,
            &Calendars::default(),
        );
        assert_eq!(
            d,
            Due::NotStarted {
                waiting_on: Anchor::PreviousPhase
            }
        );
    }

    #[test]
    fn dora_backstop_binds_before_classification_and_the_earlier_limit_wins() {
        let aware = at("2025-02-03T08:00:00Z");
        let mut p = phase(Anchor::ClassifiedMajor, Deadline::Hours { hours: 4 });
        p.also_within = Some(crate::domain::regime::Limit {
            anchor: Anchor::Aware,
            deadline: Deadline::Hours { hours: 24 },
        });
        // Not yet classified: the 24-hour backstop from awareness.
        let d = compute(
            &p,
            &|a| (a == Anchor::Aware).then_some(aware),
            London,
            &Calendars::default(),
        );
        assert_eq!(due_at(d), at("2025-02-04T08:00:00Z"));
        for (classified, due, why) in [
            (
                "2025-02-04T06:00:00Z",
                "2025-02-04T08:00:00Z",
                "classified after 22 h: 4 h later would be 26 h, so the 24 h backstop wins",
            ),
            (
                "2025-02-04T14:00:00Z",
                "2025-02-04T18:00:00Z",
                "classified after 30 h: the backstop has passed, so 4 h from classification",
            ),
            (
                "2025-02-03T10:00:00Z",
                "2025-02-03T14:00:00Z",
                "classified after 2 h: 4 h from classification",
            ),
        ] {
            let classified = at(classified);
            let anchors = |a| match a {
                Anchor::Aware => Some(aware),
                Anchor::ClassifiedMajor => Some(classified),
                _ => None,
            };
            assert_eq!(
                due_at(compute(&p, &anchors, London, &Calendars::default())),
                at(due),
                "{why}"
            );
        }
    }

    #[test]
    fn a_window_is_judged_by_both_ends() {
        // Due 2 Apr 2024 21:10Z (22:10 BST). Regimes reference §5.8: date-only records give
        // earliest and latest bounds.
        let due = at("2024-04-02T21:10:00Z");
        let day = |d: &str| Known::Day(d.parse().unwrap()).window(London).unwrap();
        // 1 Apr in London = 31 Mar 23:00Z to 1 Apr 23:00Z: wholly before.
        assert_eq!(
            judge(due, at("2024-03-31T23:00:00Z"), Some(day("2024-04-01"))),
            Verdict::OnTime
        );
        // 2 Apr = 1 Apr 23:00Z to 2 Apr 23:00Z: 22 h 10 min early to 1 h 50 min late.
        let v = judge(due, at("2024-04-01T23:00:00Z"), Some(day("2024-04-02")));
        assert_eq!(
            v,
            Verdict::Indeterminate {
                early: 1330,
                late: 110
            }
        );
        assert_eq!(
            v.words(),
            "indeterminate: between 22 h 10 min early and 1 h 50 min late"
        );
        // 3 Apr = 2 Apr 23:00Z to 3 Apr 23:00Z: late by 1 h 50 min to 25 h 50 min.
        assert_eq!(
            judge(due, at("2024-04-02T23:00:00Z"), Some(day("2024-04-03"))),
            Verdict::Late {
                minutes: 110,
                up_to: Some(1550)
            }
        );
        // A month: April 2024 in London = 31 Mar 23:00Z to 30 Apr 23:00Z.
        let april = Known::Month("2024-04-01".parse().unwrap())
            .window(London)
            .unwrap();
        assert_eq!(
            (april.earliest, april.latest),
            (at("2024-03-31T23:00:00Z"), at("2024-04-30T23:00:00Z"))
        );
        // Exact instants: a second late is a minute late; on the instant is on time.
        assert_eq!(judge(due, due, None), Verdict::OnTime);
        assert_eq!(
            judge(due, due + Duration::seconds(1), None),
            Verdict::Late {
                minutes: 1,
                up_to: None
            }
        );
        // A day ending exactly at the due instant (exclusive end) is on time.
        let w = Window {
            earliest: at("2024-04-01T21:10:00Z"),
            latest: due,
        };
        assert_eq!(judge(due, w.earliest, Some(w)), Verdict::OnTime);
    }

    #[test]
    fn a_due_instant_known_to_a_window_is_judged_against_both_ends() {
        // Aware "on 10 Jan 2024" from 09:00Z (detection) to 23:59Z: 72 h gives 13 Jan 09:00Z
        // at the earliest and 23:59Z at the latest.
        let (due, until) = (at("2024-01-13T09:00:00Z"), Some(at("2024-01-13T23:59:00Z")));
        assert_eq!(
            judge_between(due, until, at("2024-01-13T08:00:00Z"), None),
            Verdict::OnTime
        );
        assert_eq!(
            judge_between(due, until, at("2024-01-13T12:00:00Z"), None),
            Verdict::Indeterminate {
                early: 719,
                late: 180
            }
        );
        assert_eq!(
            judge_between(due, until, at("2024-01-14T01:59:00Z"), None),
            Verdict::Late {
                minutes: 120,
                up_to: Some(1019)
            }
        );
        // Without a window on the due instant it is the plain judgement.
        assert_eq!(
            judge_between(due, None, at("2024-01-13T12:00:00Z"), None),
            Verdict::Late {
                minutes: 180,
                up_to: None
            }
        );
    }
}
