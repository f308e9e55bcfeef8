//! The browser workspace: pages served by `breachflow serve` for people signed in with a
//! session (the server's accounts). Each handler is a request -> one app call -> a page: it reads
//! on a blocking thread, shapes what it read into the page's data here, and
//! `render::pages` makes the HTML. No page needs JavaScript; `app.js` only counts down.
//!
//! Forms post with the session's CSRF token in a hidden field (the gate checks it); the sign-in
//! form, before any session, carries a token that must match a cookie set with the form
//! (double submit), so another site cannot sign a browser in as someone else.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::Shared;
use super::auth::SignedIn;
use crate::app;
use crate::domain::account::Role;

mod audit;
mod dashboard;
mod decision;
mod documents;
mod incident;
mod outbox;
mod sign_in;
mod steps;
mod users;
// The forms made from the input types' schemas.
mod assessment;
mod facts;
mod form;
mod intake;

pub use assessment::{assess, assessment_form};
pub use audit::{adherence_file, audit, audit_verify, bundle_file, register_file};
pub use dashboard::{dashboard, dashboard_data};
pub use decision::{decide, decision_form};
pub use documents::{
    approve as approve_document, compare as compare_documents, edit as edit_document,
    edit_form as edit_document_form, file as file_document, print as print_document,
    render as render_document, send as send_document, workspace as document,
};
pub use facts::{facts_form, update_facts};
pub use incident::{incident, incident_data};
pub use intake::{intake_form, open_incident};
pub use outbox::{outbox, release, resolve};
pub use sign_in::{sign_in, sign_in_form, sign_out};
pub use steps::{
    complete as complete_obligation, delay_disclosure, steps, transition, trigger,
    waive as waive_obligation,
};
pub use users::{add_user, change_user, disable_user, users};

/// The signed-in person as every page's header shows them.
pub(super) fn who(signed: &SignedIn) -> Value {
    let csrf = signed.csrf.clone().unwrap_or_default();
    let p = &signed.principal;
    json!({
        "name": p.name,
        "roles": roles(&p.roles),
        "admin": p.roles.contains(&Role::Admin),
        "dpo": p.roles.contains(&Role::Dpo),
        "csrf": csrf,
    })
}

pub(super) fn roles(roles: &[Role]) -> String {
    Role::list(roles, ", ")
}

pub(super) fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A page, or the error page if it cannot be made.
pub(super) fn page(shared: &Shared, status: StatusCode, name: &str, data: Value) -> Response {
    match shared.pages.render(name, &data) {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            super::http::log_line(&json!({"event": "page_error", "detail": e.to_string()}));
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "this page could not be made; the server's log says why",
            )
                .into_response()
        }
    }
}

/// A refusal or failure as a page: what happened, in words, never a stack trace.
pub fn refused(
    shared: &Shared,
    status: StatusCode,
    message: &str,
    signed: Option<&SignedIn>,
) -> Response {
    let heading = match status {
        StatusCode::UNAUTHORIZED => "Sign in first",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        _ => "Something went wrong",
    };
    page(
        shared,
        status,
        "refused",
        json!({
            "title": heading,
            "heading": heading,
            "message": message,
            "status": status.as_u16(),
            "who": signed.map(who),
        }),
    )
}

/// Runs `read` on a blocking thread (the store is synchronous); an app error becomes a page.
/// It takes its turn as a command does: beside the others, never during an `audit repair` or a
/// `bundle import`, which rewrite the derived trees wholesale.
pub(super) async fn read<T: Send + 'static>(
    shared: &Arc<Shared>,
    signed: &SignedIn,
    read: impl FnOnce(&crate::adapters::store::SledStore) -> Result<T, app::AppError> + Send + 'static,
) -> Result<T, Response> {
    let turn = shared.clone();
    match tokio::task::spawn_blocking(move || {
        let _together = turn.exclusive.read().unwrap_or_else(|p| p.into_inner());
        read(&turn.store)
    })
    .await
    {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => {
            // What a page reads is named by its address: an incident, a document or a version
            // that is not there is "not found", not a failure of the server.
            let status = match &e {
                app::AppError::Store(crate::app::StoreError::UnknownIncident(..))
                | app::AppError::InvalidArgs(_)
                | app::AppError::Template(crate::render::template::TemplateError::Unknown {
                    ..
                }) => StatusCode::NOT_FOUND,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            Err(refused(shared, status, &e.to_string(), Some(signed)))
        }
        Err(_) => Err(refused(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "the page stopped unexpectedly",
            Some(signed),
        )),
    }
}

/// What a form's use-case came to: done, refused by the app (shown beside the form), or a
/// page already made (not permitted, or the work stopped).
pub(super) enum Wrote<T> {
    Done(T),
    Refused(app::AppError),
    Page(Response),
}

/// Runs a use-case that writes, as the signed-in person acting in the role that grants
/// `action` (the same table the API and the CLI use), on a blocking thread; `what` names the
/// act in the refusal when no role of theirs grants it. It takes its turn as [`read`] does.
pub(super) async fn write<T: Send + 'static>(
    shared: &Arc<Shared>,
    signed: &SignedIn,
    action: crate::domain::permission::Action,
    what: &str,
    work: impl FnOnce(&crate::adapters::store::SledStore, &app::Context) -> Result<T, app::AppError>
    + Send
    + 'static,
) -> Wrote<T> {
    let principal = signed.principal.clone();
    let Some(role) = crate::domain::permission::permits(&principal.roles, &action) else {
        let allowed = Role::list(crate::domain::permission::allowed(&action), " or ");
        return Wrote::Page(refused(
            shared,
            StatusCode::FORBIDDEN,
            &format!("{what} needs the {allowed} role; nothing was stored"),
            Some(signed),
        ));
    };
    let now = crate::adapters::clock::now_or(None);
    let turn = shared.clone();
    match tokio::task::spawn_blocking(move || {
        let _together = turn.exclusive.read().unwrap_or_else(|p| p.into_inner());
        let ctx = app::Context::authenticated(now, &principal, role);
        work(&turn.store, &ctx)
    })
    .await
    {
        Ok(Ok(t)) => Wrote::Done(t),
        Ok(Err(e)) => Wrote::Refused(e),
        Err(_) => Wrote::Page(refused(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("{what} stopped unexpectedly; the log says whether it was stored"),
            Some(signed),
        )),
    }
}

