//! The exposure assessment of a breach and its severity by the ENISA method.
//!
//! The DPO describes what data, whose, how many, the circumstances and the mitigations; `assess`
//! turns that into a severity score and a risk level, with the reasoning in sentences a DPO can
//! put in the breach register. Pure: no I/O, no clock.
//!
//! # The method
//!
//! ENISA, "Recommendations for a methodology of the assessment of severity of personal data
//! breaches", v1.0, December 2013: **SE = DPC × EI + CB**.
//!
//! - **DPC**, data processing context, 1 to 4. The base is the most sensitive data category:
//!   simple data (identity, contact, education, family, professional) 1; behavioural data
//!   (location, traffic, habits) 2; financial data 3; sensitive data (UK GDPR Art 9 categories
//!   and criminal offences) 4. ENISA lets the assessor raise or lower the base for volume,
//!   controller characteristics, vulnerable individuals, invalid or public data. We apply one of
//!   those adjustments ourselves, +1 when children or vulnerable adults are affected (our fixed
//!   reading of ENISA's "vulnerable individuals" factor), and take the others from the DPO's
//!   `context_adjustments`, each with a reason. The result is clamped to 1..=4.
//!   Our judgement, not ENISA's: usernames and passwords (`identification_data`) and official
//!   documents score 3 like financial data, because they enable account takeover and identity
//!   fraud; `not_yet_known` scores 4 until the categories are known, so that ignorance never
//!   lowers the risk; gender reassignment is not an Art 9 category but counts as sensitive here.
//! - **EI**, ease of identification: negligible 0.25, limited 0.5, significant 0.75, maximum 1.
//! - **CB**, circumstances of the breach, added up: loss of confidentiality by exposure (no
//!   evidence of unlawful processing) +0.25, by disclosure to wider or unknown recipients +0.5;
//!   loss of integrity recoverable +0.25, irrecoverable +0.5; loss of availability temporary
//!   +0.25, permanent +0.5; malicious intent +0.5. (ENISA's value wording is marked unverified
//!   in `regimes.md`.)
//! - **Bands**: SE < 2 low; 2 to < 3 medium; 3 to < 4 high; 4 or more very high.
//!
//! Risk level (UK GDPR Arts 33-34): low is `unlikely` to result in a risk, medium is a `risk`,
//! high and very high are a `high` risk. Unintelligibility is assessed outside the formula, as
//! ENISA does: a confidentiality-only breach of data encrypted with the key safe, or recovered
//! before anyone accessed it, is capped at `unlikely` (Art 34(3)(a); EDPB Guidelines 9/2022's
//! encrypted-device example). The number of people is also outside the formula; the reasoning
//! states it so the DPO can weigh it in an override.
//!
//! Arithmetic is done in quarters (every ENISA value is a multiple of 0.25) so that a score of
//! exactly 2.0 can never fall into the wrong band through floating-point rounding.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Categories of personal data, as the ICO breach report form lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// Basic personal identifiers such as name.
    BasicIdentifiers,
    /// Contact details: address, email, telephone.
    ContactDetails,
    /// Identification data: usernames, passwords.
    IdentificationData,
    /// Economic and financial data: card numbers, bank details.
    EconomicFinancial,
    /// Official documents such as driving licences and passports.
    OfficialDocuments,
    /// Location data.
    Location,
    /// Behavioural data: habits, traffic or communications metadata.
    BehaviouralData,
    /// Education and employment details.
    EducationEmployment,
    /// Racial or ethnic origin (special category).
    RacialEthnicOrigin,
    /// Political opinions (special category).
    PoliticalOpinions,
    /// Religious or philosophical beliefs (special category).
    ReligiousBeliefs,
    /// Trade union membership (special category).
    TradeUnionMembership,
    /// Sex life (special category).
    SexLife,
    /// Sexual orientation (special category).
    SexualOrientation,
    /// Gender reassignment.
    GenderReassignment,
    /// Health data (special category).
    Health,
    /// Genetic or biometric data (special category).
    GeneticBiometric,
    /// Criminal convictions and offences (UK GDPR Art 10).
    CriminalOffences,
    /// Not yet known.
    NotYetKnown,
    /// Other; describe it in `other_data_description`.
    Other,
}

