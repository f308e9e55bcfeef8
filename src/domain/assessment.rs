//! The exposure assessment of a breach, and its severity by the ENISA method.
//!
//! One job: turn the DPO's description of a breach (what data, whose, how many, the
//! circumstances, the mitigations, the likely consequences) into a severity score and a risk
//! level, with the reasoning written as sentences a DPO can paste into the Art 33(5) breach
//! register. [`assess`] is pure: no I/O, no clock, and no panic on any input. [`check`] lists
//! the problems of an input that its JSON Schema cannot express.
//!
//! # The method
//!
//! ENISA, "Recommendations for a methodology of the assessment of severity of personal data
//! breaches", working document v1.0, December 2013: **SE = DPC × EI + CB**
//! \[ENISA WD v1.0 Dec 2013; co-dex.eu summary\].
//!
//! ## DPC, data processing context (1 to 4)
//!
//! The base is that of the most sensitive data category concerned \[myprivacy.tools calculator;
//! legal-skills ENISA reference\]:
//!
//! | Base | ENISA kind | Our categories |
//! |------|------------|----------------|
//! | 1 | simple | basic identifiers, contact details, education and employment, other |
//! | 2 | behavioural | location, behavioural data (habits, traffic, communications metadata) |
//! | 3 | financial | economic and financial data; identification data and official documents (*our judgement*) |
//! | 4 | sensitive | UK GDPR Art 9 special categories, criminal offences (Art 10), gender reassignment and not yet known (*our judgement*) |
//!
//! Our judgement, not ENISA's:
//! - usernames and passwords (`identification_data`) and official documents score 3, like
//!   financial data, because they enable account takeover and identity fraud;
//! - `not_yet_known` scores 4 until the categories are known, so that ignorance never lowers
//!   the risk;
//! - gender reassignment is not an Art 9 category, but ENISA's "sensitive" is wider than Art 9
//!   and the harm of disclosure is of the same kind, so it scores 4 (it is *not* reported as
//!   special category data);
//! - `other` scores 1; the DPO raises it with a context adjustment if the data is worse.
//!
//! ENISA lets the assessor adjust the base by ±1 to ±3 for volume, controller characteristics
//! (a pharmacy's customer list implies health data), vulnerable individuals, invalid or outdated
//! data, public availability and the nature of the data. We make one adjustment ourselves: +1
//! when children or vulnerable adults are affected (our fixed reading of ENISA's "vulnerable
//! individuals" factor, which the EDPB also names \[EDPB GL 9/2022 §IV.B\]). Every other
//! adjustment is the DPO's, each with its reason (`context_adjustments`). The adjusted DPC is
//! clamped to 1..=4, and the reasoning says so when the clamp bites.
//!
//! ## EI, ease of identification
//!
//! Negligible 0.25, limited 0.5, significant 0.75, maximum 1 \[myprivacy.tools\].
//!
//! ## CB, circumstances of the breach (added up)
//!
//! - Loss of confidentiality: exposure with no evidence of unlawful processing +0.25;
//!   disclosure to wider or unknown recipients, or exfiltration, +0.5.
//! - Loss of integrity: recoverable +0.25; irrecoverable +0.5.
//! - Loss of availability: temporary +0.25; permanent +0.5.
//! - Malicious intent +0.5.
//!
//! \[myprivacy.tools; co-dex.eu; the wording of the values is unverified against ENISA's text\]
//!
//! ## Bands and risk level
//!
//! | SE | ENISA band | Risk level (UK GDPR Arts 33-34) |
//! |----|------------|---------------------------------|
//! | < 2 | low | `unlikely` to result in a risk: record only |
//! | 2 to < 3 | medium | a `risk`: notify the ICO |
//! | 3 to < 4 | high | a `high` risk: notify the ICO and tell the people |
//! | ≥ 4 | very high | a `high` risk |
//!
//! The mapping from band to risk level is our judgement: ENISA grades severity, the law asks
//! about risk; medium severity ("significant inconveniences") is the first band we cannot call
//! unlikely to result in a risk.
//!
//! ENISA assesses two things outside the formula, and so do we \[myprivacy.tools; co-dex.eu\]:
//! - Unintelligibility. A breach of confidentiality only (no integrity or availability loss) of
//!   data encrypted with the key kept safe, or recovered before anyone accessed it, is capped at
//!   `unlikely` \[UK GDPR Art 34(3)(a); EDPB GL 9/2022 Annex B, stolen encrypted backup with
//!   the key safe: record only\]. Encrypted data that was exfiltrated is still capped: without
//!   the key it is unintelligible to whoever holds it.
//! - The number of people. The reasoning states it, so the DPO can weigh it in an override.
//!
//! The DPO may override the computed level with a reason; both levels are kept.
//!
//! Every ENISA value is a multiple of 0.25, so the arithmetic is done in whole quarters: a score
//! of exactly 2.0 can never fall into the wrong band through floating-point rounding, and the
//! `f64` fields of [`Severity`] are exact.

