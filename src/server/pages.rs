//! The browser workspace: pages served by `breachflow serve` for people signed in with a
//! session (the server's accounts). Each handler is a request -> one app call -> a page: it reads
//! on a blocking thread, shapes what it read into the page's data here, and
//! `render::pages` makes the HTML. No page needs JavaScript; `app.js` only counts down.
//!
//! Forms post with the session's CSRF token in a hidden field (the gate checks it); the sign-in
//! form, before any session, carries a token that must match a cookie set with the form
//! (double submit), so another site cannot sign a browser in as someone else.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Shared;
use super::auth::{self, SignedIn};
use super::http::Logged;
use crate::app;
use crate::cli::commands::incident::event_line;
use crate::cli::commands::obligation::{due_words, remaining};
use crate::domain::account::Role;
use crate::domain::incident::IncidentId;
use crate::domain::record::IncidentRecord;
use crate::render::format::{instant, recorded_later, who as event_who};

/// The cookie that carries the sign-in form's token until the form comes back.
const SIGN_IN_COOKIE: &str = "bf_signin";

/// The signed-in person as every page's header shows them.
fn who(signed: &SignedIn) -> Value {
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

fn roles(roles: &[Role]) -> String {
    Role::list(roles, ", ")
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A page, or the error page if it cannot be made.
fn page(shared: &Shared, status: StatusCode, name: &str, data: Value) -> Response {
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
async fn read<T: Send + 'static>(
    shared: &Arc<Shared>,
    signed: &SignedIn,
    read: impl FnOnce(&crate::adapters::store::SledStore) -> Result<T, app::AppError> + Send + 'static,
) -> Result<T, Response> {
    let store = shared.store.share();
    match tokio::task::spawn_blocking(move || read(&store)).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => {
            let status = match &e {
                app::AppError::Store(crate::app::StoreError::UnknownIncident(..)) => {
                    StatusCode::NOT_FOUND
                }
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

/// The organisation's zone: every time on a page is in it.
fn zone(store: &dyn app::Store) -> Result<Tz, app::AppError> {
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

/// `GET /sign-in`: the form, with a fresh token in a cookie and in the form.
pub async fn sign_in_form(State(shared): State<Arc<Shared>>) -> Response {
    sign_in_page(&shared, StatusCode::OK, "", None)
}

fn sign_in_page(shared: &Shared, status: StatusCode, name: &str, error: Option<&str>) -> Response {
    let Some(token) = auth::random_hex(16) else {
        return refused(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "no sign-in form could be made",
            None,
        );
    };
    let mut r = page(
        shared,
        status,
        "sign-in",
        json!({"title": "Sign in", "csrf": token, "name": name, "error": error}),
    );
    let cookie = format!(
        "{SIGN_IN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/sign-in{}",
        if shared.tls { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /sign-in`: the form's name and password, throttled like the API's sign-in; on success
/// a session cookie and a redirect to the dashboard.
pub async fn sign_in(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let from = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip());
    let expected = auth::cookie(request.headers(), SIGN_IN_COOKIE);
    let Ok(body) = axum::body::to_bytes(request.into_body(), super::routes::SMALL_BODY).await
    else {
        return refused(
            &shared,
            StatusCode::PAYLOAD_TOO_LARGE,
            "the form is larger than a sign-in needs",
            None,
        );
    };
    let form: SignInForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => {
            return sign_in_page(
                &shared,
                StatusCode::BAD_REQUEST,
                "",
                Some("The form could not be read; please try again."),
            );
        }
    };
    if !expected.is_some_and(|e| auth::same(&e, &form.csrf)) {
        return sign_in_page(
            &shared,
            StatusCode::FORBIDDEN,
            &form.name,
            Some("The form had expired or did not come from this site; please sign in again."),
        );
    }
    let principal =
        match super::routes::check_password(&shared, from, &form.name, &form.password).await {
            Ok(p) => p,
            Err(super::routes::PasswordRefused::Throttled(wait)) => {
                let minutes = wait.as_secs().div_ceil(60).max(1);
                return sign_in_page(
                    &shared,
                    StatusCode::TOO_MANY_REQUESTS,
                    &form.name,
                    Some(&format!(
                        "Too many failed sign-ins. Wait {minutes} minute{} before trying again.",
                        if minutes == 1 { "" } else { "s" }
                    )),
                );
            }
            Err(super::routes::PasswordRefused::Wrong) => {
                return sign_in_page(
                    &shared,
                    StatusCode::UNAUTHORIZED,
                    &form.name,
                    Some("The name or password is not accepted."),
                );
            }
            Err(super::routes::PasswordRefused::Failed) => {
                return refused(
                    &shared,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the password could not be checked",
                    None,
                );
            }
        };
    let Some((id, _)) = shared.sessions.start(&principal.user.to_string()) else {
        return refused(
            &shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "no session could be started",
            None,
        );
    };
    let mut r = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/dashboard")],
        "",
    )
        .into_response();
    let secure = if shared.tls { "; Secure" } else { "" };
    for c in [
        super::routes::session_cookie_header(&id, shared.tls),
        format!("{SIGN_IN_COOKIE}=; HttpOnly; SameSite=Strict; Path=/sign-in; Max-Age=0{secure}"),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r.extensions_mut()
        .insert(Logged::user(&principal.user.to_string()));
    r
}

/// `POST /sign-out`: ends the session (the gate has checked the form's CSRF token).
pub async fn sign_out(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    if let Some(id) = &signed.session {
        shared.sessions.end(id);
    }
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/sign-in")], "").into_response();
    if let Ok(v) = HeaderValue::from_str(&super::routes::session_cookie_header("", shared.tls)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `GET /dashboard`: every open obligation with a due time, soonest (so overdue) first, and
/// the newest incidents by state.
pub async fn dashboard(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    let now = crate::adapters::clock::now_or(None);
    let found = read(&shared, &signed, move |store| {
        Ok((zone(store)?, app::deadlines::dashboard(store, now)?))
    })
    .await;
    let (zone, board) = match found {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut data = dashboard_data(&board, now, zone);
    if let Some(map) = data.as_object_mut() {
        map.insert("who".into(), who(&signed));
    }
    page(&shared, StatusCode::OK, "dashboard", data)
}

/// The dashboard's data: pure, from what the app layer read.
pub fn dashboard_data(board: &app::deadlines::Dashboard, now: DateTime<Utc>, zone: Tz) -> Value {
    let due: Vec<Value> = board
        .due
        .iter()
        .map(|row| {
            let (r, o) = (row.record.as_ref(), row.obligation());
            let at = o.due.instant();
            let overdue = o.due.is_statutory() && at.is_some_and(|at| now > at);
            json!({
                "incident": r.id.to_string(),
                "incident_title": r.facts.title,
                "obligation": o.id,
                "regime_name": o.regime_name,
                "citation": o.citation,
                "recipient": o.recipient,
                "owner": o.owner_role,
                "due": due_words(&o.due, zone),
                "due_iso": at.map(iso),
                "statutory": o.due.is_statutory(),
                "left": remaining(&o.due, now),
                "overdue": overdue,
                "warning": crate::domain::obligation::warning(&o.due, now).is_some(),
            })
        })
        .collect();
    let overdue = due.iter().filter(|d| d["overdue"] == true).count();
    // Newest first within each state; states in the lifecycle's order.
    let mut states: Vec<(crate::domain::lifecycle::State, Vec<Value>)> = Vec::new();
    for r in &board.recent {
        let entry = json!({"id": r.id.to_string(), "title": r.facts.title, "opened": instant(r.opened_at, zone)});
        match states.iter_mut().find(|(s, _)| *s == r.state) {
            Some((_, list)) => list.push(entry),
            None => states.push((r.state, vec![entry])),
        }
    }
    states.sort_by_key(|(s, _)| *s as u8);
    let states: Vec<Value> = states
        .into_iter()
        .map(|(s, list)| json!({"state": s.to_string(), "count": list.len(), "incidents": list}))
        .collect();
    json!({
        "title": "Dashboard",
        "now": instant(now, zone),
        "now_iso": iso(now),
        "zone": zone.name(),
        "due_count": due.len(),
        "due_plural": due.len() != 1,
        "overdue_count": overdue,
        "due": due,
        "states": states,
        "recent_limit": app::deadlines::DASHBOARD_RECENT,
    })
}

/// `GET /incidents/{id}`: everything about one incident.
pub async fn incident(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<IncidentId>() else {
        return refused(
            &shared,
            StatusCode::NOT_FOUND,
            "that is not an incident id (they look like BR-2024-0001)",
            Some(&signed),
        );
    };
    let now = crate::adapters::clock::now_or(None);
    let found = read(&shared, &signed, move |store| {
        Ok((zone(store)?, app::incident::show(store, id)?))
    })
    .await;
    let (zone, (record, events)) = match found {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut data = incident_data(&record, &events, now, zone);
    if let Some(map) = data.as_object_mut() {
        map.insert("who".into(), who(&signed));
    }
    page(&shared, StatusCode::OK, "incident", data)
}

/// The incident page's data: pure.
pub fn incident_data(
    r: &IncidentRecord,
    events: &[crate::domain::event::Event],
    now: DateTime<Utc>,
    zone: Tz,
) -> Value {
    let f = &r.facts;
    let when = |t: Option<DateTime<Utc>>| t.map(|t| instant(t, zone)).unwrap_or("unknown".into());
    let obligations: Vec<Value> = r
        .obligations
        .iter()
        .map(|o| {
            let at = o.due.instant();
            let open = o.state.is_open();
            json!({
                "id": o.id,
                "regime_name": o.regime_name,
                "citation": o.citation,
                "recipient": o.recipient,
                "due": due_words(&o.due, zone),
                "due_iso": at.map(iso),
                "statutory": o.due.is_statutory(),
                "left": remaining(&o.due, now),
                "open": open,
                "overdue": open && o.due.is_statutory() && at.is_some_and(|at| now > at),
                "state": o.state.to_string(),
                "explain": o.due.explain(),
            })
        })
        .collect();
    let documents: Vec<Value> = r
        .documents
        .iter()
        .rev()
        .map(|d| {
            let status = match (&d.approval, d.missing.is_empty()) {
                (Some(a), _) => format!("approved by {} {}", a.by, instant(a.at, zone)),
                (None, false) => format!("draft: {} fact(s) missing", d.missing.len()),
                (None, true) => "awaiting approval".into(),
            };
            json!({
                "document": d.document,
                "title": d.title,
                "version": d.version,
                "rendered": instant(d.rendered_at, zone),
                "by": d.rendered_by,
                "status": status,
            })
        })
        .collect();
    let timeline: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "at": instant(e.at, zone),
                "at_iso": iso(e.at),
                "who": event_who(e),
                "what": event_line(&e.what, zone),
                "later": recorded_later(e, zone),
            })
        })
        .collect();
    json!({
        "title": format!("{} {}", r.id, f.title),
        "now_iso": iso(now),
        "zone": zone.name(),
        "id": r.id.to_string(),
        "state": r.state.to_string(),
        "opened": instant(r.opened_at, zone),
        "opened_by": r.opened_by,
        "facts": {
            "title": f.title,
            "detected": instant(f.detected_at, zone),
            "aware": instant(f.aware_at, zone),
            "awareness_why": f.awareness_justification,
            "occurred": format!("from {} to {}", when(f.occurred.from), when(f.occurred.to)),
            "discovery": f.discovery,
            "impact": f.impact.labels().join(", "),
            "systems": f.systems_affected.join(", "),
            "containment": f.containment,
            "reporter": match &f.reporter.role {
                Some(role) => format!("{} ({role})", f.reporter.name),
                None => f.reporter.name.clone(),
            },
            "summary": f.summary,
        },
        "assessment": r.current_assessment().map(|a| crate::cli::commands::assess::describe(a, zone)),
        "decision": r.current_decision().map(|d| crate::cli::commands::decide::describe(d, zone)),
        "obligations": obligations,
        "documents": documents,
        "timeline": timeline,
    })
}

/// `GET /users`: the accounts (admins).
pub async fn users(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    let found = read(&shared, &signed, |store| {
        Ok((zone(store)?, app::accounts::list_users(store)?))
    })
    .await;
    let (zone, users) = match found {
        Ok(x) => x,
        Err(r) => return r,
    };
    let users: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({
                "id": u.id.to_string(),
                "name": u.name,
                "email": u.email,
                "roles": roles(&u.roles),
                "state": if u.disabled { "disabled" } else { "active" },
            })
        })
        .collect();
    page(
        &shared,
        StatusCode::OK,
        "users",
        json!({"title": "Accounts", "zone": zone.name(), "users": users, "who": who(&signed)}),
    )
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

/// `GET /audit`: the auditor's view: deadline adherence per regime and phase, the downloads
/// (the adherence report and the breach register), and the log's verification on request.
pub async fn audit(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    audit_page(shared, signed, None).await
}

/// `POST /audit/verify`: walks the whole log and every stored tree (`audit verify`), then shows
/// the auditor's view with the result.
pub async fn audit_verify(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    let verified = read(&shared, &signed, |store| {
        Ok(crate::app::audit::verify(store)?)
    })
    .await;
    let result = match verified {
        Ok(Ok(events)) => json!({
            "ok": true,
            "text": format!("Verified: {events} events, every digest and link intact; every record, index, counter, reminder mark, document body, outbox record, bulk recipient state and the organisation profile match what the log implies."),
        }),
        Ok(Err(problem)) => json!({"ok": false, "text": problem.to_string()}),
        Err(r) => return r,
    };
    audit_page(shared, signed, Some(result)).await
}

async fn audit_page(shared: Arc<Shared>, signed: SignedIn, verified: Option<Value>) -> Response {
    let now = crate::adapters::clock::now_or(None);
    let found = read(&shared, &signed, move |store| {
        app::reports::adherence_report(store, &Default::default(), now)
    })
    .await;
    let report = match found {
        Ok(r) => r,
        Err(r) => return r,
    };
    let share = |s: Option<f64>| {
        s.map(|s| format!("{:.0}%", s * 100.0))
            .unwrap_or("–".into())
    };
    let summaries: Vec<Value> = report
        .summaries
        .iter()
        .map(|s| {
            json!({
                "regime_name": s.regime_name,
                "obligation": s.obligation,
                "phase": s.phase,
                "obligations": s.obligations,
                "on_time": s.on_time,
                "late": s.late,
                "indeterminate": s.indeterminate,
                "waived": s.waived,
                "open": s.open,
                "overdue": s.overdue,
                "share": share(s.share_on_time),
            })
        })
        .collect();
    let data = json!({
        "title": "Audit",
        "zone": report.zone.name(),
        "now": instant(now, report.zone),
        "organisation": report.organisation,
        "incidents": report.records.len(),
        "summaries": summaries,
        "verified": verified,
        "who": who(&signed),
    });
    page(&shared, StatusCode::OK, "audit", data)
}

/// A report as a file to save: served as an attachment, so it is opened from disk rather than
/// inside the workspace (the adherence report carries its own print styles).
fn download(name: &str, kind: &'static str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, kind)], body).into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// `GET /audit/adherence.html`: the deadline-adherence report, as `audit adherence --format
/// html` writes it.
pub async fn adherence_file(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    let now = crate::adapters::clock::now_or(None);
    match read(&shared, &signed, move |store| {
        app::reports::adherence_report(store, &Default::default(), now)
    })
    .await
    {
        Ok(report) => download(
            "adherence.html",
            "text/html; charset=utf-8",
            crate::render::report::adherence_html(&report),
        ),
        Err(r) => r,
    }
}

/// `GET /audit/register.csv`: the breach register (UK GDPR Art 33(5)), every incident.
pub async fn register_file(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    let rules = shared.rulebook.clone();
    let made = read(&shared, &signed, move |store| {
        let entries = app::reports::register(store, &rules)?;
        crate::render::report::register_csv(&entries)
            .map_err(|e| app::AppError::InvalidArgs(e.to_string()))
    })
    .await;
    match made {
        Ok(csv) => download("register.csv", "text/csv; charset=utf-8", csv),
        Err(r) => r,
    }
}

/// The decision form as it was posted.
#[derive(Deserialize, Default)]
struct DecisionForm {
    /// `accept` (take the recommendation) or `override`.
    #[serde(default)]
    choice: String,
    #[serde(default)]
    ico: String,
    #[serde(default)]
    subjects: String,
    #[serde(default)]
    reason: String,
}

/// `GET /incidents/{id}/decision`: the recommendation that follows from the current
/// assessment, and the form to take it or decide otherwise (the DPO).
pub async fn decision_form(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
) -> Response {
    decision_page(shared, signed, id, DecisionForm::default(), None).await
}

/// `POST /incidents/{id}/decision`: records the decision (`decide`), then shows the incident;
/// on a refusal, the form again with the reason beside it, and nothing stored.
pub async fn decide(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(incident) = id.parse::<IncidentId>() else {
        return refused(
            &shared,
            StatusCode::NOT_FOUND,
            "that is not an incident id",
            Some(&signed),
        );
    };
    let form: DecisionForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let yes = |v: &str| match v {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let request = match form.choice.as_str() {
        "accept" => Ok(crate::domain::workflow::DecideRequest {
            accept: true,
            notify_ico: None,
            tell_subjects: None,
            reason: Some(form.reason.clone()).filter(|r| !r.trim().is_empty()),
        }),
        "override" => match (yes(&form.ico), yes(&form.subjects)) {
            (Some(ico), Some(subjects)) => Ok(crate::domain::workflow::DecideRequest {
                accept: false,
                notify_ico: Some(ico),
                tell_subjects: Some(subjects),
                reason: Some(form.reason.clone()),
            }),
            _ => Err("say whether to notify the ICO and whether to tell data subjects".to_string()),
        },
        _ => Err("choose: take the recommendation, or decide otherwise".to_string()),
    };
    let request = match request {
        Ok(r) => r,
        Err(e) => return decision_page(shared, signed, id, form, Some(e)).await,
    };
    let principal = signed.principal.clone();
    let Some(role) = crate::domain::permission::permits(
        &principal.roles,
        &crate::domain::permission::Action::RecordFacts,
    ) else {
        return refused(
            &shared,
            StatusCode::FORBIDDEN,
            "only the DPO records decisions",
            Some(&signed),
        );
    };
    let rules = shared.rulebook.clone();
    let now = crate::adapters::clock::now_or(None);
    let store = shared.store.share();
    let done = tokio::task::spawn_blocking(move || {
        let ctx = app::Context::authenticated(now, &principal, role);
        app::incident::decide(&store, &ctx, &rules, incident, &request)
    })
    .await;
    match done {
        Ok(Ok(_)) => {
            let to = format!("/incidents/{incident}");
            let mut r =
                (StatusCode::SEE_OTHER, [(header::LOCATION, to.as_str())], "").into_response();
            r.extensions_mut()
                .insert(Logged::user(&signed.principal.user.to_string()));
            r
        }
        Ok(Err(e)) => decision_page(shared, signed, id, form, Some(e.to_string())).await,
        Err(_) => refused(
            &shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "the decision stopped unexpectedly; nothing was stored",
            Some(&signed),
        ),
    }
}

async fn decision_page(
    shared: Arc<Shared>,
    signed: SignedIn,
    id: String,
    form: DecisionForm,
    error: Option<String>,
) -> Response {
    let Ok(incident) = id.parse::<IncidentId>() else {
        return refused(
            &shared,
            StatusCode::NOT_FOUND,
            "that is not an incident id",
            Some(&signed),
        );
    };
    let found = read(&shared, &signed, move |store| {
        let org = store.require_organisation()?;
        Ok((org.zone(), org.role, store.incident(incident)?))
    })
    .await;
    let (zone, role, record) = match found {
        Ok(x) => x,
        Err(r) => return r,
    };
    let yn = |b: bool| if b { "yes" } else { "no" };
    let assessment = record.current_assessment();
    let recommendation = assessment.map(|a| {
        let r = crate::domain::decision::recommend(a.severity.level, role);
        json!({
            "ico": yn(r.notify_ico),
            "subjects": yn(r.tell_subjects),
            "basis": r.basis,
        })
    });
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        &shared,
        status,
        "decision",
        json!({
            "title": format!("Decision on {incident}"),
            "zone": zone.name(),
            "id": incident.to_string(),
            "incident_title": record.facts.title,
            "state": record.state.to_string(),
            "assessment": assessment.map(|a| crate::cli::commands::assess::describe(a, zone)),
            "recommendation": recommendation,
            "current": record.current_decision().map(|d| crate::cli::commands::decide::describe(d, zone)),
            "error": error,
            "form": {
                "accept": form.choice != "override",
                "ico_yes": form.ico == "yes",
                "ico_no": form.ico == "no",
                "subjects_yes": form.subjects == "yes",
                "subjects_no": form.subjects == "no",
                "reason": form.reason,
            },
            "who": who(&signed),
        }),
    )
}