impl DataCategory {
    /// Special category data (UK GDPR Art 9).
    pub fn is_special_category(self) -> bool {
        use DataCategory::*;
        matches!(
            self,
            RacialEthnicOrigin
                | PoliticalOpinions
                | ReligiousBeliefs
                | TradeUnionMembership
                | GeneticBiometric
                | Health
                | SexLife
                | SexualOrientation
        )
    }

    /// Criminal convictions and offences data (UK GDPR Art 10).
    pub fn is_criminal_offence(self) -> bool {
        self == DataCategory::CriminalOffences
    }

    /// ENISA's DPC base for the category (see the module documentation).
    pub fn enisa_base(self) -> u8 {
        use DataCategory::*;
        match self {
            BasicIdentifiers | ContactDetails | EducationEmployment | Other => 1,
            Location | BehaviouralData => 2,
            EconomicFinancial | IdentificationData | OfficialDocuments => 3,
            RacialEthnicOrigin | PoliticalOpinions | ReligiousBeliefs | TradeUnionMembership
            | SexLife | SexualOrientation | GenderReassignment | Health | GeneticBiometric
            | CriminalOffences | NotYetKnown => 4,
        }
    }

    fn enisa_kind(self) -> &'static str {
        match self.enisa_base() {
            1 => "simple data",
            2 => "behavioural data",
            3 => "financial data",
            _ => "sensitive data",
        }
    }

    pub fn label(self) -> &'static str {
        use DataCategory::*;
        match self {
            BasicIdentifiers => "Basic identifiers",
            ContactDetails => "Contact details",
            IdentificationData => "Identification data (usernames, passwords)",
            EconomicFinancial => "Economic and financial data",
            OfficialDocuments => "Official documents",
            Location => "Location data",
            BehaviouralData => "Behavioural data",
            EducationEmployment => "Education and employment details",
            RacialEthnicOrigin => "Racial or ethnic origin",
            PoliticalOpinions => "Political opinions",
            ReligiousBeliefs => "Religious or philosophical beliefs",
            TradeUnionMembership => "Trade union membership",
            SexLife => "Sex life data",
            SexualOrientation => "Sexual orientation data",
            GenderReassignment => "Gender reassignment data",
            Health => "Health data",
            GeneticBiometric => "Genetic or biometric data",
            CriminalOffences => "Criminal convictions and offences",
            NotYetKnown => "Not yet known",
            Other => "Other",
        }
    }
}

/// Categories of data subjects, as the ICO breach report form lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectCategory {
    /// Employees.
    Employees,
    /// Users.
    Users,
    /// Subscribers.
    Subscribers,
    /// Students.
    Students,
    /// Customers.
    Customers,
    /// Prospective customers.
    ProspectiveCustomers,
    /// Patients.
    Patients,
    /// Children (vulnerable).
    Children,
    /// Vulnerable adults.
    VulnerableAdults,
    /// Not yet known.
    NotYetKnown,
    /// Other; describe them in `other_subjects_description`.
    Other,
}

impl SubjectCategory {
    /// Children and vulnerable adults, whom ENISA and the EDPB treat as aggravating the risk.
    pub fn is_vulnerable(self) -> bool {
        matches!(
            self,
            SubjectCategory::Children | SubjectCategory::VulnerableAdults
        )
    }

    pub fn label(self) -> &'static str {
        use SubjectCategory::*;
        match self {
            Employees => "Employees",
            Users => "Users",
            Subscribers => "Subscribers",
            Students => "Students",
            Customers => "Customers",
            ProspectiveCustomers => "Prospective customers",
            Patients => "Patients",
            Children => "Children",
            VulnerableAdults => "Vulnerable adults",
            NotYetKnown => "Not yet known",
            Other => "Other",
        }
    }
}

/// An approximate number: an estimate, or a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Count {
    /// A single estimate.
    Estimate {
        /// The best estimate.
        estimate: u64,
    },
    /// A range from `min` to `max`.
    Range {
        /// At least this many.
        min: u64,
        /// At most this many.
        max: u64,
    },
}

impl Count {
    /// The largest number the count allows.
    pub fn upper(&self) -> u64 {
        match *self {
            Count::Estimate { estimate } => estimate,
            Count::Range { min, max } => min.max(max),
        }
    }
}

/// 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Count::Estimate { estimate } => write!(f, "approximately {}", thousands(estimate)),
            Count::Range { min, max } => write!(f, "{} to {}", thousands(min), thousands(max)),
        }
    }
}

