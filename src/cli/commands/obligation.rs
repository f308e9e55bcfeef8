//! `breachflow obligation list|complete|waive` and `breachflow incident trigger`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::open_store;
use crate::app;
use crate::app::incident::TriggerRequest;
use crate::cli::output::{self, Format, instant, minutes};
use crate::cli::{CliError, Ctx};
use crate::domain::deadline::Due;
use crate::domain::incident::IncidentId;
use crate::domain::obligation::{self, Obligation};
use crate::domain::record::IncidentRecord;
use crate::domain::workflow::{self};

pub fn list(ctx: &Ctx, id: IncidentId) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let record = store.incident(id)?;
    print_obligations(ctx, &record, org.zone());
    Ok(())
}

/// An obligation with what is derived from the clock at `now`.
pub fn obligation_json(o: &Obligation, now: DateTime<Utc>) -> serde_json::Value {
    let mut v = serde_json::to_value(o).unwrap_or_default();
    let open = o.state.is_open();
    v["statutory"] = json!(o.due.is_statutory());
    v["overdue"] =
        json!(open && o.due.is_statutory() && o.due.instant().is_some_and(|at| now > at));
    v["warning"] = json!(if open {
        obligation::warning(&o.due, now)
    } else {
        None
    });
    v["minutes_remaining"] = json!(if open {
        o.due.instant().map(|at| (at - now).num_minutes())
    } else {
        None
    });
    v
}

/// Time left, or how late, in words.
/// An incident's obligations, as a table or JSON.
fn print_obligations(ctx: &Ctx, record: &IncidentRecord, zone: Tz) {
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": record.id,
            "obligations": record.obligations.iter().map(|o| obligation_json(o, ctx.now)).collect::<Vec<_>>(),
        })),
        Format::Table | Format::Csv | Format::Html => output::print(&table(record, ctx.now, zone)),
    }
}

pub fn remaining(due: &Due, now: DateTime<Utc>) -> String {
    match due {
        Due::At { at, .. } => {
            let m = (*at - now).num_minutes();
            if m >= 0 {
                format!("{} left", minutes(m))
            } else {
                format!("OVERDUE by {}", minutes(-m))
            }
        }
        Due::Standard {
            standard, target, ..
        } => match target {
            Some(t) if *t >= now => format!(
                "\"{standard}\"; internal target in {}",
                minutes((*t - now).num_minutes())
            ),
            Some(t) => format!(
                "\"{standard}\"; internal target passed {} ago",
                minutes((now - *t).num_minutes())
            ),
            None => format!("\"{standard}\""),
        },
        Due::NotStarted { waiting_on } => format!(
            "not started: waits on {}",
            crate::domain::deadline::anchor_words(*waiting_on)
        ),
        Due::Error { message } => format!("CANNOT COMPUTE: {message}"),
    }
}

/// The due instant as a person reads it: a deadline, an internal target, or neither.
pub fn due_words(due: &Due, zone: Tz) -> String {
    match due {
        Due::At { at, .. } => instant(*at, zone),
        Due::Standard {
            target: Some(t), ..
        } => format!("(target) {}", instant(*t, zone)),
        Due::Standard { standard, .. } => format!("\"{standard}\""),
        Due::NotStarted { .. } => "not started".into(),
        Due::Error { .. } => "error".into(),
    }
}

/// On time, late by how long, or (for a standard) where it stands against the internal target.
pub fn verdict(c: &crate::domain::obligation::Completion) -> String {
    match (&c.due, c.late_by_minutes) {
        (_, Some(m)) => format!("{} LATE", minutes(m)),
        (Due::At { .. }, None) => "on time".into(),
        (
            Due::Standard {
                target: Some(t), ..
            },
            None,
        ) if c.at > *t => format!(
            "no deadline in law; {} after the internal target",
            minutes((c.at - *t).num_minutes())
        ),
        (Due::Standard { .. }, None) => "no deadline in law; within the internal target".into(),
        _ => "no deadline computed".into(),
    }
}

