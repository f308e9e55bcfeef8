//! Bulk recipients as the log and a person see them: every state change one `BulkRecipients`
//! event committed with the states it folds to; the stored states checked against the log
//! before a run (a store that disagrees is refused, so a deleted state never makes anyone hear
//! twice); states written before 0.3 adopted into the log; a batch a crashed run left `sending`
//! made `uncertain`; and a person's decision on the uncertain ones, on the record with who
//! decided. The run itself is `app::bulk`.

use std::collections::{BTreeMap, HashSet};

use crate::app::ports::{Change, Store, StoreError, Subject, Writes};
use crate::app::{AppError, Context};
use crate::domain::delivery;
use crate::domain::event::EventKind;
use crate::domain::incident::IncidentId;
use crate::domain::outbox::{
    self, BulkStep, MessageEvent, MessageState, RecipientChange, RecipientState,
};
use crate::render::template;

const INTERRUPTED: &str = "the sending process stopped before the server's reply was recorded";

/// Records `changes` to the bulk recipients of `doc` as one `BulkRecipients` event, with the
/// states they fold to written in the same commit. Returns those states.
///
/// The incident is read before the recipients' states, and the commit refuses if the incident
/// moved since (`Conflict`): so the states a `sending` mark is checked against are the ones it
/// replaces, even with another process at work on the same store.
pub(crate) fn commit_recipients(
    store: &dyn Store,
    ctx: &Context,
    id: IncidentId,
    doc: &str,
    step: BulkStep,
    changes: Vec<RecipientChange>,
) -> Result<Vec<RecipientState>, AppError> {
    let record = store.incident(id)?;
    let mut states: Vec<(IncidentId, &str, RecipientState)> = Vec::with_capacity(changes.len());
    for c in &changes {
        let before = store.recipient((id, doc, &c.address))?;
        if step == BulkStep::Sending
            && let Some(b) = &before
            && !may_go(b, c.version)
        {
            return Err(AppError::Failed(format!(
                "{} became {} while this run was sending; nothing more was sent: run the command again",
                b.address, b.state
            )));
        }
        states.push((id, doc, delivery::apply_change(before.as_ref(), c, ctx.now)));
    }
    let kind = EventKind::BulkRecipients {
        document: doc.to_string(),
        step,
        recipients: changes,
    };
    store.commit(
        Change::new(
            Subject::Incident(&record),
            std::slice::from_ref(&kind),
            ctx.stamp(),
        )
        .with(Writes {
            recipients: &states,
            ..Writes::default()
        }),
    )?;
    Ok(states.into_iter().map(|(_, _, s)| s).collect())
}

/// Whether a recipient in state `s` may be marked `sending` for `version`: not while another
/// attempt is open or its outcome unknown, and not when it has this version already.
fn may_go(s: &RecipientState, version: Option<u32>) -> bool {
    match s.state {
        MessageState::Sending | MessageState::Uncertain => false,
        MessageState::Sent => s.notice_version() < version,
        MessageState::Queued | MessageState::Held | MessageState::Failed => true,
    }
}

/// The stored recipients of `doc`, checked against the log: every state the fold of its
/// `BulkRecipients` events, none missing, none extra. A store that disagrees is refused (a
/// deleted state must not make anyone hear twice). States of a document whose runs all predate
/// these events are returned as stored, with `false`.
pub(crate) fn checked_states(
    store: &dyn Store,
    id: IncidentId,
    doc: &str,
) -> Result<(Vec<RecipientState>, bool), AppError> {
    let events = store.events_for(id)?;
    let (expected, logged) = delivery::recipients_from(&events);
    let stored: Vec<_> = store
        .recipient_entries(Some(id))?
        .into_iter()
        .filter(|s| s.document == doc)
        .collect();
    if !logged.contains(&(id, doc.to_string())) {
        let mut states = Vec::with_capacity(stored.len());
        for s in stored {
            let key = s.key();
            states.push(s.state.map_err(|e| {
                AppError::Store(StoreError::Damaged {
                    dir: store.location(),
                    detail: format!("the recipient state {key} cannot be read: {e}"),
                })
            })?);
        }
        return Ok((states, false));
    }
    let expected: BTreeMap<_, _> = expected.into_iter().filter(|(k, _)| k.1 == doc).collect();
    let findings = delivery::check_recipients(&expected, &logged, &stored);
    if let Some(first) = findings.first() {
        return Err(AppError::Tampered(format!(
            "the stored bulk recipients of {id} {doc} are not what the log records ({first}{}); nothing was sent. `breachflow audit verify` names every difference",
            if findings.len() > 1 {
                format!(", and {} more", findings.len() - 1)
            } else {
                String::new()
            }
        )));
    }
    Ok((expected.into_values().collect(), true))
}

