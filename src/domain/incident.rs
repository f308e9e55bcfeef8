//! Incident facts: what happened, when it occurred, when it was detected, and when the
//! organisation became aware of it (the instant the ICO's 72-hour clock starts).
//!
//! The same type is the intake file (`incident open --file F`) and the stored facts, so what a
//! DPO typed is what the record holds. `IncidentUpdate` is the partial update; applying it yields
//! the list of changed facts with old and new values, which the event keeps.
//!
//! Longer than our ~600-line guide: the intake facts and their checks, one type with its
//! validation and its update rules.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;

use crate::domain::deadline::{Known, Precision, Window};
use serde::{Deserialize, Serialize};

/// Human-readable incident identifier, sequential per calendar year: `BR-2024-0001`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncidentId {
    pub year: u16,
    pub number: u32,
}

impl IncidentId {
    /// Store key: big-endian year then number, so keys sort in the order incidents were opened
    /// (a string key would put BR-2024-10000 before BR-2024-9999).
    pub fn key(&self) -> [u8; 6] {
        let mut k = [0u8; 6];
        k[..2].copy_from_slice(&self.year.to_be_bytes());
        k[2..].copy_from_slice(&self.number.to_be_bytes());
        k
    }

    pub fn from_key(key: &[u8]) -> Option<IncidentId> {
        let year = u16::from_be_bytes(key.get(..2)?.try_into().ok()?);
        let number = u32::from_be_bytes(key.get(2..6)?.try_into().ok()?);
        Some(IncidentId { year, number })
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BR-{}-{:04}", self.year, self.number)
    }
}

/// The reason an incident identifier could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an incident id; expected the form BR-2024-0001")]
pub struct BadIncidentId(pub String);

impl FromStr for IncidentId {
    type Err = BadIncidentId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadIncidentId(s.to_string());
        let rest = s
            .strip_prefix("BR-")
            .or_else(|| s.strip_prefix("br-"))
            .ok_or_else(bad)?;
        let (year, number) = rest.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || number.len() < 4 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: u16 = year.parse().map_err(|_| bad())?;
        let number: u32 = number.parse().map_err(|_| bad())?;
        if number == 0 {
            return Err(bad());
        }
        Ok(IncidentId { year, number })
    }
}

impl Serialize for IncidentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl JsonSchema for IncidentId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "IncidentId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^BR-[0-9]{4}-[0-9]{4,}$",
            "description": "Incident id, sequential per year: BR-2024-0001"
        })
    }
}

impl<'de> Deserialize<'de> for IncidentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The facts of an incident, as reported at intake and corrected since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentFacts {
    /// A short title, e.g. "Ransomware on practice management servers".
    #[schemars(length(min = 1, max = 200))]
    pub title: String,
    /// What happened, what went wrong and how, in a few sentences. Do not include the breached
    /// personal data itself.
    #[schemars(length(min = 1))]
    pub summary: String,
    /// When the breach itself happened, as far as is known.
    #[serde(default)]
    pub occurred: Occurrence,
    /// When the incident was first detected (RFC 3339 with offset).
    pub detected_at: DateTime<Utc>,
    /// When the organisation became aware, with a reasonable degree of certainty, that personal
    /// data was compromised (RFC 3339 with offset). This starts the UK GDPR Art 33 72-hour clock.
    pub aware_at: DateTime<Utc>,
    /// Why awareness is later than detection. Required when `aware_at` is after `detected_at`:
    /// regulators date awareness from the first credible report, and an internal investigation
    /// does not stop the clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awareness_justification: Option<String>,
    /// How precisely `aware_at` is known: `day` or `month` when the records give only that
    /// (any instant on that day or in that month, in the organisation's zone, will do). Clocks
    /// then run from the window's first instant, and a verdict the window leaves open is
    /// indeterminate. Absent: to the minute.
    #[serde(default, skip_serializing_if = "Precision::is_instant")]
    pub aware_precision: Precision,
    /// How the organisation found out (monitoring alert, staff report, customer complaint, ...).
    #[schemars(length(min = 1))]
    pub discovery: String,
    /// Systems affected.
    #[serde(default)]
    pub systems_affected: Vec<String>,
    /// Containment so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containment: Option<String>,
    /// Which security properties of personal data were hit.
    pub impact: Impact,
    /// Whether the breach was caused by a cyber incident (the ICO form asks).
    #[serde(default)]
    pub cyber_incident: YesNoUnknown,
    /// Who reported the incident internally.
    pub reporter: Reporter,
    /// Answers the reports and notices ask for beyond the intake facts; each may be recorded
    /// later with `incident update`.
    #[serde(default, skip_serializing_if = "Details::is_empty")]
    pub details: Details,
}

