//! `breachflow incident open|list|show|update|transition`.

use std::path::Path;

use chrono_tz::Tz;
use serde_json::json;

use super::open_store;
use crate::app;
use crate::cli::output::{self, Format, instant};
use crate::cli::{CliError, Ctx};
use crate::domain::event::Event;
use crate::domain::incident::{IncidentFacts, IncidentId, IncidentUpdate};
use crate::domain::lifecycle::{State, Step};
use crate::domain::record::IncidentRecord;

pub fn open(ctx: &Ctx, file: &Path) -> Result<(), CliError> {
    let facts: IncidentFacts = crate::adapters::files::load(file)?;
    opened(ctx, &file.display().to_string(), &facts)
}

/// `incident open --interactive`: the intake asked for at a terminal (`cli::prompt`), checked
/// as a file would be, then stored the same way. Refused when stdin is not a terminal: piped
/// answers would be taken without a person reading the questions or the result.
pub fn open_interactive(ctx: &Ctx) -> Result<(), CliError> {
    use crate::cli::prompt::{self, Stopped};
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(CliError::InvalidArgs(
            "--interactive asks a person at a terminal, and stdin is not one; give the intake as a file instead (`breachflow incident new > incident.toml`, fill it in, `incident open --file incident.toml`)".into(),
        ));
    }
    // The store is opened after the answers, so it is not held while a person types.
    let root = app::input::schema_of::<IncidentFacts>();
    let questions = crate::render::intake::questions(&root);
    let field = |q: &crate::render::intake::Question, v: &serde_json::Value| {
        app::input::check_field(&root, &q.schema, v)
    };
    // The answers together: as a file would be checked, then the incident's own rules.
    let whole = |v: &serde_json::Value| match app::input::parse::<IncidentFacts>(
        "(answers)",
        &v.to_string(),
    ) {
        Ok(facts) => facts.check(ctx.now),
        Err(app::input::InputError::Invalid { problems, .. }) => problems
            .into_iter()
            .map(|p| (p.pointer, p.message))
            .collect(),
        Err(e) => vec![(String::new(), e.to_string())],
    };
    let more = |pointer: &str| crate::render::intake::question_at(&root, pointer);
    let checks = prompt::Checks {
        field: &field,
        whole: &whole,
        more: &more,
    };
    let stdin = std::io::stdin();
    // Questions go to stderr, so stdout stays the result.
    let answers = prompt::ask(
        &questions,
        &checks,
        &mut stdin.lock(),
        &mut std::io::stderr(),
    )
    .map_err(|e| match e {
        Stopped::Ended => CliError::InvalidArgs(
            "the input ended before every question was answered; nothing was stored".into(),
        ),
        Stopped::NotConfirmed => CliError::Failed("not confirmed; nothing was stored".into()),
        Stopped::Io(e) => CliError::Failed(format!("reading the answers: {e}")),
    })?;
    let name = "(answers)";
    let facts: IncidentFacts = app::input::parse(name, &answers.to_string())?;
    opened(ctx, name, &facts)
}

/// Stores an intake read from `source` and says what was opened.
fn opened(ctx: &Ctx, source: &str, facts: &IncidentFacts) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let record = app::incident::open(&store, &ctx.app(), source, facts)?;
    let org = store.require_organisation()?;
    match ctx.format {
        Format::Json => output::print_json(&record),
        Format::Table | Format::Csv | Format::Html => output::print(&format!(
            "Opened {}: {}\nAware at {} (the UK GDPR Art 33 clock starts here).",
            record.id,
            record.facts.title,
            instant(record.facts.aware_at, org.zone())
        )),
    }
    Ok(())
}

pub fn list(ctx: &Ctx, state: Option<State>) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let records = app::incident::list(&store, state)?;
    match ctx.format {
        Format::Json => {
            let rows: Vec<_> = records.iter().map(summary_json).collect();
            output::print_json(&rows);
        }
        Format::Table | Format::Csv | Format::Html => {
            if records.is_empty() {
                output::print("No incidents.");
                return Ok(());
            }
            let mut t = output::table(&["Incident", "State", "Aware", "Risk", "Title"]);
            for r in &records {
                t.add_row([
                    r.id.to_string(),
                    r.state.to_string(),
                    instant(r.facts.aware_at, org.zone()),
                    r.current_assessment()
                        .map(|a| a.severity.level.to_string())
                        .unwrap_or_else(|| "-".into()),
                    r.facts.title.clone(),
                ]);
            }
            crate::cli::output::fit(&mut t);
            output::print(&t.to_string());
        }
    }
    Ok(())
}

fn summary_json(r: &IncidentRecord) -> serde_json::Value {
    json!({
        "id": r.id,
        "state": r.state,
        "title": r.facts.title,
        "detected_at": r.facts.detected_at,
        "aware_at": r.facts.aware_at,
        "risk_level": r.current_assessment().map(|a| a.severity.level),
        "notify_ico": r.current_decision().map(|d| d.decision.notify_ico),
        "tell_subjects": r.current_decision().map(|d| d.decision.tell_subjects),
        "version": r.version,
    })
}

pub fn show(ctx: &Ctx, id: IncidentId) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let (record, events) = app::incident::show(&store, id)?;
    match ctx.format {
        Format::Json => output::print_json(&json!({ "incident": record, "events": events })),
        Format::Table | Format::Csv | Format::Html => {
            output::print(&describe(&record, &events, org.zone(), ctx.now))
        }
    }
    Ok(())
}

