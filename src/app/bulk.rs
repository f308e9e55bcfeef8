//! Bulk notices to data subjects: a recipients file streamed row by row, each new address
//! notified at most once, in batches whose `sending` marks are flushed before the first byte
//! of the batch goes out. A resumed run skips whoever already has the notice and leaves a batch
//! a crash cut short `uncertain`, never resent by itself.
//!
//! Recipients' states are event-sourced (`app::recipients`): each batch's `sending` marks and
//! replies are `BulkRecipients` events. A run can retry those the server refused for good
//! (`--retry-failed`) and send a corrected version to those who had an earlier one
//! (`--corrected-to-previous-recipients`); each version still reaches each address at most once.
//!
//! Just over our ~600-line guide: the bulk protocol (batches, recovery of a batch in flight,
//! repeats found by a Bloom filter) reads as one piece.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::app::ports::{Change, Composed, Mailer, Store, Subject};
use crate::app::recipients::{checked_states, commit_recipients, settle};
use crate::app::send::Post;
use crate::app::send::{approved, doc_ref, domain_of, from_address, sent_audiences};
use crate::app::{AppError, Context};
use crate::domain::document::DocumentRef;
use crate::domain::event::EventKind;
use crate::domain::incident::IncidentId;
use crate::domain::organisation::undeliverable;
use crate::domain::outbox::{self, BulkStep, Letter, MessageState, RecipientChange};
use crate::render::template::{self, Kind, TemplateSet};

/// The recipients file, as the front end reaches it: read twice at most (a dry run's second
/// pass), never held in memory whole.
pub trait Recipients {
    /// Its name, for messages.
    fn name(&self) -> String;
    /// The SHA-256 of its bytes, recorded with the run.
    fn sha256(&self) -> Result<String, AppError>;
    /// Its bytes from the start.
    fn open(&self) -> Result<Box<dyn Read + '_>, AppError>;
}

/// Where a long run stands, for a front end to show.
pub trait Progress {
    /// Rows read so far.
    fn rows(&self, _rows: u64) {}
    /// Notices sent so far.
    fn sent(&self, _sent: u64) {}
}

/// No progress shown.
impl Progress for () {}

/// `notify-subjects`: what to send and how.
#[derive(Debug, Clone)]
pub struct BulkRequest<'a> {
    pub id: IncidentId,
    pub document: &'a str,
    /// Check every row and send nothing.
    pub dry_run: bool,
    /// Messages per second, over the whole run.
    pub rate: Option<f64>,
    /// Recipients marked `sending` together.
    pub batch: u32,
    /// Why a hold by the disclosure order is lifted, if it is.
    pub lift_hold: Option<&'a str>,
    /// Send again to recipients whose delivery was refused for good (once the relay is fixed).
    pub retry_failed: bool,
    /// Send this version to recipients who had an earlier one (a corrected notice).
    pub corrected: bool,
}

impl BulkRequest<'_> {
    /// The checks that need no store, so a front end can make them first.
    pub fn check(&self) -> Result<(), AppError> {
        template::check_name(self.document)?;
        if self.batch == 0 || self.batch > 10_000 {
            return Err(AppError::InvalidArgs("--batch must be 1 to 10000".into()));
        }
        if self.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
            return Err(AppError::InvalidArgs(
                "--rate must be a positive number of messages per second".into(),
            ));
        }
        Ok(())
    }
}

/// What a bulk run did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Tally {
    pub rows: u64,
    pub sent: u64,
    pub already_sent: u64,
    pub failed: u64,
    pub uncertain: u64,
    pub deferred: u64,
    pub bad_rows: u64,
    /// Of `already_sent`: recipients who have an earlier version of the notice and were not
    /// sent this one (that takes `--corrected-to-previous-recipients`).
    pub earlier_version: u64,
    pub problems: Vec<String>,
}

impl Tally {
    fn bad(&mut self, what: String) {
        self.bad_rows += 1;
        self.problem(what);
    }
    fn problem(&mut self, what: String) {
        // Enough to act on; the count covers the rest without holding every line in memory.
        if self.problems.len() < 1000 {
            self.problems.push(what);
        }
    }
}

/// The run's report.
#[derive(Debug, Clone)]
pub struct BulkReport {
    pub id: IncidentId,
    pub document: DocumentRef,
    pub dry_run: bool,
    pub batch_size: u32,
    pub seconds: f64,
    /// The recipients file's name.
    pub file: String,
    pub tally: Tally,
    /// When every row of the file has the notice: the open obligations it serves (e.g.
    /// `uk-gdpr-art34/notice`), for a person to record as sent. Not completed here: completing
    /// says who attests that the duty is met, and a file may not list everyone affected.
    pub to_complete: Vec<String>,
}

