//! `send`, `outbox`, `notify-subjects` and `remind`: flags in, one `app` use-case, and what it
//! returns printed. The sending protocol itself (at most once, the disclosure order, retries)
//! is in `app::send`, `app::bulk` and `domain::outbox`.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{open_for_sending, open_store};
use crate::adapters::files::RecipientsFile;
use crate::adapters::lease::SendingLock;
use crate::adapters::mail::{Carrier, DryRun};
use crate::app::bulk::{self, BulkReport, BulkRequest, Progress};
use crate::app::ports::StoreError;
use crate::app::recipients::{self, BulkDecision};
use crate::app::send::Post;
use crate::app::send::{self as sending, Delivered, Policy, SendRequest};
use crate::cli::output::{self, Format, instant, table};
use crate::cli::{CliError, Ctx};
use crate::domain::incident::IncidentId;
use crate::domain::organisation::Organisation;
use crate::domain::outbox::{MessageState, OutMessage, Shortfall};

/// The outbox folder used when the profile names no SMTP server.
pub fn outbox_dir(ctx: &Ctx) -> PathBuf {
    ctx.data_dir.join(crate::adapters::mail::OUTBOX_FOLDER)
}

/// The sending policy from the configuration: the regimes' market disclosures, and the retry
/// backoff (`BREACHFLOW_SMTP_BACKOFF_MS`, overridable for tests of the retry path).
pub fn policy(ctx: &Ctx) -> Result<Policy, CliError> {
    Ok(Policy {
        retry: crate::adapters::mail::retry_policy(),
        market_regimes: super::rulebook(ctx)?.market_regimes(),
    })
}

