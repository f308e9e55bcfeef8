//! The outbox page: every message by state; a held message with what it waits for and the
//! form to release it with a reason; an uncertain or failed one with the choice that settles
//! it (it was delivered, or send it again). Acting needs the role the permission table grants
//! `ManageOutbox`; everyone else sees the outbox and is told why they cannot act on it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shared, SignedIn, Wrote, page, read, roles, see_other, sending, who, zone};
use crate::adapters::lease::SendingLock;
use crate::app::{self, StoreError};
use crate::domain::account::Role;
use crate::domain::outbox::{MessageState, OutMessage};
use crate::domain::permission::{Action, allowed, permits};
use crate::render::format::instant;

/// The states in the order the page shows them: what needs a person first.
const ORDER: &[(MessageState, &str)] = &[
    (
        MessageState::Held,
        "Held: waiting for an earlier disclosure",
    ),
    (
        MessageState::Uncertain,
        "Uncertain: they may have been delivered",
    ),
    (MessageState::Failed, "Failed: refused by the mail server"),
    (MessageState::Queued, "Queued: waiting to be sent"),
    (MessageState::Sending, "Sending now"),
    (MessageState::Sent, "Sent"),
];

/// The release form as it was posted.
#[derive(Deserialize, Default)]
struct ReleaseForm {
    #[serde(default)]
    reason: String,
}

/// The resolve form as it was posted.
#[derive(Deserialize, Default)]
struct ResolveForm {
    /// `delivered` (`outbox resolve --sent`) or `resend` (`--resend`).
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
}

/// A form that was refused: which message, why, and what was typed (shown again beside it).
struct Attempt {
    key: String,
    error: String,
    reason: String,
    outcome: String,
    note: String,
}

/// `GET /outbox`: every message by state.
pub async fn outbox(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    outbox_page(shared, signed, None).await
}

