//! `audit verify`, `audit log`, `report adherence`, `register export`, `timeline` and
//! `bundle export` / `bundle import`: flags in, one use-case of `app` called, its answer printed
//! or written to a file. The rules live in `app::reports`, `app::bundle` and `domain`; the page
//! and the CSV in `render::report`.

use std::path::Path;

use chrono::NaiveDate;
use serde_json::json;

use super::open_store;
use crate::app::reports::{self, What};
use crate::cli::output::{self, Format, instant, minutes, table};
use crate::cli::{CliError, Ctx};
use crate::domain::adherence::{Adherence, Filter};
use crate::domain::incident::IncidentId;
use crate::render::format::hours;
use crate::render::report::{ReportError, adherence_csv, adherence_html, register_csv};

impl From<ReportError> for CliError {
    fn from(e: ReportError) -> Self {
        CliError::Failed(e.to_string())
    }
}

/// `breachflow audit verify`.
pub fn verify(ctx: &Ctx, anchor: Option<&str>) -> Result<(), CliError> {
    // A file holding the anchor, or the anchor itself.
    let anchor = match anchor {
        Some(a) if crate::adapters::files::is_file(std::path::Path::new(a)) => Some(
            crate::adapters::files::read_bounded(
                std::path::Path::new(a),
                crate::domain::bounds::MAX_INPUT_FILE_BYTES,
            )
            .map_err(|e| CliError::InvalidArgs(format!("{a}: {e}")))?,
        ),
        Some(a) => Some(a.to_string()),
        None => None,
    }
    .map(|text| crate::app::anchor::Anchor::parse(&text))
    .transpose()?;
    let store = open_store(ctx)?;
    let result = crate::app::audit::verify(&store)?;
    if let (Ok(_), Some(a)) = (&result, &anchor)
        && let Some(problem) = crate::app::anchor::extends(&store, a)?
    {
        if ctx.format == Format::Json {
            output::print_json(
                &json!({ "verified": false, "first_bad_event": a.seq, "problem": problem }),
            );
        }
        return Err(CliError::Tampered(problem));
    }
    match result {
        Ok(n) => {
            match ctx.format {
                Format::Json => output::print_json(&json!({ "verified": true, "events": n })),
                _ => output::print(&format!(
                    "Verified: {n} events, every digest and link intact; every record, index, counter, reminder mark, document body, outbox record, bulk recipient state and the organisation profile match what the log implies.{}",
                    anchor
                        .map(|a| format!(
                            " The log extends the anchored head (event {}, hash {}) unchanged.",
                            a.seq,
                            crate::render::format::short(&a.hash, 12)
                        ))
                        .unwrap_or_default()
                )),
            }
            Ok(())
        }
        Err(p) => {
            if ctx.format == Format::Json {
                output::print_json(&json!({
                    "verified": false,
                    "first_bad_event": p.seq(),
                    "problem": p.findings().first().map_or_else(|| p.to_string(), ToString::to_string),
                    "findings": p.findings(),
                }));
            }
            let hint = if p.findings().is_empty() {
                ""
            } else {
                "\n`breachflow audit repair` rebuilds what the log implies; document bodies it cannot rebuild are named"
            };
            Err(CliError::Tampered(format!("{p}{hint}")))
        }
    }
}

/// `breachflow audit repair`: the derived trees rebuilt from a verified log.
pub fn repair(ctx: &Ctx) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let r = crate::app::audit::repair(&store)?;
    let changed = r.rebuilt.len() + r.documents.len();
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "events": r.events,
            "rebuilt": r.rebuilt,
            "documents": r.documents,
            "lost": r.lost,
        })),
        _ => {
            let mut s = format!(
                "Rebuilt from {} verified events: {changed} {} changed.",
                r.events,
                if changed == 1 { "entry" } else { "entries" }
            );
            for f in r.rebuilt.iter().chain(&r.documents) {
                s.push_str(&format!("\n  - {f}"));
            }
            output::print(&s);
        }
    }
    if r.lost.is_empty() {
        return Ok(());
    }
    Err(CliError::Tampered(format!(
        "{} {} cannot be rebuilt from the log; `audit verify` will keep failing until {} restored:\n{}",
        r.lost.len(),
        if r.lost.len() == 1 {
            "entry"
        } else {
            "entries"
        },
        if r.lost.len() == 1 {
            "it is"
        } else {
            "they are"
        },
        r.lost
            .iter()
            .map(|f| format!("  - {f}"))
            .collect::<Vec<_>>()
            .join("\n")
    )))
}

