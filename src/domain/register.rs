//! The breach register (UK GDPR Art 33(5)): one entry per incident, notified or not, with the
//! facts, the assessment, the decision and the regulator filing. Pure: a record in, an entry out.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::assessment::RiskLevel;
use crate::domain::record::{DecisionVersion, IncidentRecord};

/// One assessment as the register lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssessmentLine {
    pub version: u32,
    pub at: DateTime<Utc>,
    pub by: String,
    pub level: RiskLevel,
    pub score: f64,
}

/// One incident's entry. Its JSON keys are written in order (it is encoded through
/// `serde_json::Value`), and the CSV has [`RegisterEntry::COLUMNS`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterEntry {
    pub id: String,
    pub title: String,
    pub state: String,
    pub detected_at: DateTime<Utc>,
    pub aware_at: DateTime<Utc>,
    pub occurred_from: Option<DateTime<Utc>>,
    pub occurred_to: Option<DateTime<Utc>>,
    pub facts: String,
    pub data_categories: Option<String>,
    pub subjects: Option<String>,
    pub risk_level: Option<String>,
    pub effects: Option<String>,
    pub remedial_action: Option<String>,
    pub notify_ico: Option<bool>,
    pub tell_subjects: Option<bool>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reasoning: Option<String>,
    /// The regulator filing: the obligation of the regime phase marked `register_phase`.
    pub ico_filed_at: Option<DateTime<Utc>>,
    pub ico_reference: Option<String>,
    pub late_reason: Option<String>,
    /// When the regulator filing was written up later than it happened: "recorded ..., 3 d
    /// later, by ... (self-declared)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ico_filing_recorded_later: Option<String>,
    /// Where the filing's time is known only to a day or a month, or not at all: how precisely,
    /// its window and the verdict ("day: 2024-04-01T23:00:00+00:00 to 2024-04-02T23:00:00+00:00;
    /// indeterminate: between 22 h 10 min early and 1 h 50 min late"); `ico_filed_at` is then
    /// the window's start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ico_filed_precision: Option<String>,
    pub decisions: Vec<DecisionVersion>,
    pub assessments: Vec<AssessmentLine>,
}

impl RegisterEntry {
    /// The CSV columns, in order.
    pub const COLUMNS: [&'static str; 23] = [
        "id",
        "title",
        "state",
        "detected_at",
        "aware_at",
        "occurred_from",
        "occurred_to",
        "facts",
        "data_categories",
        "subjects",
        "risk_level",
        "effects",
        "remedial_action",
        "notify_ico",
        "tell_subjects",
        "decided_by",
        "decided_at",
        "decision_reasoning",
        "ico_filed_at",
        "ico_reference",
        "late_reason",
        "ico_filing_recorded_later",
        "ico_filed_precision",
    ];

    /// The entry for `r`. `filings` are the obligation ids (`regime/phase`) whose filing the
    /// register records, from the regimes' `register_phase`; the first the incident has counts.
    pub fn of(r: &IncidentRecord, filings: &[String]) -> RegisterEntry {
        let f = &r.facts;
        let a = r.assessments.last();
        let d = r.decisions.last();
        let filed = filings
            .iter()
            .find_map(|id| r.obligations.iter().find(|o| &o.id == id))
            .and_then(|o| o.completion.as_ref());
        let remedial: Vec<&str> = [
            f.containment.as_deref(),
            f.details.remedial_actions.as_deref(),
            f.details.prevention.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        RegisterEntry {
            id: r.id.to_string(),
            title: f.title.clone(),
            state: r.state.to_string(),
            detected_at: f.detected_at,
            aware_at: f.aware_at,
            occurred_from: f.occurred.from,
            occurred_to: f.occurred.to,
            facts: f.summary.clone(),
            data_categories: a.map(|a| {
                a.input
                    .data_categories
                    .iter()
                    .map(|c| c.label())
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
            subjects: a.map(|a| a.input.subjects.to_string()),
            risk_level: a.map(|a| a.severity.level.to_string()),
            effects: a.and_then(|a| a.input.consequences_description.clone()),
            remedial_action: (!remedial.is_empty()).then(|| remedial.join(" ")),
            notify_ico: d.map(|d| d.decision.notify_ico),
            tell_subjects: d.map(|d| d.decision.tell_subjects),
            decided_by: d.map(|d| d.by.clone()),
            decided_at: d.map(|d| d.at),
            decision_reasoning: d.map(|d| {
                let mut parts = vec![d.decision.recommendation.basis.clone()];
                if !d.decision.follows_recommendation {
                    parts.push("The DPO overrode the recommendation.".into());
                }
                parts.extend(d.decision.reasoning.iter().cloned());
                if let Some(r) = &d.decision.reason {
                    parts.push(format!("DPO: {r}"));
                }
                parts.join(" ")
            }),
            ico_filed_at: filed.map(|c| c.at),
            ico_reference: filed.and_then(|c| c.reference.clone()),
            ico_filing_recorded_later: None,
            ico_filed_precision: filed.filter(|c| !c.precision.is_instant()).map(|c| {
                let window = c
                    .window
                    .map(|w| format!(": {} to {}", w.earliest.to_rfc3339(), w.latest.to_rfc3339()))
                    .unwrap_or_default();
                let verdict = c
                    .verdict()
                    .map(|v| format!("; {}", v.words()))
                    .unwrap_or_default();
                format!("{}{window}{verdict}", c.precision.as_str())
            }),
            late_reason: filed.and_then(|c| c.late_reason.clone()),
            decisions: r.decisions.clone(),
            assessments: r
                .assessments
                .iter()
                .map(|a| AssessmentLine {
                    version: a.version,
                    at: a.at,
                    by: a.by.clone(),
                    level: a.severity.level,
                    score: a.severity.score,
                })
                .collect(),
        }
    }

    /// The CSV cells, in [`RegisterEntry::COLUMNS`] order: strings as they are, nothing for
    /// none, anything else in its JSON form.
    pub fn cells(&self) -> Vec<String> {
        let v = serde_json::to_value(self).unwrap_or_default();
        Self::COLUMNS
            .iter()
            .map(|c| match &v[*c] {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .collect()
    }
}
