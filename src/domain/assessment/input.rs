//! The exposure assessment's vocabulary: data and subject categories, counts, ease of
//! identification, circumstances, mitigations and consequences, as the ICO breach report form
//! and ENISA name them; the input file's type [`AssessmentInput`].

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::enisa::from_quarters;

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
pub(super) fn enisa_kind(base: u8) -> &'static str {
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
    /// The smallest number the count allows.
    pub fn lower(&self) -> u64 {
        match *self {
            Count::Estimate { estimate } => estimate,
            Count::Range { min, max } => min.min(max),
        }
    }

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
    pub(super) fn quarters(self) -> u32 {
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

    pub(super) fn explain(self) -> &'static str {
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
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub context_adjustments: Vec<ContextAdjustment>,
    /// Measures taken that limit the consequences.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub mitigations: Vec<Mitigation>,
    /// The measures taken or proposed, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigation_notes: Option<String>,
    /// Likely consequences for the people.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
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
    /// ISO 3166-1 alpha-2 codes of the countries where affected people reside, where known
    /// ("GB" for the United Kingdom). Without an EU main establishment, each EU member state
    /// named here has its own supervisory authority to notify (EDPB GL 9/2022 para 73).
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub affected_countries: Vec<String>,
    /// Affected people by the US State or jurisdiction they reside in, where known: HIPAA's
    /// media notice is owed where more than 500 residents of one State are affected (45 CFR
    /// 164.406). Absent, that threshold stays indeterminate while the total could meet it.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub residents_by_state: Vec<Residents>,
}

/// Affected people resident in one US State or jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Residents {
    /// The State or jurisdiction, e.g. "TX" or "Texas".
    #[schemars(length(min = 1))]
    pub state: String,
    /// How many of the affected people reside there: `{"estimate": N}` or `{"min": N, "max": M}`.
    pub count: Count,
}
