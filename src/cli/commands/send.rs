//! `send`, `outbox`, `notify-subjects` and `remind`: flags in, one `app` use-case, and what it
//! returns printed. The sending protocol itself (at most once, the disclosure order, retries)
//! is in `app::send`, `app::bulk` and `domain::outbox`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::{open_for_sending, open_store};
use crate::adapters::files::RecipientsFile;
use crate::adapters::lease::SendingLock;
use crate::adapters::mail::{Carrier, DryRun};
use crate::app::bulk::{self, BulkReport, BulkRequest, Progress};
use crate::app::ports::StoreError;
use crate::app::send::Post;
use crate::app::send::{self as sending, Delivered, Policy, SendRequest};
use crate::cli::output::{self, Format, instant, table};
use crate::cli::{CliError, Ctx};
use crate::domain::incident::IncidentId;
use crate::domain::organisation::Organisation;
use crate::domain::outbox::{MessageState, OutMessage, RetryPolicy};

/// The outbox folder used when the profile names no SMTP server.
pub fn outbox_dir(ctx: &Ctx) -> PathBuf {
    ctx.data_dir.join("outbox")
}

/// The sending policy from the configuration: the regimes' market disclosures, and the retry
/// backoff (`BREACHFLOW_SMTP_BACKOFF_MS`, overridable for tests of the retry path).
pub fn policy(ctx: &Ctx) -> Result<Policy, CliError> {
    let mut retry = RetryPolicy::default();
    if let Some(ms) = std::env::var("BREACHFLOW_SMTP_BACKOFF_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        retry.backoff_base = Duration::from_millis(ms);
    }
    Ok(Policy {
        retry,
        market_regimes: super::rulebook(ctx)?.market_regimes(),
    })
}

/// Opens the store and the carrier, runs one sending use-case, and reports the outbox.
fn delivering(
    ctx: &Ctx,
    f: impl FnOnce(&Post<'_>) -> Result<sending::Delivered, CliError>,
) -> Result<(), CliError> {
    let store = open_for_sending(ctx)?;
    let org = store.require_organisation()?;
    let carrier = Carrier::for_organisation(&org, &outbox_dir(ctx))?;
    let delivered = f(&Post {
        store: &store,
        mailer: &carrier,
        ctx: &ctx.app(),
        org: &org,
        policy: &policy(ctx)?,
    })?;
    report(ctx, &org, &delivered)
}

/// `breachflow send ID DOC --to ROLE|ADDRESS ...`.
pub fn send(
    ctx: &Ctx,
    id: IncidentId,
    doc: &str,
    version: Option<u32>,
    to: &[String],
    audience: Option<&str>,
) -> Result<(), CliError> {
    let request = SendRequest {
        id,
        document: doc,
        version,
        to,
        audience,
    };
    request.check()?;
    delivering(ctx, |post| {
        sending::send(post, &super::templates(ctx)?, &request)
    })
}

fn report(ctx: &Ctx, org: &Organisation, delivered: &Delivered) -> Result<(), CliError> {
    match ctx.format {
        Format::Json => output::print_json(
            &json!({ "messages": delivered.messages, "skipped": delivered.skipped }),
        ),
        Format::Table | Format::Csv | Format::Html => {
            let mut s = String::new();
            for k in &delivered.skipped {
                s.push_str(&format!("skipped: {k}\n"));
            }
            s.push_str(&format!("Through {}.\n", delivered.through));
            s.push_str(&messages_table(&delivered.messages, org).to_string());
            output::print(&s);
        }
    }
    let uncertain = delivered.uncertain();
    if uncertain > 0 {
        eprintln!(
            "warning: {uncertain} message(s) uncertain: they may have been delivered. Check with the recipient or the mail server's log, then `breachflow outbox resolve KEY --sent` or `--resend`."
        );
    }
    Ok(())
}

fn messages_table(messages: &[OutMessage], org: &Organisation) -> comfy_table::Table {
    let mut t = table(&[
        "Message",
        "To",
        "Document",
        "Audience",
        "State",
        "When",
        "Server / why",
    ]);
    for m in messages {
        let last = m.history.last();
        t.add_row(vec![
            m.key.clone(),
            match &m.to.role {
                Some(r) => format!("{} ({r})", m.to.address),
                None => m.to.address.clone(),
            },
            m.document
                .as_ref()
                .map(|d| format!("{} v{}", d.document, d.version))
                .unwrap_or_else(|| "reminder".into()),
            m.audience.clone(),
            m.state.to_string(),
            last.map(|s| instant(s.at, org.zone())).unwrap_or_default(),
            match m.state {
                MessageState::Held => {
                    format!("waiting for {}", m.waiting_on.clone().unwrap_or_default())
                }
                _ => m
                    .reply
                    .clone()
                    .or_else(|| last.and_then(|s| s.note.clone()))
                    .unwrap_or_default(),
            },
        ]);
    }
    output::fit(&mut t);
    t
}

/// `breachflow outbox [--incident ID]`.
pub fn list(ctx: &Ctx, incident: Option<IncidentId>) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    // Recovery takes a `sending` mark for a dead process's; while another process is sending,
    // its marks are live and the outbox is shown as stored.
    let messages = match SendingLock::take(&ctx.data_dir) {
        Ok(_sending) => crate::app::outbox::outbox(&store, &ctx.app(), incident)?,
        Err(StoreError::Sending(_)) => crate::app::outbox::as_stored(&store, incident)?,
        Err(e) => return Err(e.into()),
    };
    match ctx.format {
        Format::Json => output::print_json(&json!({ "messages": messages })),
        Format::Table | Format::Csv | Format::Html => {
            if messages.is_empty() {
                output::print("The outbox is empty.");
            } else {
                output::print(&messages_table(&messages, &org).to_string());
            }
        }
    }
    Ok(())
}

