//! Deadline adherence: for each obligation, when its clock started, when it was due, when it was
//! met, and whether on time; per regime and phase (the initial report apart from the follow-up,
//! whose clock starts at the initial filing), the share on time and the median and worst time
//! to notify. What compliance reads months later. Pure: records in, rows out.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::deadline::{Due, Verdict};
use crate::domain::obligation::ObligationState;
use crate::domain::record::IncidentRecord;

/// How an obligation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Met by its statutory deadline.
    OnTime,
    /// Met after its statutory deadline.
    Late,
    /// Met, but known only to a day, a month or not at all, and that window straddles the
    /// deadline: neither on time nor late, counted apart, never as on time.
    Indeterminate,
    /// Met; the law sets no number ("without undue delay"), so neither on time nor late, and
    /// by our internal target if there is one.
    MetNoDeadline,
    /// Met; the law sets no number, but it was met after our internal target.
    AfterTarget,
    /// Decided not required, with a reason.
    Waived,
    /// Still owed, deadline not yet passed (or no statutory deadline).
    Open,
    /// Still owed, statutory deadline passed.
    Overdue,
    /// Waiting on an earlier step or decision.
    NotStarted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::OnTime => "on time",
            Status::Late => "late",
            Status::Indeterminate => "indeterminate",
            Status::MetNoDeadline => "met (no deadline in law)",
            Status::AfterTarget => "met after our internal target (no deadline in law)",
            Status::Waived => "waived",
            Status::Open => "open",
            Status::Overdue => "overdue",
            Status::NotStarted => "not started",
        }
    }
}

/// One obligation of one incident.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub incident: String,
    pub incident_title: String,
    pub aware_at: DateTime<Utc>,
    pub obligation: String,
    /// The phase's name, e.g. "Initial report to the ICO".
    pub phase: String,
    /// Whether this is the regime's first phase (no earlier filing starts its clock).
    #[serde(skip)]
    pub first_phase: bool,
    pub regime: String,
    pub regime_name: String,
    pub recipient: String,
    /// When its clock started.
    pub clock_start: Option<DateTime<Utc>>,
    /// The deadline in law, or the internal target for a standard.
    pub due: Option<DateTime<Utc>>,
    pub statutory: bool,
    pub met_at: Option<DateTime<Utc>>,
    pub reference: Option<String>,
    pub status: Status,
    pub late_by_minutes: Option<i64>,
    /// The verdict in words where the filing's time is known only to a window, e.g.
    /// "indeterminate: between 22 h 10 min early and 1 h 50 min late (known only to the day)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision_note: Option<String>,
    /// Hours from the clock's start to meeting it.
    pub hours_to_notify: Option<f64>,
    /// Hours the law allowed (deadline minus clock start).
    pub hours_allowed: Option<f64>,
    /// The late reason, or the waiver's reason.
    pub reason: Option<String>,
    /// When the filing was written up more than the tolerance after it happened: "recorded
    /// Sat 6 Dec 2025 09:20 GMT (+00:00), 3 d later, by Priya Raman (self-declared)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_later: Option<String>,
    /// Something an auditor must not miss about this row, e.g. a filing whose clock never
    /// started (no trigger was recorded), so it has no due instant to be judged against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// The counts and times for one phase of one regime (the initial report and the follow-up
/// are apart: a follow-up's clock starts at the initial filing, so one median of both says
/// nothing about either).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub regime: String,
    pub regime_name: String,
    /// The obligation's id, `regime/phase`.
    pub obligation: String,
    /// The phase's name.
    pub phase: String,
    pub obligations: usize,
    pub on_time: usize,
    pub late: usize,
    /// Met within a window that straddles the deadline (time not recorded precisely enough).
    pub indeterminate: usize,
    pub met_no_deadline: usize,
    /// Met after our internal target, where the law sets no number.
    pub after_target: usize,
    pub waived: usize,
    pub open: usize,
    pub overdue: usize,
    /// On time among those with a statutory deadline that were met; none if none were.
    pub share_on_time: Option<f64>,
    pub median_hours_to_notify: Option<f64>,
    pub worst_hours_to_notify: Option<f64>,
    /// Filings recorded later than they happened (backfilled), which an auditor weighs.
    pub recorded_later: usize,
}