impl BulkReport {
    /// How the run left the file's recipients, if not every one has the notice: refused
    /// (now or in an earlier run, and not retried), deferred, or uncertain. A dry run sends
    /// nothing and falls short of nothing.
    pub fn shortfall(&self) -> Option<outbox::Shortfall> {
        let t = &self.tally;
        if self.dry_run {
            return None;
        }
        outbox::Shortfall::of(t.sent + t.already_sent, t.failed + t.deferred, t.uncertain)
    }

    /// A dry run that found bad rows is refused, after the report is shown.
    pub fn refusal(&self) -> Option<AppError> {
        (self.dry_run && self.tally.bad_rows > 0).then(|| {
            AppError::InvalidArgs(format!(
                "{}: {} bad rows (listed above)",
                self.file, self.tally.bad_rows
            ))
        })
    }
}

/// `notify-subjects`: the approved notice to every row of the recipients file. `mailer` is
/// asked to compose every row (a dry run too: a row that cannot be mailed is a bad row) and
/// to deliver only outside a dry run.
#[allow(clippy::too_many_arguments)]
pub fn notify_subjects(
    post: &Post<'_>,
    templates: &TemplateSet,
    request: &BulkRequest<'_>,
    file: &dyn Recipients,
    progress: &dyn Progress,
) -> Result<BulkReport, AppError> {
    let (store, mailer, ctx, org, policy) = post.parts();
    request.check()?;
    let (id, doc, dry_run, batch) = (request.id, request.document, request.dry_run, request.batch);
    let record = store.incident(id)?;
    let v = approved(&record, doc, None)?.clone();
    // Checked: every notice is rendered from these facts and this template.
    let body = crate::app::documents::checked_body(store, id, &v)?;
    let t = template::from_source(doc, &body.template_source)?;
    let subject_src = t
        .manifest
        .subject
        .clone()
        .unwrap_or_else(|| format!("{}: {{{{incident.id}}}}", v.title));
    let file_sha = file.sha256()?;
    // The disclosure order applies to the whole run.
    if !dry_run {
        let hold = outbox::hold_for(
            &t.manifest.group,
            &org.order_rules(),
            &record,
            &sent_audiences(&store.messages_for(id)?),
            &policy.market_regimes,
        );
        if let Some(w) = hold {
            match request.lift_hold.map(str::trim).filter(|r| !r.is_empty()) {
                None => {
                    return Err(AppError::Blocked(format!(
                        "notices to {} are held: waiting for {w}. Send that first, or pass --lift-hold REASON to record that you lift the hold",
                        t.manifest.group
                    )));
                }
                Some(reason) => {
                    let kind = EventKind::MessageChanged {
                        message: format!("{id}/bulk-{doc}"),
                        state: MessageState::Queued,
                        to: "data subjects".into(),
                        document: Some(doc_ref(&v)),
                        message_id: None,
                        note: Some(format!(
                            "hold (waiting for {w}) lifted by {}: {reason}",
                            ctx.actor
                        )),
                        // A marker of the run, not an outbox record: nothing to rebuild.
                        detail: None,
                    };
                    store.commit(Change::new(
                        Subject::Incident(&record),
                        &[kind],
                        ctx.stamp(),
                    ))?;
                }
            }
        }
    }
    if dry_run {
        // Read only: a dry run stores nothing, but still refuses a store that disagrees with
        // its log.
        checked_states(store, id, doc)?;
    } else {
        settle(store, ctx, id, doc)?;
    }
    let mut tally = Tally::default();
    let from = from_address(org);
    let reply_to = org.smtp.as_ref().and_then(|s| s.reply_to.clone());
    let domain = domain_of(&from);
    if !dry_run {
        let start = EventKind::BulkNotices {
            document: doc_ref(&v),
            recipients_sha256: file_sha.clone(),
            finished: false,
            sent: 0,
            already_sent: 0,
            failed: 0,
            uncertain: 0,
            bad_rows: 0,
            batch_size: batch,
        };
        record_run(store, ctx, id, start)?;
    }

    let name = file.name();
    let mut csv = reader(file.open()?);
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| AppError::InvalidArgs(format!("{name}: line 1: {e}")))?
        .iter()
        .map(|h| h.to_lowercase())
        .collect();
    let address_col = headers
        .iter()
        .position(|h| h == "email" || h == "address")
        .ok_or_else(|| {
            AppError::InvalidArgs(format!(
                "{name}: line 1: no `email` column; columns: {}",
                headers.join(", ")
            ))
        })?;
    // Columns the template uses must be in the file: checked once, against the header.
    let mut probe = body.facts.clone();
    probe["recipient"] = Value::Object(headers.iter().map(|h| (h.clone(), json!("x"))).collect());
    let missing: Vec<String> = template::needed(&t, &probe)
        .into_iter()
        .filter(|p| p.starts_with("recipient"))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::InvalidArgs(format!(
            "{name}: line 1: the notice uses {} but the file has no such column; columns: {}",
            missing.join(", "),
            headers.join(", ")
        )));
    }
    let mut run = Run {
        store,
        mailer,
        ctx,
        id,
        doc,
        retry: &policy.retry,
        rate: request.rate,
        started: Instant::now(),
    };
    let mut pending: Vec<Pending> = Vec::with_capacity(batch as usize);
    // Addresses seen earlier in the file, in a fixed 4 MB filter whatever the file's length.
    let mut seen = Seen::new();
    let mut maybe_repeated: Vec<(u64, [u8; 16], String)> = Vec::new();
    for (i, row) in csv.records().enumerate() {
        let line = i as u64 + 2;
        tally.rows += 1;
        progress.rows(tally.rows);
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                tally.bad(format!("line {line}: {e}"));
                continue;
            }
        };
        let address = row.get(address_col).unwrap_or_default().to_string();
        if let Some(problem) = bad_row(&row, &headers, address_col) {
            tally.bad(format!("line {line}: {problem}"));
            continue;
        }
        let digest = outbox::address_digest(&address);
        if seen.insert(&digest) {
            // Possibly a repeat. In this batch: certainly, and it is not sent twice. In an
            // earlier batch: its stored state below says it has the notice. A dry run, which
            // stores nothing, confirms candidates in a second pass over the file.
            if pending.iter().any(|p| p.digest == digest) {
                tally.bad(format!(
                    "line {line}: {address} appears earlier in the file; not sent twice"
                ));
                continue;
            }
            if dry_run {
                maybe_repeated.push((line, digest, address.clone()));
            }
        }
        // Why this recipient goes (again), when it is not the first time.
        let mut again: Option<String> = None;
        let mut correction = Value::Null;
        if let Some(state) = store.recipient((id, doc, &address))? {
            match state.state {
                MessageState::Sent => {
                    let had = state.notice_version().filter(|h| *h < v.version);
                    match had {
                        Some(h) if request.corrected => {
                            again = Some(format!("corrects version {h}"));
                            correction = json!({ "previous_version": h, "sent_at": state.at });
                        }
                        Some(_) => {
                            tally.already_sent += 1;
                            tally.earlier_version += 1;
                            continue;
                        }
                        None => {
                            tally.already_sent += 1;
                            continue;
                        }
                    }
                }
                MessageState::Uncertain | MessageState::Sending => {
                    tally.uncertain += 1;
                    tally.problem(format!("line {line}: {address}: uncertain from an interrupted run; not resent (settle with `breachflow outbox resolve {id} --bulk {doc} --uncertain --sent | --resend`)"));
                    continue;
                }
                MessageState::Failed if request.retry_failed => {
                    again = Some(format!(
                        "retry after a permanent failure ({})",
                        state.note.as_deref().unwrap_or("no reply recorded")
                    ));
                }
                MessageState::Failed => {
                    tally.failed += 1;
                    continue;
                }
                // Deferred by the server, or a person decided it goes again.
                MessageState::Queued | MessageState::Held => {}
            }
        }
        let mut facts = body.facts.clone();
        facts["recipient"] = Value::Object(
            headers
                .iter()
                .zip(row.iter())
                .map(|(h, v)| (h.clone(), if v.is_empty() { Value::Null } else { json!(v) }))
                .collect(),
        );
        facts["correction"] = correction;
        let missing = template::needed(&t, &facts);
        if !missing.is_empty() {
            tally.bad(format!("line {line}: empty {}", missing.join(", ")));
            continue;
        }
        let text = template::render(templates, &t, &facts, org.zone(), Kind::Text)?;
        let html = template::render(templates, &t, &facts, org.zone(), Kind::Html)?;
        let subject = template::render_line(&subject_src, &facts, org.zone())?;
        let message_id = format!(
            "<{id}.{doc}.v{}.{}@{domain}>",
            v.version,
            hex::encode(&digest[8..])
        );
        let composed = match mailer.compose(&Letter {
            from: from.clone(),
            reply_to: reply_to.clone(),
            to: address.clone(),
            to_name: facts["recipient"]["name"].as_str().map(str::to_string),
            subject,
            message_id: message_id.clone(),
            date: None,
            text,
            html: Some(html),
            attachment: None,
        }) {
            Ok(c) => c,
            // A line break in a name, say: that row cannot be mailed safely.
            Err(e) => {
                tally.bad(format!("line {line}: {e}"));
                continue;
            }
        };
        if dry_run {
            continue;
        }
        pending.push(Pending {
            digest,
            line,
            address,
            message_id,
            version: v.version,
            again,
            message: composed,
        });
        if pending.len() as u32 >= batch {
            run.batch(&mut pending, &mut tally)?;
            progress.sent(tally.sent);
        }
    }
    if !pending.is_empty() {
        run.batch(&mut pending, &mut tally)?;
    }
    if dry_run && !maybe_repeated.is_empty() {
        for (line, first, address) in repeats(file, address_col, &headers, &maybe_repeated)? {
            tally.bad(format!(
                "line {line}: {address} appears earlier in the file (line {first}); not sent twice"
            ));
        }
    }
    let seconds = run.started.elapsed().as_secs_f64();
    if !dry_run {
        let end = EventKind::BulkNotices {
            document: doc_ref(&v),
            recipients_sha256: file_sha,
            finished: true,
            sent: tally.sent,
            already_sent: tally.already_sent,
            failed: tally.failed,
            uncertain: tally.uncertain,
            bad_rows: tally.bad_rows,
            batch_size: batch,
        };
        record_run(store, ctx, id, end)?;
    }
    let every_row = !dry_run && tally.rows > 0 && tally.sent + tally.already_sent == tally.rows;
    let to_complete = if every_row {
        store
            .incident(id)?
            .obligations
            .iter()
            .filter(|o| o.state.is_open() && t.manifest.serves.contains(&o.id))
            .map(|o| o.id.clone())
            .collect()
    } else {
        Vec::new()
    };
    Ok(BulkReport {
        id,
        document: doc_ref(&v),
        dry_run,
        batch_size: batch,
        seconds,
        file: name,
        tally,
        to_complete,
    })
}

