//! Regimes as data: who must be told what, by when, under which law.
//!
//! Each regime is a TOML file in `regimes/` (embedded in the binary) or in the user's override
//! folder (`--regimes-dir`), checked against `schemas/regime.schema.json`. A regime names its
//! legal citation, the dates it is in force, when it applies (organisation flags and assessment
//! conditions), its recipient, and its phases, each with the instant that starts its clock, its
//! deadline and the content it requires. Facts we could not verify carry a † in `unverified`,
//! so a DPO can see what we are unsure of.
//!
//! This module holds the types, the dates a regime is in force and its conditions in words;
//! whether one applies to an incident is `obligation::applies`, loading the files is
//! `adapters::regimes`, the clock arithmetic `deadline.rs`.
//!
//! Longer than our ~600-line guide: the types are one file format (a regime, its phases,
//! calendars and the days added to them), documented field by field because the JSON Schema
//! users read is generated from these comments.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::assessment::RiskLevel;
use crate::domain::deadline::Calendars;

/// A notification regime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Regime {
    /// Stable identifier, lower case with dashes, e.g. "uk-gdpr-art33". A file in the override
    /// folder with the same id replaces the built-in regime.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    pub id: String,
    /// Name as a DPO would say it.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Jurisdiction, e.g. "UK", "EU", "US", "AU".
    #[schemars(length(min = 1))]
    pub jurisdiction: String,
    /// The legal source, precise enough to look up.
    #[schemars(length(min = 1))]
    pub citation: String,
    /// Who is notified.
    #[schemars(length(min = 1))]
    pub recipient: String,
    /// Address-book role that owns the obligation (dpo, legal, comms, ...).
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]*$"))]
    pub owner_role: String,
    /// First day the rule is in force, a civil date in the regime's `zone`. An incident is judged
    /// by the rules in force on the day the organisation became aware, that day being read in
    /// the regime's own zone (00:30 BST on the first day is under the rule, though in UTC it is
    /// still the day before).
    pub effective_from: NaiveDate,
    /// Last day the rule is in force, if it has been replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_to: Option<NaiveDate>,
    /// When the regime applies.
    #[serde(default)]
    pub applies: Applies,
    /// The DPO's decision that governs this regime: once decided, "yes" creates the obligation
    /// even below the threshold, and "no" waives it with the decision's reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows_decision: Option<DecisionLink>,
    /// The phase whose filing the breach register records as the regulator filing (its
    /// `ico_filed_at`, `ico_reference` and `late_reason` columns), e.g. "initial".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register_phase: Option<String>,
    /// The regime's clock as the timeline names it at the moment of awareness, e.g.
    /// "UK GDPR Art 33": set on the one regime whose clock the timeline shows starting there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awareness_clock: Option<String>,
    /// The reports or notices, in order. A later phase may start its clock from the previous one.
    #[schemars(length(min = 1))]
    pub phases: Vec<Phase>,
    /// Facts in this file that are not verified against the primary text (marked † in the
    /// reference). Shown wherever the regime's obligations are shown.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub unverified: Vec<String>,
    /// Anything else a DPO should know when reading the obligation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The obligation is itself the market disclosure (an announcement through a regulatory
    /// news service): once it is sent or filed, the disclosure order counts the market as told.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub market_disclosure: bool,
    /// IANA zone whose civil dates `effective_from` and `effective_to` are. Default by
    /// jurisdiction: UK Europe/London, EU Europe/Brussels, US America/New_York, AU
    /// Australia/Sydney, anything else UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// One continuous duty may be named by different instruments over time (the GDPR as applied
    /// in the UK until IP completion day, then the UK GDPR). Each period overrides the regime's
    /// name and citations for an awareness instant within it; outside every period the regime's
    /// own are used.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub citations: Vec<CitationPeriod>,
    /// How the recipient authority is found when it depends on where the organisation is
    /// established and where the affected people live (absent: `recipient`, once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<AuthorityRule>,
    /// The territorial and entity conditions in words, as `regimes` lists them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territory: Option<String>,
}