use std::cmp::Reverse;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A category of personal data, as the ICO breach report form lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// Basic personal identifiers, such as name (ENISA: simple, 1).
    BasicIdentifiers,
    /// Contact details: postal address, email address, telephone number (ENISA: simple, 1).
    ContactDetails,
    /// Identification data: usernames, passwords (scored 3, like financial data: enables
    /// account takeover).
    IdentificationData,
    /// Economic and financial data: card numbers, bank details (ENISA: financial, 3).
    EconomicFinancial,
    /// Official documents, such as a driving licence or passport (scored 3: enables identity
    /// fraud).
    OfficialDocuments,
    /// Location data (ENISA: behavioural, 2).
    Location,
    /// Behavioural data: habits, traffic data, communications metadata (ENISA: behavioural, 2).
    BehaviouralData,
    /// Education and employment details (ENISA: simple, 1).
    EducationEmployment,
    /// Racial or ethnic origin (special category, UK GDPR Art 9; ENISA: sensitive, 4).
    RacialEthnicOrigin,
    /// Political opinions (special category, UK GDPR Art 9; ENISA: sensitive, 4).
    PoliticalOpinions,
    /// Religious or philosophical beliefs (special category, UK GDPR Art 9; ENISA: sensitive,
    /// 4).
    ReligiousBeliefs,
    /// Trade union membership (special category, UK GDPR Art 9; ENISA: sensitive, 4).
    TradeUnionMembership,
    /// Sex life (special category, UK GDPR Art 9; ENISA: sensitive, 4).
    SexLife,
    /// Sexual orientation (special category, UK GDPR Art 9; ENISA: sensitive, 4).
    SexualOrientation,
    /// Gender reassignment (not an Art 9 category, but scored as sensitive, 4).
    GenderReassignment,
    /// Health data (special category, UK GDPR Art 9; ENISA: sensitive, 4).
    Health,
    /// Genetic or biometric data (special category, UK GDPR Art 9; ENISA: sensitive, 4).
    GeneticBiometric,
    /// Criminal convictions and offences (UK GDPR Art 10; ENISA: sensitive, 4).
    CriminalOffences,
    /// Not yet known (scored 4 until known, so that ignorance never lowers the risk).
    NotYetKnown,
    /// Other; describe it in `other_data_description` (scored 1; adjust the context if worse).
    Other,
}

impl DataCategory {
    /// Special category data under UK GDPR Art 9. Gender reassignment is not one, although
    /// [`enisa_base`](Self::enisa_base) scores it as sensitive.
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

    /// The ENISA DPC base of the category, 1 to 4 (see the module documentation for which
    /// values are ENISA's and which are our judgement).
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

    /// The name of the category in plain English, for documents.
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
            NotYetKnown => "Data not yet known",
            Other => "Other data",
        }
    }
}

/// ENISA's name for a DPC base.
fn enisa_kind(base: u8) -> &'static str {
    match base {
        0 | 1 => "simple",
        2 => "behavioural",
        3 => "financial",
        _ => "sensitive",
    }
}

/// A category of data subjects, as the ICO breach report form lists them.
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
    /// Children (vulnerable: raises the data processing context by 1).
    Children,
    /// Vulnerable adults (vulnerable: raises the data processing context by 1).
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

    /// The name of the category in plain English, for documents.
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
            NotYetKnown => "People not yet known",
            Other => "Other people",
        }
    }
}

/// An approximate number: `{"estimate": N}` or `{"min": N, "max": M}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
// Without this, `{"estimate": 5, "max": 9}` would quietly read as an estimate of 5.
#[serde(untagged, deny_unknown_fields)]
pub enum Count {
    /// A single best estimate.
    Estimate {
        /// The best estimate.
        estimate: u64,
    },
    /// A range, when only bounds are known.
    Range {
        /// At least this many.
        min: u64,
        /// At most this many; not less than `min`.
        max: u64,
    },
}

impl Count {
    /// The largest number the count allows.
    pub fn upper(&self) -> u64 {
        match *self {
            Count::Estimate { estimate } => estimate,
            // A reversed range is reported by `check`; until then, the larger bound is the
            // cautious reading.
            Count::Range { min, max } => min.max(max),
        }
    }
}

/// Formats `n` with thousands separators: 1234567 is "1,234,567".
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

/// ENISA's ease of identification (EI): how easily the data can be linked to the people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Identifiability {
    /// Identifying people from the data is extremely difficult, though possible in some
    /// conditions (EI 0.25).
    Negligible,
    /// People can be identified only in certain conditions or with further data (EI 0.5).
    Limited,
    /// People can be identified with modest effort (EI 0.75).
    Significant,
    /// People are identified directly, e.g. by name (EI 1).
    Maximum,
}

impl Identifiability {
    fn quarters(self) -> u32 {
        match self {
            Identifiability::Negligible => 1,
            Identifiability::Limited => 2,
            Identifiability::Significant => 3,
            Identifiability::Maximum => 4,
        }
    }

    /// The EI value: 0.25, 0.5, 0.75 or 1.
    pub fn value(self) -> f64 {
        from_quarters(self.quarters())
    }

    fn explain(self) -> &'static str {
        match self {
            Identifiability::Negligible => {
                "identifying people from the data is extremely difficult"
            }
            Identifiability::Limited => "people can be identified only in certain conditions",
            Identifiability::Significant => "people can be identified with modest effort",
            Identifiability::Maximum => "people are identified directly",
        }
    }
}

/// Loss of confidentiality (ENISA CB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfidentialityLoss {
    /// No loss of confidentiality (+0).
    None,
    /// Data exposed, with no evidence of unlawful processing (+0.25).
    Exposure,
    /// Data disclosed to wider or unknown recipients, or exfiltrated (+0.5).
    Disclosure,
}

/// Loss of integrity (ENISA CB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntegrityLoss {
    /// No loss of integrity (+0).
    None,
    /// Data altered, but the correct data can be recovered (+0.25).
    Recoverable,
    /// Data altered, and the correct data cannot be recovered (+0.5).
    Irrecoverable,
}

/// Loss of availability (ENISA CB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AvailabilityLoss {
    /// No loss of availability (+0).
    None,
    /// Data temporarily unavailable (+0.25).
    Temporary,
    /// Data permanently lost (+0.5).
    Permanent,
}

