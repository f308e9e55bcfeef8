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

//! The file is in two parts: [`input`] (the assessment's vocabulary, as the ICO form and
//! ENISA name things) and [`enisa`] (the checks and the severity method).

mod enisa;
mod input;

pub use enisa::*;
pub use input::*;

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
            affected_countries: vec![],
            residents_by_state: vec![],
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