/// The recipients file as a streaming CSV reader (rows of different lengths are reported, not
/// refused wholesale).
fn reader<R: Read>(r: R) -> csv::Reader<std::io::BufReader<R>> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(std::io::BufReader::new(r))
}

/// Why a row of the recipients file is not sent to, before any state is read: no address, an
/// address no one can be mailed at (`domain::organisation::undeliverable`), or missing columns.
/// The one check of a row for the run, the dry run and the dry run's second pass, so they agree
/// on what a bad row is.
fn bad_row(row: &csv::StringRecord, headers: &[String], address_col: usize) -> Option<String> {
    let address = row.get(address_col).unwrap_or_default();
    if address.is_empty() {
        return Some(format!(
            "no address in the `{}` column",
            headers[address_col]
        ));
    }
    if let Some(why) = undeliverable(address) {
        return Some(format!("{address:?} {why}"));
    }
    if row.len() < headers.len() {
        return Some(format!(
            "{} of {} columns; missing {}",
            row.len(),
            headers.len(),
            headers[row.len()..].join(", ")
        ));
    }
    None
}

/// A Bloom filter over address digests: 4 MB, seven probes; about one false alarm in a hundred
/// thousand at a million addresses, and a false alarm only costs a check.
struct Seen {
    bits: Vec<u64>,
}

