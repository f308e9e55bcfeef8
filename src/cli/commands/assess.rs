//! `breachflow assess ID --file F`: a new version of the exposure assessment.

use std::path::Path;

use chrono_tz::Tz;
use serde_json::json;

use super::open_store;
use crate::app;
use crate::cli::output::{self, Format, instant};
use crate::cli::{CliError, Ctx};
use crate::domain::assessment::AssessmentInput;
use crate::domain::incident::IncidentId;
use crate::domain::record::AssessmentVersion;

pub fn run(ctx: &Ctx, id: IncidentId, file: &Path) -> Result<(), CliError> {
    let assessment: AssessmentInput = crate::adapters::files::load(file)?;
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let book = super::rulebook(ctx)?;
    let app::incident::Assessed { record, kept } = app::incident::assess(
        &store,
        &ctx.app(),
        &book,
        id,
        &file.display().to_string(),
        &assessment,
    )?;
    let Some(current) = record.current_assessment() else {
        return Err(CliError::Failed("the assessment was not recorded".into()));
    };
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": id,
            "state": record.state,
            "assessment": current,
            "kept": kept.iter().map(|(o, why)| json!({"obligation": o, "why": why})).collect::<Vec<_>>(),
        })),
        Format::Table | Format::Csv | Format::Html => {
            let mut s = format!(
                "{id} is {}.\n{}",
                record.state,
                describe(current, org.zone())
            );
            for (o, why) in &kept {
                s.push_str(&format!("  Still owed: {o}: {why}\n"));
            }
            output::print(&s)
        }
    }
    Ok(())
}

/// The human-readable view of one assessment version.
pub fn describe(a: &AssessmentVersion, zone: Tz) -> String {
    let sev = &a.severity;
    let input = &a.input;
    let mut s = format!(
        "Assessment v{} ({} by {})\n",
        a.version,
        instant(a.at, zone),
        a.by
    );
    let level = if sev.overridden {
        format!(
            "{} (overridden; computed {})",
            sev.level, sev.computed_level
        )
    } else {
        sev.level.to_string()
    };
    s.push_str(&format!("  Risk level:  {level}: {}\n", sev.level.label()));
    s.push_str(&format!(
        "  Severity:    SE {:.2} ({}) = DPC {} x EI {:.2} + CB {:.2}  (ENISA 2013)\n",
        sev.score,
        crate::render::format::band(sev.band),
        sev.dpc,
        sev.ei,
        sev.cb
    ));
    let data: Vec<String> = input
        .data_categories
        .iter()
        .map(|c| {
            let tag = if c.is_special_category() {
                Some("special category")
            } else if c.is_criminal_offence() {
                Some("criminal offence")
            } else {
                None
            };
            tagged(c.label(), tag)
        })
        .collect();
    s.push_str(&format!("  Data:        {}\n", data.join(", ")));
    let subjects: Vec<String> = input
        .subject_categories
        .iter()
        .map(|c| tagged(c.label(), c.is_vulnerable().then_some("vulnerable")))
        .collect();
    s.push_str(&format!("  Subjects:    {}\n", subjects.join(", ")));
    s.push_str(&format!("  People:      {}\n", input.subjects));
    if let Some(records) = &input.records {
        s.push_str(&format!("  Records:     {records}\n"));
    }
    if !input.mitigations.is_empty() {
        let m: Vec<_> = input.mitigations.iter().map(|m| m.label()).collect();
        s.push_str(&format!("  Mitigations: {}\n", m.join(", ")));
    }
    if !input.consequences.is_empty() {
        let c: Vec<_> = input.consequences.iter().map(|c| c.label()).collect();
        s.push_str(&format!("  Consequences: {}\n", c.join(", ")));
    }
    s.push_str("  Reasoning:\n");
    for r in &sev.rationale {
        s.push_str(&format!("    - {r}\n"));
    }
    s
}

/// "Health [special category]": a label with the tag that makes it weigh more, if any.
fn tagged(label: &str, tag: Option<&str>) -> String {
    match tag {
        Some(t) => format!("{label} [{t}]"),
        None => label.to_string(),
    }
}