/// After a form that stored something: to the page that shows it (post, redirect, get), with
/// the person named in the request log.
pub(super) fn see_other(to: &str, signed: &SignedIn) -> Response {
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, to)], "").into_response();
    r.extensions_mut().insert(crate::server::http::Logged::user(
        &signed.principal.user.to_string(),
    ));
    r
}

/// A refusal from the layers below, as a page says it: they name the command line's flags
/// (`--reason`), which a form does not have, so those become the words of the form's fields.
pub(super) fn in_words(message: &str) -> String {
    const FLAGS: [(&str, &str); 9] = [
        ("(`--reason`)", "(the reason field)"),
        ("--late-reason", "a reason for the delay"),
        ("--reason", "a reason"),
        ("--note", "a note"),
        ("--legitimate-interests", "condition (a)"),
        ("--not-misleading", "condition (b)"),
        ("--confidentiality", "condition (c)"),
        ("--by", "who decided"),
        (" (check --now)", ""),
    ];
    FLAGS.iter().fold(message.to_string(), |m, (flag, words)| {
        m.replace(flag, words)
    })
}

/// An app error as a page says it ([`in_words`]).
pub(super) fn said(e: &app::AppError) -> String {
    in_words(&e.to_string())
}

/// A posted form's fields; an unreadable form is an empty one (each use-case then says what
/// is missing). `Vec<(String, String)>` reads every field in order, repeated ones included.
pub(super) fn fields<T: for<'de> serde::Deserialize<'de> + Default>(body: &[u8]) -> T {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// The organisation's zone: every time on a page is in it.
pub(super) fn zone(store: &dyn app::Store) -> Result<Tz, app::AppError> {
    Ok(store.require_organisation()?.zone())
}

pub async fn home() -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/dashboard")],
        "",
    )
        .into_response()
}

/// `GET /assets/{name}`: the stylesheet and the script, from the binary.
pub async fn asset(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    match crate::render::pages::asset(&name) {
        Some((kind, text)) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, kind)], text).into_response()
        }
        None => refused(&shared, StatusCode::NOT_FOUND, "no such file", None),
    }
}

/// A report as a file to save: served as an attachment, so it is opened from disk rather than
/// inside the workspace (the adherence report carries its own print styles).
pub(super) fn download(name: &str, kind: &'static str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, kind)], body).into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// Runs a use-case that sends mail, as [`write`] does (the permission from the table, on a
/// blocking thread), with what a sending command has on this server: the store held for
/// sending (the sending lock, waiting its turn behind another request's send), the carrier
/// the organisation's profile names (its SMTP server, else the outbox folder), and the
/// regimes' market disclosures for the disclosure order.
pub(super) async fn sending<T: Send + 'static>(
    shared: &Arc<Shared>,
    signed: &SignedIn,
    action: crate::domain::permission::Action,
    what: &str,
    work: impl FnOnce(&app::send::Post<'_>) -> Result<T, app::AppError> + Send + 'static,
) -> Wrote<T> {
    use crate::adapters::lease::{LeasedStore, SEND_QUEUE_WAIT};
    use crate::adapters::mail::{Carrier, OUTBOX_FOLDER, retry_policy};
    let rulebook = shared.rulebook.clone();
    let folder = shared.data_dir.join(OUTBOX_FOLDER);
    write(shared, signed, action, what, move |store, ctx| {
        let store = LeasedStore::shared_for_sending(store.share(), SEND_QUEUE_WAIT)?;
        let org = store.require_organisation()?;
        let carrier = Carrier::for_organisation(&org, &folder)?;
        let policy = app::send::Policy {
            retry: retry_policy(),
            market_regimes: rulebook.market_regimes(),
        };
        work(&app::send::Post {
            store: &store,
            mailer: &carrier,
            ctx,
            org: &org,
            policy: &policy,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::in_words;

    #[test]
    fn a_refusal_on_a_page_names_fields_not_flags() {
        assert_eq!(
            in_words(
                "waiving x needs --reason: deciding a duty is not required is part of the record"
            ),
            "waiving x needs a reason: deciding a duty is not required is part of the record"
        );
        assert_eq!(
            in_words("late, so --late-reason is required"),
            "late, so a reason for the delay is required"
        );
        assert_eq!(
            in_words("missing: --legitimate-interests, --confidentiality, --by"),
            "missing: condition (a), condition (c), who decided"
        );
    }
}