pub fn update(ctx: &Ctx, id: IncidentId, file: &Path) -> Result<(), CliError> {
    let update: IncidentUpdate = crate::adapters::files::load(file)?;
    let store = open_store(ctx)?;
    let book = super::rulebook(ctx)?;
    let app::incident::Updated {
        record: updated,
        changes,
    } = app::incident::update(
        &store,
        &ctx.app(),
        &book,
        id,
        &file.display().to_string(),
        &update,
    )?;
    match ctx.format {
        Format::Json => output::print_json(&json!({ "incident": updated, "changes": changes })),
        Format::Table | Format::Csv | Format::Html => {
            if changes.is_empty() {
                output::print(&format!("{id}: no facts changed."));
            } else {
                let mut t = output::table(&["Fact", "Old", "New"]);
                for c in &changes {
                    t.add_row([c.field.clone(), compact(&c.old), compact(&c.new)]);
                }
                crate::cli::output::fit(&mut t);
                output::print(&format!("{id}: {} fact(s) changed.\n{t}", changes.len()));
                if changes.iter().any(|c| c.field == "aware_at") {
                    let org = store.require_organisation()?;
                    output::print(&format!(
                        "Awareness is now {}.",
                        updated
                            .as_ref()
                            .map(|r| instant(r.facts.aware_at, org.zone()))
                            .unwrap_or_default()
                    ));
                }
            }
        }
    }
    Ok(())
}

fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

pub fn transition(
    ctx: &Ctx,
    id: IncidentId,
    step: Step,
    reason: Option<&str>,
) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let (from, after) = app::incident::transition(&store, &ctx.app(), id, step, reason)?;
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": id, "step": step, "from": from, "to": after
        })),
        Format::Table | Format::Csv | Format::Html => {
            output::print(&format!("{id}: {from} -> {after}"))
        }
    }
    Ok(())
}

/// The human-readable view of an incident, shared by `show`, `assess`, `decide` and the demo.
pub fn describe(
    r: &IncidentRecord,
    events: &[Event],
    zone: Tz,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let f = &r.facts;
    let mut s = String::new();
    let mut line = |k: &str, v: String| s.push_str(&format!("{k:<14}{v}\n"));
    line(&r.id.to_string(), f.title.clone());
    line("State:", r.state.to_string());
    line(
        "Opened:",
        format!("{} by {}", instant(r.opened_at, zone), r.opened_by),
    );
    line("Detected:", instant(f.detected_at, zone));
    line(
        "Aware:",
        format!("{} (UK GDPR Art 33 clock start)", instant(f.aware_at, zone)),
    );
    if let Some(j) = &f.awareness_justification {
        line("", format!("why later than detection: {j}"));
    }
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| instant(t, zone))
            .unwrap_or_else(|| "unknown".into())
    };
    line(
        "Occurred:",
        format!("from {} to {}", when(f.occurred.from), when(f.occurred.to)),
    );
    line("Discovery:", f.discovery.clone());
    line("Impact:", f.impact.labels().join(", "));
    if !f.systems_affected.is_empty() {
        line("Systems:", f.systems_affected.join(", "));
    }
    if let Some(c) = &f.containment {
        line("Containment:", c.clone());
    }
    line(
        "Reporter:",
        match &f.reporter.role {
            Some(role) => format!("{} ({role})", f.reporter.name),
            None => f.reporter.name.clone(),
        },
    );
    line("Summary:", f.summary.clone());
    if let Some(a) = r.current_assessment() {
        s.push('\n');
        s.push_str(&crate::render::words::assessment(a, zone));
    }
    if let Some(d) = r.current_decision() {
        s.push('\n');
        s.push_str(&crate::render::words::decision(d, zone));
    }
    if !r.obligations.is_empty() {
        s.push_str("\nObligations:\n");
        s.push_str(&super::obligation::table(r, now, zone));
        s.push('\n');
    }
    if !events.is_empty() {
        s.push_str("\nHistory:\n");
        let mut t = output::table(&["#", "When", "Who", "What"]);
        for e in events {
            t.add_row([
                e.version.to_string(),
                instant(e.at, zone),
                e.actor.clone(),
                super::audit::with_recorded_later(
                    crate::render::words::event_line(&e.what, zone),
                    e,
                    zone,
                ),
            ]);
        }
        crate::cli::output::fit(&mut t);
        s.push_str(&t.to_string());
        s.push('\n');
    }
    s
}

/// Which starting file `incident new` or `assess --template` prints.
pub enum Intake {
    Incident,
    Assessment,
}

/// `incident new`, `assess --template`: a commented starting file generated from the schema.
pub fn starting_file(which: Intake) -> Result<(), CliError> {
    use crate::app::input::schema_of;
    let (schema, title) = match which {
        Intake::Incident => (
            schema_of::<crate::domain::incident::IncidentFacts>(),
            "An incident intake for `breachflow incident open --file FILE.toml`.",
        ),
        Intake::Assessment => (
            schema_of::<crate::domain::assessment::AssessmentInput>(),
            "An exposure assessment for `breachflow assess ID --file FILE.toml`.",
        ),
    };
    output::print(&crate::render::intake::starting_file(&schema, title));
    Ok(())
}