/// Answers the ICO form, the Art 34 notice, the market announcement and the other regimes' reports
/// ask for. Every field is optional: an unanswered question is what `check` lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Details {
    /// What went wrong and how (the root cause, as far as is known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The name of anyone at the ICO already spoken to about this breach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ico_staff_contacted: Option<String>,
    /// Measures that were in place before the breach to prevent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measures_before: Option<String>,
    /// Actions taken or proposed to fix the breach and mitigate its effects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedial_actions: Option<String>,
    /// Steps to prevent a recurrence, and when they will be complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prevention: Option<String>,
    /// Whether a specific member of staff was involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_involved: Option<YesNoUnknown>,
    /// The data protection training of the staff involved (the ICO asks about the last two years).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_training: Option<String>,
    /// Cyber incidents: impact on the organisation (the ICO form's scale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_impact: Option<OrganisationImpact>,
    /// Cyber incidents: estimated recovery time (the ICO form's scale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_time: Option<RecoveryTime>,
    /// Whether data subjects have been told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subjects_told: Option<SubjectsTold>,
    /// Other organisations told or to be told (police, NCSC, insurer, other regulators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub others_told: Option<Vec<String>>,
    /// What data subjects can do to protect themselves, in plain language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice_to_subjects: Option<Vec<String>>,
    /// How data subjects reach us about the breach (helpline, web page); the DPO is named as well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_contact: Option<String>,
    /// Effect on the business, operations and trading, for the market and the board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_impact: Option<String>,
    /// Material impact, or reasonably likely material impact, on financial condition and results
    /// (SEC Form 8-K Item 1.05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub material_impact: Option<String>,
    /// Services affected and for how long (NIS, NIS2, DORA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_impact: Option<String>,
    /// Whether the incident has or may have an impact in other countries, and which (NIS2, DORA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_border_impact: Option<String>,
    /// Indicators of compromise, where available (NIS2 incident notification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicators_of_compromise: Option<String>,
    /// Why the report is made after its deadline (UK GDPR Art 33(1) requires the reasons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_reasons: Option<String>,
    /// The market announcement's own answers, in the company's voice (third person), written
    /// for the market rather than copied from the intake facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement: Option<Announcement>,
    /// The cyber insurer's position (notified, cover confirmed, panel firms appointed), for
    /// the board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurer_position: Option<String>,
    /// Decisions the board is asked to take, one per item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_decisions: Option<Vec<String>>,
    /// What staff should say to clients and customers who ask about the incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_message: Option<String>,
    /// The notice to the people affected (Art 34) in plain words, addressed to "you".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

/// The answers the notice to the people affected is written from, in clear and plain language
/// (Art 34(2)), addressed to the reader: short sentences, everyday words, no jargon.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// What happened, e.g. "Someone broke into our computer systems ...".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_happened: Option<String>,
    /// What it could mean for the reader: "You may get emails that ...".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_it_means: Option<String>,
    /// What the organisation is doing about it: "We have ...".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_we_are_doing: Option<String>,
}

/// The answers a regulatory news announcement is written from, each a paragraph in the
/// company's voice ("The Group has ..."). Recorded under `details.announcement`; an update may
/// give some of them, the others are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    /// The headline. Default: "Notice of Cyber Incident" for a cyber incident, otherwise
    /// "Notice of Data Security Incident".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    /// What happened, for the market: "The Group has identified ...".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_happened: Option<String>,
    /// The response: systems isolated, specialists engaged, investigation under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// Which authorities have been informed (regulators, law enforcement, NCSC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorities: Option<String>,
    /// The effect on operations and trading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operational_impact: Option<String>,
    /// What is not affected (other businesses, sites, systems).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unaffected: Option<String>,
    /// The outlook: the expected effect on results and guidance, as far as can be said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlook: Option<String>,
    /// When and how the market will be updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub further_update: Option<String>,
    /// Thanks (to staff, clients, partners), if the company wishes to give them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thanks: Option<String>,
    /// The person responsible for arranging the release of the announcement: name and
    /// position, e.g. "Jane Smith, Company Secretary".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_by: Option<String>,
}

impl Details {
    pub fn is_empty(&self) -> bool {
        self == &Details::default()
    }