/// How the authority to notify is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityRule {
    /// GDPR: with an EU main establishment, its lead supervisory authority (Art 56), once;
    /// without one (Art 3(2) only), every authority of a member state where affected people
    /// reside, one obligation each, `<regime>-<country>/<phase>` (EDPB GL 9/2022 para 73).
    EuOneStopShop,
}

/// How a duty was cited during one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CitationPeriod {
    /// First instant of the period (absent: from the regime's start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// The instant the period ends, not itself in it (absent: open-ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// The regime's name in this period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The regime's citation in this period.
    #[schemars(length(min = 1))]
    pub citation: String,
    /// Phase citations in this period, by phase id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub phases: BTreeMap<String, String>,
}

impl CitationPeriod {
    fn covers(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| f <= at) && self.until.is_none_or(|u| at < u)
    }
}

/// The zone a jurisdiction's dates are read in, when the regime does not name one.
pub fn default_zone(jurisdiction: &str) -> Tz {
    match jurisdiction {
        "UK" => chrono_tz::Europe::London,
        "EU" => chrono_tz::Europe::Brussels,
        "US" => chrono_tz::America::New_York,
        "AU" => chrono_tz::Australia::Sydney,
        _ => chrono_tz::UTC,
    }
}

impl Regime {
    /// The zone its effective dates are read in (a name the loader has checked).
    pub fn zone(&self) -> Tz {
        self.zone
            .as_deref()
            .and_then(|z| z.parse().ok())
            .unwrap_or_else(|| default_zone(&self.jurisdiction))
    }

    /// Whether the rule was in force at `at`, read as a civil date in the regime's zone.
    pub fn in_force_at(&self, at: DateTime<Utc>) -> bool {
        let day = at.with_timezone(&self.zone()).date_naive();
        self.effective_from <= day && self.effective_to.is_none_or(|to| day <= to)
    }

    /// Its territorial and entity conditions in words, for listings.
    pub fn conditions(&self) -> String {
        let names = |flags: &[OrgFlag]| flags.iter().map(OrgFlag::name).collect::<Vec<_>>();
        let a = &self.applies;
        let mut parts = Vec::new();
        if !a.org_any.is_empty() {
            parts.push(format!("entity: {}", names(&a.org_any).join(" or ")));
        }
        if !a.org_all.is_empty() {
            parts.push(format!("entity: {}", names(&a.org_all).join(" and ")));
        }
        if !a.territory_any.is_empty() {
            parts.push(format!(
                "territory: {}",
                names(&a.territory_any).join(" or ")
            ));
        }
        if let Some(min) = a.min_risk {
            parts.push(format!("risk at least {min}"));
        }
        if let Some(n) = a.min_subjects {
            parts.push(format!("{n} or more people"));
        }
        if let Some(n) = a.min_in_one_state {
            parts.push(format!("{n} or more residents of one State"));
        }
        if let Some(n) = a.below_subjects {
            parts.push(format!("fewer than {n} people"));
        }
        if let Some(t) = a.requires_trigger {
            parts.push(format!("only once {} is recorded", t.as_str()));
        }
        if let Some(t) = &self.territory {
            parts.push(t.clone());
        }
        parts.join("; ")
    }

    /// The citation period covering `at`, if any.
    pub fn period_at(&self, at: DateTime<Utc>) -> Option<&CitationPeriod> {
        self.citations.iter().find(|p| p.covers(at))
    }

    /// The regime's name as cited at `at`.
    pub fn name_at(&self, at: DateTime<Utc>) -> String {
        self.period_at(at)
            .and_then(|p| p.name.clone())
            .unwrap_or_else(|| self.name.clone())
    }