/// `breachflow audit anchor [--mail ROLE]`.
pub fn anchor(ctx: &Ctx, mail: Option<&str>) -> Result<(), CliError> {
    let Some(role) = mail else {
        let anchor = crate::app::anchor::anchor(&open_store(ctx)?, &ctx.app())?;
        print_anchor(ctx, &anchor);
        return Ok(());
    };
    // Mailed: the store is let go while the server answers. An anchor is not in the outbox,
    // so it needs no sending lock.
    let store = match &ctx.server {
        Some(side) => crate::adapters::lease::LeasedStore::shared(side.store.share()),
        None => crate::adapters::lease::LeasedStore::open(&ctx.data_dir, super::LOCK_WAIT)?,
    };
    let anchor = crate::app::anchor::anchor(&store, &ctx.app())?;
    let org = store.require_organisation()?;
    let carrier =
        crate::adapters::mail::Carrier::for_organisation(&org, &super::send::outbox_dir(ctx))?;
    crate::app::anchor::mail(
        &crate::app::send::Post {
            store: &store,
            mailer: &carrier,
            ctx: &ctx.app(),
            org: &org,
            policy: &super::send::policy(ctx)?,
        },
        &anchor,
        role,
    )?;
    drop(store);
    print_anchor(ctx, &anchor);
    Ok(())
}

fn print_anchor(ctx: &Ctx, anchor: &crate::app::anchor::Anchor) {
    match ctx.format {
        Format::Json => output::print_json(&anchor),
        _ => output::print(&format!(
            "{}\nKeep this line outside the store (print it, mail it, file it); `breachflow audit verify --anchor '<line>'` later proves the log still extends it.",
            anchor.line()
        )),
    }
}

/// `breachflow audit log [ID]`: events as a table, or JSON lines.
pub fn log(ctx: &Ctx, id: Option<IncidentId>) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let log = reports::audit_log(&store, id)?;
    match ctx.format {
        Format::Json => {
            let mut s = String::new();
            for e in &log.events {
                s.push_str(&serde_json::to_string(e).unwrap_or_default());
                s.push('\n');
            }
            output::print(s.trim_end());
        }
        _ => {
            let mut t = table(&["#", "When", "Incident", "Who", "What", "Hash"]);
            for e in &log.events {
                t.add_row(vec![
                    e.seq.to_string(),
                    instant(e.at, log.zone),
                    e.incident.map(|i| i.to_string()).unwrap_or_default(),
                    crate::render::format::who(e),
                    with_recorded_later(
                        crate::render::words::event_line(&e.what, log.zone),
                        e,
                        log.zone,
                    ),
                    e.seal.hash.get(..12).unwrap_or("").to_string(),
                ]);
            }
            crate::cli::output::fit(&mut t);
            output::print(&t.to_string());
        }
    }
    Ok(())
}

/// An event's words, with "(recorded ..., later)" when it was backfilled.
pub fn with_recorded_later(
    line: String,
    e: &crate::domain::event::Event,
    zone: chrono_tz::Tz,
) -> String {
    match crate::render::format::recorded_later(e, zone) {
        Some(later) => format!("{line} ({later})"),
        None => line,
    }
}

fn parse_day(s: &str, flag: &str) -> Result<NaiveDate, CliError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| CliError::InvalidArgs(format!("{flag} {s:?}: {e}; expected YYYY-MM-DD")))
}

