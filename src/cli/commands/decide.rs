//! `breachflow decide ID`: the DPO's decision on notifying the ICO and telling data subjects.

use chrono_tz::Tz;

use super::open_store;
use crate::app;
use crate::cli::output::{self, Format, instant};
use crate::cli::{CliError, Ctx};
use crate::domain::incident::IncidentId;
use crate::domain::record::DecisionVersion;
use crate::domain::workflow::DecideRequest;

pub fn run(ctx: &Ctx, id: IncidentId, request: &DecideRequest) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let book = super::rulebook(ctx)?;
    let record = app::incident::decide(&store, &ctx.app(), &book, id, request)?;
    let Some(decision) = record.current_decision() else {
        return Err(CliError::Failed("the decision was not recorded".into()));
    };
    match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({
            "id": id,
            "state": record.state,
            "decision": decision,
        })),
        Format::Table | Format::Csv | Format::Html => output::print(&format!(
            "{id} is {}.\n{}",
            record.state,
            describe(decision, org.zone())
        )),
    }
    Ok(())
}

/// The human-readable view of a decision.
pub fn describe(d: &DecisionVersion, zone: Tz) -> String {
    let dec = &d.decision;
    let yn = |b: bool| if b { "yes" } else { "no" };
    let mut s = format!(
        "Decision ({} by {}), on assessment v{} ({})\n",
        instant(d.at, zone),
        d.by,
        dec.assessment_version,
        dec.risk_level
    );
    s.push_str(&format!(
        "  Notify the ICO:      {}\n  Tell data subjects:  {}\n",
        yn(dec.notify_ico),
        yn(dec.tell_subjects)
    ));
    if dec.follows_recommendation {
        s.push_str("  Follows the recommendation.\n");
    } else {
        s.push_str(&format!(
            "  Overrides the recommendation (ICO {}, data subjects {}).\n",
            yn(dec.recommendation.notify_ico),
            yn(dec.recommendation.tell_subjects)
        ));
    }
    s.push_str(&format!("  Basis: {}\n", dec.recommendation.basis));
    if let Some(reason) = &dec.reason {
        s.push_str(&format!("  DPO's reasoning: {reason}\n"));
    }
    s
}