/// `breachflow outbox deliver [--incident ID]`: queued messages, and held ones now free.
pub fn deliver_all(ctx: &Ctx, incident: Option<IncidentId>) -> Result<(), CliError> {
    delivering(ctx, |post| sending::deliver_all(post, incident))
}

/// `breachflow outbox release KEY --reason R`: a person lifts a hold, on the record.
pub fn release(ctx: &Ctx, key: &str, reason: Option<&str>) -> Result<(), CliError> {
    crate::app::outbox::release_reason(reason)?;
    delivering(ctx, |post| crate::app::outbox::release(post, key, reason))
}

/// `breachflow outbox resolve KEY --sent | --resend`: a person settles an uncertain message.
pub fn resolve(ctx: &Ctx, key: &str, sent: bool, note: Option<&str>) -> Result<(), CliError> {
    delivering(ctx, |post| {
        crate::app::outbox::resolve(post, key, sent, note)
    })
}

/// `breachflow remind`: each open obligation's owner hears once per warning level reached.
pub fn remind(ctx: &Ctx) -> Result<(), CliError> {
    let store = open_for_sending(ctx)?;
    let org = store.require_organisation()?;
    let carrier = Carrier::for_organisation(&org, &outbox_dir(ctx))?;
    let sent = crate::app::remind::remind(&Post {
        store: &store,
        mailer: &carrier,
        ctx: &ctx.app(),
        org: &org,
        policy: &policy(ctx)?,
    })?;
    match ctx.format {
        Format::Json => output::print_json(&json!({ "reminders": sent })),
        Format::Table | Format::Csv | Format::Html => {
            if sent.is_empty() {
                output::print(
                    "No reminders due: every open obligation's owner has heard at its current warning level.",
                );
            } else {
                output::print(&messages_table(&sent, &org).to_string());
            }
        }
    }
    Ok(())
}

/// The spinner on the terminal while a bulk run goes (hidden when not a terminal).
struct Spinner(indicatif::ProgressBar);

impl Progress for Spinner {
    fn rows(&self, rows: u64) {
        self.0.set_position(rows);
    }
    fn sent(&self, sent: u64) {
        self.0.set_message(format!("{sent} sent"));
    }
}

/// `breachflow notify-subjects ID --recipients FILE.csv`.
#[allow(clippy::too_many_arguments)]
pub fn notify_subjects(
    ctx: &Ctx,
    id: IncidentId,
    file: &Path,
    doc: &str,
    dry_run: bool,
    rate: Option<f64>,
    batch: u32,
    lift_hold: Option<&str>,
) -> Result<(), CliError> {
    let request = BulkRequest {
        id,
        document: doc,
        dry_run,
        rate,
        batch,
        lift_hold,
    };
    request.check()?;
    let store = open_for_sending(ctx)?;
    let org = store.require_organisation()?;
    // A dry run reaches no server: its settings are not even checked.
    let carrier: Box<dyn crate::app::Mailer> = if dry_run {
        Box::new(DryRun)
    } else {
        Box::new(Carrier::for_organisation(&org, &outbox_dir(ctx))?)
    };
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} rows  {per_sec}  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let spinner = Spinner(progress);
    let result = bulk::notify_subjects(
        &Post {
            store: &store,
            mailer: carrier.as_ref(),
            ctx: &ctx.app(),
            org: &org,
            policy: &policy(ctx)?,
        },
        &super::templates(ctx)?,
        &request,
        &RecipientsFile(file),
        &spinner,
    );
    spinner.0.finish_and_clear();
    let report = result?;
    print_bulk(ctx, &report);
    match report.refusal() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn print_bulk(ctx: &Ctx, report: &BulkReport) {
    let tally = &report.tally;
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": report.id, "document": report.document, "dry_run": report.dry_run,
            "batch_size": report.batch_size, "seconds": report.seconds, "tally": tally,
        })),
        Format::Table | Format::Csv | Format::Html => {
            let mut s = format!(
                "{}: {} version {} {} {} rows of {} in {:.1} s.\n",
                report.id,
                report.document.document,
                report.document.version,
                if report.dry_run { "checked" } else { "sent to" },
                tally.rows,
                report.file,
                report.seconds
            );
            if report.dry_run {
                s.push_str(&format!(
                    "Dry run: {} rows would be sent, {} already have the notice, {} bad rows. Nothing was sent or stored.\n",
                    tally.rows - tally.bad_rows - tally.already_sent - tally.failed - tally.uncertain,
                    tally.already_sent,
                    tally.bad_rows
                ));
            } else {
                s.push_str(&format!(
                    "Sent {}, already sent before {}, failed {}, uncertain {}, not sent yet (server busy; run again) {}, bad rows {}.\n",
                    tally.sent, tally.already_sent, tally.failed, tally.uncertain, tally.deferred, tally.bad_rows
                ));
            }
            for p in tally.problems.iter().take(200) {
                s.push_str(&format!("  {p}\n"));
            }
            if tally.problems.len() > 200 {
                s.push_str(&format!("  ... and {} more\n", tally.problems.len() - 200));
            }
            output::print(s.trim_end());
        }
    }
}
