//! Sending approved documents: queueing in the disclosure order, delivering at most once, and a
//! person's release or resolution of a message, as use-cases over the store and the mailer.
//!
//! The order of effects is the point of this file: a message's `sending` mark is committed (and
//! so flushed) before the mailer is handed its bytes, and its outcome is committed after. A crash
//! in between leaves `sending`, which the next use-case turns into `uncertain` for a person to
//! resolve ([`recover`]). Nothing is ever sent from inside a store transaction.

use crate::app::ports::{Change, Composed, Mailer, Store, Subject, Writes};
use crate::app::{AppError, Context};
use crate::domain::document::{DocumentBody, DocumentRef, DocumentVersion};
use crate::domain::event::EventKind;
use crate::domain::incident::IncidentId;
use crate::domain::organisation::Organisation;
use crate::domain::outbox::{
    self, Letter, MessageEvent, MessageState, OutMessage, Recipient, RetryPolicy,
};
use crate::domain::record::IncidentRecord;
use crate::render::template::{self, TemplateSet};

/// The rules a front end supplies from its configuration.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// How often and how patiently a message is retried.
    pub retry: RetryPolicy,
    /// Regimes whose obligation is the market disclosure (`Rulebook::market_regimes`).
    pub market_regimes: Vec<String>,
}

/// What a sending use-case leaves: the messages to show and what it skipped.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// Words for where the messages went.
    pub through: String,
    pub messages: Vec<OutMessage>,
    /// Recipients passed over because they already have the version.
    pub skipped: Vec<String>,
    /// The messages this command tried to deliver, as it left them.
    pub attempted: Vec<OutMessage>,
}

impl Delivered {
    /// How this command's deliveries fell short, if they did: refused or deferred messages
    /// count against it, held ones do not (they wait by design).
    pub fn shortfall(&self) -> Option<outbox::Shortfall> {
        let count = |f: &dyn Fn(MessageState) -> bool| {
            self.attempted.iter().filter(|m| f(m.state)).count() as u64
        };
        outbox::Shortfall::of(
            count(&|s| s == MessageState::Sent),
            count(&|s| matches!(s, MessageState::Failed | MessageState::Queued)),
            count(&|s| s == MessageState::Uncertain),
        )
    }

    /// How many of the messages may or may not have been delivered.
    pub fn uncertain(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.state == MessageState::Uncertain)
            .count()
    }
}

/// `send`: one approved document to people.
#[derive(Debug, Clone)]
pub struct SendRequest<'a> {
    pub id: IncidentId,
    pub document: &'a str,
    /// An approved version; the latest approved one when none.
    pub version: Option<u32>,
    /// Addresses or address-book roles.
    pub to: &'a [String],
    /// The audience, for the disclosure order; the template's group when none.
    pub audience: Option<&'a str>,
}

impl SendRequest<'_> {
    /// The checks that need no store, so a front end can make them first.
    pub fn check(&self) -> Result<(), AppError> {
        template::check_name(self.document)?;
        if let Some(a) = self.audience
            && !outbox::AUDIENCES.contains(&a)
        {
            return Err(AppError::InvalidArgs(format!(
                "--audience {a:?}: expected one of {}",
                outbox::AUDIENCES.join(", ")
            )));
        }
        Ok(())
    }
}

pub(crate) fn commit_messages(
    store: &dyn Store,
    ctx: &Context,
    id: IncidentId,
    messages: &[OutMessage],
    kinds: &[EventKind],
) -> Result<(), AppError> {
    let record = store.incident(id)?;
    store.commit(
        Change::new(Subject::Incident(&record), kinds, ctx.stamp()).with(Writes {
            messages,
            ..Writes::default()
        }),
    )?;
    Ok(())
}

pub(crate) fn changed(m: &OutMessage, note: Option<String>) -> EventKind {
    EventKind::MessageChanged {
        message: m.key.clone(),
        state: m.state,
        to: m.to.address.clone(),
        document: m.document.clone(),
        message_id: Some(m.message_id.clone()),
        note,
        detail: Some(Box::new(outbox::MessageDetail::of(m))),
    }
}

/// The event for a message's last step, with that step's note.
pub(crate) fn changed_last(m: &OutMessage) -> EventKind {
    changed(m, m.history.last().and_then(|s| s.note.clone()))
}

/// Messages a dead process left `sending`: their outcome is unknown, so they become
/// `uncertain`, never retried by themselves.
pub fn recover(store: &dyn Store, ctx: &Context, id: IncidentId) -> Result<(), AppError> {
    let mut stuck = Vec::new();
    for mut m in store.messages_for(id)? {
        if m.state == MessageState::Sending {
            m.take(
                MessageEvent::Interrupted,
                ctx.now,
                &ctx.actor,
                Some("the sending process stopped before the server's reply was recorded".into()),
            )?;
            stuck.push(m);
        }
    }
    if !stuck.is_empty() {
        let kinds: Vec<EventKind> = stuck.iter().map(changed_last).collect();
        commit_messages(store, ctx, id, &stuck, &kinds)?;
    }
    Ok(())
}

