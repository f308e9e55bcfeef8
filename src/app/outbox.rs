//! The outbox as a person sees it: listing it, lifting a hold, and settling a message whose
//! fate is unknown. Each decision is on the record before anything is sent.

use crate::app::ports::Store;
use crate::app::send::Post;
use crate::app::send::{Delivered, changed, commit_messages, deliver, recover};
use crate::app::{AppError, Context};
use crate::domain::incident::IncidentId;
use crate::domain::outbox::{MessageEvent, MessageState, OutMessage};

/// The outbox, of one incident or all, after recovering what a dead process left `sending`.
pub fn outbox(
    store: &dyn Store,
    ctx: &Context,
    incident: Option<IncidentId>,
) -> Result<Vec<OutMessage>, AppError> {
    Ok(match incident {
        Some(id) => {
            recover(store, ctx, id)?;
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
                recover(store, ctx, *id)?;
            }
            if ids.is_empty() {
                all
            } else {
                store.all_messages()?
            }
        }
    })
}

/// The outbox as stored, without recovery: while another process is sending, its `sending`
/// marks are live, not a dead process's.
pub fn as_stored(
    store: &dyn Store,
    incident: Option<IncidentId>,
) -> Result<Vec<OutMessage>, AppError> {
    Ok(match incident {
        Some(id) => store.messages_for(id)?,
        None => store.all_messages()?,
    })
}

/// Takes `event` with a note, and commits the change with its event.
fn take_and_commit(
    store: &dyn Store,
    ctx: &Context,
    m: &mut OutMessage,
    event: MessageEvent,
    note: String,
) -> Result<(), AppError> {
    m.take(event, ctx.now, &ctx.actor, Some(note.clone()))?;
    commit_messages(
        store,
        ctx,
        m.incident,
        std::slice::from_ref(m),
        &[changed(m, Some(note))],
    )
}

fn find_message(store: &dyn Store, key: &str) -> Result<OutMessage, AppError> {
    let (id, _) = key.split_once('/').ok_or_else(|| {
        AppError::InvalidArgs(format!(
            "{key:?} is not a message key; expected e.g. BR-2024-0001/3"
        ))
    })?;
    let id: IncidentId = id
        .parse()
        .map_err(|e: crate::domain::incident::BadIncidentId| {
            AppError::InvalidArgs(e.to_string())
        })?;
    store
        .messages_for(id)?
        .into_iter()
        .find(|m| m.key == key)
        .ok_or_else(|| {
            AppError::InvalidArgs(format!(
                "no message {key}; `breachflow outbox --incident {id}` lists them"
            ))
        })
}

/// The reason a person gives for lifting a hold; refused when empty, before anything is read.
pub fn release_reason(reason: Option<&str>) -> Result<&str, AppError> {
    reason.map(str::trim).filter(|r| !r.is_empty()).ok_or_else(|| {
        AppError::InvalidArgs(
            "lifting a hold needs --reason: sending before the market is told is a decision on the record".into(),
        )
    })
}

/// `outbox release KEY --reason R`: a person lifts a hold, on the record, and it goes.
pub fn release(post: &Post<'_>, key: &str, reason: Option<&str>) -> Result<Delivered, AppError> {
    let (store, mailer, ctx, org, policy) = post.parts();
    let reason = release_reason(reason)?;
    let mut m = find_message(store, key)?;
    if m.state != MessageState::Held {
        return Err(AppError::InvalidArgs(format!(
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
    take_and_commit(store, ctx, &mut m, MessageEvent::Release, note)?;
    let id = m.incident;
    let m = deliver(store, mailer, ctx, org, &policy.retry, m)?;
    Ok(Delivered {
        through: mailer.describe(org),
        messages: store.messages_for(id)?,
        skipped: Vec::new(),
        attempted: vec![m],
    })
}

/// `outbox resolve KEY --sent | --resend`: a person settles an uncertain or failed message.
#[allow(clippy::too_many_arguments)]
pub fn resolve(
    post: &Post<'_>,
    key: &str,
    sent: bool,
    note: Option<&str>,
) -> Result<Delivered, AppError> {
    let (store, mailer, ctx, org, policy) = post.parts();
    let (id, _) = key.split_once('/').unwrap_or((key, ""));
    if let Ok(id) = id.parse::<IncidentId>() {
        recover(store, ctx, id)?;
    }
    let mut m = find_message(store, key)?;
    if !matches!(m.state, MessageState::Uncertain | MessageState::Failed) {
        return Err(AppError::InvalidArgs(format!(
            "{key} is {}; only an uncertain or failed message is resolved by hand",
            m.state
        )));
    }
    let why = note.map(str::trim).filter(|n| !n.is_empty());
    let (event, words) = if sent {
        (MessageEvent::Confirm, "confirmed delivered by")
    } else {
        (MessageEvent::Resend, "resend decided by")
    };
    let note = format!(
        "{words} {}{}",
        ctx.actor,
        why.map(|w| format!(": {w}")).unwrap_or_default()
    );
    take_and_commit(store, ctx, &mut m, event, note)?;
    let mut attempted = Vec::new();
    if !sent {
        attempted.push(deliver(store, mailer, ctx, org, &policy.retry, m.clone())?);
    }
    Ok(Delivered {
        through: mailer.describe(org),
        messages: store.messages_for(m.incident)?,
        skipped: Vec::new(),
        attempted,
    })
}