/// ENISA's circumstances of the breach (CB), which add to the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Circumstances {
    /// Loss of confidentiality: `none`, `exposure` (+0.25) or `disclosure` (+0.5).
    pub confidentiality: ConfidentialityLoss,
    /// Loss of integrity: `none`, `recoverable` (+0.25) or `irrecoverable` (+0.5).
    pub integrity: IntegrityLoss,
    /// Loss of availability: `none`, `temporary` (+0.25) or `permanent` (+0.5).
    pub availability: AvailabilityLoss,
    /// Malicious intent, such as a criminal attack or a deliberate insider (+0.5).
    pub malicious: bool,
}

/// The DPO's adjustment of ENISA's data processing context (DPC), with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextAdjustment {
    /// How much to raise (positive) or lower (negative) the DPC, -3 to 3. The result is kept
    /// within 1 to 4.
    #[schemars(range(min = -3, max = 3))]
    pub delta: i8,
    /// Why: volume of data, characteristics of the controller, invalid or outdated data, data
    /// already publicly available, the nature of the data...
    #[schemars(length(min = 1))]
    pub reason: String,
}

/// A measure that limits the consequences of the breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mitigation {
    /// The data is unintelligible: encrypted with a state-of-the-art algorithm, and the key
    /// was not exposed.
    EncryptedKeySafe,
    /// The data was recovered before anyone accessed it.
    RecoveredBeforeAccess,
    /// The lost or stolen device was wiped remotely.
    RemoteWiped,
    /// The affected credentials were reset.
    CredentialsReset,
    /// The data was restored from a backup.
    BackupRestored,
    /// The recipient confirmed that they deleted the data.
    RecipientConfirmedDeletion,
    /// Another measure; describe it in `mitigation_notes`.
    Other,
}

impl Mitigation {
    /// The measure in plain English, for documents.
    pub fn label(self) -> &'static str {
        match self {
            Mitigation::EncryptedKeySafe => "Encrypted with the key kept safe",
            Mitigation::RecoveredBeforeAccess => "Recovered before anyone accessed it",
            Mitigation::RemoteWiped => "Device wiped remotely",
            Mitigation::CredentialsReset => "Credentials reset",
            Mitigation::BackupRestored => "Restored from backup",
            Mitigation::RecipientConfirmedDeletion => "Recipient confirmed deletion",
            Mitigation::Other => "Other measure",
        }
    }
}

/// A likely consequence for the people affected (the harms of UK GDPR recital 85).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Consequence {
    /// Loss of control over their personal data, or limitation of their rights.
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
    /// Loss of confidentiality of personal data protected by professional secrecy.
    LossOfProfessionalSecrecy,
    /// Physical harm.
    PhysicalHarm,
    /// Distress.
    Distress,
    /// Another consequence; describe it in `consequences_description`.
    Other,
}

impl Consequence {
    /// The consequence in plain English, for documents.
    pub fn label(self) -> &'static str {
        match self {
            Consequence::LossOfControl => "Loss of control over personal data",
            Consequence::Discrimination => "Discrimination",
            Consequence::IdentityTheft => "Identity theft",
            Consequence::Fraud => "Fraud",
            Consequence::FinancialLoss => "Financial loss",
            Consequence::ReputationalDamage => "Damage to reputation",
            Consequence::LossOfProfessionalSecrecy => {
                "Loss of confidentiality of data protected by professional secrecy"
            }
            Consequence::PhysicalHarm => "Physical harm",
            Consequence::Distress => "Distress",
            Consequence::Other => "Other consequence",
        }
    }
}

/// The likelihood of significant consequences for the people, as the ICO form asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    /// Very likely.
    VeryLikely,
    /// Likely.
    Likely,
    /// Neither likely nor unlikely.
    Neutral,
    /// Unlikely.
    Unlikely,
    /// Very unlikely.
    VeryUnlikely,
    /// Not yet known.
    NotYetKnown,
}

impl Likelihood {
    /// The likelihood in plain English, as the ICO form words it.
    pub fn label(self) -> &'static str {
        match self {
            Likelihood::VeryLikely => "Very likely",
            Likelihood::Likely => "Likely",
            Likelihood::Neutral => "Neutral",
            Likelihood::Unlikely => "Unlikely",
            Likelihood::VeryUnlikely => "Very unlikely",
            Likelihood::NotYetKnown => "Not yet known",
        }
    }
}

/// The risk to people's rights and freedoms (UK GDPR Arts 33-34).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Unlikely to result in a risk: record the breach, no ICO notification (Art 33(1), 33(5)).
    Unlikely,
    /// Likely to result in a risk: notify the ICO (Art 33(1)).
    Risk,
    /// Likely to result in a high risk: notify the ICO and tell the people (Art 34(1)).
    High,
}

impl RiskLevel {
    /// The level as the law words it, for documents.
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
    /// The level the DPO sets: `unlikely`, `risk` or `high`.
    pub level: RiskLevel,
    /// Why the computed level does not fit; kept in the breach register.
    #[schemars(length(min = 1))]
    pub reason: String,
}

/// The exposure assessment of a breach (the file `breachflow assess ID --file F` reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentInput {
    /// Categories of personal data concerned, each once. The most sensitive sets ENISA's data
    /// processing context.
    #[schemars(length(min = 1))]
    pub data_categories: Vec<DataCategory>,
    /// What the "other" data is; required when `data_categories` includes `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_data_description: Option<String>,
    /// Categories of data subjects concerned, each once. Children or vulnerable adults raise
    /// the data processing context by 1.
    #[schemars(length(min = 1))]
    pub subject_categories: Vec<SubjectCategory>,
    /// Who the "other" people are; required when `subject_categories` includes `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_subjects_description: Option<String>,
    /// Approximate number of people affected: `{"estimate": N}` or `{"min": N, "max": M}`.
    /// Weighed outside the ENISA formula.
    pub subjects: Count,
    /// Approximate number of personal data records concerned, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<Count>,
    /// How easily the people can be identified from the data (ENISA EI).
    pub identifiability: Identifiability,
    /// What happened to the data (ENISA CB).
    pub circumstances: Circumstances,
    /// The DPO's adjustments of the data processing context (ENISA DPC), each with a reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_adjustments: Vec<ContextAdjustment>,
    /// Measures taken that limit the consequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mitigations: Vec<Mitigation>,
    /// The measures taken or proposed, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigation_notes: Option<String>,
    /// Likely consequences for the people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consequences: Vec<Consequence>,
    /// The consequences in words, including any harm already suffered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consequences_description: Option<String>,
    /// Likelihood of significant consequences, as the ICO form asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<Likelihood>,
    /// The DPO's override of the computed risk level, with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_level: Option<RiskOverride>,
}

