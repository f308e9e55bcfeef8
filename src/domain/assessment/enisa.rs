//! ENISA's severity method (DPC x EI + CB, in whole quarters) and the semantic checks of an
//! assessment; see the `assessment` module documentation for the method and its sources.

use std::cmp::Reverse;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::input::*;

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

pub(super) fn from_quarters(q: u32) -> f64 {
    f64::from(q) / 4.0
}

/// "0.75", "1.00", "5.00".
pub(super) fn show_quarters(q: u32) -> String {
    format!("{:.2}", from_quarters(q))
}

pub(super) fn blank(s: Option<&str>) -> bool {
    s.is_none_or(|s| s.trim().is_empty())
}

/// The problems of an input that its JSON Schema cannot express, each as (JSON pointer,
/// what was expected). Lists every problem, in the order of the fields; empty when the input
/// is fine.
pub fn check(input: &AssessmentInput) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut problem = |pointer: String, message: String| problems.push((pointer, message));

    for (i, code) in input.affected_countries.iter().enumerate() {
        if let Some(p) = crate::domain::organisation::country_problem(code) {
            problem(format!("/affected_countries/{i}"), p);
        }
    }
    for (i, r) in input.residents_by_state.iter().enumerate() {
        if r.state.trim().is_empty() {
            problem(
                format!("/residents_by_state/{i}/state"),
                "expected the State's name or code, e.g. \"TX\"".into(),
            );
        } else if let Some(first) = input.residents_by_state[..i]
            .iter()
            .position(|o| o.state.trim().eq_ignore_ascii_case(r.state.trim()))
        {
            problem(
                format!("/residents_by_state/{i}/state"),
                format!(
                    "expected each State once; {} is already listed at /residents_by_state/{first}",
                    r.state.trim()
                ),
            );
        }
        if r.count.lower() > input.subjects.upper() {
            problem(
                format!("/residents_by_state/{i}/count"),
                format!(
                    "expected at most the {} people affected in all, but {} is {}",
                    input.subjects,
                    r.state.trim(),
                    r.count
                ),
            );
        }
    }
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
