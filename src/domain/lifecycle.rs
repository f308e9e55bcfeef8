//! The incident lifecycle as a pure state machine: no I/O, no clock, no store.
//!
//! ```text
//! detected --assess--> assessing --decide--> decided --notify--> notifying --monitor--> monitoring --close--> closed
//!                                               |  \--monitor--------------------------^   ^  |                 |
//!                                               \--close (nothing to notify)-----------------|--> closed         |
//!                                                                     monitoring --notify--> notifying (follow-up)
//! closed --reopen--> assessing
//! ```
//!
//! Re-assessing and re-deciding are allowed in every open state after the first assessment and
//! leave the state where it is: new facts must be able to change a decision without rewinding
//! the work already done. A refused step changes nothing and names the steps that are allowed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an incident is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Opened; no exposure assessment yet.
    Detected,
    /// At least one assessment recorded; no decision yet.
    Assessing,
    /// The DPO has decided on ICO and data-subject notification.
    Decided,
    /// Notifications are being prepared and sent.
    Notifying,
    /// Notifications done; follow-ups and monitoring continue.
    Monitoring,
    /// Closed. Reopen to change anything.
    Closed,
}

/// A lifecycle step. `assess` and `decide` are taken by their own commands; the others by
/// `breachflow incident transition ID STEP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Assess,
    Decide,
    Notify,
    Monitor,
    Close,
    Reopen,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Detected,
        State::Assessing,
        State::Decided,
        State::Notifying,
        State::Monitoring,
        State::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Detected => "detected",
            State::Assessing => "assessing",
            State::Decided => "decided",
            State::Notifying => "notifying",
            State::Monitoring => "monitoring",
            State::Closed => "closed",
        }
    }
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Assess,
        Step::Decide,
        Step::Notify,
        Step::Monitor,
        Step::Close,
        Step::Reopen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Assess => "assess",
            Step::Decide => "decide",
            Step::Notify => "notify",
            Step::Monitor => "monitor",
            Step::Close => "close",
            Step::Reopen => "reopen",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step that is not allowed from the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {step} an incident that is {state}; allowed from {state}: {}", list(.allowed))]
pub struct TransitionRefused {
    pub state: State,
    pub step: Step,
    pub allowed: Vec<Step>,
}

fn list(steps: &[Step]) -> String {
    if steps.is_empty() {
        return "none".into();
    }
    steps
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The state after `step`, or why it is refused.
pub fn next(state: State, step: Step) -> Result<State, TransitionRefused> {
    target(state, step).ok_or_else(|| TransitionRefused {
        state,
        step,
        allowed: allowed(state),
    })
}

/// Steps allowed from `state`, in lifecycle order.
pub fn allowed(state: State) -> Vec<Step> {
    Step::ALL
        .into_iter()
        .filter(|&step| target(state, step).is_some())
        .collect()
}

/// This table is the whole lifecycle.
fn target(state: State, step: Step) -> Option<State> {
    use State::*;
    use Step::*;
    match (state, step) {
        (Detected | Assessing, Assess) => Some(Assessing),
        (Decided | Notifying | Monitoring, Assess) => Some(state),
        (Assessing, Decide) => Some(Decided),
        (Decided | Notifying | Monitoring, Decide) => Some(state),
        (Decided | Monitoring, Notify) => Some(Notifying),
        (Decided | Notifying, Monitor) => Some(Monitoring),
        (Decided | Monitoring, Close) => Some(Closed),
        (Closed, Reopen) => Some(Assessing),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::*;
    use Step::*;

    /// The full table, written out by hand as a matrix: one row per state, one column per step
    /// in `Step::ALL` order (assess, decide, notify, monitor, close, reopen); `X` is refused.
    #[test]
    fn every_state_and_step() {
        const X: Option<State> = None;
        #[rustfmt::skip]
        let rows: [(State, [Option<State>; 6]); 6] = [
            (Detected,   [Some(Assessing),  X,                X,               X,                X,            X]),
            (Assessing,  [Some(Assessing),  Some(Decided),    X,               X,                X,            X]),
            (Decided,    [Some(Decided),    Some(Decided),    Some(Notifying), Some(Monitoring), Some(Closed), X]),
            (Notifying,  [Some(Notifying),  Some(Notifying),  X,               Some(Monitoring), X,            X]),
            (Monitoring, [Some(Monitoring), Some(Monitoring), Some(Notifying), X,                Some(Closed), X]),
            (Closed,     [X,                X,                X,               X,                X,            Some(Assessing)]),
        ];
        assert_eq!(Step::ALL, [Assess, Decide, Notify, Monitor, Close, Reopen]);
        let table: Vec<(State, Step, Option<State>)> = rows
            .iter()
            .flat_map(|(from, row)| Step::ALL.iter().zip(row).map(|(s, e)| (*from, *s, *e)))
            .collect();
        assert_eq!(table.len(), State::ALL.len() * Step::ALL.len());
        for &(from, step, expected) in &table {
            let got = next(from, step);
            assert_eq!(got.clone().ok(), expected, "{from} --{step}-->");
            if let Err(refused) = got {
                assert_eq!(refused.state, from);
                assert!(!refused.allowed.contains(&step));
                for ok in &refused.allowed {
                    assert!(next(from, *ok).is_ok());
                }
            }
        }
    }

    #[test]
    fn refusal_names_allowed_steps() {
        let e = next(Closed, Notify).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot notify an incident that is closed; allowed from closed: reopen"
        );
    }
}
