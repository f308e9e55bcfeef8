//! The DPO's decision: is the ICO notified (UK GDPR Art 33), are data subjects told (Art 34)?
//!
//! The engine recommends from the risk level; the DPO accepts or overrides with a reason. Either
//! way the reasoning is part of the record (Art 33(5)), also when the answer is "not notifiable".

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::assessment::RiskLevel;
use crate::domain::organisation::ControllerRole;

/// What the risk level calls for, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Recommendation {
    pub notify_ico: bool,
    pub tell_subjects: bool,
    /// The rule applied, in words a DPO can put in the breach register.
    pub basis: String,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    /// Whether the ICO is notified.
    pub notify_ico: bool,
    /// Whether data subjects are told.
    pub tell_subjects: bool,
    /// The assessment version the decision rests on.
    pub assessment_version: u32,
    /// Risk level of that assessment (after any override).
    pub risk_level: RiskLevel,
    /// What the engine recommended.
    pub recommendation: Recommendation,
    /// True when the decision is exactly the recommendation.
    pub follows_recommendation: bool,
    /// The DPO's own reasoning; required when overriding the recommendation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The assessment's reasoning, copied so the register reads on its own.
    pub reasoning: Vec<String>,
}

/// The recommendation that follows from a risk level (Art 33(1): notify unless unlikely to result
/// in a risk; Art 34(1): tell subjects when likely to result in a high risk).
pub fn recommend(level: RiskLevel, role: ControllerRole) -> Recommendation {
    if role == ControllerRole::Processor {
        return Recommendation {
            notify_ico: false,
            tell_subjects: false,
            basis: "As a processor, tell the controller without undue delay (UK GDPR Art 33(2)); \
                    the controller decides on notifying the ICO and data subjects."
                .into(),
        };
    }
    match level {
        RiskLevel::Unlikely => Recommendation {
            notify_ico: false,
            tell_subjects: false,
            basis:
                "The breach is unlikely to result in a risk to individuals' rights and freedoms, \
                    so the ICO need not be notified (UK GDPR Art 33(1)); record it in the breach \
                    register (Art 33(5))."
                    .into(),
        },
        RiskLevel::Risk => Recommendation {
            notify_ico: true,
            tell_subjects: false,
            basis: "The breach is likely to result in a risk to individuals' rights and freedoms: \
                    notify the ICO within 72 hours of awareness (UK GDPR Art 33(1)). It is not \
                    assessed as high risk, so telling data subjects is not required (Art 34(1))."
                .into(),
        },
        RiskLevel::High => Recommendation {
            notify_ico: true,
            tell_subjects: true,
            basis: "The breach is likely to result in a high risk to individuals' rights and \
                    freedoms: notify the ICO within 72 hours of awareness (UK GDPR Art 33(1)) and \
                    tell data subjects without undue delay (Art 34(1))."
                .into(),
        },
    }
}

/// The issuer's decision to delay disclosure of inside information (UK MAR Art 17(4)): when,
/// who, and how each of the three conditions is met, kept as the record the FCA may ask for
/// (ESMA MAR Q&A 5.2: time, persons responsible, evidence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DisclosureDelay {
    /// When the delay was decided.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The persons responsible for the decision.
    pub decided_by: String,
    /// (a) Why immediate disclosure is likely to prejudice the issuer's legitimate interests.
    pub legitimate_interests: String,
    /// (b) Why the delay is not likely to mislead the public.
    pub not_misleading: String,
    /// (c) How confidentiality is ensured.
    pub confidentiality: String,
    /// Evidence, or where it is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

impl DisclosureDelay {
    /// The conditions left blank, by their flag: all three must be shown to hold.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            ("--legitimate-interests", &self.legitimate_interests),
            ("--not-misleading", &self.not_misleading),
            ("--confidentiality", &self.confidentiality),
            ("--by", &self.decided_by),
        ]
        .into_iter()
        .filter(|(_, v)| v.trim().is_empty())
        .map(|(flag, _)| flag)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delay_needs_all_three_conditions_and_a_name() {
        let delay = DisclosureDelay {
            at: chrono::DateTime::UNIX_EPOCH,
            decided_by: "Board".into(),
            legitimate_interests: "Negotiations with the attacker's host".into(),
            not_misleading: " ".into(),
            confidentiality: "Insider list kept".into(),
            evidence: None,
        };
        assert_eq!(delay.missing(), ["--not-misleading"]);
        let none = DisclosureDelay {
            decided_by: String::new(),
            legitimate_interests: String::new(),
            confidentiality: String::new(),
            ..delay
        };
        assert_eq!(
            none.missing(),
            [
                "--legitimate-interests",
                "--not-misleading",
                "--confidentiality",
                "--by"
            ]
        );
    }
}