impl Seen {
    const BITS: u64 = 4 * 1024 * 1024 * 8;

    fn new() -> Seen {
        Seen {
            bits: vec![0; (Self::BITS / 64) as usize],
        }
    }

    /// Adds the digest; true if it may have been added before.
    fn insert(&mut self, digest: &[u8; 16]) -> bool {
        let h1 = u64::from_le_bytes(digest[..8].try_into().unwrap_or_default());
        let h2 = u64::from_le_bytes(digest[8..].try_into().unwrap_or_default()) | 1;
        let mut present = true;
        for i in 0..7u64 {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % Self::BITS;
            let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
            present &= self.bits[word] & mask != 0;
            self.bits[word] |= mask;
        }
        present
    }
}

/// The second pass of a dry run: which candidate lines repeat an address from an earlier line,
/// with that line. Holds only the candidates' digests.
fn repeats(
    file: &dyn Recipients,
    address_col: usize,
    headers: &[String],
    candidates: &[(u64, [u8; 16], String)],
) -> Result<Vec<(u64, u64, String)>, AppError> {
    let wanted: HashSet<[u8; 16]> = candidates.iter().map(|c| c.1).collect();
    let mut first: HashMap<[u8; 16], u64> = HashMap::new();
    let mut csv = reader(file.open()?);
    for (i, row) in csv.records().enumerate() {
        let Ok(row) = row else { continue };
        // Only rows the first pass accepted count as an earlier notice.
        if bad_row(&row, headers, address_col).is_some() {
            continue;
        }
        let address = row.get(address_col).unwrap_or_default();
        let d = outbox::address_digest(address);
        if wanted.contains(&d) {
            first.entry(d).or_insert(i as u64 + 2);
        }
    }
    Ok(candidates
        .iter()
        .filter_map(|(line, d, address)| {
            first
                .get(d)
                .filter(|f| **f < *line)
                .map(|f| (*line, *f, address.clone()))
        })
        .collect())
}