/// `POST /outbox/{id}/{number}/release`: lifts a hold with a reason, on the record, and sends
/// the message (`outbox release KEY --reason R`); refused beside its form without a reason.
pub async fn release(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path((id, number)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let key = format!("{id}/{number}");
    let form: ReleaseForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let refused = |error: String| Attempt {
        key: key.clone(),
        error,
        reason: form.reason.clone(),
        outcome: String::new(),
        note: String::new(),
    };
    // Refused before the store is touched, as the command line does.
    // The same rule as `outbox release`, in the words of this form (which has no flags).
    if app::outbox::release_reason(Some(&form.reason)).is_err() {
        let attempt = refused(
            "Give your reason for sending it now: sending before the market is told is a decision on the record. Nothing was sent."
                .to_string(),
        );
        return outbox_page(shared, signed, Some(attempt)).await;
    }
    let (k, reason) = (key.clone(), form.reason.clone());
    let done = sending(
        &shared,
        &signed,
        Action::ManageOutbox,
        "Releasing a held message",
        move |post| app::outbox::release(post, &k, Some(&reason)),
    )
    .await;
    match done {
        Wrote::Done(_) => see_other("/outbox", &signed),
        Wrote::Refused(e) => {
            let attempt = refused(super::said(&e));
            outbox_page(shared, signed, Some(attempt)).await
        }
        Wrote::Page(r) => r,
    }
}

/// `POST /outbox/{id}/{number}/resolve`: settles an uncertain or failed message: it was
/// delivered (`outbox resolve KEY --sent`), or send it again (`--resend`), with an optional
/// note.
pub async fn resolve(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path((id, number)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let key = format!("{id}/{number}");
    let form: ResolveForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let refused = |error: String| Attempt {
        key: key.clone(),
        error,
        reason: String::new(),
        outcome: form.outcome.clone(),
        note: form.note.clone(),
    };
    let sent = match form.outcome.as_str() {
        "delivered" => true,
        "resend" => false,
        _ => {
            let attempt =
                refused("choose: it was delivered, or send it again; nothing was stored".into());
            return outbox_page(shared, signed, Some(attempt)).await;
        }
    };
    let (k, note) = (key.clone(), form.note.clone());
    let done = sending(
        &shared,
        &signed,
        Action::ManageOutbox,
        "Resolving a message",
        move |post| app::outbox::resolve(post, &k, sent, Some(&note)),
    )
    .await;
    match done {
        Wrote::Done(_) => see_other("/outbox", &signed),
        Wrote::Refused(e) => {
            let attempt = refused(super::said(&e));
            outbox_page(shared, signed, Some(attempt)).await
        }
        Wrote::Page(r) => r,
    }
}

async fn outbox_page(shared: Arc<Shared>, signed: SignedIn, attempt: Option<Attempt>) -> Response {
    let now = crate::adapters::clock::now_or(None);
    let principal = signed.principal.clone();
    let reading = permits(&principal.roles, &Action::Read);
    let found = read(&shared, &signed, move |store| {
        // As `breachflow outbox` does: a `sending` mark is a dead process's only while nobody
        // holds the sending lock; then it is recovered (recorded as uncertain). While another
        // request sends, the outbox is shown as stored.
        let messages = match (reading, SendingLock::take(store.dir())) {
            (Some(role), Ok(_sending)) => {
                let ctx = app::Context::authenticated(now, &principal, role);
                app::outbox::outbox(store, &ctx, None)?
            }
            (None, Ok(_)) | (_, Err(StoreError::Sending(_))) => {
                app::outbox::as_stored(store, None)?
            }
            (_, Err(e)) => return Err(e.into()),
        };
        Ok((zone(store)?, messages))
    })
    .await;
    let (zone, messages) = match found {
        Ok(x) => x,
        Err(r) => return r,
    };
    let may_act = permits(&signed.principal.roles, &Action::ManageOutbox).is_some();
    let groups: Vec<Value> = ORDER
        .iter()
        .filter_map(|(state, heading)| {
            let rows: Vec<Value> = messages
                .iter()
                .filter(|m| m.state == *state)
                .map(|m| {
                    let mut row = message_row(m, zone);
                    if let (Some(map), Some(a)) = (row.as_object_mut(), &attempt)
                        && a.key == m.key
                    {
                        map.insert(
                            "attempt".into(),
                            json!({
                                "error": a.error,
                                "reason": a.reason,
                                "note": a.note,
                                "delivered": a.outcome == "delivered",
                                "resend": a.outcome == "resend",
                            }),
                        );
                    }
                    row
                })
                .collect();
            (!rows.is_empty()).then(|| {
                json!({
                    "state": state.as_str(),
                    "heading": format!("{heading} ({})", rows.len()),
                    "rows": rows,
                })
            })
        })
        .collect();
    // A refusal about a message that is not (or no longer) listed is shown above the list.
    let unplaced = attempt
        .as_ref()
        .filter(|a| !messages.iter().any(|m| m.key == a.key))
        .map(|a| format!("{}: {}", a.key, a.error));
    let status = if attempt.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        &shared,
        status,
        "outbox",
        json!({
            "title": "Outbox",
            "zone": zone.name(),
            "count": messages.len(),
            "groups": groups,
            "may_act": may_act,
            "why_not": format!(
                "Releasing a hold and resolving a message need the {} role; you are signed in as {} ({}), so you can read the outbox but not act on it.",
                Role::list(allowed(&Action::ManageOutbox), " or "),
                signed.principal.name,
                roles(&signed.principal.roles),
            ),
            "error": unplaced,
            "who": who(&signed),
        }),
    )
}

/// One message as the outbox and the incident page list it, in the command line's words.
pub(super) fn message_row(m: &OutMessage, zone: Tz) -> Value {
    let last = m.history.last();
    json!({
        "key": m.key,
        "anchor": m.key.replace('/', "-"),
        "incident": m.incident.to_string(),
        "number": m.number,
        "document": m
            .document
            .as_ref()
            .map(|d| format!("{} v{}", d.document, d.version))
            .unwrap_or_else(|| "reminder".into()),
        "to": match &m.to.role {
            Some(r) => format!("{} ({r})", m.to.address),
            None => m.to.address.clone(),
        },
        "audience": m.audience,
        "state": m.state.as_str(),
        "when": last.map(|s| instant(s.at, zone)).unwrap_or_default(),
        "waiting": m.waiting_on.as_ref().map(|w| format!("waiting for {w}")),
        "detail": m
            .reply
            .clone()
            .or_else(|| last.and_then(|s| s.note.clone()))
            .unwrap_or_default(),
        "lifted_by": m.hold_lifted_by,
        "held": m.state == MessageState::Held,
        "settle": matches!(m.state, MessageState::Uncertain | MessageState::Failed),
        "attempt": null,
    })
}