/// A whole adherence report: what every format of it is written from.
#[derive(Debug, Clone)]
pub struct Adherence {
    /// The organisation's name.
    pub organisation: String,
    /// The organisation's zone, for instants in words.
    pub zone: chrono_tz::Tz,
    pub generated_at: DateTime<Utc>,
    pub filter: Filter,
    /// Every incident in the store (the page counts them all).
    pub records: Vec<IncidentRecord>,
    pub rows: Vec<Row>,
    pub summaries: Vec<Summary>,
}

/// Which incidents and regimes to report on.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Incidents whose awareness falls on or after this day (UTC).
    pub from: Option<NaiveDate>,
    /// ... and on or before this day.
    pub to: Option<NaiveDate>,
    pub regime: Option<String>,
}

fn hours(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_seconds() as f64 / 3600.0
}

/// The rows for `records`, as of `now`, incident by incident.
pub fn rows<'a>(
    records: impl IntoIterator<Item = &'a IncidentRecord>,
    filter: &Filter,
    now: DateTime<Utc>,
) -> Vec<Row> {
    let mut out = Vec::new();
    for r in records {
        let day = r.facts.aware_at.date_naive();
        if filter.from.is_some_and(|f| day < f) || filter.to.is_some_and(|t| day > t) {
            continue;
        }
        for o in &r.obligations {
            if o.state == ObligationState::Retired {
                continue;
            }
            if filter.regime.as_ref().is_some_and(|g| g != &o.regime) {
                continue;
            }
            // A filing judges against the due instant frozen with it.
            let due = o.completion.as_ref().map(|c| &c.due).unwrap_or(&o.due);
            let clock_start = due.from();
            let statutory = due.is_statutory();
            let at = due.instant();
            let (status, met_at, reason) = match (&o.completion, &o.waiver) {
                (Some(c), _) => (
                    match (c.verdict(), at) {
                        (Some(Verdict::Late { .. }), _) => Status::Late,
                        (Some(Verdict::Indeterminate { .. }), _) => Status::Indeterminate,
                        (Some(Verdict::OnTime), _) => Status::OnTime,
                        (None, Some(target)) if c.at > target => Status::AfterTarget,
                        (None, _) => Status::MetNoDeadline,
                    },
                    Some(c.at),
                    c.late_reason.clone(),
                ),
                (None, Some(w)) => (Status::Waived, None, Some(w.reason.clone())),
                (None, None) => (
                    match due {
                        Due::NotStarted { .. } | Due::Error { .. } => Status::NotStarted,
                        Due::At { at, .. } if now > *at => Status::Overdue,
                        _ => Status::Open,
                    },
                    None,
                    None,
                ),
            };
            let warning = match (&o.completion, due) {
                (Some(_), Due::NotStarted { waiting_on }) => Some(format!(
                    "met, but its clock never started: it waits on {}, which was not recorded when it was met, so there is no due instant to judge it against",
                    crate::domain::deadline::anchor_words(*waiting_on)
                )),
                _ => None,
            };
            out.push(Row {
                incident: r.id.to_string(),
                incident_title: r.facts.title.clone(),
                aware_at: r.facts.aware_at,
                obligation: o.id.clone(),
                phase: o.phase.name.clone(),
                first_phase: o.previous.is_none(),
                regime: o.regime.clone(),
                regime_name: o.regime_name.clone(),
                recipient: o.recipient.clone(),
                clock_start,
                due: at,
                statutory,
                met_at,
                reference: o.completion.as_ref().and_then(|c| c.reference.clone()),
                status,
                late_by_minutes: o.completion.as_ref().and_then(|c| c.late_by_minutes),
                precision_note: o
                    .completion
                    .as_ref()
                    .filter(|c| !c.precision.is_instant())
                    .map(|c| match c.verdict() {
                        Some(v) => {
                            format!("{} (known only to the {})", v.words(), c.precision.as_str())
                        }
                        None => format!("known only to the {}", c.precision.as_str()),
                    }),
                // A time known only to a window gives no figure for the median or the worst.
                hours_to_notify: match (clock_start, met_at, &o.completion) {
                    (Some(s), Some(m), Some(c)) if c.precision.is_instant() => Some(hours(s, m)),
                    _ => None,
                },
                hours_allowed: match (clock_start, at, statutory) {
                    (Some(s), Some(d), true) => Some(hours(s, d)),
                    _ => None,
                },
                reason,
                recorded_later: None,
                warning,
            });
        }
    }
    out
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// One summary per phase of each regime: regimes in order, each regime's first phase first.
pub fn summarise(rows: &[Row]) -> Vec<Summary> {
    let mut phases: Vec<(&str, bool, &str)> = rows
        .iter()
        .map(|r| (r.regime.as_str(), !r.first_phase, r.obligation.as_str()))
        .collect();
    phases.sort();
    phases.dedup();
    phases
        .into_iter()
        .map(|(_, _, obligation)| {
            let of: Vec<&Row> = rows.iter().filter(|r| r.obligation == obligation).collect();
            let first = of[0];
            let count = |s: Status| of.iter().filter(|r| r.status == s).count();
            let (on_time, late) = (count(Status::OnTime), count(Status::Late));
            let mut times: Vec<f64> = of.iter().filter_map(|r| r.hours_to_notify).collect();
            let worst = times.iter().copied().reduce(f64::max);
            Summary {
                regime: first.regime.clone(),
                regime_name: first.regime_name.clone(),
                obligation: obligation.to_string(),
                phase: first.phase.clone(),
                obligations: of.len(),
                on_time,
                late,
                indeterminate: count(Status::Indeterminate),
                met_no_deadline: count(Status::MetNoDeadline),
                after_target: count(Status::AfterTarget),
                waived: count(Status::Waived),
                open: count(Status::Open) + count(Status::NotStarted),
                overdue: count(Status::Overdue),
                share_on_time: (on_time + late > 0)
                    .then(|| on_time as f64 / (on_time + late) as f64),
                median_hours_to_notify: median(&mut times),
                worst_hours_to_notify: worst,
                recorded_later: of.iter().filter(|r| r.recorded_later.is_some()).count(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo's record as an earlier release stored it (`tests/fixtures`), with `edit`
    /// applied to the JSON of its aim-rule-11 announcement.
    fn fixture_rows(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<Row> {
        let shown: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/store-0.1.0-show.json"))
                .unwrap();
        let mut record = shown["incident"].clone();
        let aim = record["obligations"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|o| o["id"] == "aim-rule-11/announcement")
            .unwrap();
        edit(aim);
        let record: IncidentRecord = serde_json::from_value(record).unwrap();
        let now = "2024-05-01T00:00:00Z".parse().unwrap();
        rows([&record], &Filter::default(), now)
    }

    #[test]
    fn a_filing_whose_clock_never_started_is_flagged_and_one_after_its_target_is_not_met() {
        let row = |rows: &[Row]| {
            rows.iter()
                .find(|r| r.obligation == "aim-rule-11/announcement")
                .unwrap()
                .clone()
        };
        // As stored: sent at 08:00 BST on 1 Apr, its 4-hour target from the inside-information
        // moment (31 Mar 16:30 BST) long passed.
        let sent = row(&fixture_rows(|_| {}));
        assert_eq!(sent.status, Status::AfterTarget, "{sent:?}");
        assert_eq!(sent.warning, None);
        // The same filing frozen against a clock that had not started (a store written before
        // the inside-information step was required).
        let unstarted = row(&fixture_rows(|o| {
            o["completion"]["due"] = serde_json::json!({
                "kind": "not_started",
                "waiting_on": "inside_information"
            });
        }));
        assert_eq!(unstarted.status, Status::MetNoDeadline);
        assert!(
            unstarted
                .warning
                .as_deref()
                .is_some_and(|w| w.contains("clock never started")),
            "{unstarted:?}"
        );
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