    /// Overlays the answers present in `update`; returns each change with old and new values.
    fn merge(&self, update: &Details) -> (Details, Vec<FactChange>) {
        let old = serde_json::to_value(self).unwrap_or_default();
        let patch = serde_json::to_value(update).unwrap_or_default();
        let mut merged = old.clone();
        let mut changes = Vec::new();
        if let (Some(m), Some(p)) = (merged.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                let before = old.get(k).cloned().unwrap_or(serde_json::Value::Null);
                // A group of answers (the announcement's) is merged answer by answer.
                if let (Some(b), Some(vo)) = (before.as_object(), v.as_object()) {
                    let mut inner = b.clone();
                    for (ik, iv) in vo {
                        let was = b.get(ik).cloned().unwrap_or(serde_json::Value::Null);
                        if &was != iv {
                            changes.push(FactChange {
                                field: format!("details.{k}.{ik}"),
                                old: was,
                                new: iv.clone(),
                            });
                            inner.insert(ik.clone(), iv.clone());
                        }
                    }
                    m.insert(k.clone(), serde_json::Value::Object(inner));
                    continue;
                }
                if &before != v {
                    changes.push(FactChange {
                        field: format!("details.{k}"),
                        old: before,
                        new: v.clone(),
                    });
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        let next = serde_json::from_value(merged).unwrap_or_else(|_| self.clone());
        (next, changes)
    }
}

/// The ICO form's scale for a cyber incident's impact on the organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationImpact {
    /// Lost all ability to deliver critical services to all users.
    High,
    /// Lost the ability to deliver critical services to some users.
    Medium,
    /// Little or no loss of efficiency.
    Low,
    NotYetKnown,
}

/// The ICO form's scale for estimated recovery time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryTime {
    /// Predictable with existing resources.
    Regular,
    /// Predictable with additional resources.
    Supplemented,
    /// Unpredictable; additional resources needed.
    Extended,
    NotRecoverable,
    AlreadyRecovered,
    NotYetKnown,
}

/// Whether data subjects have been told (the ICO form's options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectsTold {
    Told,
    AboutToTell,
    AlreadyAware,
    PlanningToTell,
    DecidedNotToTell,
    Undecided,
}

/// When the breach happened: either end may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Occurrence {
    /// Earliest moment the breach may have started, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Latest moment it went on until, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
}

/// Confidentiality, integrity and availability: which were compromised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Impact {
    /// Unauthorised or accidental disclosure of, or access to, personal data.
    #[serde(default)]
    pub confidentiality: bool,
    /// Unauthorised or accidental alteration of personal data.
    #[serde(default)]
    pub integrity: bool,
    /// Accidental or unauthorised loss of access to, or destruction of, personal data.
    #[serde(default)]
    pub availability: bool,
}

impl Impact {
    pub fn labels(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.confidentiality {
            v.push("confidentiality");
        }
        if self.integrity {
            v.push("integrity");
        }
        if self.availability {
            v.push("availability");
        }
        v
    }
}

/// Yes, no, or not yet known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum YesNoUnknown {
    Yes,
    No,
    #[default]
    Unknown,
}

/// The person who reported the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reporter {
    /// Full name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Job title or role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(email)]
    pub email: Option<String>,
    /// Telephone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A partial update of the facts (`incident update ID --file F`): only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred: Option<Occurrence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_at: Option<DateTime<Utc>>,
    /// A corrected awareness instant. Due instants are recomputed from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aware_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awareness_justification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub discovery: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systems_affected: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cyber_incident: Option<YesNoUnknown>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Reporter>,
    /// Answers to add or correct; answers not mentioned are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
    /// Why the facts changed (kept with the change in the event log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One changed fact: its name, old value and new value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FactChange {
    pub field: String,
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

impl IncidentFacts {
    /// Where awareness is known only to a day or a month, that day or month in `zone`.
    pub fn aware_window(&self, zone: chrono_tz::Tz) -> Option<Window> {
        let date = self.aware_at.with_timezone(&zone).date_naive();
        let window = match self.aware_precision {
            Precision::Day => Known::Day(date).window(zone),
            Precision::Month => Known::Month(date).window(zone),
            Precision::Instant | Precision::Unknown => None,
        }?;
        // Awareness cannot precede detection: the window starts no earlier.
        Some(Window {
            earliest: window.earliest.max(self.detected_at.min(window.latest)),
            latest: window.latest,
        })
    }

