//! `send`, `outbox`, `notify-subjects` and `remind`: approved documents and reminders out by
//! SMTP (or to the outbox folder), at most once, in the disclosure order.
//!
//! The order of effects is the point of this file: a message's `sending` mark is committed and
//! flushed before the SMTP transaction starts, and its outcome is committed after. A crash in
//! between leaves `sending`, which the next command turns into `uncertain` for a person to
//! resolve. Nothing is ever sent from inside a store transaction.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::open_store;
use crate::adapters::mail::{self, Carrier, Parts};
use crate::app::ports::{Store, Subject, Writes};
use crate::cli::output::{self, Format, instant, table};
use crate::cli::{CliError, Ctx};
use crate::domain::document::{DocumentBody, DocumentRef, DocumentVersion};
use crate::domain::event::EventKind;
use crate::domain::incident::IncidentId;
use crate::domain::obligation;
use crate::domain::organisation::Organisation;
use crate::domain::outbox::{self, MessageState, OutMessage, Outcome, Recipient, RecipientState};
use crate::domain::record::IncidentRecord;
use crate::render::template::{self, Kind};

/// Attempts per message for replies that prove it was not taken (4xx, connection refused).
const ATTEMPTS: u32 = 3;

fn backoff(attempt: u32) -> Duration {
    // Short, so a run over a flaky link finishes; overridable for tests of the retry path.
    let base = std::env::var("BREACHFLOW_SMTP_BACKOFF_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500u64);
    Duration::from_millis(base << attempt.min(6))
}

/// The outbox folder used when the profile names no SMTP server.
pub fn outbox_dir(ctx: &Ctx) -> PathBuf {
    ctx.data_dir.join("outbox")
}

fn commit_messages(
    store: &dyn Store,
    ctx: &Ctx,
    id: IncidentId,
    messages: &[OutMessage],
    kinds: &[EventKind],
) -> Result<(), CliError> {
    let record = store.incident(id)?;
    store.commit(
        Subject::Incident(&record),
        kinds,
        ctx.now,
        &ctx.actor,
        &Writes {
            messages,
            ..Writes::default()
        },
    )?;
    Ok(())
}

fn changed(m: &OutMessage, note: Option<String>) -> EventKind {
    EventKind::MessageChanged {
        message: m.key.clone(),
        state: m.state,
        to: m.to.address.clone(),
        document: m.document.clone(),
        message_id: Some(m.message_id.clone()),
        note,
    }
}

/// Moves a message to `state` with a note, and commits the change with its event.
fn set_and_commit(
    store: &dyn Store,
    ctx: &Ctx,
    m: &mut OutMessage,
    state: MessageState,
    note: String,
) -> Result<(), CliError> {
    m.set(state, ctx.now, &ctx.actor, Some(note.clone()));
    commit_messages(
        store,
        ctx,
        m.incident,
        std::slice::from_ref(m),
        &[changed(m, Some(note))],
    )
}

/// Messages a dead process left `sending`: their outcome is unknown, so they become
/// `uncertain`, never retried by themselves.
pub fn recover(store: &dyn Store, ctx: &Ctx, id: IncidentId) -> Result<(), CliError> {
    let stuck: Vec<OutMessage> = store
        .messages_for(id)?
        .into_iter()
        .filter(|m| m.state == MessageState::Sending)
        .map(|mut m| {
            m.set(
                MessageState::Uncertain,
                ctx.now,
                &ctx.actor,
                Some("the sending process stopped before the server's reply was recorded".into()),
            );
            m
        })
        .collect();
    if !stuck.is_empty() {
        let kinds: Vec<EventKind> = stuck
            .iter()
            .map(|m| changed(m, m.history.last().and_then(|s| s.note.clone())))
            .collect();
        commit_messages(store, ctx, id, &stuck, &kinds)?;
    }
    Ok(())
}

/// The latest approved version of `doc`, or the approved `version`.
fn approved<'r>(
    record: &'r IncidentRecord,
    doc: &'r str,
    version: Option<u32>,
) -> Result<&'r DocumentVersion, CliError> {
    let found = record
        .versions(doc)
        .filter(|v| version.is_none_or(|n| v.version == n))
        .filter(|v| v.approval.is_some())
        .last();
    found.ok_or_else(|| {
        CliError::Blocked(format!(
            "{} has no approved version of {doc}{}: render it and `breachflow approve {} {doc}` first; only an approved version is sent",
            record.id,
            version.map(|v| format!(" numbered {v}")).unwrap_or_default(),
            record.id
        ))
    })
}