/// ENISA's ease of identification (EI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Identifiability {
    /// Identifying individuals from the data is extremely difficult (0.25).
    Negligible,
    /// Possible with significant effort or further data (0.5).
    Limited,
    /// Possible with modest effort (0.75).
    Significant,
    /// Individuals are directly identified (1).
    Maximum,
}

impl Identifiability {
    /// EI in quarters.
    fn quarters(self) -> u32 {
        match self {
            Identifiability::Negligible => 1,
            Identifiability::Limited => 2,
            Identifiability::Significant => 3,
            Identifiability::Maximum => 4,
        }
    }

    pub fn value(self) -> f64 {
        f64::from(self.quarters()) / 4.0
    }
}

/// Loss of confidentiality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfidentialityLoss {
    /// None.
    None,
    /// Data exposed, with no evidence of unlawful processing (+0.25).
    Exposure,
    /// Disclosed to wider or unknown recipients, or exfiltrated (+0.5).
    Disclosure,
}

/// Loss of integrity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntegrityLoss {
    /// None.
    None,
    /// Altered, but the correct data can be recovered (+0.25).
    Recoverable,
    /// Altered, and the correct data cannot be recovered (+0.5).
    Irrecoverable,
}

/// Loss of availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AvailabilityLoss {
    /// None.
    None,
    /// Temporarily unavailable (+0.25).
    Temporary,
    /// Permanently lost (+0.5).
    Permanent,
}

/// ENISA's circumstances of the breach (CB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Circumstances {
    /// Loss of confidentiality.
    pub confidentiality: ConfidentialityLoss,
    /// Loss of integrity.
    pub integrity: IntegrityLoss,
    /// Loss of availability.
    pub availability: AvailabilityLoss,
    /// Malicious intent (a criminal attack, a deliberate insider) (+0.5).
    pub malicious: bool,
}

/// A DPO's adjustment of the data processing context, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextAdjustment {
    /// How much to raise (positive) or lower (negative) the DPC.
    #[schemars(range(min = -3, max = 3))]
    pub delta: i8,
    /// Why: volume, controller characteristics, invalid or outdated data, publicly available...
    #[schemars(length(min = 1))]
    pub reason: String,
}

/// Measures that limit the consequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mitigation {
    /// Encrypted with a state-of-the-art algorithm and the key was not exposed.
    EncryptedKeySafe,
    /// The data was recovered before anyone accessed it.
    RecoveredBeforeAccess,
    /// The lost device was wiped remotely.
    RemoteWiped,
    /// Affected credentials were reset.
    CredentialsReset,
    /// Data restored from backup.
    BackupRestored,
    /// The recipient confirmed deletion.
    RecipientConfirmedDeletion,
    /// Other; describe it in `mitigation_notes`.
    Other,
}

impl Mitigation {
    pub fn label(self) -> &'static str {
        match self {
            Mitigation::EncryptedKeySafe => "encrypted, key not exposed",
            Mitigation::RecoveredBeforeAccess => "recovered before access",
            Mitigation::RemoteWiped => "device wiped remotely",
            Mitigation::CredentialsReset => "credentials reset",
            Mitigation::BackupRestored => "restored from backup",
            Mitigation::RecipientConfirmedDeletion => "recipient confirmed deletion",
            Mitigation::Other => "other",
        }
    }
}

/// Likely consequences for individuals (UK GDPR recital 85).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Consequence {
    /// Loss of control over their personal data.
    LossOfControl,
    /// Discrimination.
    Discrimination,
    /// Identity theft.
    IdentityTheft,
    /// Fraud.
    Fraud,
    /// Financial loss.
    FinancialLoss,
    /// Damage to reputation.
    ReputationalDamage,
    /// Loss of confidentiality of data protected by professional secrecy.
    LossOfProfessionalSecrecy,
    /// Physical harm.
    PhysicalHarm,
    /// Distress.
    Distress,
    /// Other; describe it in `consequences_description`.
    Other,
}