/// Before a run or a decision: the stored recipients checked against the log, states stored
/// before 0.3 adopted into it, and a batch a crashed run left in flight (its recipients still
/// `sending`) made `uncertain`: they may have the notice, so they are never resent by
/// themselves. Returns the states as they now stand.
pub(crate) fn settle(
    store: &dyn Store,
    ctx: &Context,
    id: IncidentId,
    doc: &str,
) -> Result<Vec<RecipientState>, AppError> {
    let (mut states, logged) = checked_states(store, id, doc)?;
    if !logged && !states.is_empty() {
        // Adopted in slices, so no one event holds a whole large run.
        for chunk in states.chunks(1000) {
            commit_recipients(
                store,
                ctx,
                id,
                doc,
                BulkStep::Adopted,
                chunk.iter().map(RecipientChange::adopt).collect(),
            )?;
        }
    }
    let stuck: Vec<RecipientChange> = states
        .iter()
        .filter(|s| s.state == MessageState::Sending)
        .filter_map(|s| {
            outbox::next(s.state, MessageEvent::Interrupted)
                .map(|to| RecipientChange::to(&s.address, to, Some(INTERRUPTED.into())))
        })
        .collect();
    if !stuck.is_empty() {
        let now = commit_recipients(store, ctx, id, doc, BulkStep::Interrupted, stuck)?;
        for n in now {
            if let Some(s) = states
                .iter_mut()
                .find(|s| outbox::address_digest(&s.address) == outbox::address_digest(&n.address))
            {
                *s = n;
            }
        }
    }
    states.sort_by_key(|s| s.line);
    Ok(states)
}

/// A bulk run's recipients of `doc`, each with its state, in the order of the file's lines:
/// the report a DPO keeps (`outbox recipients`). Read only; checked against the log.
pub fn recipient_states(
    store: &dyn Store,
    id: IncidentId,
    doc: &str,
) -> Result<Vec<RecipientState>, AppError> {
    template::check_name(doc)?;
    store.incident(id)?;
    let (mut states, _) = checked_states(store, id, doc)?;
    states.sort_by_key(|s| s.line);
    Ok(states)
}

/// What a person decides for uncertain bulk recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkDecision {
    /// They have the notice (seen in the server's log, say).
    Sent,
    /// They get it again: queued for the next `notify-subjects` run with the file.
    Resend,
}

/// The uncertain recipients of `doc`, after a crashed batch is settled: the list a person sees
/// before deciding. With `only`, just those of these addresses (compared without case or
/// spaces), e.g. the ones the mail server's log shows as delivered.
pub fn uncertain_recipients(
    store: &dyn Store,
    ctx: &Context,
    id: IncidentId,
    doc: &str,
    only: Option<&[String]>,
) -> Result<Vec<RecipientState>, AppError> {
    template::check_name(doc)?;
    store.incident(id)?;
    let wanted: Option<HashSet<[u8; 16]>> =
        only.map(|o| o.iter().map(|a| outbox::address_digest(a)).collect());
    Ok(settle(store, ctx, id, doc)?
        .into_iter()
        .filter(|s| s.state == MessageState::Uncertain)
        .filter(|s| {
            wanted
                .as_ref()
                .is_none_or(|w| w.contains(&outbox::address_digest(&s.address)))
        })
        .collect())
}

/// `outbox resolve ID --bulk DOC --uncertain --sent | --resend`: a person settles the
/// uncertain recipients of `doc` they were shown (`shown`), at once, on the record with who
/// decided. If any of them is no longer uncertain, nothing is recorded.
pub fn resolve_bulk(
    store: &dyn Store,
    ctx: &Context,
    id: IncidentId,
    doc: &str,
    decision: BulkDecision,
    shown: &[RecipientState],
    note: Option<&str>,
) -> Result<Vec<RecipientState>, AppError> {
    if shown.is_empty() {
        return Err(AppError::InvalidArgs(format!(
            "no uncertain recipients of {id} {doc} to decide on; `breachflow outbox recipients {id} {doc}` shows each one's state"
        )));
    }
    let now: HashSet<[u8; 16]> = uncertain_recipients(store, ctx, id, doc, None)?
        .iter()
        .map(|s| outbox::address_digest(&s.address))
        .collect();
    if let Some(gone) = shown
        .iter()
        .find(|s| !now.contains(&outbox::address_digest(&s.address)))
    {
        return Err(AppError::InvalidArgs(format!(
            "{} is no longer uncertain (the list changed since it was shown); nothing was recorded: run the command again",
            gone.address
        )));
    }
    let (event, words, step) = match decision {
        BulkDecision::Sent => (
            MessageEvent::Confirm,
            "confirmed delivered by",
            BulkStep::Confirmed,
        ),
        BulkDecision::Resend => (MessageEvent::Resend, "resend decided by", BulkStep::Resend),
    };
    let why = note.map(str::trim).filter(|n| !n.is_empty());
    let note = format!(
        "{words} {}{}",
        ctx.actor,
        why.map(|w| format!(": {w}")).unwrap_or_default()
    );
    let mut changes = Vec::with_capacity(shown.len());
    for s in shown {
        let to = outbox::next(s.state, event).ok_or_else(|| outbox::MoveRefused {
            key: s.address.clone(),
            from: s.state,
            event,
        })?;
        changes.push(RecipientChange::to(&s.address, to, Some(note.clone())));
    }
    let mut states = commit_recipients(store, ctx, id, doc, step, changes)?;
    states.sort_by_key(|s| s.line);
    Ok(states)
}