    /// A phase's citation as cited at `at`: the period's for that phase, else the phase's own,
    /// else the period's or the regime's general citation.
    pub fn phase_citation_at(&self, phase: &Phase, at: DateTime<Utc>) -> String {
        match self.period_at(at) {
            Some(p) => p
                .phases
                .get(&phase.id)
                .cloned()
                .unwrap_or_else(|| p.citation.clone()),
            None => phase
                .citation
                .clone()
                .unwrap_or_else(|| self.citation.clone()),
        }
    }
}

/// Conditions under which a regime applies. All given conditions must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Applies {
    /// The organisation has at least one of these flags (empty: any organisation).
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub org_any: Vec<OrgFlag>,
    /// The organisation has all of these flags.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub org_all: Vec<OrgFlag>,
    /// The current assessment's risk level is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_risk: Option<RiskLevel>,
    /// The upper estimate of people affected is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_subjects: Option<u64>,
    /// More than this minus one residents of one US State are affected (HIPAA 164.406: 501,
    /// "more than 500"). Without counts per State, the total is the cautious reading and the
    /// threshold is shown as indeterminate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_in_one_state: Option<u64>,
    /// The upper estimate of people affected is below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below_subjects: Option<u64>,
    /// Territorial scope: the organisation has at least one of these flags (empty: anywhere),
    /// e.g. `["uk_establishment", "targets_uk"]` for UK GDPR Art 3(1)-(2).
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub territory_any: Vec<OrgFlag>,
    /// A significance gate: the regime applies only once this instant has been recorded with
    /// `incident trigger` (NIS2: classified_significant; DORA: classified_major).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_trigger: Option<Anchor>,
}

/// Which part of the DPO's decision a regime follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionLink {
    /// Whether the supervisory authority is notified (Art 33).
    NotifyIco,
    /// Whether data subjects are told (Art 34).
    TellSubjects,
}

/// Facts about the organisation that regimes test, derived from its profile.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OrgFlag {
    /// Controller of the data (profile `role`).
    Controller,
    /// Processor of the data (profile `role`).
    Processor,
    /// Public electronic communications service provider.
    CommunicationsProvider,
    /// UK NIS operator of essential services.
    NisOperatorOfEssentialServices,
    /// UK NIS relevant digital service provider.
    NisDigitalServiceProvider,
    /// NIS2 essential or important entity.
    Nis2Entity,
    /// Admitted to AIM.
    ListedAim,
    /// Admitted to the Main Market.
    ListedMainMarket,
    /// Listed on a US exchange.
    ListedUsExchange,
    /// SEC registrant.
    SecRegistrant,
    /// Has an EU establishment.
    EuEstablishment,
    /// DORA financial entity.
    FinancialEntity,
    /// FCA-regulated firm.
    FcaRegulated,
    /// HIPAA covered entity.
    HipaaCoveredEntity,
    /// HIPAA business associate.
    HipaaBusinessAssociate,
    /// Covered by Australia's NDB scheme.
    AustralianPrivacyAct,
    /// Has an establishment in the UK (profile `establishments` includes "GB").
    UkEstablishment,
    /// Offers goods or services to, or monitors, people in the UK (UK GDPR Art 3(2)).
    TargetsUk,
    /// Offers goods or services to, or monitors, people in the EU (GDPR Art 3(2)).
    TargetsEu,
}

impl OrgFlag {
    /// The name the regime files and the profile use, e.g. `uk_establishment`.
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// One report or notice of a regime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Identifier within the regime, e.g. "initial", "final".
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    pub id: String,
    /// Name, e.g. "Initial notification".
    #[schemars(length(min = 1))]
    pub name: String,
    /// What starts this phase's clock.
    pub anchor: Anchor,
    /// The deadline, counted from the anchor.
    pub deadline: Deadline,
    /// A second limit that also binds; the earlier of the two is due (DORA: 4 hours from
    /// classification and at most 24 hours from awareness).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub also_within: Option<Limit>,
    /// Citation of this phase's rule, if narrower than the regime's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
    /// What the report or notice must contain.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub content: Vec<ContentItem>,
    /// Who receives this phase, where not the regime's recipient (UK MAR: the announcement
    /// goes to the market, the notice of a delay to the FCA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// The phase is owed only once this has been recorded (UK MAR: the FCA is told of a
    /// delayed disclosure only where disclosure was delayed, `disclosure_delayed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_if: Option<Anchor>,
    /// Disclosure may be delayed under UK MAR Art 17(4) (`incident delay-disclosure`): while
    /// delayed, the clock is suspended; once confidentiality is lost (`confidentiality_lost`),
    /// the disclosure is due at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delayable: bool,
}