/// ENISA's severity bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeverityBand {
    /// SE below 2: people are not affected, or meet a few inconveniences they overcome
    /// without problem.
    Low,
    /// SE from 2 to below 3: significant inconveniences, which people can overcome despite a
    /// few difficulties.
    Medium,
    /// SE from 3 to below 4: significant consequences, which people overcome only with serious
    /// difficulties.
    High,
    /// SE of 4 or more: significant, or even irreversible, consequences.
    VeryHigh,
}

impl SeverityBand {
    pub fn words(self) -> &'static str {
        match self {
            SeverityBand::Low => "low (below 2)",
            SeverityBand::Medium => "medium (2 to below 3)",
            SeverityBand::High => "high (3 to below 4)",
            SeverityBand::VeryHigh => "very high (4 or more)",
        }
    }
}

/// The computed severity and risk level, with the reasoning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Severity {
    /// ENISA DPC base: that of the most sensitive data category, 1 to 4.
    pub dpc_base: u8,
    /// The sum of the adjustments applied to the base (+1 for vulnerable people and the DPO's
    /// adjustments), before the DPC was clamped to 1 to 4.
    pub dpc_adjustment: i8,
    /// ENISA DPC: the base plus the adjustments, clamped to 1 to 4.
    pub dpc: u8,
    /// ENISA EI, ease of identification: 0.25, 0.5, 0.75 or 1.
    pub ei: f64,
    /// ENISA CB, circumstances of the breach: 0 to 2, in steps of 0.25.
    pub cb: f64,
    /// ENISA severity SE = DPC x EI + CB; always a multiple of 0.25.
    pub score: f64,
    /// ENISA band of the score.
    pub band: SeverityBand,
    /// The risk level that follows from the method, including the unintelligibility cap.
    pub computed_level: RiskLevel,
    /// The risk level that applies: the DPO's override if any, else the computed level.
    pub level: RiskLevel,
    /// Whether the DPO overrode the computed level.
    pub overridden: bool,
    /// The reasoning, one plain-English sentence per factor, for the breach register.
    pub rationale: Vec<String>,
}

fn from_quarters(q: u32) -> f64 {
    f64::from(q) / 4.0
}

/// "0.75", "1.00", "5.00".
fn show_quarters(q: u32) -> String {
    format!("{:.2}", from_quarters(q))
}

fn blank(s: Option<&str>) -> bool {
    s.is_none_or(|s| s.trim().is_empty())
}

/// The problems of an input that its JSON Schema cannot express, each as (JSON pointer,
/// what was expected). Lists every problem, in the order of the fields; empty when the input
/// is fine.
pub fn check(input: &AssessmentInput) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut problem = |pointer: String, message: String| problems.push((pointer, message));

    // The schema already requires one item, but a caller building the input in Rust skips it.
    if input.data_categories.is_empty() {
        problem(
            "/data_categories".into(),
            "expected at least one data category (use \"not_yet_known\" if unsure)".into(),
        );
    }
    for (i, c) in input.data_categories.iter().enumerate() {
        if let Some(first) = input.data_categories[..i].iter().position(|d| d == c) {
            problem(
                format!("/data_categories/{i}"),
                format!(
                    "expected each category once; {} is already listed at /data_categories/{first}",
                    c.label()
                ),
            );
        }
    }
    if input.data_categories.contains(&DataCategory::Other)
        && blank(input.other_data_description.as_deref())
    {
        problem(
            "/other_data_description".into(),
            "expected a description of the data, because data_categories includes \"other\"".into(),
        );
    }
    if input.subject_categories.is_empty() {
        problem(
            "/subject_categories".into(),
            "expected at least one category of people (use \"not_yet_known\" if unsure)".into(),
        );
    }
    for (i, c) in input.subject_categories.iter().enumerate() {
        if let Some(first) = input.subject_categories[..i].iter().position(|d| d == c) {
            problem(
                format!("/subject_categories/{i}"),
                format!(
                    "expected each category once; {} is already listed at /subject_categories/{first}",
                    c.label()
                ),
            );
        }
    }
    if input.subject_categories.contains(&SubjectCategory::Other)
        && blank(input.other_subjects_description.as_deref())
    {
        problem(
            "/other_subjects_description".into(),
            "expected a description of the people, because subject_categories includes \"other\""
                .into(),
        );
    }
    for (field, count) in [
        ("subjects", Some(&input.subjects)),
        ("records", input.records.as_ref()),
    ] {
        if let Some(&Count::Range { min, max }) = count
            && min > max
        {
            problem(
                format!("/{field}/min"),
                format!(
                    "expected min to be at most max, but min is {} and max is {}",
                    thousands(min),
                    thousands(max)
                ),
            );
        }
    }
    for (i, a) in input.context_adjustments.iter().enumerate() {
        // The schema says so too; this guards inputs built in Rust.
        if !(-3..=3).contains(&a.delta) {
            problem(
                format!("/context_adjustments/{i}/delta"),
                format!("expected an adjustment from -3 to 3, but it is {}", a.delta),
            );
        }
        // minLength 1 lets a lone space through.
        if a.reason.trim().is_empty() {
            problem(
                format!("/context_adjustments/{i}/reason"),
                "expected a reason for the adjustment, but it is blank".into(),
            );
        }
    }
    if let Some(o) = &input.override_level
        && o.reason.trim().is_empty()
    {
        problem(
            "/override_level/reason".into(),
            "expected a reason for overriding the computed risk level, but it is blank".into(),
        );
    }
    problems
}