impl Consequence {
    pub fn label(self) -> &'static str {
        match self {
            Consequence::LossOfControl => "loss of control over personal data",
            Consequence::Discrimination => "discrimination",
            Consequence::IdentityTheft => "identity theft",
            Consequence::Fraud => "fraud",
            Consequence::FinancialLoss => "financial loss",
            Consequence::ReputationalDamage => "damage to reputation",
            Consequence::LossOfProfessionalSecrecy => {
                "loss of confidentiality of professionally secret data"
            }
            Consequence::PhysicalHarm => "physical harm",
            Consequence::Distress => "distress",
            Consequence::Other => "other",
        }
    }
}

/// The ICO form's likelihood of significant consequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    VeryLikely,
    Likely,
    Neutral,
    Unlikely,
    VeryUnlikely,
    NotYetKnown,
}

/// Risk to individuals' rights and freedoms (UK GDPR Arts 33-34).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Unlikely to result in a risk: no ICO notification (Art 33(1)).
    Unlikely,
    /// Likely to result in a risk: notify the ICO.
    Risk,
    /// Likely to result in a high risk: notify the ICO and tell data subjects (Art 34(1)).
    High,
}

impl RiskLevel {
    pub fn label(self) -> &'static str {
        match self {
            RiskLevel::Unlikely => {
                "unlikely to result in a risk to individuals' rights and freedoms"
            }
            RiskLevel::Risk => "a risk to individuals' rights and freedoms",
            RiskLevel::High => "a high risk to individuals' rights and freedoms",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Unlikely => "unlikely",
            RiskLevel::Risk => "risk",
            RiskLevel::High => "high",
        }
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The DPO's override of the computed risk level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskOverride {
    /// The level the DPO sets.
    pub level: RiskLevel,
    /// Why; kept in the breach record.
    #[schemars(length(min = 1))]
    pub reason: String,
}

/// The exposure assessment (`breachflow assess ID --file F`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentInput {
    /// Categories of personal data concerned.
    #[schemars(length(min = 1))]
    pub data_categories: Vec<DataCategory>,
    /// What "other" data is; required when `data_categories` includes `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_data_description: Option<String>,
    /// Categories of data subjects concerned.
    #[schemars(length(min = 1))]
    pub subject_categories: Vec<SubjectCategory>,
    /// Who the "other" subjects are; required when `subject_categories` includes `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_subjects_description: Option<String>,
    /// Approximate number of data subjects: `{"estimate": N}` or `{"min": N, "max": M}`.
    pub subjects: Count,
    /// Approximate number of personal data records, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<Count>,
    /// How easily individuals can be identified from the data (ENISA EI).
    pub identifiability: Identifiability,
    /// Circumstances of the breach (ENISA CB).
    pub circumstances: Circumstances,
    /// The DPO's adjustments of the data processing context (ENISA DPC), each with a reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_adjustments: Vec<ContextAdjustment>,
    /// Measures that limit the consequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mitigations: Vec<Mitigation>,
    /// Details of the mitigations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigation_notes: Option<String>,
    /// Likely consequences for individuals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consequences: Vec<Consequence>,
    /// The consequences in words, including any harm already suffered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consequences_description: Option<String>,
    /// Likelihood of significant consequences, as the ICO form asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<Likelihood>,
    /// The DPO's override of the computed risk level, with a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_level: Option<RiskOverride>,
}

/// ENISA's severity bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeverityBand {
    /// SE < 2: individuals will not be affected or may meet a few inconveniences.
    Low,
    /// 2 <= SE < 3: significant inconveniences, which they can overcome.
    Medium,
    /// 3 <= SE < 4: significant consequences, overcome with serious difficulties.
    High,
    /// SE >= 4: significant, or even irreversible, consequences.
    VeryHigh,
}

/// The computed severity and risk level, with the reasoning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Severity {
    /// DPC base from the most sensitive data category.
    pub dpc_base: u8,
    /// Sum of the adjustments applied (vulnerable subjects and the DPO's), before clamping.
    pub dpc_adjustment: i8,
    /// DPC after adjustments, clamped to 1..=4.
    pub dpc: u8,
    /// Ease of identification.
    pub ei: f64,
    /// Circumstances of the breach.
    pub cb: f64,
    /// SE = DPC x EI + CB.
    pub score: f64,
    /// ENISA band of the score.
    pub band: SeverityBand,
    /// The level that follows from the method.
    pub computed_level: RiskLevel,
    /// The level that applies: the DPO's override if any, else the computed level.
    pub level: RiskLevel,
    /// Whether the DPO overrode the computed level.
    pub overridden: bool,
    /// The reasoning, one sentence per factor.
    pub rationale: Vec<String>,
}