/// A further limit on a phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub anchor: Anchor,
    pub deadline: Deadline,
}

/// The instant a clock runs from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// `aware_at`: reasonable certainty that personal data was compromised.
    Aware,
    /// `detected_at`: first detection.
    Detected,
    /// HIPAA discovery: known, or would have been known with reasonable diligence.
    Discovered,
    /// The incident was classified as major (DORA) or significant.
    ClassifiedMajor,
    /// The incident was classified as significant (NIS2 Art 23(3)).
    ClassifiedSignificant,
    /// The issuer determined the incident is material (SEC).
    MaterialityDetermined,
    /// The information became inside information (UK MAR Art 7).
    InsideInformation,
    /// Reasonable grounds to believe an eligible data breach happened (Australia NDB).
    EligibleBreach,
    /// The previous phase was completed (filed or sent).
    PreviousPhase,
    /// The moment the obligation itself arose: the assessment or decision that created it (an
    /// Art 34 duty found on a later re-assessment starts then, not at awareness).
    DutyArose,
    /// The issuer decided to delay disclosure of inside information (UK MAR Art 17(4)).
    DisclosureDelayed,
    /// Confidentiality of delayed inside information was lost (a leak, or a rumour specific
    /// enough): the delay ends and disclosure is due at once (UK MAR Art 17(7)).
    ConfidentialityLost,
    /// UK NIS reg 11(1): the incident has a significant impact on the continuity of the
    /// essential service (the operator's judgement, recorded with who and why).
    SignificantImpact,
    /// UK NIS reg 12: the incident has a substantial impact on the digital service.
    SubstantialImpact,
}

impl Anchor {
    /// The instants a person records with `incident trigger` (the others are facts of the
    /// intake, follow from a filing or a decision, or have their own command), in the order
    /// a form lists them.
    pub const TRIGGERED: [Anchor; 9] = [
        Anchor::InsideInformation,
        Anchor::ConfidentialityLost,
        Anchor::ClassifiedMajor,
        Anchor::ClassifiedSignificant,
        Anchor::SignificantImpact,
        Anchor::SubstantialImpact,
        Anchor::MaterialityDetermined,
        Anchor::EligibleBreach,
        Anchor::Discovered,
    ];

    /// The name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Anchor::Aware => "aware",
            Anchor::Detected => "detected",
            Anchor::Discovered => "discovered",
            Anchor::ClassifiedMajor => "classified_major",
            Anchor::ClassifiedSignificant => "classified_significant",
            Anchor::MaterialityDetermined => "materiality_determined",
            Anchor::InsideInformation => "inside_information",
            Anchor::EligibleBreach => "eligible_breach",
            Anchor::PreviousPhase => "previous_phase",
            Anchor::DutyArose => "duty_arose",
            Anchor::DisclosureDelayed => "disclosure_delayed",
            Anchor::ConfidentialityLost => "confidentiality_lost",
            Anchor::SignificantImpact => "significant_impact",
            Anchor::SubstantialImpact => "substantial_impact",
        }
    }

    /// A classification that opens a significance gate or ends a delayed disclosure: recorded
    /// only with its reason.
    pub fn is_classification(self) -> bool {
        matches!(
            self,
            Anchor::ClassifiedMajor
                | Anchor::ClassifiedSignificant
                | Anchor::SignificantImpact
                | Anchor::SubstantialImpact
                | Anchor::ConfidentialityLost
        )
    }

    /// A decision or finding a person records with `incident trigger` (or, for a delayed
    /// disclosure, `incident delay-disclosure`): a classification whose reason is required.
    pub fn is_recorded_decision(self) -> bool {
        !matches!(
            self,
            Anchor::Aware | Anchor::Detected | Anchor::PreviousPhase | Anchor::DutyArose
        )
    }
}