/// Computes the severity and risk level of a breach by the ENISA method (see the module
/// documentation). Never panics; an input that fails [`check`] still gets a cautious answer.
pub fn assess(input: &AssessmentInput) -> Severity {
    let mut rationale = Vec::new();

    // DPC. The first of the most sensitive categories, so the sentence names the one the DPO
    // listed first.
    let top = input
        .data_categories
        .iter()
        .copied()
        .min_by_key(|c| Reverse(c.enisa_base()));
    let dpc_base = match top {
        Some(c) => {
            let base = c.enisa_base();
            rationale.push(format!(
                "DPC base {base}: the most sensitive category is {} (ENISA: {}).",
                c.label(),
                enisa_kind(base)
            ));
            base
        }
        None => {
            let base = DataCategory::NotYetKnown.enisa_base();
            rationale.push(format!(
                "DPC base {base}: no data category was given, so the data is treated as not yet known (ENISA: {}).",
                enisa_kind(base)
            ));
            base
        }
    };

    let mut adjustment: i32 = 0;
    let vulnerable: Vec<String> = input
        .subject_categories
        .iter()
        .filter(|s| s.is_vulnerable())
        .enumerate()
        .map(|(i, s)| match i {
            0 => s.label().to_string(),
            _ => s.label().to_lowercase(),
        })
        .collect();
    if !vulnerable.is_empty() {
        adjustment += 1;
        rationale.push(format!(
            "DPC +1: {} are affected (ENISA: vulnerable individuals aggravate the context).",
            vulnerable.join(" and ")
        ));
    }
    for a in &input.context_adjustments {
        adjustment = adjustment.saturating_add(i32::from(a.delta));
        rationale.push(format!(
            "DPC {:+}: {} (the DPO's adjustment).",
            a.delta,
            a.reason.trim()
        ));
    }
    let unclamped = i32::from(dpc_base).saturating_add(adjustment);
    let dpc = u8::try_from(unclamped.clamp(1, 4)).unwrap_or(4);
    if unclamped != i32::from(dpc) {
        rationale.push(format!(
            "DPC {dpc}: base {dpc_base} adjusted by {adjustment:+} gives {unclamped}, outside ENISA's scale of 1 to 4, so it is taken as {dpc}."
        ));
    } else if adjustment != 0 {
        rationale.push(format!(
            "DPC {dpc}: base {dpc_base} adjusted by {adjustment:+}."
        ));
    }

    let ei_q = input.identifiability.quarters();
    rationale.push(format!(
        "EI {}: {}.",
        show_quarters(ei_q),
        input.identifiability.explain()
    ));

    let c = &input.circumstances;
    let mut cb_q = 0u32;
    let mut parts = Vec::new();
    match c.confidentiality {
        ConfidentialityLoss::None => {}
        ConfidentialityLoss::Exposure => {
            cb_q += 1;
            parts.push("loss of confidentiality by exposure +0.25");
        }
        ConfidentialityLoss::Disclosure => {
            cb_q += 2;
            parts.push("loss of confidentiality by disclosure +0.50");
        }
    }
    match c.integrity {
        IntegrityLoss::None => {}
        IntegrityLoss::Recoverable => {
            cb_q += 1;
            parts.push("recoverable loss of integrity +0.25");
        }
        IntegrityLoss::Irrecoverable => {
            cb_q += 2;
            parts.push("irrecoverable loss of integrity +0.50");
        }
    }
    match c.availability {
        AvailabilityLoss::None => {}
        AvailabilityLoss::Temporary => {
            cb_q += 1;
            parts.push("temporary loss of availability +0.25");
        }
        AvailabilityLoss::Permanent => {
            cb_q += 2;
            parts.push("permanent loss of availability +0.50");
        }
    }
    if c.malicious {
        cb_q += 2;
        parts.push("malicious intent +0.50");
    }
    rationale.push(if parts.is_empty() {
        "CB 0.00: no loss of confidentiality, integrity or availability, and no malicious intent."
            .to_string()
    } else {
        format!("CB {}: {}.", show_quarters(cb_q), parts.join(", "))
    });

    // DPC is whole, EI and CB are in quarters, so SE in quarters is DPC x EI(q) + CB(q): the
    // bands' edges 2, 3 and 4 are exactly 8, 12 and 16 quarters.
    let score_q = u32::from(dpc) * ei_q + cb_q;
    let band = match score_q {
        0..8 => SeverityBand::Low,
        8..12 => SeverityBand::Medium,
        12..16 => SeverityBand::High,
        _ => SeverityBand::VeryHigh,
    };
    let by_band = match band {
        SeverityBand::Low => RiskLevel::Unlikely,
        SeverityBand::Medium => RiskLevel::Risk,
        SeverityBand::High | SeverityBand::VeryHigh => RiskLevel::High,
    };
    rationale.push(format!(
        "SE = DPC {dpc} x EI {} + CB {} = {}: {} severity, so {}.",
        show_quarters(ei_q),
        show_quarters(cb_q),
        show_quarters(score_q),
        band.words(),
        by_band.label()
    ));

    let mut computed_level = by_band;
    let unintelligible = input.mitigations.iter().find(|m| {
        matches!(
            m,
            Mitigation::EncryptedKeySafe | Mitigation::RecoveredBeforeAccess
        )
    });
    if let Some(&m) = unintelligible {
        let how = if m == Mitigation::EncryptedKeySafe {
            "encrypted with the key kept safe, so unintelligible to anyone who has it"
        } else {
            "recovered before anyone accessed it"
        };
        let confidentiality_only =
            c.integrity == IntegrityLoss::None && c.availability == AvailabilityLoss::None;
        if !confidentiality_only {
            rationale.push(format!(
                "The data was {how}, but integrity or availability was also lost, so the level is not capped."
            ));
        } else if computed_level > RiskLevel::Unlikely {
            computed_level = RiskLevel::Unlikely;
            rationale.push(format!(
                "Capped from {by_band} to unlikely: only confidentiality was affected and the data was {how} (UK GDPR Art 34(3)(a); EDPB Guidelines 9/2022, encrypted device example)."
            ));
        } else {
            rationale.push(format!(
                "Only confidentiality was affected and the data was {how}, which also supports unlikely (UK GDPR Art 34(3)(a))."
            ));
        }
    }

    let records = match input.records {
        Some(r) => format!(" in {r} records"),
        None => String::new(),
    };
    rationale.push(format!(
        "People affected: {}{records}. ENISA weighs the number of people outside the formula; it was considered separately and should be weighed in any override.",
        input.subjects
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
        dpc_adjustment: i8::try_from(adjustment.clamp(i8::MIN.into(), i8::MAX.into()))
            .unwrap_or_default(),
        dpc,
        ei: from_quarters(ei_q),
        cb: from_quarters(cb_q),
        score: from_quarters(score_q),
        band,
        computed_level,
        level,
        overridden,
        rationale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(json: serde_json::Value) -> AssessmentInput {
        serde_json::from_value(json).expect("a valid assessment")
    }

    /// Contact details of customers, limited identifiability, exposed; nothing else.
    fn base() -> serde_json::Value {
        json!({
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
    fn health_data_disclosed_maliciously_is_very_high() {
        // Health: DPC 4 (sensitive). EI maximum 1. CB disclosure 0.5 + malicious 0.5 = 1.0.
        // SE = 4 x 1 + 1.0 = 5.0 >= 4: very high -> high risk.
        let mut j = base();
        j["data_categories"] = json!(["basic_identifiers", "health"]);
        j["identifiability"] = json!("maximum");
        j["circumstances"]["confidentiality"] = json!("disclosure");
        j["circumstances"]["malicious"] = json!(true);
        let s = assess(&input(j));
        assert_eq!((s.dpc_base, s.dpc_adjustment, s.dpc), (4, 0, 4));
        assert_eq!((s.ei, s.cb, s.score), (1.0, 1.0, 5.0));
        assert_eq!(s.band, SeverityBand::VeryHigh);
        assert_eq!(
            (s.computed_level, s.level),
            (RiskLevel::High, RiskLevel::High)
        );
        assert!(!s.overridden);
        assert_eq!(
            s.rationale[0],
            "DPC base 4: the most sensitive category is Health data (ENISA: sensitive)."
        );
    }

    #[test]
    fn contact_details_exposed_are_low() {
        // Contact details: DPC 1. EI limited 0.5. CB exposure 0.25.
        // SE = 1 x 0.5 + 0.25 = 0.75 < 2: low -> unlikely.
        let s = assess(&input(base()));
        assert_eq!((s.dpc, s.ei, s.cb, s.score), (1, 0.5, 0.25, 0.75));
        assert_eq!(s.band, SeverityBand::Low);
        assert_eq!(s.level, RiskLevel::Unlikely);
        assert!(
            s.rationale
                .iter()
                .any(|r| r.contains("approximately 1,200") && r.contains("outside the formula"))
        );
    }

    #[test]
    fn children_raise_the_context_and_exactly_two_is_medium() {
        // Basic identifiers: base 1, children +1 -> DPC 2. EI significant 0.75. CB disclosure
        // 0.5. SE = 2 x 0.75 + 0.5 = 1.5 + 0.5 = 2.0 exactly: medium -> risk.
        let mut j = base();
        j["data_categories"] = json!(["basic_identifiers"]);
        j["subject_categories"] = json!(["children"]);
        j["identifiability"] = json!("significant");
        j["circumstances"]["confidentiality"] = json!("disclosure");
        let s = assess(&input(j));
        assert_eq!((s.dpc_base, s.dpc_adjustment, s.dpc), (1, 1, 2));
        assert_eq!(s.score, 2.0);
        assert_eq!(s.band, SeverityBand::Medium);
        assert_eq!(s.level, RiskLevel::Risk);
    }

    #[test]
    fn band_edges() {
        // (categories, identifiability, confidentiality, malicious, expected SE, band)
        let cases = [
            // Financial 3 x negligible 0.25 + disclosure 0.5 + malicious 0.5 = 0.75 + 1.0 = 1.75.
            (
                "economic_financial",
                "negligible",
                "disclosure",
                true,
                1.75,
                SeverityBand::Low,
            ),
            // Location 2 x maximum 1 + disclosure 0.5 + malicious 0.5 = 3.0 exactly.
            (
                "location",
                "maximum",
                "disclosure",
                true,
                3.0,
                SeverityBand::High,
            ),
            // Location 2 x maximum 1 + exposure 0.25 + malicious 0.5 = 2.75.
            (
                "location",
                "maximum",
                "exposure",
                true,
                2.75,
                SeverityBand::Medium,
            ),
            // Identification data 3 x maximum 1 + disclosure 0.5 + malicious 0.5 = 4.0 exactly.
            (
                "identification_data",
                "maximum",
                "disclosure",
                true,
                4.0,
                SeverityBand::VeryHigh,
            ),
            // Official documents 3 x maximum 1 + exposure 0.25 + malicious 0.5 = 3.75.
            (
                "official_documents",
                "maximum",
                "exposure",
                true,
                3.75,
                SeverityBand::High,
            ),
        ];
        for (category, ei, conf, malicious, score, band) in cases {
            let mut j = base();
            j["data_categories"] = json!([category]);
            j["identifiability"] = json!(ei);
            j["circumstances"]["confidentiality"] = json!(conf);
            j["circumstances"]["malicious"] = json!(malicious);
            let s = assess(&input(j));
            assert_eq!((s.score, s.band), (score, band), "{category} {ei} {conf}");
        }
    }

    #[test]
    fn integrity_and_availability_add_to_the_circumstances() {
        // Contact 1 x limited 0.5 + (irrecoverable 0.5 + permanent 0.5) = 0.5 + 1.0 = 1.5.
        let mut j = base();
        j["circumstances"] = json!({
            "confidentiality": "none",
            "integrity": "irrecoverable",
            "availability": "permanent",
            "malicious": false
        });
        let s = assess(&input(j));
        assert_eq!((s.cb, s.score), (1.0, 1.5));
    }

    #[test]
    fn negative_adjustments_are_clamped_at_one() {
        // Contact details base 1, -3 -> -2, clamped to 1. SE = 1 x 0.5 + 0.25 = 0.75.
        let mut j = base();
        j["context_adjustments"] = json!([{ "delta": -3, "reason": "data already public" }]);
        let s = assess(&input(j));
        assert_eq!((s.dpc_base, s.dpc_adjustment, s.dpc), (1, -3, 1));
        assert_eq!(s.score, 0.75);
        assert!(
            s.rationale
                .iter()
                .any(|r| r.contains("gives -2") && r.contains("taken as 1"))
        );
        assert!(
            s.rationale
                .iter()
                .any(|r| r == "DPC -3: data already public (the DPO's adjustment).")
        );
    }

    #[test]
    fn positive_adjustments_are_clamped_at_four() {
        // Health base 4, vulnerable adults +1, DPO +2 -> 7, clamped to 4.
        // SE = 4 x 0.5 + 0.25 = 2.25: medium.
        let mut j = base();
        j["data_categories"] = json!(["health"]);
        j["subject_categories"] = json!(["patients", "vulnerable_adults"]);
        j["context_adjustments"] = json!([{ "delta": 2, "reason": "large volume" }]);
        let s = assess(&input(j));
        assert_eq!((s.dpc_base, s.dpc_adjustment, s.dpc), (4, 3, 4));
        assert_eq!((s.score, s.band), (2.25, SeverityBand::Medium));
        assert!(
            s.rationale
                .iter()
                .any(|r| r.starts_with("DPC +1: Vulnerable adults are affected"))
        );
    }

    #[test]
    fn encrypted_with_the_key_safe_is_capped_at_unlikely() {
        // Financial 3 x maximum 1 + disclosure 0.5 = 3.5: high band, but the data is
        // unintelligible, so the computed level is capped at unlikely.
        let mut j = base();
        j["data_categories"] = json!(["economic_financial"]);
        j["identifiability"] = json!("maximum");
        j["circumstances"]["confidentiality"] = json!("disclosure");
        j["mitigations"] = json!(["encrypted_key_safe"]);
        let s = assess(&input(j.clone()));
        assert_eq!((s.score, s.band), (3.5, SeverityBand::High));
        assert_eq!(
            (s.computed_level, s.level),
            (RiskLevel::Unlikely, RiskLevel::Unlikely)
        );
        assert!(
            s.rationale
                .iter()
                .any(|r| r.contains("Capped from high to unlikely"))
        );
        assert!(check(&input(j.clone())).is_empty());

        // Same for data recovered before anyone read it.
        j["mitigations"] = json!(["recovered_before_access"]);
        assert_eq!(
            assess(&input(j.clone())).computed_level,
            RiskLevel::Unlikely
        );

        // Not when availability was lost too: 3 x 1 + 0.5 + 0.25 = 3.75, high.
        j["circumstances"]["availability"] = json!("temporary");
        let s = assess(&input(j));
        assert_eq!((s.score, s.computed_level), (3.75, RiskLevel::High));
    }

    #[test]
    fn override_changes_the_level_not_the_computation() {
        // 0.75 as in contact_details_exposed_are_low: computed unlikely.
        let mut j = base();
        j["override_level"] =
            json!({ "level": "high", "reason": "owners are at risk of stalking" });
        let s = assess(&input(j));
        assert_eq!(s.computed_level, RiskLevel::Unlikely);
        assert_eq!(s.level, RiskLevel::High);
        assert!(s.overridden);
        assert_eq!(
            s.rationale.last().map(String::as_str),
            Some("Overridden by the DPO from unlikely to high: owners are at risk of stalking")
        );
    }

    #[test]
    fn check_lists_every_problem() {
        let mut j = base();
        j["subjects"] = json!({ "min": 1500, "max": 1200 });
        j["data_categories"] = json!(["other", "health", "health"]);
        j["override_level"] = json!({ "level": "risk", "reason": "  " });
        let problems = check(&input(j));
        let pointers: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/data_categories/2",
                "/other_data_description",
                "/subjects/min",
                "/override_level/reason"
            ]
        );
        assert_eq!(
            problems[2].1,
            "expected min to be at most max, but min is 1,500 and max is 1,200"
        );
        assert!(check(&input(base())).is_empty());
    }

    #[test]
    fn check_covers_subjects_and_adjustments() {
        let mut j = base();
        j["subject_categories"] = json!(["other", "users", "users"]);
        j["other_subjects_description"] = json!(" ");
        j["records"] = json!({ "min": 2, "max": 1 });
        j["context_adjustments"] = json!([{ "delta": 5, "reason": " " }]);
        let pointers: Vec<String> = check(&input(j)).into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            pointers,
            [
                "/subject_categories/2",
                "/other_subjects_description",
                "/records/min",
                "/context_adjustments/0/delta",
                "/context_adjustments/0/reason"
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
                max: 1500
            }
            .to_string(),
            "1,200 to 1,500"
        );
        assert_eq!(
            Count::Estimate { estimate: 0 }.to_string(),
            "approximately 0"
        );
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(123_456), "123,456");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(Count::Range { min: 9, max: 3 }.upper(), 9);
    }

    #[test]
    fn input_round_trips_through_json() {
        let text = r#"{
            "data_categories": ["identification_data", "other"],
            "other_data_description": "Loyalty card numbers",
            "subject_categories": ["customers", "other"],
            "other_subjects_description": "Gift recipients",
            "subjects": { "min": 80000, "max": 120000 },
            "records": { "estimate": 450000 },
            "identifiability": "significant",
            "circumstances": {
                "confidentiality": "disclosure",
                "integrity": "recoverable",
                "availability": "temporary",
                "malicious": true
            },
            "context_adjustments": [{ "delta": -1, "reason": "passwords were hashed" }],
            "mitigations": ["credentials_reset", "other"],
            "mitigation_notes": "Forced password change",
            "consequences": ["fraud", "distress"],
            "consequences_description": "Phishing using the card numbers",
            "likelihood": "likely",
            "override_level": { "level": "high", "reason": "targeted phishing seen" }
        }"#;
        let parsed: AssessmentInput = serde_json::from_str(text).expect("parses");
        assert_eq!(
            parsed.subjects,
            Count::Range {
                min: 80000,
                max: 120000
            }
        );
        assert_eq!(parsed.records, Some(Count::Estimate { estimate: 450000 }));
        assert_eq!(parsed.context_adjustments[0].delta, -1);
        assert_eq!(parsed.likelihood, Some(Likelihood::Likely));
        let again: AssessmentInput =
            serde_json::from_str(&serde_json::to_string(&parsed).expect("serialises"))
                .expect("parses again");
        assert_eq!(again, parsed);
        let expected: serde_json::Value = serde_json::from_str(text).expect("json");
        assert_eq!(serde_json::to_value(&parsed).expect("serialises"), expected);
        assert!(check(&parsed).is_empty());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut j = base();
        j["severity"] = json!(5);
        assert!(serde_json::from_value::<AssessmentInput>(j).is_err());

        let mut j = base();
        j["circumstances"]["encrypted"] = json!(true);
        assert!(serde_json::from_value::<AssessmentInput>(j).is_err());

        let mut j = base();
        j["subjects"] = json!({ "estimate": 5, "max": 9 });
        assert!(serde_json::from_value::<AssessmentInput>(j).is_err());
    }

    #[test]
    fn categories_in_law() {
        assert!(DataCategory::Health.is_special_category());
        assert!(!DataCategory::GenderReassignment.is_special_category());
        assert_eq!(DataCategory::GenderReassignment.enisa_base(), 4);
        assert!(!DataCategory::CriminalOffences.is_special_category());
        assert!(DataCategory::CriminalOffences.is_criminal_offence());
        assert_eq!(DataCategory::NotYetKnown.enisa_base(), 4);
        assert_eq!(DataCategory::Other.enisa_base(), 1);
        assert!(SubjectCategory::Children.is_vulnerable());
        assert!(!SubjectCategory::Patients.is_vulnerable());
        assert_eq!(Identifiability::Significant.value(), 0.75);
        assert_eq!(RiskLevel::Risk.to_string(), "risk");
        assert_eq!(
            serde_json::to_value(RiskLevel::Unlikely).ok(),
            Some(json!("unlikely"))
        );
        assert!(RiskLevel::Unlikely < RiskLevel::Risk && RiskLevel::Risk < RiskLevel::High);
    }

    #[test]
    fn nonsense_built_in_rust_does_not_panic() {
        // No categories: treated as not yet known (4). Adjustments -128 x 3 saturate the
        // reported sum at -128 and clamp the DPC at 1. SE = 1 x 0.25 + 0 = 0.25.
        let odd = AssessmentInput {
            data_categories: vec![],
            other_data_description: None,
            subject_categories: vec![],
            other_subjects_description: None,
            subjects: Count::Range {
                min: u64::MAX,
                max: 0,
            },
            records: None,
            identifiability: Identifiability::Negligible,
            circumstances: Circumstances {
                confidentiality: ConfidentialityLoss::None,
                integrity: IntegrityLoss::None,
                availability: AvailabilityLoss::None,
                malicious: false,
            },
            context_adjustments: vec![
                ContextAdjustment {
                    delta: i8::MIN,
                    reason: String::new(),
                };
                3
            ],
            mitigations: vec![],
            mitigation_notes: None,
            consequences: vec![],
            consequences_description: None,
            likelihood: None,
            override_level: None,
        };
        let s = assess(&odd);
        assert_eq!(
            (s.dpc_base, s.dpc_adjustment, s.dpc, s.score),
            (4, -128, 1, 0.25)
        );
        assert_eq!(check(&odd).len(), 9);
    }

    #[test]
    fn schema_carries_the_constraints() {
        let schema = serde_json::to_value(schemars::schema_for!(AssessmentInput)).expect("json");
        let props = &schema["properties"];
        assert_eq!(props["data_categories"]["minItems"], json!(1));
        assert_eq!(props["subject_categories"]["minItems"], json!(1));
        assert_eq!(schema["additionalProperties"], json!(false));
        let adjustment = &schema["$defs"]["ContextAdjustment"]["properties"];
        assert_eq!(adjustment["delta"]["minimum"], json!(-3));
        assert_eq!(adjustment["delta"]["maximum"], json!(3));
        assert_eq!(adjustment["reason"]["minLength"], json!(1));
    }
}