/// Opens the store (holding the sending lock) and the carrier, and runs `f` with them.
fn posting<T>(ctx: &Ctx, f: impl FnOnce(&Post<'_>) -> Result<T, CliError>) -> Result<T, CliError> {
    let store = open_for_sending(ctx)?;
    let org = store.require_organisation()?;
    let carrier = Carrier::for_organisation(&org, &outbox_dir(ctx))?;
    f(&Post {
        store: &store,
        mailer: &carrier,
        ctx: &ctx.app(),
        org: &org,
        policy: &policy(ctx)?,
    })
}

/// Runs one sending use-case and reports the outbox.
fn delivering(
    ctx: &Ctx,
    f: impl FnOnce(&Post<'_>) -> Result<sending::Delivered, CliError>,
) -> Result<(), CliError> {
    posting(ctx, |post| {
        let delivered = f(post)?;
        report(ctx, post.org, &delivered)?;
        shortfall(&delivered.attempted)
    })
}

/// The error that carries a delivery shortfall's exit code, if this command's messages fell
/// short.
fn shortfall(attempted: &[OutMessage]) -> Result<(), CliError> {
    let count = |s: MessageState| attempted.iter().filter(|m| m.state == s).count() as u64;
    let (sent, failed, deferred, uncertain) = (
        count(MessageState::Sent),
        count(MessageState::Failed),
        count(MessageState::Queued),
        count(MessageState::Uncertain),
    );
    match Shortfall::of(sent, failed + deferred, uncertain) {
        None => Ok(()),
        Some(shortfall) => Err(CliError::Undelivered {
            shortfall,
            detail: format!(
                "of {} message(s) tried: {sent} sent, {failed} refused by the server, {deferred} not accepted yet (deferred or the server unreachable; `breachflow outbox deliver` tries again), {uncertain} uncertain",
                attempted.len()
            ),
        }),
    }
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
        sending::send(post, &*super::templates(ctx)?, &request)
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
        output::note(&format!(
            "warning: {uncertain} message(s) uncertain: they may have been delivered. Check with the recipient or the mail server's log, then `breachflow outbox resolve KEY --sent` or `--resend`."
        ));
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
    let (sent, org) = posting(ctx, |post| {
        Ok((crate::app::remind::remind(post)?, post.org.clone()))
    })?;
    let fell_short = shortfall(&sent);
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
    fell_short
}

/// Where a bulk run stands, on stderr (stdout stays the report): a spinner when stderr is a
/// terminal; otherwise a line every `every` rows, for a log or a CI job. Counts only: no
/// address or name is ever shown.
struct Spinner {
    bar: indicatif::ProgressBar,
    /// Rows between two lines when stderr is not a terminal.
    every: Option<u64>,
    verb: &'static str,
    sent: std::cell::Cell<u64>,
    started: std::time::Instant,
}

impl Spinner {
    /// Rows between progress lines when not at a terminal; `BREACHFLOW_PROGRESS_EVERY` sets it.
    const EVERY: u64 = 10_000;

    fn new(dry_run: bool) -> Spinner {
        use std::io::IsTerminal;
        // On the server, progress goes back as lines in the captured notes, never drawn on the
        // server's own terminal.
        let remote = output::capturing();
        let bar = if remote {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new_spinner()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} rows  {per_sec}  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        let every = (remote || !std::io::stderr().is_terminal()).then(|| {
            std::env::var("BREACHFLOW_PROGRESS_EVERY")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(Self::EVERY)
        });
        Spinner {
            bar,
            every,
            verb: if dry_run { "checked" } else { "read" },
            sent: std::cell::Cell::new(0),
            started: std::time::Instant::now(),
        }
    }
}

impl Progress for Spinner {
    fn rows(&self, rows: u64) {
        self.bar.set_position(rows);
        if let Some(every) = self.every
            && rows.is_multiple_of(every)
        {
            let seconds = self.started.elapsed().as_secs_f64();
            output::note(&format!(
                "notify-subjects: {rows} rows {}, {} sent, {:.1} s ({:.0} rows/s)",
                self.verb,
                self.sent.get(),
                seconds,
                rows as f64 / seconds.max(0.001)
            ));
        }
    }
    fn sent(&self, sent: u64) {
        self.sent.set(sent);
        self.bar.set_message(format!("{sent} sent"));
    }
}

/// `breachflow notify-subjects ID --recipients FILE.csv`.
pub fn notify_subjects(ctx: &Ctx, request: &BulkRequest<'_>, file: &Path) -> Result<(), CliError> {
    request.check()?;
    let store = open_for_sending(ctx)?;
    let org = store.require_organisation()?;
    // A dry run reaches no server: its settings are not even checked.
    let carrier: Box<dyn crate::app::Mailer> = if request.dry_run {
        Box::new(DryRun)
    } else {
        Box::new(Carrier::for_organisation(&org, &outbox_dir(ctx))?)
    };
    let spinner = Spinner::new(request.dry_run);
    let result = bulk::notify_subjects(
        &Post {
            store: &store,
            mailer: carrier.as_ref(),
            ctx: &ctx.app(),
            org: &org,
            policy: &policy(ctx)?,
        },
        &*super::templates(ctx)?,
        request,
        &RecipientsFile(file),
        &spinner,
    );
    spinner.bar.finish_and_clear();
    let report = result?;
    print_bulk(ctx, &report);
    if let Some(e) = report.refusal() {
        return Err(e);
    }
    match report.shortfall() {
        None => Ok(()),
        Some(shortfall) => {
            let t = &report.tally;
            Err(CliError::Undelivered {
                shortfall,
                detail: format!(
                    "not every recipient of {} has the notice: {} failed (refused for good{}), {} not accepted yet (run again), {} uncertain",
                    report.file,
                    t.failed,
                    if request.retry_failed {
                        ""
                    } else {
                        "; --retry-failed sends to them again once the relay is fixed"
                    },
                    t.deferred,
                    t.uncertain
                ),
            })
        }
    }
}

/// `breachflow outbox resolve ID --bulk DOC --uncertain --sent | --resend [--yes]`: the
/// uncertain recipients listed, the decision confirmed, then recorded with who decided.
#[allow(clippy::too_many_arguments)]
pub fn resolve_bulk(
    ctx: &Ctx,
    id: &str,
    doc: &str,
    uncertain: bool,
    sent: bool,
    yes: bool,
    only: Option<&Path>,
    note: Option<&str>,
) -> Result<(), CliError> {
    let only = only.map(crate::adapters::files::address_list).transpose()?;
    let id: IncidentId = id
        .parse()
        .map_err(|e: crate::domain::incident::BadIncidentId| {
            CliError::InvalidArgs(format!("with --bulk, KEY is the incident: {e}"))
        })?;
    if !uncertain {
        return Err(CliError::InvalidArgs(
            "--bulk settles the recipients whose delivery is uncertain: add --uncertain".into(),
        ));
    }
    // A live sender's `sending` marks must not be settled as a dead run's: hold the sending lock.
    let store = open_for_sending(ctx)?;
    let org = store.require_organisation()?;
    let app = ctx.app();
    let listed = recipients::uncertain_recipients(&store, &app, id, doc, only.as_deref())?;
    if listed.is_empty() {
        output::print(&format!(
            "{id} {doc}: no recipient is uncertain; nothing to decide."
        ));
        return Ok(());
    }
    let (decision, words) = if sent {
        (BulkDecision::Sent, "mark as delivered (sent)")
    } else {
        (
            BulkDecision::Resend,
            "queue to be sent again by the next `notify-subjects` run with the recipients file",
        )
    };
    let mut list = format!(
        "{id} {doc}: {} uncertain recipient(s), to {words}:\n",
        listed.len()
    );
    for s in &listed {
        list.push_str(&format!(
            "  line {}: {} (since {}: {})\n",
            s.line,
            s.address,
            instant(s.at, org.zone()),
            s.note.as_deref().unwrap_or("no reply recorded")
        ));
    }
    // The list goes to stderr with the question, so stdout stays the result.
    output::note_raw(&list);
    if !yes {
        use std::io::IsTerminal;
        // On the team server there is nobody at this process's terminal to ask.
        if output::capturing() || !std::io::stdin().is_terminal() {
            return Err(CliError::InvalidArgs(
                "this decision needs confirmation: pass --yes (the list above is what is decided) or run it at a terminal".into(),
            ));
        }
        output::note_raw(&format!("Record this decision as {}? [y/N] ", app.actor));
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| CliError::Failed(e.to_string()))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            return Err(CliError::Failed(
                "not confirmed; nothing was recorded".into(),
            ));
        }
    }
    let states = recipients::resolve_bulk(&store, &app, id, doc, decision, &listed, note)?;
    match ctx.format {
        Format::Json => output::print_json(&json!({ "recipients": states })),
        _ => output::print(&format!(
            "{id} {doc}: {} recipient(s) now {}, decided by {}.{}",
            states.len(),
            states
                .first()
                .map(|s| s.state.as_str())
                .unwrap_or("settled"),
            app.actor,
            if sent {
                ""
            } else {
                " Run `breachflow notify-subjects` with the same recipients file to send to them."
            }
        )),
    }
    Ok(())
}