/// How long from the anchor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Deadline {
    /// Elapsed hours: weekends, holidays and clock changes do not stop the clock. Every length
    /// here is bounded at about ten years (87840 hours, 3660 days, 120 months): no notification
    /// rule is longer, and a typo must not reach past the dates a clock can show.
    Hours {
        #[schemars(range(min = 1, max = 87840))]
        hours: u32,
    },
    /// Days. Calendar days by default; with `business_calendar`, business days that skip
    /// Saturdays, Sundays and that calendar's holidays, the anchor's day being day 0. Due at
    /// `due_time` (default 23:59) on the last day, in `zone` (default: the organisation's).
    Days {
        #[schemars(range(min = 1, max = 3660))]
        days: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        business_calendar: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due_time: Option<NaiveTime>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zone: Option<String>,
    },
    /// Calendar months: the same date and wall-clock time in the month that many months on, or
    /// that month's last day if it is shorter.
    Months {
        #[schemars(range(min = 1, max = 120))]
        months: u32,
    },
    /// A standard with no number in law ("without undue delay", "as soon as possible"). No
    /// statutory deadline is invented; `target_hours` is an internal target, shown as such.
    Standard {
        #[schemars(length(min = 1))]
        standard: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 87840))]
        target_hours: Option<u32>,
    },
}

/// One item of required content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentItem {
    /// Key the document templates use, e.g. "nature", "dpo_contact".
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub key: String,
    /// What is required, in words.
    #[schemars(length(min = 1))]
    pub text: String,
    /// Where the requirement comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
    /// May follow in a later phase (UK GDPR Art 33(4)) rather than hold up this one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub may_follow: bool,
}

/// A holiday calendar for business-day deadlines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayCalendar {
    /// Identifier used by regimes, e.g. "england-and-wales".
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    pub id: String,
    /// Name.
    pub name: String,
    /// Where the dates come from.
    pub source: String,
    /// First year covered.
    pub first_year: i32,
    /// Last year covered. A business-day count that reaches outside the covered years is an
    /// error, never a silently wrong answer.
    pub last_year: i32,
    /// The holidays (weekends are always skipped and need not be listed).
    pub holidays: Vec<Holiday>,
    /// Facts in this file not verified against the source.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub unverified: Vec<String>,
}

/// Days added to an installed calendar without replacing it: closures of offices by executive
/// order (US federal offices on 9 Jan 2025, a national day of mourning), which are not listed
/// holidays. A file in the override folder's `calendars/` with `adds_to` is one of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarAdditions {
    /// The id of the calendar the days are added to, e.g. "us-federal".
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    pub adds_to: String,
    /// Where the dates come from (the executive order, the regulator's notice).
    #[schemars(length(min = 1))]
    pub source: String,
    /// The days to skip as if they were holidays.
    #[schemars(length(min = 1))]
    pub days: Vec<Holiday>,
    /// Facts in this file not verified (whether EDGAR treated a closure as a non-business day
    /// must be checked for each: regimes reference §6 †).
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub unverified: Vec<String>,
}

impl HolidayCalendar {
    /// A one-holiday US federal calendar for 2025, for tests.
    #[cfg(test)]
    pub(crate) fn us_2025_for_tests(date: NaiveDate, name: &str) -> HolidayCalendar {
        HolidayCalendar {
            id: "us-federal".into(),
            name: "US federal holidays".into(),
            source: "test".into(),
            first_year: 2025,
            last_year: 2025,
            holidays: vec![Holiday {
                date,
                name: name.into(),
            }],
            unverified: vec![],
        }
    }