/// The latest approved version of `doc`, or the approved `version`.
pub(crate) fn approved<'r>(
    record: &'r IncidentRecord,
    doc: &'r str,
    version: Option<u32>,
) -> Result<&'r DocumentVersion, AppError> {
    let found = record
        .versions(doc)
        .filter(|v| version.is_none_or(|n| v.version == n))
        .filter(|v| v.approval.is_some())
        .last();
    found.ok_or_else(|| {
        AppError::Blocked(format!(
            "{} has no approved version of {doc}{}: render it and `breachflow approve {} {doc}` first; only an approved version is sent",
            record.id,
            version.map(|v| format!(" numbered {v}")).unwrap_or_default(),
            record.id
        ))
    })
}

pub(crate) fn doc_ref(v: &DocumentVersion) -> DocumentRef {
    DocumentRef {
        document: v.document.clone(),
        version: v.version,
        sha256: v.sha256.clone(),
    }
}

/// Resolves `--to` values: an address as given, or every person with that address-book role.
pub(crate) fn recipients(org: &Organisation, to: &[String]) -> Result<Vec<Recipient>, AppError> {
    let mut out: Vec<Recipient> = Vec::new();
    for t in to {
        let found: Vec<Recipient> = if t.contains('@') {
            if let Some(why) = crate::domain::organisation::undeliverable(t) {
                return Err(AppError::InvalidArgs(format!("--to {t:?} {why}")));
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
            return Err(AppError::InvalidArgs(format!(
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
pub(crate) fn sent_audiences(messages: &[OutMessage]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m.state == MessageState::Sent)
        .map(|m| m.audience.clone())
        .collect()
}

/// The sender: the SMTP settings' `from`, or the DPO.
pub(crate) fn from_address(org: &Organisation) -> String {
    match &org.smtp {
        Some(s) => s.from.clone(),
        None => format!("{} <{}>", org.dpo.name, org.dpo.email),
    }
}

/// The domain of the sender's address, for Message-IDs.
pub(crate) fn domain_of(from: &str) -> String {
    crate::domain::organisation::address_domain(from).unwrap_or_else(|| "breachflow.invalid".into())
}

fn subject_for(
    templates: &TemplateSet,
    doc: &str,
    body: &DocumentBody,
    org: &Organisation,
    v: &DocumentVersion,
) -> Result<String, AppError> {
    let source = templates
        .get(doc)
        .ok()
        .and_then(|t| t.manifest.subject.clone())
        .unwrap_or_else(|| format!("{}: {{{{incident.id}}}}", v.title));
    Ok(template::render_line(&source, &body.facts, org.zone())?)
}

/// What every sending use-case works with: the ports, who acts, the organisation, the policy.
#[derive(Clone, Copy)]
pub struct Post<'a> {
    pub store: &'a dyn Store,
    pub mailer: &'a dyn Mailer,
    pub ctx: &'a Context,
    pub org: &'a Organisation,
    pub policy: &'a Policy,
}

impl<'a> Post<'a> {
    /// Its parts, for a use-case's body.
    pub fn parts(
        &self,
    ) -> (
        &'a dyn Store,
        &'a dyn Mailer,
        &'a Context,
        &'a Organisation,
        &'a Policy,
    ) {
        (self.store, self.mailer, self.ctx, self.org, self.policy)
    }
}

/// `send`: queues one message per recipient (held if the disclosure order says so) and delivers
/// what may go, and anything that unblocks. The same version is never queued twice to an
/// address unless the earlier message failed.
pub fn send(
    post: &Post<'_>,
    templates: &TemplateSet,
    request: &SendRequest<'_>,
) -> Result<Delivered, AppError> {
    let (store, mailer, ctx, org, policy) = post.parts();
    request.check()?;
    let id = request.id;
    let doc = request.document;
    recover(store, ctx, id)?;
    let record = store.incident(id)?;
    let v = approved(&record, doc, request.version)?;
    let group = request
        .audience
        .map(str::to_string)
        .or_else(|| templates.get(doc).ok().map(|t| t.manifest.group.clone()))
        .unwrap_or_else(|| "other".into());
    let people = recipients(org, request.to)?;
    let existing = store.messages_for(id)?;
    let hold = outbox::hold_for(
        &group,
        &org.order_rules(),
        &record,
        &sent_audiences(&existing),
        &policy.market_regimes,
    );
    let body = crate::app::documents::checked_body(store, id, v)?;
    let subject = subject_for(templates, doc, &body, org, v)?;
    let domain = domain_of(&from_address(org));
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
                m.take(
                    MessageEvent::Hold,
                    ctx.now,
                    &ctx.actor,
                    Some(format!("waiting for {w}")),
                )?;
            }
            None => m.take(MessageEvent::Queue, ctx.now, &ctx.actor, None)?,
        }
        number += 1;
        new.push(m);
    }
    if !new.is_empty() {
        let kinds: Vec<EventKind> = new.iter().map(changed_last).collect();
        commit_messages(store, ctx, id, &new, &kinds)?;
    }
    let mut attempted = Vec::new();
    for m in new.into_iter().filter(|m| m.state == MessageState::Queued) {
        attempted.push(deliver(store, mailer, ctx, org, &policy.retry, m)?);
    }
    // Anything this send unblocked goes too.
    attempted.extend(deliver_ready(post, id)?);
    Ok(Delivered {
        through: mailer.describe(org),
        messages: store.messages_for(id)?,
        skipped,
        attempted,
    })
}

/// The letter a message carries: its document (text, HTML, and the HTML attached), or a
/// reminder's text.
fn letter_for(store: &dyn Store, org: &Organisation, m: &OutMessage) -> Result<Letter, AppError> {
    let (text, html, attachment) = match &m.document {
        Some(d) => {
            let body =
                crate::app::documents::checked_body_of(store, m.incident, &d.document, d.version)?;
            let name = format!("{}-{}-v{}.html", m.incident, d.document, d.version);
            let bytes = body.html.as_bytes().to_vec();
            (body.text, Some(body.html), Some((name, bytes)))
        }
        None => (
            m.history
                .first()
                .and_then(|s| s.note.clone())
                .unwrap_or_default(),
            None,
            None,
        ),
    };
    Ok(Letter {
        from: from_address(org),
        reply_to: org.smtp.as_ref().and_then(|s| s.reply_to.clone()),
        to: m.to.address.clone(),
        to_name: m.to.name.clone(),
        subject: m.subject.clone(),
        message_id: m.message_id.clone(),
        date: None,
        text,
        html,
        attachment,
    })
}

/// Hands one message to the mailer: `sending` committed first, the outcome after; again while
/// the retry policy allows.
pub(crate) fn deliver(
    store: &dyn Store,
    mailer: &dyn Mailer,
    ctx: &Context,
    org: &Organisation,
    retry: &RetryPolicy,
    mut m: OutMessage,
) -> Result<OutMessage, AppError> {
    let letter = letter_for(store, org, &m)?;
    let composed: Composed = mailer
        .compose(&letter)
        .map_err(|e| AppError::Failed(e.to_string()))?;
    m.bytes_sha256 = Some(template::sha256_hex(&composed.bytes));
    loop {
        m.attempts += 1;
        m.take(
            MessageEvent::Attempt,
            ctx.now,
            &ctx.actor,
            Some(format!("attempt {}", m.attempts)),
        )?;
        commit_messages(
            store,
            ctx,
            m.incident,
            std::slice::from_ref(&m),
            &[changed_last(&m)],
        )?;
        // The mark is on disk: other commands may use the store while the server answers.
        store.idle();
        let outcome = mailer.deliver(&composed);
        let note = outcome.words().to_string();
        m.take(outcome.event(), ctx.now, &ctx.actor, Some(note.clone()))?;
        commit_messages(
            store,
            ctx,
            m.incident,
            std::slice::from_ref(&m),
            &[changed(&m, Some(note))],
        )?;
        if retry.again(m.attempts, &outcome) {
            store.idle();
            std::thread::sleep(retry.backoff(m.attempts));
            continue;
        }
        return Ok(m);
    }
}

/// Delivers the incident's queued messages, and held ones whose earlier disclosure has happened;
/// returns them as it left them.
fn deliver_ready(post: &Post<'_>, id: IncidentId) -> Result<Vec<OutMessage>, AppError> {
    let (store, mailer, ctx, org, policy) = post.parts();
    let mut attempted = Vec::new();
    loop {
        let record = store.incident(id)?;
        let messages = store.messages_for(id)?;
        let sent = sent_audiences(&messages);
        let next = messages.into_iter().find(|m| match m.state {
            MessageState::Queued => true,
            MessageState::Held => outbox::hold_for(
                &m.audience,
                &org.order_rules(),
                &record,
                &sent,
                &policy.market_regimes,
            )
            .is_none(),
            _ => false,
        });
        let Some(mut m) = next else {
            return Ok(attempted);
        };
        if m.state == MessageState::Held {
            m.waiting_on = None;
            m.take(
                MessageEvent::Release,
                ctx.now,
                &ctx.actor,
                Some("the earlier disclosure has happened".into()),
            )?;
            // Every step of a message is an event, so the record is the fold of its events.
            commit_messages(
                store,
                ctx,
                id,
                std::slice::from_ref(&m),
                &[changed_last(&m)],
            )?;
        }
        let m = deliver(store, mailer, ctx, org, &policy.retry, m)?;
        let stop = m.state == MessageState::Queued;
        attempted.push(m);
        if stop {
            // Out of attempts for now; leave the rest for the next run rather than spin.
            return Ok(attempted);
        }
    }
}

/// `outbox deliver`: queued messages, and held ones now free, of one incident or all.
pub fn deliver_all(post: &Post<'_>, incident: Option<IncidentId>) -> Result<Delivered, AppError> {
    let Post {
        store,
        mailer,
        ctx,
        org,
        policy: _,
    } = *post;
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
    let mut attempted = Vec::new();
    for id in ids {
        recover(store, ctx, id)?;
        attempted.extend(deliver_ready(post, id)?);
        all.extend(store.messages_for(id)?);
    }
    Ok(Delivered {
        through: mailer.describe(org),
        messages: all,
        skipped: Vec::new(),
        attempted,
    })
}