struct Pending {
    digest: [u8; 16],
    line: u64,
    address: String,
    message_id: String,
    version: u32,
    /// Why it goes again, if it does (a retry, a correction).
    again: Option<String>,
    message: Composed,
}

impl Pending {
    /// The `sending` mark: everything the state needs, so the state is the fold of its events.
    fn mark(&self) -> RecipientChange {
        RecipientChange {
            line: Some(self.line),
            message_id: Some(self.message_id.clone()),
            version: Some(self.version),
            ..RecipientChange::to(&self.address, MessageState::Sending, self.again.clone())
        }
    }
}

/// What every batch of a run shares.
struct Run<'a> {
    store: &'a dyn Store,
    mailer: &'a dyn Mailer,
    ctx: &'a Context,
    id: IncidentId,
    doc: &'a str,
    retry: &'a outbox::RetryPolicy,
    rate: Option<f64>,
    started: Instant,
}

impl Run<'_> {
    /// One batch: all marked `sending` and flushed, then sent (over the mailer's one pooled
    /// connection), then all outcomes recorded and flushed. A crash leaves at most this batch
    /// uncertain.
    fn batch(&mut self, pending: &mut Vec<Pending>, tally: &mut Tally) -> Result<(), AppError> {
        let (store, ctx, id, doc) = (self.store, self.ctx, self.id, self.doc);
        let marks: Vec<RecipientChange> = pending.iter().map(Pending::mark).collect();
        commit_recipients(store, ctx, id, doc, BulkStep::Sending, marks)?;
        // The marks are on disk: other commands may use the store while this batch waits on
        // the pace and the server; it is taken back for the outcomes.
        store.idle();
        let mut outcomes = Vec::with_capacity(pending.len());
        for p in pending.iter() {
            if let Some(r) = self.rate {
                // Pace to the rate over the whole run, not per message, so pauses even out.
                let due = Duration::from_secs_f64((tally.sent + outcomes.len() as u64) as f64 / r);
                if let Some(wait) = due.checked_sub(self.started.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            let mut attempt = 0;
            let outcome = loop {
                attempt += 1;
                let o = self.mailer.deliver(&p.message);
                if self.retry.again(attempt, &o) {
                    std::thread::sleep(self.retry.backoff(attempt));
                    continue;
                }
                break o;
            };
            outcomes.push(outcome);
        }
        let mut changes = Vec::with_capacity(pending.len());
        for (p, o) in pending.iter().zip(&outcomes) {
            let state = outbox::after_attempt(o);
            let r = o.words();
            match state {
                MessageState::Sent => tally.sent += 1,
                MessageState::Failed => {
                    tally.failed += 1;
                    tally.problem(format!("line {}: {}: refused: {r}", p.line, p.address));
                }
                MessageState::Queued => {
                    tally.deferred += 1;
                    tally.problem(format!(
                        "line {}: {}: not accepted yet: {r}",
                        p.line, p.address
                    ));
                }
                _ => {
                    tally.uncertain += 1;
                    tally.problem(format!("line {}: {}: uncertain: {r}", p.line, p.address));
                }
            }
            changes.push(RecipientChange::to(&p.address, state, Some(r.to_string())));
        }
        commit_recipients(store, ctx, id, doc, BulkStep::Outcome, changes)?;
        pending.clear();
        Ok(())
    }
}

/// Records the start or the end of a bulk run against its incident.
fn record_run(
    store: &dyn Store,
    ctx: &Context,
    id: IncidentId,
    kind: EventKind,
) -> Result<(), AppError> {
    store.commit(Change::new(
        Subject::Incident(&store.incident(id)?),
        &[kind],
        ctx.stamp(),
    ))?;
    Ok(())
}