    /// Semantic checks a JSON Schema cannot express, each with the JSON pointer of the fact.
    /// `now` refuses instants in the future: a clock cannot start at a moment yet to come.
    pub fn check(&self, now: DateTime<Utc>) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.aware_precision == Precision::Unknown {
            problems.push((
                "/aware_precision".into(),
                "awareness starts the clocks, so it must be known at least to the month: give the day or month it fell in (\"day\" or \"month\")".into(),
            ));
        }
        let blank = |s: &str| s.trim().is_empty();
        if blank(&self.title) {
            problems.push(("/title".into(), "a title is required".into()));
        }
        if self.title.chars().any(char::is_control) {
            // The title goes into email subjects, where a line break would start a new header.
            problems.push((
                "/title".into(),
                "must be one line, without control characters".into(),
            ));
        }
        if blank(&self.summary) {
            problems.push(("/summary".into(), "a summary is required".into()));
        }
        if blank(&self.discovery) {
            problems.push((
                "/discovery".into(),
                "say how the incident was discovered".into(),
            ));
        }
        if self.aware_at < self.detected_at {
            problems.push((
                "/aware_at".into(),
                format!(
                    "awareness ({}) cannot be before detection ({}); expected aware_at at or after detected_at",
                    self.aware_at.to_rfc3339(),
                    self.detected_at.to_rfc3339()
                ),
            ));
        }
        if self.aware_at > self.detected_at
            && self.awareness_justification.as_deref().is_none_or(blank)
        {
            problems.push((
                "/awareness_justification".into(),
                "aware_at is later than detected_at, so a written justification is required: regulators date awareness from the first credible report, and an internal investigation does not stop the clock".into(),
            ));
        }
        if let (Some(from), Some(to)) = (self.occurred.from, self.occurred.to)
            && from > to
        {
            problems.push((
                "/occurred/to".into(),
                "the end of the occurrence is before its start".into(),
            ));
        }
        if let Some(from) = self.occurred.from
            && from > self.detected_at
        {
            problems.push((
                "/occurred/from".into(),
                "the breach cannot start after it was detected".into(),
            ));
        }
        for (path, at) in [
            ("/detected_at", self.detected_at),
            ("/aware_at", self.aware_at),
        ] {
            if at > now {
                problems.push((
                    path.into(),
                    format!(
                        "{} is in the future (now is {})",
                        at.to_rfc3339(),
                        now.to_rfc3339()
                    ),
                ));
            }
        }
        if !(self.impact.confidentiality || self.impact.integrity || self.impact.availability) {
            problems.push((
                "/impact".into(),
                "a personal data breach compromises at least one of confidentiality, integrity or availability; set at least one to true".into(),
            ));
        }
        if blank(&self.reporter.name) {
            problems.push(("/reporter/name".into(), "a name is required".into()));
        }
        problems
    }

    /// Applies a partial update, returning the new facts and the changes with old and new values.
    /// Fields present but equal to the current value are not reported as changes.
    pub fn apply_update(&self, update: &IncidentUpdate) -> (IncidentFacts, Vec<FactChange>) {
        let mut next = self.clone();
        let mut changes = Vec::new();
        fn set<T: Clone + PartialEq + Serialize>(
            field: &str,
            slot: &mut T,
            value: &Option<T>,
            changes: &mut Vec<FactChange>,
        ) {
            if let Some(v) = value
                && slot != v
            {
                changes.push(FactChange {
                    field: field.to_string(),
                    old: serde_json::to_value(&*slot).unwrap_or_default(),
                    new: serde_json::to_value(v).unwrap_or_default(),
                });
                *slot = v.clone();
            }
        }
        set("title", &mut next.title, &update.title, &mut changes);
        set("summary", &mut next.summary, &update.summary, &mut changes);
        set(
            "occurred",
            &mut next.occurred,
            &update.occurred,
            &mut changes,
        );
        set(
            "detected_at",
            &mut next.detected_at,
            &update.detected_at,
            &mut changes,
        );
        set(
            "aware_at",
            &mut next.aware_at,
            &update.aware_at,
            &mut changes,
        );
        let justification = update.awareness_justification.clone().map(Some);
        set(
            "awareness_justification",
            &mut next.awareness_justification,
            &justification,
            &mut changes,
        );
        set(
            "discovery",
            &mut next.discovery,
            &update.discovery,
            &mut changes,
        );
        set(
            "systems_affected",
            &mut next.systems_affected,
            &update.systems_affected,
            &mut changes,
        );
        let containment = update.containment.clone().map(Some);
        set(
            "containment",
            &mut next.containment,
            &containment,
            &mut changes,
        );
        set("impact", &mut next.impact, &update.impact, &mut changes);
        set(
            "cyber_incident",
            &mut next.cyber_incident,
            &update.cyber_incident,
            &mut changes,
        );
        set(
            "reporter",
            &mut next.reporter,
            &update.reporter,
            &mut changes,
        );
        if let Some(details) = &update.details {
            let (merged, mut more) = next.details.merge(details);
            next.details = merged;
            changes.append(&mut more);
        }
        (next, changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_numerically() {
        let a: IncidentId = "BR-2024-9999".parse().unwrap();
        let b: IncidentId = "BR-2024-10000".parse().unwrap();
        assert_eq!(a.to_string(), "BR-2024-9999");
        assert_eq!(b.to_string(), "BR-2024-10000");
        assert!(a.key() < b.key());
        assert_eq!(IncidentId::from_key(&b.key()), Some(b));
        for bad in [
            "",
            "BR-24-0001",
            "BR-2024-1",
            "XX-2024-0001",
            "BR-2024-0000",
            "BR-2024-00a1",
        ] {
            assert!(bad.parse::<IncidentId>().is_err(), "{bad} accepted");
        }
    }
}