pub fn table(record: &IncidentRecord, now: DateTime<Utc>, zone: Tz) -> String {
    if record.obligations.is_empty() {
        return format!(
            "{}: no obligations yet (they arise with the first assessment).",
            record.id
        );
    }
    let mut t = output::table(&["Obligation", "State", "Due", "Now", "Recipient"]);
    for o in &record.obligations {
        let now_col = match (&o.completion, &o.waiver) {
            (Some(c), _) => format!("{} {}, {}", o.state, instant(c.at, zone), verdict(c)),
            (None, Some(w)) => format!("waived by {}", w.by),
            _ if o.state.is_open() => remaining(&o.due, now),
            _ => o.state.to_string(),
        };
        let name = if o.unverified.is_empty() {
            o.id.clone()
        } else {
            format!("{} †", o.id)
        };
        t.add_row([
            name,
            o.state.to_string(),
            due_words(&o.due, zone),
            now_col,
            o.recipient.clone(),
        ]);
    }
    crate::cli::output::fit(&mut t);
    let mut s = t.to_string();
    if record.obligations.iter().any(|o| !o.unverified.is_empty()) {
        s.push_str("\n† the regime has facts not verified against the primary text: `breachflow regimes` lists them.");
    }
    s
}

#[allow(clippy::too_many_arguments)]
pub fn complete(
    ctx: &Ctx,
    id: IncidentId,
    obligation: &str,
    at: Option<DateTime<Utc>>,
    reference: Option<String>,
    late_reason: Option<String>,
    sent: bool,
) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let book = super::rulebook(ctx)?;
    let templates = super::templates(ctx)?;
    let record = app::incident::complete(
        &store,
        &ctx.app(),
        &book,
        &templates,
        id,
        app::incident::Completion {
            obligation: obligation.to_string(),
            at,
            reference,
            late_reason,
            sent,
        },
    )?;
    let done = workflow::find_obligation(&record, obligation)
        .map_err(|e| CliError::from_workflow(e, None))?;
    match ctx.format {
        Format::Json => {
            output::print_json(&json!({ "id": id, "obligation": obligation_json(done, ctx.now) }))
        }
        Format::Table | Format::Csv | Format::Html => {
            let c = done.completion.as_ref();
            let verdict = match c.and_then(|c| c.late_by_minutes) {
                Some(m) => format!("{} late", minutes(m)),
                None if done.due.is_statutory() => "on time".to_string(),
                None => "no statutory deadline".to_string(),
            };
            output::print(&format!(
                "{id}: {} {} at {} ({verdict}).\n{}",
                done.id,
                done.state,
                c.map(|c| instant(c.at, org.zone())).unwrap_or_default(),
                table(&record, ctx.now, org.zone())
            ));
        }
    }
    Ok(())
}

pub fn waive(
    ctx: &Ctx,
    id: IncidentId,
    obligation: &str,
    reason: Option<&str>,
    by: Option<&str>,
) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let record = app::incident::waive(&store, &ctx.app(), id, obligation, reason, by)?;
    print_obligations(ctx, &record, org.zone());
    Ok(())
}

pub fn reference(
    ctx: &Ctx,
    id: IncidentId,
    obligation: &str,
    reference: &str,
    acknowledged_at: Option<DateTime<Utc>>,
) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let record = app::incident::record_reference(
        &store,
        &ctx.app(),
        id,
        obligation,
        reference,
        acknowledged_at,
    )?;
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": id,
            "obligations": record.obligations.iter().map(|o| obligation_json(o, ctx.now)).collect::<Vec<_>>(),
        })),
        Format::Table | Format::Csv | Format::Html => {
            output::print(&table(&record, ctx.now, org.zone()))
        }
    }
    Ok(())
}

pub fn trigger(ctx: &Ctx, id: IncidentId, request: TriggerRequest) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let book = super::rulebook(ctx)?;
    let anchor = request.anchor;
    let (fact, record) = app::incident::trigger(&store, &ctx.app(), &book, id, request)?;
    match ctx.format {
        Format::Json => output::print_json(
            &json!({ "id": id, "trigger": fact, "obligations": record.obligations }),
        ),
        Format::Table | Format::Csv | Format::Html => output::print(&format!(
            "{id}: {} recorded at {} (decided by {}).\n{}",
            crate::domain::deadline::anchor_words(anchor),
            instant(fact.at, org.zone()),
            fact.decided_by,
            table(&record, ctx.now, org.zone())
        )),
    }
    Ok(())
}