/// `breachflow outbox recipients ID [DOC] [--csv]`: each bulk recipient and its state.
pub fn recipients(ctx: &Ctx, id: IncidentId, doc: &str, csv: bool) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let states = recipients::recipient_states(&store, id, doc)?;
    if csv || ctx.format == Format::Csv {
        output::print(&crate::render::report::recipients_csv(&states)?);
        return Ok(());
    }
    match ctx.format {
        Format::Json => output::print_json(&json!({ "recipients": states })),
        _ => {
            if states.is_empty() {
                output::print(&format!("{id} {doc}: no bulk recipients recorded."));
                return Ok(());
            }
            let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
            for s in &states {
                *counts.entry(s.state.as_str()).or_default() += 1;
            }
            let mut t = table(&[
                "Line",
                "Address",
                "State",
                "Version",
                "When",
                "Server / why",
            ]);
            for s in &states {
                t.add_row(crate::render::report::recipient_cells(
                    s,
                    instant(s.at, org.zone()),
                ));
            }
            output::print(&format!(
                "{t}\n{}",
                counts
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(())
}

/// The one command that records a served obligation as sent.
fn complete_command(report: &BulkReport, obligation: &str) -> String {
    format!(
        "breachflow obligation complete {} {obligation} --sent",
        report.id
    )
}

fn print_bulk(ctx: &Ctx, report: &BulkReport) {
    let tally = &report.tally;
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": report.id, "document": report.document, "dry_run": report.dry_run,
            "batch_size": report.batch_size, "seconds": report.seconds, "tally": tally,
            "to_complete": report.to_complete.iter().map(|o| json!({
                "obligation": o, "command": complete_command(report, o),
            })).collect::<Vec<_>>(),
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
            if tally.earlier_version > 0 {
                s.push_str(&format!(
                    "{} recipient(s) had an earlier version and were not sent this one; --corrected-to-previous-recipients sends it to them.\n",
                    tally.earlier_version
                ));
            }
            for p in tally.problems.iter().take(200) {
                s.push_str(&format!("  {p}\n"));
            }
            if tally.problems.len() > 200 {
                s.push_str(&format!("  ... and {} more\n", tally.problems.len() - 200));
            }
            for o in &report.to_complete {
                s.push_str(&format!(
                    "Every row of {} has the notice. If the file lists everyone affected, record {o} as sent:\n  {}\n",
                    report.file,
                    complete_command(report, o)
                ));
            }
            output::print(s.trim_end());
        }
    }
}