fn doc_ref(v: &DocumentVersion) -> DocumentRef {
    DocumentRef {
        document: v.document.clone(),
        version: v.version,
        sha256: v.sha256.clone(),
    }
}

/// Resolves `--to` values: an address as given, or every person with that address-book role.
fn recipients(org: &Organisation, to: &[String]) -> Result<Vec<Recipient>, CliError> {
    let mut out: Vec<Recipient> = Vec::new();
    for t in to {
        let found: Vec<Recipient> = if t.contains('@') {
            if t.parse::<lettre::Address>().is_err() {
                return Err(CliError::InvalidArgs(format!(
                    "--to {t:?} is not a mail address"
                )));
            }
            vec![Recipient {
                role: None,
                name: None,
                address: t.clone(),
            }]
        } else {
            org.contacts_for(t)
                .map(|c| Recipient {
                    role: Some(t.clone()),
                    name: Some(c.name.clone()),
                    address: c.email.clone(),
                })
                .collect()
        };
        if found.is_empty() {
            let roles: std::collections::BTreeSet<&str> =
                org.contacts.iter().map(|c| c.role.as_str()).collect();
            return Err(CliError::InvalidArgs(format!(
                "--to {t:?}: no such role in the address book; roles: {}",
                roles.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        for r in found {
            if !out
                .iter()
                .any(|o| o.address.eq_ignore_ascii_case(&r.address))
            {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// Audiences that have had a message sent for this incident.
fn sent_audiences(messages: &[OutMessage]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m.state == MessageState::Sent)
        .map(|m| m.audience.clone())
        .collect()
}

/// `breachflow send ID DOC --to ROLE|ADDRESS ...`.
#[allow(clippy::too_many_arguments)]
pub fn send(
    ctx: &Ctx,
    id: IncidentId,
    doc: &str,
    version: Option<u32>,
    to: &[String],
    audience: Option<&str>,
) -> Result<(), CliError> {
    template::check_name(doc)?;
    if let Some(a) = audience
        && !outbox::AUDIENCES.contains(&a)
    {
        return Err(CliError::InvalidArgs(format!(
            "--audience {a:?}: expected one of {}",
            outbox::AUDIENCES.join(", ")
        )));
    }
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let carrier = Carrier::for_organisation(&org, &outbox_dir(ctx))?;
    let skipped = queue_and_deliver(&store, ctx, &org, &carrier, id, doc, version, to, audience)?;
    report(ctx, &org, &store.messages_for(id)?, &skipped, &carrier)
}

/// Queues one message per recipient (held if the disclosure order says so) and delivers what
/// may go. Returns what was skipped as already sent.
#[allow(clippy::too_many_arguments)]
pub fn queue_and_deliver(
    store: &dyn Store,
    ctx: &Ctx,
    org: &Organisation,
    carrier: &Carrier,
    id: IncidentId,
    doc: &str,
    version: Option<u32>,
    to: &[String],
    audience: Option<&str>,
) -> Result<Vec<String>, CliError> {
    recover(store, ctx, id)?;
    let record = store.incident(id)?;
    let v = approved(&record, doc, version)?;
    let templates = super::templates(ctx)?;
    let group = audience
        .map(str::to_string)
        .or_else(|| templates.get(doc).ok().map(|t| t.manifest.group.clone()))
        .unwrap_or_else(|| "other".into());
    let people = recipients(org, to)?;
    let existing = store.messages_for(id)?;
    let hold = outbox::hold_for(
        &group,
        &org.order_rules(),
        &record,
        &sent_audiences(&existing),
    );
    let body = store.document_body(id, doc, v.version)?;
    let subject = subject_for(&templates, doc, &body, org, v)?;
    let from = from_address(org);
    let domain = mail::domain_of(&from);
    let mut number = store.next_message_number(id)?;
    let mut new = Vec::new();
    let mut skipped = Vec::new();
    for r in people {
        // The same version to the same address is never queued twice.
        if let Some(prev) = existing.iter().find(|m| {
            m.document
                .as_ref()
                .is_some_and(|d| d.document == v.document && d.version == v.version)
                && m.to.address.eq_ignore_ascii_case(&r.address)
                && m.state != MessageState::Failed
        }) {
            skipped.push(format!(
                "{} already has {} version {} ({} is {})",
                r.address, v.document, v.version, prev.key, prev.state
            ));
            continue;
        }
        let mut m = OutMessage::new(
            id,
            number,
            Some(doc_ref(v)),
            &group,
            r,
            subject.clone(),
            outbox::message_id(
                id,
                number,
                &format!("{}-v{}", v.document, v.version),
                &domain,
            ),
        );
        match &hold {
            Some(w) => {
                m.waiting_on = Some(w.clone());
                m.set(
                    MessageState::Held,
                    ctx.now,
                    &ctx.actor,
                    Some(format!("waiting for {w}")),
                );
            }
            None => m.set(MessageState::Queued, ctx.now, &ctx.actor, None),
        }
        number += 1;
        new.push(m);
    }
    if !new.is_empty() {
        let kinds: Vec<EventKind> = new
            .iter()
            .map(|m| changed(m, m.history.last().and_then(|s| s.note.clone())))
            .collect();
        commit_messages(store, ctx, id, &new, &kinds)?;
    }
    for m in new.into_iter().filter(|m| m.state == MessageState::Queued) {
        deliver(store, ctx, org, carrier, m)?;
    }
    // Anything this send unblocked goes too.
    deliver_ready(store, ctx, org, carrier, id)?;
    Ok(skipped)
}

fn from_address(org: &Organisation) -> String {
    match &org.smtp {
        Some(s) => s.from.clone(),
        None => format!("{} <{}>", org.dpo.name, org.dpo.email),
    }
}

fn subject_for(
    templates: &template::TemplateSet,
    doc: &str,
    body: &DocumentBody,
    org: &Organisation,
    v: &DocumentVersion,
) -> Result<String, CliError> {
    let source = templates
        .get(doc)
        .ok()
        .and_then(|t| t.manifest.subject.clone())
        .unwrap_or_else(|| format!("{}: {{{{incident.id}}}}", v.title));
    Ok(template::render_line(&source, &body.facts, org.zone())?)
}

/// Builds and hands one message to the carrier: `sending` committed first, the outcome after.
fn deliver(
    store: &dyn Store,
    ctx: &Ctx,
    org: &Organisation,
    carrier: &Carrier,
    mut m: OutMessage,
) -> Result<OutMessage, CliError> {
    let built = build_for(store, org, &m, ctx.now)?;
    m.bytes_sha256 = Some(template::sha256_hex(&built.formatted()));
    loop {
        m.attempts += 1;
        m.set(
            MessageState::Sending,
            ctx.now,
            &ctx.actor,
            Some(format!("attempt {}", m.attempts)),
        );
        commit_messages(
            store,
            ctx,
            m.incident,
            std::slice::from_ref(&m),
            &[changed(&m, None)],
        )?;
        let outcome = carrier.deliver(&built);
        let retries_left = m.attempts < ATTEMPTS;
        let (state, note) = match &outcome {
            Outcome::Accepted(r) => (MessageState::Sent, r.clone()),
            Outcome::Refused(r) => (MessageState::Failed, r.clone()),
            Outcome::Transient(r) => (outbox::after_attempt(&outcome, retries_left), r.clone()),
            Outcome::Unknown(r) => (MessageState::Uncertain, r.clone()),
        };
        m.set(state, ctx.now, &ctx.actor, Some(note.clone()));
        if state == MessageState::Queued {
            m.reply = Some(note.clone());
        }
        commit_messages(
            store,
            ctx,
            m.incident,
            std::slice::from_ref(&m),
            &[changed(&m, Some(note))],
        )?;
        if state == MessageState::Queued && retries_left {
            std::thread::sleep(backoff(m.attempts));
            continue;
        }
        return Ok(m);
    }
}

fn build_for(
    store: &dyn Store,
    org: &Organisation,
    m: &OutMessage,
    now: DateTime<Utc>,
) -> Result<lettre::Message, CliError> {
    let from = from_address(org);
    let reply_to = org.smtp.as_ref().and_then(|s| s.reply_to.clone());
    let date = SystemTime::from(now);
    let built = match &m.document {
        Some(d) => {
            let body = store.document_body(m.incident, &d.document, d.version)?;
            let name = format!("{}-{}-v{}.html", m.incident, d.document, d.version);
            mail::build(&Parts {
                from: &from,
                reply_to: reply_to.as_deref(),
                to: &m.to.address,
                to_name: m.to.name.as_deref(),
                subject: &m.subject,
                message_id: &m.message_id,
                date,
                text: &body.text,
                html: Some(&body.html),
                attachment: Some((&name, body.html.as_bytes())),
            })
        }
        None => mail::build(&Parts {
            from: &from,
            reply_to: reply_to.as_deref(),
            to: &m.to.address,
            to_name: m.to.name.as_deref(),
            subject: &m.subject,
            message_id: &m.message_id,
            date,
            text: m
                .history
                .first()
                .and_then(|s| s.note.as_deref())
                .unwrap_or_default(),
            html: None,
            attachment: None,
        }),
    };
    built.map_err(|e| CliError::Failed(e.to_string()))
}

/// Delivers the incident's queued messages, and held ones whose earlier disclosure has happened.
fn deliver_ready(
    store: &dyn Store,
    ctx: &Ctx,
    org: &Organisation,
    carrier: &Carrier,
    id: IncidentId,
) -> Result<Vec<OutMessage>, CliError> {
    let mut done = Vec::new();
    loop {
        let record = store.incident(id)?;
        let messages = store.messages_for(id)?;
        let sent = sent_audiences(&messages);
        let next = messages.into_iter().find(|m| match m.state {
            MessageState::Queued => true,
            MessageState::Held => {
                outbox::hold_for(&m.audience, &org.order_rules(), &record, &sent).is_none()
            }
            _ => false,
        });
        let Some(mut m) = next else {
            return Ok(done);
        };
        if m.state == MessageState::Held {
            m.waiting_on = None;
            m.set(
                MessageState::Queued,
                ctx.now,
                &ctx.actor,
                Some("the earlier disclosure has happened".into()),
            );
        }
        let m = deliver(store, ctx, org, carrier, m)?;
        let stuck = m.state == MessageState::Queued;
        done.push(m);
        if stuck {
            // Out of attempts for now; leave the rest for the next run rather than spin.
            return Ok(done);
        }
    }
}

fn report(
    ctx: &Ctx,
    org: &Organisation,
    messages: &[OutMessage],
    skipped: &[String],
    carrier: &Carrier,
) -> Result<(), CliError> {
    match ctx.format {
        Format::Json => output::print_json(&json!({ "messages": messages, "skipped": skipped })),
        Format::Table | Format::Csv | Format::Html => {
            let mut s = String::new();
            for k in skipped {
                s.push_str(&format!("skipped: {k}\n"));
            }
            s.push_str(&format!("Through {}.\n", carrier.describe(org)));
            s.push_str(&messages_table(messages, org).to_string());
            output::print(&s);
        }
    }
    let unresolved: Vec<&OutMessage> = messages
        .iter()
        .filter(|m| matches!(m.state, MessageState::Uncertain | MessageState::Failed))
        .collect();
    if unresolved
        .iter()
        .any(|m| m.state == MessageState::Uncertain)
    {
        eprintln!(
            "warning: {} message(s) uncertain: they may have been delivered. Check with the recipient or the mail server's log, then `breachflow outbox resolve KEY --sent` or `--resend`.",
            unresolved
                .iter()
                .filter(|m| m.state == MessageState::Uncertain)
                .count()
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
    t
}

/// `breachflow outbox [--incident ID]`.
pub fn list(ctx: &Ctx, incident: Option<IncidentId>) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let messages = match incident {
        Some(id) => {
            recover(&store, ctx, id)?;
            store.messages_for(id)?
        }
        None => {
            let all = store.all_messages()?;
            let mut ids: Vec<IncidentId> = all
                .iter()
                .filter(|m| m.state == MessageState::Sending)
                .map(|m| m.incident)
                .collect();
            ids.dedup();
            for id in &ids {
                recover(&store, ctx, *id)?;
            }
            if ids.is_empty() {
                all
            } else {
                store.all_messages()?
            }
        }
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

fn find_message(store: &dyn Store, key: &str) -> Result<OutMessage, CliError> {
    let (id, _) = key.split_once('/').ok_or_else(|| {
        CliError::InvalidArgs(format!(
            "{key:?} is not a message key; expected e.g. BR-2024-0001/3"
        ))
    })?;
    let id: IncidentId = id
        .parse()
        .map_err(|e: crate::domain::incident::BadIncidentId| {
            CliError::InvalidArgs(e.to_string())
        })?;
    store
        .messages_for(id)?
        .into_iter()
        .find(|m| m.key == key)
        .ok_or_else(|| {
            CliError::InvalidArgs(format!(
                "no message {key}; `breachflow outbox --incident {id}` lists them"
            ))
        })
}

/// `breachflow outbox deliver [--incident ID]`: queued messages, and held ones now free.
pub fn deliver_all(ctx: &Ctx, incident: Option<IncidentId>) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let carrier = Carrier::for_organisation(&org, &outbox_dir(ctx))?;
    let ids: Vec<IncidentId> = match incident {
        Some(id) => vec![id],
        None => {
            let mut ids: Vec<IncidentId> =
                store.all_messages()?.iter().map(|m| m.incident).collect();
            ids.dedup();
            ids
        }
    };
    let mut all = Vec::new();
    for id in ids {
        recover(&store, ctx, id)?;
        deliver_ready(&store, ctx, &org, &carrier, id)?;
        all.extend(store.messages_for(id)?);
    }
    report(ctx, &org, &all, &[], &carrier)
}

/// `breachflow outbox release KEY --reason R`: a person lifts a hold, on the record.
pub fn release(ctx: &Ctx, key: &str, reason: Option<&str>) -> Result<(), CliError> {
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Err(CliError::InvalidArgs(
            "lifting a hold needs --reason: sending before the market is told is a decision on the record".into(),
        ));
    };
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let mut m = find_message(&store, key)?;
    if m.state != MessageState::Held {
        return Err(CliError::InvalidArgs(format!(
            "{key} is {}, not held",
            m.state
        )));
    }
    let waited = m.waiting_on.take().unwrap_or_default();
    m.hold_lifted_by = Some(ctx.actor.clone());
    let note = format!(
        "hold (waiting for {waited}) lifted by {}: {reason}",
        ctx.actor
    );
    set_and_commit(&store, ctx, &mut m, MessageState::Queued, note)?;
    let carrier = Carrier::for_organisation(&org, &outbox_dir(ctx))?;
    let id = m.incident;
    deliver(&store, ctx, &org, &carrier, m)?;
    report(ctx, &org, &store.messages_for(id)?, &[], &carrier)
}

/// `breachflow outbox resolve KEY --sent | --resend`: a person settles an uncertain message.
pub fn resolve(ctx: &Ctx, key: &str, sent: bool, note: Option<&str>) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let (id, _) = key.split_once('/').unwrap_or((key, ""));
    if let Ok(id) = id.parse::<IncidentId>() {
        recover(&store, ctx, id)?;
    }
    let mut m = find_message(&store, key)?;
    if !matches!(m.state, MessageState::Uncertain | MessageState::Failed) {
        return Err(CliError::InvalidArgs(format!(
            "{key} is {}; only an uncertain or failed message is resolved by hand",
            m.state
        )));
    }
    let why = note.map(str::trim).filter(|n| !n.is_empty());
    let carrier = Carrier::for_organisation(&org, &outbox_dir(ctx))?;
    let (state, words) = if sent {
        (MessageState::Sent, "confirmed delivered by")
    } else {
        (MessageState::Queued, "resend decided by")
    };
    let note = format!(
        "{words} {}{}",
        ctx.actor,
        why.map(|w| format!(": {w}")).unwrap_or_default()
    );
    set_and_commit(&store, ctx, &mut m, state, note)?;
    if !sent {
        deliver(&store, ctx, &org, &carrier, m.clone())?;
    }
    report(ctx, &org, &store.messages_for(m.incident)?, &[], &carrier)
}

/// `breachflow remind`: each open obligation's owner hears once per warning level reached.
pub fn remind(ctx: &Ctx) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let carrier = Carrier::for_organisation(&org, &outbox_dir(ctx))?;
    let from = from_address(&org);
    let domain = mail::domain_of(&from);
    let mut sent = Vec::new();
    // The deadline index: the cost follows the open obligations, not the store.
    for entry in store.all_due()? {
        let record = store.incident(entry.incident)?;
        let Some(o) = record.obligations.iter().find(|o| o.id == entry.obligation) else {
            continue;
        };
        let Some(level) = obligation::warning(&o.due, ctx.now) else {
            continue;
        };
        if level == obligation::Warning::OnTrack {
            continue;
        }
        let level_name = level.as_str();
        if store.reminded(record.id, &o.id, level_name)? {
            continue;
        }
        let people = recipients(&org, std::slice::from_ref(&o.owner_role))
            .or_else(|_| recipients(&org, &["dpo".to_string()]))
            .unwrap_or_else(|_| {
                vec![Recipient {
                    role: Some("dpo".into()),
                    name: Some(org.dpo.name.clone()),
                    address: org.dpo.email.clone(),
                }]
            });
        let at = o.due.instant().unwrap_or(ctx.now);
        let left = (at - ctx.now).num_minutes();
        let text = format!(
            "{} {} ({}) for {}: {}.\n\nDue {} ({}). Recipient: {}.\n\n`breachflow deadlines --incident {}` shows every clock; `breachflow check {} DOC` what a report still lacks.\n",
            record.id,
            o.id,
            o.regime_name,
            record.facts.title,
            level_name,
            instant(at, org.zone()),
            if left >= 0 {
                format!("{} left", output::minutes(left))
            } else {
                format!("overdue by {}", output::minutes(-left))
            },
            o.recipient,
            record.id,
            record.id
        );
        let first = store.next_message_number(record.id)?;
        let mut messages = Vec::new();
        for (number, r) in (first..).zip(people) {
            let mut m = OutMessage::new(
                record.id,
                number,
                None,
                "other",
                r,
                format!("Reminder: {} {} ({level_name})", record.id, o.id),
                outbox::message_id(
                    record.id,
                    number,
                    &format!("reminder-{level_name}"),
                    &domain,
                ),
            );
            m.set(
                MessageState::Queued,
                ctx.now,
                &ctx.actor,
                Some(text.clone()),
            );
            messages.push(m);
        }
        let mut kinds: Vec<EventKind> = messages.iter().map(|m| changed(m, None)).collect();
        kinds.extend(messages.iter().map(|m| EventKind::ReminderSent {
            obligation: o.id.clone(),
            level: level_name.to_string(),
            message: m.key.clone(),
        }));
        // The reminder is marked in the same transaction as its messages: once per level.
        store.commit(
            Subject::Incident(&record),
            &kinds,
            ctx.now,
            &ctx.actor,
            &Writes {
                messages: &messages,
                reminders: &[(record.id, &o.id, level_name)],
                ..Writes::default()
            },
        )?;
        for m in messages {
            sent.push(deliver(&store, ctx, &org, &carrier, m)?);
        }
    }
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

// ---------------------------------------------------------------------------------------------
// Bulk notices to data subjects.

/// What a bulk run did.
#[derive(Debug, Default, serde::Serialize)]
struct Tally {
    rows: u64,
    sent: u64,
    already_sent: u64,
    failed: u64,
    uncertain: u64,
    deferred: u64,
    bad_rows: u64,
    problems: Vec<String>,
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
    template::check_name(doc)?;
    if batch == 0 || batch > 10_000 {
        return Err(CliError::InvalidArgs("--batch must be 1 to 10000".into()));
    }
    if rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err(CliError::InvalidArgs(
            "--rate must be a positive number of messages per second".into(),
        ));
    }
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let record = store.incident(id)?;
    let v = approved(&record, doc, None)?.clone();
    let body = store.document_body(id, doc, v.version)?;
    let t = template::from_source(doc, &body.template_source)?;
    let templates = super::templates(ctx)?;
    let subject_src = t
        .manifest
        .subject
        .clone()
        .unwrap_or_else(|| format!("{}: {{{{incident.id}}}}", v.title));
    let file_sha = sha256_file(file)?;
    // The disclosure order applies to the whole run.
    if !dry_run {
        let hold = outbox::hold_for(
            &t.manifest.group,
            &org.order_rules(),
            &record,
            &sent_audiences(&store.messages_for(id)?),
        );
        if let Some(w) = hold {
            match lift_hold.map(str::trim).filter(|r| !r.is_empty()) {
                None => {
                    return Err(CliError::Blocked(format!(
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
                    };
                    store.commit(
                        Subject::Incident(&record),
                        &[kind],
                        ctx.now,
                        &ctx.actor,
                        &Writes::default(),
                    )?;
                }
            }
        }
    }
    // A batch a crashed run left in flight: those recipients may have the notice.
    let mut tally = Tally::default();
    let inflight = store.inflight(id, doc)?;
    if !inflight.is_empty() && !dry_run {
        let mut states = Vec::new();
        for address in &inflight {
            if let Some(mut s) = store.recipient(id, doc, address)?
                && s.state == MessageState::Sending
            {
                s.state = MessageState::Uncertain;
                s.note = Some(
                    "the sending process stopped before the server's reply was recorded".into(),
                );
                states.push(s);
            }
        }
        store.put_recipients(id, doc, &states, None)?;
    }
    let carrier = if dry_run {
        None
    } else {
        Some(Carrier::for_organisation(&org, &outbox_dir(ctx))?)
    };
    let from = from_address(&org);
    let reply_to = org.smtp.as_ref().and_then(|s| s.reply_to.clone());
    let domain = mail::domain_of(&from);
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
        store.commit(
            Subject::Incident(&store.incident(id)?),
            &[start],
            ctx.now,
            &ctx.actor,
            &Writes::default(),
        )?;
    }

    let mut csv = open_recipients(file)?;
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| CliError::InvalidArgs(format!("{}: line 1: {e}", file.display())))?
        .iter()
        .map(|h| h.to_lowercase())
        .collect();
    let address_col = headers
        .iter()
        .position(|h| h == "email" || h == "address")
        .ok_or_else(|| {
            CliError::InvalidArgs(format!(
                "{}: line 1: no `email` column; columns: {}",
                file.display(),
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
        return Err(CliError::InvalidArgs(format!(
            "{}: line 1: the notice uses {} but the file has no such column; columns: {}",
            file.display(),
            missing.join(", "),
            headers.join(", ")
        )));
    }
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} rows  {per_sec}  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let started = Instant::now();
    let flush = |pending: &mut Vec<Pending>, tally: &mut Tally| {
        send_batch(
            &store,
            ctx,
            id,
            doc,
            carrier.as_ref(),
            pending,
            tally,
            rate,
            started,
        )
    };
    let mut pending: Vec<Pending> = Vec::with_capacity(batch as usize);
    // Addresses seen earlier in the file, in a fixed 4 MB filter whatever the file's length.
    let mut seen = Seen::new();
    let mut maybe_repeated: Vec<(u64, [u8; 16], String)> = Vec::new();
    for (i, row) in csv.records().enumerate() {
        let line = i as u64 + 2;
        tally.rows += 1;
        progress.set_position(tally.rows);
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                tally.bad(format!("line {line}: {e}"));
                continue;
            }
        };
        let address = row.get(address_col).unwrap_or_default().to_string();
        if address.is_empty() {
            tally.bad(format!(
                "line {line}: no address in the `{}` column",
                headers[address_col]
            ));
            continue;
        }
        if address.parse::<lettre::Address>().is_err() {
            tally.bad(format!("line {line}: {address:?} is not a mail address"));
            continue;
        }
        if row.len() < headers.len() {
            tally.bad(format!(
                "line {line}: {} of {} columns; missing {}",
                row.len(),
                headers.len(),
                headers[row.len()..].join(", ")
            ));
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
        if let Some(state) = store.recipient(id, doc, &address)? {
            match state.state {
                MessageState::Sent => {
                    tally.already_sent += 1;
                    continue;
                }
                MessageState::Uncertain => {
                    tally.uncertain += 1;
                    tally.problem(format!("line {line}: {address}: uncertain from an interrupted run; not resent (resolve by hand)"));
                    continue;
                }
                MessageState::Failed => {
                    tally.failed += 1;
                    continue;
                }
                _ => {}
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
        let missing = template::needed(&t, &facts);
        if !missing.is_empty() {
            tally.bad(format!("line {line}: empty {}", missing.join(", ")));
            continue;
        }
        let text = template::render(&templates, &t, &facts, org.zone(), Kind::Text)?;
        let html = template::render(&templates, &t, &facts, org.zone(), Kind::Html)?;
        let subject = template::render_line(&subject_src, &facts, org.zone())?;
        let message_id = format!(
            "<{id}.{doc}.v{}.{}@{domain}>",
            v.version,
            hex::encode(&digest[8..])
        );
        let name = facts["recipient"]["name"].as_str().map(str::to_string);
        let built = match mail::build(&Parts {
            from: &from,
            reply_to: reply_to.as_deref(),
            to: &address,
            to_name: name.as_deref(),
            subject: &subject,
            message_id: &message_id,
            date: SystemTime::from(ctx.now),
            text: &text,
            html: Some(&html),
            attachment: None,
        }) {
            Ok(b) => b,
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
            message: built,
        });
        if pending.len() as u32 >= batch {
            flush(&mut pending, &mut tally)?;
            progress.set_message(format!("{} sent", tally.sent));
        }
    }
    if !pending.is_empty() {
        flush(&mut pending, &mut tally)?;
    }
    progress.finish_and_clear();
    if dry_run && !maybe_repeated.is_empty() {
        for (line, first, address) in
            repeats(file, address_col, headers.len(), id, doc, &maybe_repeated)?
        {
            tally.bad(format!(
                "line {line}: {address} appears earlier in the file (line {first}); not sent twice"
            ));
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
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
        store.commit(
            Subject::Incident(&store.incident(id)?),
            &[end],
            ctx.now,
            &ctx.actor,
            &Writes::default(),
        )?;
    }
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": id, "document": doc_ref(&v), "dry_run": dry_run, "batch_size": batch,
            "seconds": elapsed, "tally": tally,
        })),
        Format::Table | Format::Csv | Format::Html => {
            let mut s = format!(
                "{id}: {} version {} {} {} rows of {} in {:.1} s.\n",
                v.document,
                v.version,
                if dry_run { "checked" } else { "sent to" },
                tally.rows,
                file.display(),
                elapsed
            );
            if dry_run {
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
    if dry_run && tally.bad_rows > 0 {
        return Err(CliError::InvalidArgs(format!(
            "{}: {} bad rows (listed above)",
            file.display(),
            tally.bad_rows
        )));
    }
    Ok(())
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
    file: &Path,
    address_col: usize,
    columns: usize,
    _id: IncidentId,
    _doc: &str,
    candidates: &[(u64, [u8; 16], String)],
) -> Result<Vec<(u64, u64, String)>, CliError> {
    let wanted: std::collections::HashSet<[u8; 16]> = candidates.iter().map(|c| c.1).collect();
    let mut first: std::collections::HashMap<[u8; 16], u64> = std::collections::HashMap::new();
    let mut csv = open_recipients(file)?;
    for (i, row) in csv.records().enumerate() {
        let Ok(row) = row else { continue };
        let address = row.get(address_col).unwrap_or_default();
        // Only rows the first pass accepted count as an earlier notice.
        if address.parse::<lettre::Address>().is_err() || row.len() < columns {
            continue;
        }
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

/// The recipients file as a streaming CSV reader (rows of different lengths are reported, not
/// refused wholesale).
fn open_recipients(
    file: &Path,
) -> Result<csv::Reader<std::io::BufReader<std::fs::File>>, CliError> {
    let reader = std::fs::File::open(file)
        .map_err(|e| CliError::InvalidArgs(format!("{}: {e}", file.display())))?;
    Ok(csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(std::io::BufReader::new(reader)))
}

struct Pending {
    digest: [u8; 16],
    line: u64,
    address: String,
    message_id: String,
    message: lettre::Message,
}

fn recipient_state(
    p: &Pending,
    state: MessageState,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> RecipientState {
    RecipientState {
        line: p.line,
        address: p.address.clone(),
        message_id: p.message_id.clone(),
        state,
        note: note.map(str::to_string),
        at,
    }
}

/// One batch: all marked `sending` and flushed, then sent over the one connection, then all
/// outcomes recorded and flushed. A crash leaves at most this batch uncertain.
#[allow(clippy::too_many_arguments)]
fn send_batch(
    store: &dyn Store,
    ctx: &Ctx,
    id: IncidentId,
    doc: &str,
    carrier: Option<&Carrier>,
    pending: &mut Vec<Pending>,
    tally: &mut Tally,
    rate: Option<f64>,
    started: Instant,
) -> Result<(), CliError> {
    let Some(carrier) = carrier else {
        pending.clear();
        return Ok(());
    };
    let addresses: Vec<String> = pending.iter().map(|p| p.address.clone()).collect();
    let marks: Vec<RecipientState> = pending
        .iter()
        .map(|p| recipient_state(p, MessageState::Sending, None, ctx.now))
        .collect();
    store.put_recipients(id, doc, &marks, Some(&addresses))?;
    let mut outcomes = Vec::with_capacity(pending.len());
    for p in pending.iter() {
        if let Some(r) = rate {
            // Pace to the rate over the whole run, not per message, so pauses even out.
            let due = Duration::from_secs_f64((tally.sent + outcomes.len() as u64) as f64 / r);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            let o = carrier.deliver(&p.message);
            match o {
                Outcome::Transient(_) if attempt < ATTEMPTS => std::thread::sleep(backoff(attempt)),
                o => break o,
            }
        };
        outcomes.push(outcome);
    }
    let mut states = Vec::with_capacity(pending.len());
    for (p, o) in pending.iter().zip(&outcomes) {
        let (state, note) = match o {
            Outcome::Accepted(r) => {
                tally.sent += 1;
                (MessageState::Sent, r)
            }
            Outcome::Refused(r) => {
                tally.failed += 1;
                tally.problem(format!("line {}: {}: refused: {r}", p.line, p.address));
                (MessageState::Failed, r)
            }
            Outcome::Transient(r) => {
                tally.deferred += 1;
                tally.problem(format!(
                    "line {}: {}: not accepted yet: {r}",
                    p.line, p.address
                ));
                (MessageState::Queued, r)
            }
            Outcome::Unknown(r) => {
                tally.uncertain += 1;
                tally.problem(format!("line {}: {}: uncertain: {r}", p.line, p.address));
                (MessageState::Uncertain, r)
            }
        };
        states.push(recipient_state(p, state, Some(note), ctx.now));
    }
    store.put_recipients(id, doc, &states, None)?;
    pending.clear();
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String, CliError> {
    use sha2::Digest;
    use std::io::Read;
    let fail = |e: std::io::Error| CliError::InvalidArgs(format!("{}: {e}", path.display()));
    let mut f = std::fs::File::open(path).map_err(fail)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(fail)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}