    /// Adds closure days, each named with its source; a day already a holiday stays as it is.
    /// A day outside the covered years is refused by its index.
    pub fn add(&mut self, additions: &CalendarAdditions) -> Result<usize, (usize, String)> {
        let mut added = 0;
        for (i, day) in additions.days.iter().enumerate() {
            use chrono::Datelike;
            let year = day.date.year();
            if year < self.first_year || year > self.last_year {
                return Err((
                    i,
                    format!(
                        "{} is outside the {} calendar, which covers {} to {}",
                        day.date, self.name, self.first_year, self.last_year
                    ),
                ));
            }
            if self.holidays.iter().any(|h| h.date == day.date) {
                continue;
            }
            self.holidays.push(Holiday {
                date: day.date,
                name: format!("{} (added: {})", day.name, additions.source),
            });
            added += 1;
        }
        self.holidays.sort_by_key(|h| h.date);
        self.unverified.extend(additions.unverified.iter().cloned());
        Ok(added)
    }
}

/// One holiday.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: String,
}

/// Every regime and calendar in force for this run.
#[derive(Debug, Clone, Default)]
pub struct Rulebook {
    /// By id.
    pub regimes: BTreeMap<String, Regime>,
    pub calendars: Calendars,
    /// Where each regime came from (file path), for `regimes` listings.
    pub sources: BTreeMap<String, String>,
}

impl Rulebook {
    /// The obligation ids (`regime/phase`) whose filing the breach register records.
    pub fn register_filings(&self) -> Vec<String> {
        self.regimes
            .values()
            .filter_map(|r| r.register_phase.as_ref().map(|p| format!("{}/{p}", r.id)))
            .collect()
    }

    /// The name of the clock that starts at awareness, for the timeline.
    pub fn awareness_clock(&self) -> Option<&str> {
        self.regimes
            .values()
            .find_map(|r| r.awareness_clock.as_deref())
    }

    /// The regimes in force at `at` (the instant the organisation became aware), each judged
    /// by the civil date in its own zone.
    pub fn in_force(&self, at: DateTime<Utc>) -> impl Iterator<Item = &Regime> {
        self.regimes.values().filter(move |r| r.in_force_at(at))
    }

    /// The ids of the regimes whose obligation is the market disclosure.
    pub fn market_regimes(&self) -> Vec<String> {
        self.regimes
            .values()
            .filter(|r| r.market_disclosure)
            .map(|r| r.id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn closure_days_are_added_to_a_calendar_not_over_it() {
        let mut us =
            HolidayCalendar::us_2025_for_tests(day("2025-01-20"), "Martin Luther King Jr. Day");
        let closures = CalendarAdditions {
            adds_to: "us-federal".into(),
            source: "Executive order".into(),
            days: vec![
                Holiday {
                    date: day("2025-01-09"),
                    name: "National day of mourning".into(),
                },
                // Already a holiday: kept as it is, not doubled.
                Holiday {
                    date: day("2025-01-20"),
                    name: "Again".into(),
                },
            ],
            unverified: vec!["† EDGAR".into()],
        };
        assert_eq!(us.add(&closures), Ok(1));
        let names: Vec<(NaiveDate, &str)> = us
            .holidays
            .iter()
            .map(|h| (h.date, h.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (
                    day("2025-01-09"),
                    "National day of mourning (added: Executive order)"
                ),
                (day("2025-01-20"), "Martin Luther King Jr. Day"),
            ]
        );
        assert_eq!(us.unverified, ["† EDGAR"]);
        // A day outside the covered years is refused by its index.
        let late = CalendarAdditions {
            days: vec![Holiday {
                date: day("2031-01-02"),
                name: "x".into(),
            }],
            ..closures
        };
        assert!(matches!(us.add(&late), Err((0, why)) if why.contains("covers 2025 to 2025")));
    }
}