/// `breachflow report adherence`.
pub fn adherence(
    ctx: &Ctx,
    from: Option<&str>,
    to: Option<&str>,
    regime: Option<&str>,
    out: Option<&Path>,
) -> Result<(), CliError> {
    let filter = Filter {
        from: from.map(|f| parse_day(f, "--from")).transpose()?,
        to: to.map(|t| parse_day(t, "--to")).transpose()?,
        regime: regime.map(str::to_string),
    };
    if let Some(path) = out {
        super::check_output(ctx, path)?;
    }
    let store = open_store(ctx)?;
    let report = reports::adherence_report(&store, &filter, ctx.now)?;
    let text = adherence_text(&report, ctx.format)?;
    match out {
        Some(path) => {
            super::document::write_private(path, &text)?;
            output::note(&format!("written to {}", path.display()));
        }
        None => output::print(text.trim_end()),
    }
    Ok(())
}

/// The adherence report in `format` (the demo writes the page too).
pub fn adherence_text(report: &Adherence, format: Format) -> Result<String, CliError> {
    let (rows, summaries, zone) = (&report.rows, &report.summaries, report.zone);
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&json!({
            "generated_at": report.generated_at, "from": report.filter.from,
            "to": report.filter.to, "regime": report.filter.regime,
            "regimes": summaries, "obligations": rows,
        }))
        .unwrap_or_default(),
        Format::Csv => adherence_csv(rows)?,
        Format::Html => adherence_html(report),
        Format::Table => {
            let mut s = String::from("Per regime and phase\n");
            let mut t = table(&[
                "Obligation",
                "Obligations",
                "On time",
                "Late",
                "Indeterminate",
                "Waived",
                "Open",
                "Overdue",
                "Share on time",
                "Median to notify",
                "Worst",
                "Recorded later",
            ]);
            for m in summaries {
                t.add_row(vec![
                    m.obligation.clone(),
                    m.obligations.to_string(),
                    m.on_time.to_string(),
                    m.late.to_string(),
                    m.indeterminate.to_string(),
                    m.waived.to_string(),
                    m.open.to_string(),
                    m.overdue.to_string(),
                    m.share_on_time
                        .map(|s| format!("{:.0}%", s * 100.0))
                        .unwrap_or_else(|| "-".into()),
                    hours(m.median_hours_to_notify),
                    hours(m.worst_hours_to_notify),
                    m.recorded_later.to_string(),
                ]);
            }
            crate::cli::output::fit(&mut t);
            s.push_str(&t.to_string());
            s.push_str("\n\nPer obligation\n");
            let mut t = table(&[
                "Incident",
                "Obligation",
                "Due",
                "Met",
                "Status",
                "Time to notify",
                "Reason",
            ]);
            for r in rows {
                t.add_row(vec![
                    r.incident.clone(),
                    r.obligation.clone(),
                    r.due
                        .map(|d| {
                            format!(
                                "{}{}",
                                if r.statutory { "" } else { "(target) " },
                                instant(d, zone)
                            )
                        })
                        .unwrap_or_default(),
                    match (&r.met_at, &r.recorded_later) {
                        (Some(d), Some(later)) => format!("{} ({later})", instant(*d, zone)),
                        (Some(d), None) => instant(*d, zone),
                        _ => String::new(),
                    },
                    match (&r.precision_note, r.late_by_minutes) {
                        (Some(note), _) => note.clone(),
                        (None, Some(m)) => format!("late by {}", minutes(m)),
                        (None, None) => r.status.as_str().to_string(),
                    },
                    hours(r.hours_to_notify),
                    r.reason.clone().unwrap_or_default(),
                ]);
            }
            crate::cli::output::fit(&mut t);
            s.push_str(&t.to_string());
            s
        }
    };
    Ok(text)
}

/// `breachflow register export`: every incident, notified or not (UK GDPR Art 33(5)).
pub fn register(ctx: &Ctx, out: Option<&Path>) -> Result<(), CliError> {
    if let Some(path) = out {
        super::check_output(ctx, path)?;
    }
    let store = open_store(ctx)?;
    let entries = reports::register(&store, &*super::rulebook(ctx)?)?;
    let text = match ctx.format {
        Format::Json => {
            serde_json::to_string_pretty(&json!({ "generated_at": ctx.now, "incidents": entries }))
                .map_err(|e| CliError::Failed(e.to_string()))?
        }
        Format::Csv | Format::Table | Format::Html => register_csv(&entries)?,
    };
    match out {
        Some(path) => super::document::write_private(path, &text)?,
        None => output::print(text.trim_end()),
    }
    Ok(())
}

