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
use crate::render::words::{due_words, remaining};

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
    v["verdict"] = json!(o.completion.as_ref().and_then(|c| c.verdict()));
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

/// On time, late by how long, indeterminate (known only to a day, a month or not at all, with
/// the window), or (for a standard) where it stands against the internal target.
pub fn verdict(c: &crate::domain::obligation::Completion) -> String {
    use crate::domain::deadline::Verdict;
    match (&c.due, c.verdict()) {
        (_, Some(Verdict::Late { minutes: m, up_to })) => match up_to {
            None => format!("{} LATE", minutes(m)),
            Some(u) => format!("{} to {} LATE", minutes(m), minutes(u)),
        },
        (_, Some(v @ Verdict::Indeterminate { .. })) => format!(
            "{} (known only to the {}; the exact time would settle it)",
            v.words().to_uppercase(),
            c.precision.as_str()
        ),
        (_, Some(Verdict::OnTime)) => "on time".into(),
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
            (Some(c), _) if !c.precision.is_instant() => {
                format!("{} {}, {}", o.state, c.when_words(zone), verdict(c))
            }
            (Some(c), _) => format!("{} {}, {}", o.state, instant(c.at, zone), verdict(c)),
            (None, Some(w)) => format!("waived by {}", w.by),
            _ if o.state.is_open() && o.indeterminate.is_some() => {
                format!("{}; THRESHOLD INDETERMINATE", remaining(&o.due, now))
            }
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
    at: Option<crate::domain::deadline::Known>,
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
            let verdict = match c.and_then(|c| c.verdict()) {
                Some(v) => v.words(),
                None => "no statutory deadline".to_string(),
            };
            let when = match c {
                Some(c) if !c.precision.is_instant() => c.when_words(org.zone()),
                Some(c) => format!("at {}", instant(c.at, org.zone())),
                None => String::new(),
            };
            output::print(&format!(
                "{id}: {} {} {when} ({verdict}).\n{}",
                done.id,
                done.state,
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

/// `breachflow incident delay-disclosure`: the decision, then the obligations as they now stand.
pub fn delay_disclosure(
    ctx: &Ctx,
    id: IncidentId,
    delay: crate::domain::decision::DisclosureDelay,
) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let book = super::rulebook(ctx)?;
    let record = app::incident::delay_disclosure(&store, &ctx.app(), &book, id, delay)?;
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": id,
            "disclosure_delay": record.disclosure_delay,
            "obligations": record.obligations.iter().map(|o| obligation_json(o, ctx.now)).collect::<Vec<_>>(),
        })),
        Format::Table | Format::Csv | Format::Html => output::print(&format!(
            "{id}: disclosure delayed under UK MAR Art 17(4). If confidentiality is lost, record it (`breachflow incident trigger {id} confidentiality_lost --note WHY`): the announcement is then due at once. Once disclosed, tell the FCA that it was delayed.\n{}",
            table(&record, ctx.now, org.zone())
        )),
    }
    Ok(())
}