fn quarters_to_f64(q: u32) -> f64 {
    f64::from(q) / 4.0
}

/// Semantic problems a schema cannot express, each with its JSON pointer. All are returned.
pub fn check(input: &AssessmentInput) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    if let Count::Range { min, max } = input.subjects
        && min > max
    {
        problems.push((
            "/subjects".into(),
            format!("min ({min}) is greater than max ({max}); expected min <= max"),
        ));
    }
    if let Some(Count::Range { min, max }) = input.records
        && min > max
    {
        problems.push((
            "/records".into(),
            format!("min ({min}) is greater than max ({max}); expected min <= max"),
        ));
    }
    if input.data_categories.contains(&DataCategory::Other) && blank(&input.other_data_description)
    {
        problems.push((
            "/other_data_description".into(),
            "data_categories includes \"other\": describe the data here".into(),
        ));
    }
    if input.subject_categories.contains(&SubjectCategory::Other)
        && blank(&input.other_subjects_description)
    {
        problems.push((
            "/other_subjects_description".into(),
            "subject_categories includes \"other\": describe the people here".into(),
        ));
    }
    for (i, c) in input.data_categories.iter().enumerate() {
        if input.data_categories[..i].contains(c) {
            problems.push((
                format!("/data_categories/{i}"),
                format!("{c:?} is listed twice"),
            ));
        }
    }
    for (i, c) in input.subject_categories.iter().enumerate() {
        if input.subject_categories[..i].contains(c) {
            problems.push((
                format!("/subject_categories/{i}"),
                format!("{c:?} is listed twice"),
            ));
        }
    }
    for (i, a) in input.context_adjustments.iter().enumerate() {
        if a.reason.trim().is_empty() {
            problems.push((
                format!("/context_adjustments/{i}/reason"),
                "an adjustment needs a reason".into(),
            ));
        }
    }
    if let Some(o) = &input.override_level
        && o.reason.trim().is_empty()
    {
        problems.push((
            "/override_level/reason".into(),
            "overriding the computed risk level needs a reason".into(),
        ));
    }
    problems
}