/// `breachflow timeline ID`: facts, events, clocks and documents in time order.
pub fn timeline(ctx: &Ctx, id: IncidentId) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let tl = reports::timeline(&store, &*super::rulebook(ctx)?, id)?;
    let items: Vec<(_, _, String)> = tl
        .items
        .iter()
        .map(|i| {
            let what = match &i.what {
                What::Text(t) => t.clone(),
                What::Event {
                    what,
                    actor,
                    recorded_later,
                } => match recorded_later {
                    Some(later) => {
                        format!(
                            "{} by {actor} ({later})",
                            crate::render::words::event_line(what, tl.zone)
                        )
                    }
                    None => format!(
                        "{} by {actor}",
                        crate::render::words::event_line(what, tl.zone)
                    ),
                },
            };
            (i.at, i.kind, what)
        })
        .collect();
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": id,
            "timeline": items.iter().map(|(at, kind, what)| json!({"at": at, "kind": kind, "what": what})).collect::<Vec<_>>(),
        })),
        _ => {
            let mut t = table(&["When", "Kind", "What"]);
            for (at, kind, what) in &items {
                t.add_row(vec![instant(*at, tl.zone), kind.to_string(), what.clone()]);
            }
            crate::cli::output::fit(&mut t);
            output::print(&format!("{id}: {}\n{t}", tl.record.facts.title));
        }
    }
    Ok(())
}

/// `breachflow bundle export ID FILE`.
pub fn bundle_export(ctx: &Ctx, id: IncidentId, file: &Path) -> Result<(), CliError> {
    super::check_output(ctx, file)?;
    let store = open_store(ctx)?;
    let bundle = crate::app::bundle::export(&store, id, ctx.now, &ctx.actor)?;
    let text = bundle
        .to_json()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    super::document::write_private(file, &text)?;
    let (sha, chain) = (&bundle.sha256, &bundle.incident.chain);
    match ctx.format {
        Format::Json => output::print_json(
            &json!({ "id": id, "file": file, "sha256": sha, "events": bundle.events.len(), "chain_head": chain }),
        ),
        _ => output::print(&format!(
            "{id}: {} events, {} document versions and {} messages written to {} (SHA-256 {sha}; chain head {chain}).",
            bundle.events.len(),
            bundle.incident.documents.len(),
            bundle.messages.len(),
            file.display(),
        )),
    }
    Ok(())
}

/// `breachflow bundle import FILE [--accept-organisation]`: verified before the store is even
/// opened.
pub fn bundle_import(ctx: &Ctx, file: &Path, accept_organisation: bool) -> Result<(), CliError> {
    let name = file.display().to_string();
    let text = crate::adapters::files::read_bounded(file, crate::domain::bounds::MAX_BUNDLE_BYTES)?;
    let bundle = crate::app::bundle::verify(&name, &text)?;
    let store = open_store(ctx)?;
    let imported =
        crate::app::bundle::import(&store, &bundle, &name, &ctx.app(), accept_organisation)?;
    let (id, head) = (bundle.record.id, &bundle.head);
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": id,
            "events": bundle.events.len(),
            "chain_head": head,
            "organisation_recorded": imported.organisation,
            "smtp_ignored": imported.smtp_ignored,
        })),
        _ => {
            let mut s = format!(
                "{id}: verified and imported {} events, {} document versions, {} messages (chain head {head}).",
                bundle.events.len(),
                bundle.documents.len(),
                bundle.messages.len()
            );
            match &imported.organisation {
                Some(org) => s.push_str(&format!(
                    "\nRecorded the bundle's organisation profile (--accept-organisation):\n  {}",
                    crate::app::bundle::describe_organisation(org)
                )),
                None => s.push_str(
                    "\nThis store keeps its own organisation profile; the bundle's was not used.",
                ),
            }
            if imported.smtp_ignored {
                s.push_str("\nThe bundle's SMTP settings were not imported: mail goes where this store's profile says.");
            }
            output::print(&s);
        }
    }
    Ok(())
}