/// Computes severity and risk level by the ENISA method (see the module documentation).
pub fn assess(input: &AssessmentInput) -> Severity {
    let mut rationale = Vec::new();

    // DPC
    // The first of the most sensitive categories, in the order the DPO listed them.
    let top = input
        .data_categories
        .iter()
        .copied()
        .fold(None::<DataCategory>, |best, c| match best {
            Some(b) if b.enisa_base() >= c.enisa_base() => Some(b),
            _ => Some(c),
        })
        .unwrap_or(DataCategory::NotYetKnown);
    let dpc_base = top.enisa_base();
    rationale.push(format!(
        "DPC base {dpc_base}: the most sensitive data is {} (ENISA: {}).",
        top.label(),
        top.enisa_kind()
    ));
    let mut adjustment: i32 = 0;
    if let Some(v) = input.subject_categories.iter().find(|s| s.is_vulnerable()) {
        adjustment += 1;
        rationale.push(format!(
            "DPC +1: {} are affected (ENISA: vulnerable individuals).",
            v.label().to_lowercase()
        ));
    }
    for a in &input.context_adjustments {
        adjustment += i32::from(a.delta);
        rationale.push(format!("DPC {:+}: {}", a.delta, a.reason.trim()));
    }
    let unclamped = i32::from(dpc_base) + adjustment;
    let dpc = unclamped.clamp(1, 4) as u8;
    if unclamped != i32::from(dpc) {
        rationale.push(format!(
            "DPC {unclamped} after adjustments is outside ENISA's scale; taken as {dpc}."
        ));
    }

    // EI
    let ei_q = input.identifiability.quarters();
    rationale.push(
        format!(
            "EI {:.2}: identifiability {:?}.",
            quarters_to_f64(ei_q),
            input.identifiability
        )
        .replace("Negligible", "negligible")
        .replace("Limited", "limited")
        .replace("Significant", "significant")
        .replace("Maximum", "maximum"),
    );

    // CB
    let c = &input.circumstances;
    let mut cb_q = 0u32;
    let mut parts = Vec::new();
    match c.confidentiality {
        ConfidentialityLoss::None => {}
        ConfidentialityLoss::Exposure => {
            cb_q += 1;
            parts.push("confidentiality exposure +0.25");
        }
        ConfidentialityLoss::Disclosure => {
            cb_q += 2;
            parts.push("confidentiality disclosure +0.5");
        }
    }
    match c.integrity {
        IntegrityLoss::None => {}
        IntegrityLoss::Recoverable => {
            cb_q += 1;
            parts.push("recoverable integrity loss +0.25");
        }
        IntegrityLoss::Irrecoverable => {
            cb_q += 2;
            parts.push("irrecoverable integrity loss +0.5");
        }
    }
    match c.availability {
        AvailabilityLoss::None => {}
        AvailabilityLoss::Temporary => {
            cb_q += 1;
            parts.push("temporary unavailability +0.25");
        }
        AvailabilityLoss::Permanent => {
            cb_q += 2;
            parts.push("permanent loss of availability +0.5");
        }
    }
    if c.malicious {
        cb_q += 2;
        parts.push("malicious intent +0.5");
    }
    rationale.push(if parts.is_empty() {
        "CB 0: no aggravating circumstances.".to_string()
    } else {
        format!("CB {:.2}: {}.", quarters_to_f64(cb_q), parts.join(", "))
    });

    // SE, in quarters: DPC x EI(quarters) + CB(quarters).
    let score_q = u32::from(dpc) * ei_q + cb_q;
    let band = match score_q {
        0..8 => SeverityBand::Low,
        8..12 => SeverityBand::Medium,
        12..16 => SeverityBand::High,
        _ => SeverityBand::VeryHigh,
    };
    let score = quarters_to_f64(score_q);
    rationale.push(format!(
        "SE = {dpc} x {:.2} + {:.2} = {score:.2}: {} severity.",
        quarters_to_f64(ei_q),
        quarters_to_f64(cb_q),
        match band {
            SeverityBand::Low => "low",
            SeverityBand::Medium => "medium",
            SeverityBand::High => "high",
            SeverityBand::VeryHigh => "very high",
        }
    ));
    let mut computed_level = match band {
        SeverityBand::Low => RiskLevel::Unlikely,
        SeverityBand::Medium => RiskLevel::Risk,
        SeverityBand::High | SeverityBand::VeryHigh => RiskLevel::High,
    };
    let unintelligible = input.mitigations.iter().find(|m| {
        matches!(
            m,
            Mitigation::EncryptedKeySafe | Mitigation::RecoveredBeforeAccess
        )
    });
    if let Some(m) = unintelligible
        && c.integrity == IntegrityLoss::None
        && c.availability == AvailabilityLoss::None
        && computed_level > RiskLevel::Unlikely
    {
        computed_level = RiskLevel::Unlikely;
        rationale.push(format!(
            "Only confidentiality was lost and the data was {}: unlikely to result in a risk (UK GDPR Art 34(3)(a); EDPB Guidelines 9/2022).",
            m.label()
        ));
    }
    rationale.push(format!(
        "{} people affected: weighed outside the formula, as ENISA does.",
        capitalise(&input.subjects.to_string())
    ));

    let (level, overridden) = match &input.override_level {
        Some(o) => {
            rationale.push(format!(
                "Overridden by the DPO from {computed_level} to {}: {}",
                o.level,
                o.reason.trim()
            ));
            (o.level, true)
        }
        None => (computed_level, false),
    };
    Severity {
        dpc_base,
        dpc_adjustment: adjustment.clamp(i32::from(i8::MIN), i32::from(i8::MAX)) as i8,
        dpc,
        ei: quarters_to_f64(ei_q),
        cb: quarters_to_f64(cb_q),
        score,
        band,
        computed_level,
        level,
        overridden,
        rationale,
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: serde_json::Value) -> AssessmentInput {
        serde_json::from_value(json).expect("valid assessment")
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "data_categories": ["contact_details"],
            "subject_categories": ["customers"],
            "subjects": { "estimate": 1200 },
            "identifiability": "limited",
            "circumstances": {
                "confidentiality": "exposure",
                "integrity": "none",
                "availability": "none",
                "malicious": false
            }
        })
    }

    #[test]
    fn contact_details_exposed_are_low() {
        // DPC 1 x EI 0.5 + CB 0.25 = 0.75: low, unlikely.
        let s = assess(&input(base()));
        assert_eq!((s.dpc, s.ei, s.cb, s.score), (1, 0.5, 0.25, 0.75));
        assert_eq!(s.band, SeverityBand::Low);
        assert_eq!(s.level, RiskLevel::Unlikely);
    }

    #[test]
    fn health_data_disclosed_maliciously_is_very_high() {
        // DPC 4 x EI 1 + CB (0.5 + 0.5) = 5.0: very high, high risk.
        let mut j = base();
        j["data_categories"] = serde_json::json!(["basic_identifiers", "health"]);
        j["identifiability"] = "maximum".into();
        j["circumstances"]["confidentiality"] = "disclosure".into();
        j["circumstances"]["malicious"] = true.into();
        let s = assess(&input(j));
        assert_eq!((s.dpc_base, s.dpc, s.score), (4, 4, 5.0));
        assert_eq!(s.band, SeverityBand::VeryHigh);
        assert_eq!(s.level, RiskLevel::High);
    }

    #[test]
    fn children_raise_the_context_and_two_is_medium() {
        // DPC 1 + 1 (children) = 2; 2 x 0.75 + 0.5 = 2.0 exactly: medium, a risk.
        let mut j = base();
        j["data_categories"] = serde_json::json!(["basic_identifiers"]);
        j["subject_categories"] = serde_json::json!(["children"]);
        j["identifiability"] = "significant".into();
        j["circumstances"]["confidentiality"] = "disclosure".into();
        let s = assess(&input(j));
        assert_eq!((s.dpc, s.dpc_adjustment, s.score), (2, 1, 2.0));
        assert_eq!(s.band, SeverityBand::Medium);
        assert_eq!(s.level, RiskLevel::Risk);
    }

    #[test]
    fn adjustments_are_clamped() {
        // DPC 1 - 3 = -2, clamped to 1.
        let mut j = base();
        j["context_adjustments"] = serde_json::json!([{ "delta": -3, "reason": "public data" }]);
        let s = assess(&input(j));
        assert_eq!((s.dpc_adjustment, s.dpc), (-3, 1));
        assert!(s.rationale.iter().any(|r| r.contains("taken as 1")));
    }

    #[test]
    fn encrypted_with_key_safe_is_unlikely() {
        // Financial (3) x maximum (1) + disclosure 0.5 = 3.5: high severity, but unintelligible.
        let mut j = base();
        j["data_categories"] = serde_json::json!(["economic_financial"]);
        j["identifiability"] = "maximum".into();
        j["circumstances"]["confidentiality"] = "disclosure".into();
        j["mitigations"] = serde_json::json!(["encrypted_key_safe"]);
        let s = assess(&input(j.clone()));
        assert_eq!(s.band, SeverityBand::High);
        assert_eq!(s.computed_level, RiskLevel::Unlikely);
        // Not when availability was lost too.
        j["circumstances"]["availability"] = "temporary".into();
        assert_eq!(assess(&input(j)).computed_level, RiskLevel::High);
    }

    #[test]
    fn override_changes_the_level_not_the_computation() {
        let mut j = base();
        j["override_level"] = serde_json::json!({ "level": "high", "reason": "vulnerable owners" });
        let s = assess(&input(j));
        assert_eq!(s.computed_level, RiskLevel::Unlikely);
        assert_eq!(s.level, RiskLevel::High);
        assert!(s.overridden);
    }

    #[test]
    fn check_lists_every_problem() {
        let mut j = base();
        j["subjects"] = serde_json::json!({ "min": 10, "max": 5 });
        j["data_categories"] = serde_json::json!(["other", "health", "health"]);
        j["override_level"] = serde_json::json!({ "level": "risk", "reason": " " });
        let problems: Vec<String> = check(&input(j)).into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            problems,
            [
                "/subjects",
                "/other_data_description",
                "/data_categories/2",
                "/override_level/reason"
            ]
        );
    }

    #[test]
    fn counts_read_like_a_notice() {
        assert_eq!(
            Count::Estimate { estimate: 1200 }.to_string(),
            "approximately 1,200"
        );
        assert_eq!(
            Count::Range {
                min: 1200,
                max: 1_500_000
            }
            .to_string(),
            "1,200 to 1,500,000"
        );
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut j = base();
        j["severity"] = 5.into();
        assert!(serde_json::from_value::<AssessmentInput>(j).is_err());
    }
}
