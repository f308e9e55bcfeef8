//! The routes, each with its gate, in one table ([`ROUTES`]) the router is built from: a route
//! cannot be served without saying who may use it, and the tests walk the same table.
//!
//! Commands themselves (`POST /api/v1/run`) are checked once more, against the permission
//! table (`domain::permission`), when their words have been parsed.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;

use super::Shared;
use super::auth::{self, Proof, SignedIn};
use super::http::{self, Logged};
use super::pages;
use crate::cli::remote::{self, Refusal, RunRequest};
use crate::domain::account::{Principal, Role};

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Anyone: liveness, and signing in (throttled).
    Public,
    /// Anyone signed in, whatever their roles (what they may then do is checked further in).
    SignedIn,
    /// Signed in with one of these roles.
    Roles(&'static [Role]),
}

/// One route.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub gate: Gate,
    /// What it is for, as the README's table says.
    pub what: &'static str,
    handler: fn() -> MethodRouter<Arc<Shared>>,
}

/// Every route the server answers. Anything else is 404 (after the security headers).
pub const ROUTES: &[Route] = &[
    Route {
        method: Method::GET,
        path: "/health",
        gate: Gate::Public,
        what: "liveness: the store is open (no data)",
        handler: || get(health),
    },
    Route {
        method: Method::POST,
        path: "/api/v1/session",
        gate: Gate::Public,
        what: "sign in with name and password (throttled); sets the session cookie",
        handler: || post(sign_in),
    },
    Route {
        method: Method::POST,
        path: "/api/v1/session/end",
        gate: Gate::SignedIn,
        what: "sign out (ends the session)",
        handler: || post(sign_out),
    },
    Route {
        method: Method::GET,
        path: "/api/v1/whoami",
        gate: Gate::SignedIn,
        what: "who is signed in, with which roles",
        handler: || get(whoami),
    },
    Route {
        method: Method::POST,
        path: "/api/v1/tokens",
        gate: Gate::Public,
        what: "make an API token with name and password (throttled); shown once",
        handler: || post(create_token),
    },
    Route {
        method: Method::POST,
        path: "/api/v1/run",
        gate: Gate::SignedIn,
        what: "run a command line; the command is checked against the permission table",
        handler: || {
            post(run).layer(DefaultBodyLimit::max(
                crate::domain::bounds::MAX_REQUEST_BYTES,
            ))
        },
    },
    Route {
        method: Method::GET,
        path: "/api/v1/users",
        gate: Gate::Roles(&[Role::Admin]),
        what: "the accounts and their roles (admin)",
        handler: || get(users),
    },
    // The browser workspace (`pages`): refusals are pages, and forms carry the CSRF token.
    Route {
        method: Method::GET,
        path: "/",
        gate: Gate::Public,
        what: "the workspace: on to the dashboard",
        handler: || get(pages::home),
    },
    Route {
        method: Method::GET,
        path: "/assets/{name}",
        gate: Gate::Public,
        what: "the workspace's stylesheet and script (from the binary)",
        handler: || get(pages::asset),
    },
    Route {
        method: Method::GET,
        path: "/sign-in",
        gate: Gate::Public,
        what: "the sign-in form",
        handler: || get(pages::sign_in_form),
    },
    Route {
        method: Method::POST,
        path: "/sign-in",
        gate: Gate::Public,
        what: "sign in with the form (throttled); sets the session cookie",
        handler: || post(pages::sign_in),
    },
    Route {
        method: Method::POST,
        path: "/sign-out",
        gate: Gate::SignedIn,
        what: "sign out from the workspace (form with its CSRF token)",
        handler: || post(pages::sign_out),
    },
    Route {
        method: Method::GET,
        path: "/dashboard",
        gate: Gate::SignedIn,
        what: "open obligations soonest first, overdue on top; incidents by state",
        handler: || get(pages::dashboard),
    },
    Route {
        method: Method::GET,
        path: "/incidents/{id}",
        gate: Gate::SignedIn,
        what: "one incident: facts, assessment, decision, obligations, documents, timeline",
        handler: || get(pages::incident),
    },
    Route {
        method: Method::GET,
        path: "/incidents/{id}/decision",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "the recommendation and the decision form (the DPO)",
        handler: || get(pages::decision_form),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/decision",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "record the decision (`decide`); refused with the reason beside the form",
        handler: || post(pages::decide),
    },
    Route {
        method: Method::GET,
        path: "/incidents/{id}/documents/{doc}",
        gate: Gate::SignedIn,
        what: "the document workspace: versions, the chosen one as it prints, missing facts, approve, send or file",
        handler: || get(pages::document),
    },
    Route {
        method: Method::GET,
        path: "/incidents/{id}/documents/{doc}/versions/{version}/print",
        gate: Gate::SignedIn,
        what: "a stored version's HTML as it prints (checked against its hash; no script)",
        handler: || get(pages::print_document),
    },
    Route {
        method: Method::GET,
        path: "/incidents/{id}/documents/{doc}/compare",
        gate: Gate::SignedIn,
        what: "two versions side by side",
        handler: || get(pages::compare_documents),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/documents/{doc}/render",
        gate: Gate::Roles(&[Role::Dpo, Role::Comms]),
        what: "render a new version (`render`); who may is the table's for the document's class",
        handler: || post(pages::render_document),
    },
    Route {
        method: Method::GET,
        path: "/incidents/{id}/documents/{doc}/edit",
        gate: Gate::Roles(&[Role::Dpo, Role::Comms]),
        what: "the latest version's text to edit",
        handler: || get(pages::edit_document_form),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/documents/{doc}/edit",
        gate: Gate::Roles(&[Role::Dpo, Role::Comms]),
        what: "store edited text as a new version (`documents edit`), with its diff",
        handler: || post(pages::edit_document).layer(DefaultBodyLimit::max(EDIT_BODY)),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/documents/{doc}/approve",
        gate: Gate::Roles(&[Role::Approver]),
        what: "approve a version (`approve`); four-eyes refused beside the button",
        handler: || post(pages::approve_document),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/documents/{doc}/send",
        gate: Gate::Roles(&[Role::Dpo, Role::Comms]),
        what: "mail the approved version through the outbox (`send`)",
        handler: || post(pages::send_document),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/documents/{doc}/file",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "record the approved document filed or published (`obligation complete`)",
        handler: || post(pages::file_document),
    },
    Route {
        method: Method::GET,
        path: "/incidents/new",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "the intake form: a new incident (the DPO)",
        handler: || get(pages::intake_form),
    },
    Route {
        method: Method::POST,
        path: "/incidents/new",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "open the incident (`incident open`); problems beside their fields, nothing stored",
        handler: || post(pages::open_incident),
    },
    Route {
        method: Method::GET,
        path: "/incidents/{id}/assessment",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "the assessment form, starting from the current assessment (the DPO)",
        handler: || get(pages::assessment_form),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/assessment",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "record the assessment (`assess`); problems beside their fields, nothing stored",
        handler: || post(pages::assess),
    },
    Route {
        method: Method::GET,
        path: "/incidents/{id}/facts",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "the facts form (`?focus=` puts the facts asked for first) (the DPO)",
        handler: || get(pages::facts_form),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/facts",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "change or fill in facts (`incident update`); problems beside their fields",
        handler: || post(pages::update_facts),
    },
    Route {
        method: Method::GET,
        path: "/incidents/{id}/steps",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "steps and clocks: the lifecycle, instants that start clocks, obligations met or waived (the DPO)",
        handler: || get(pages::steps),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/transition",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "a lifecycle step (`incident transition`)",
        handler: || post(pages::transition),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/trigger",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "record when a clock starts (`incident trigger`)",
        handler: || post(pages::trigger),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/delay-disclosure",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "delay disclosing inside information, with the UK MAR Art 17(4) conditions (`incident delay-disclosure`)",
        handler: || post(pages::delay_disclosure),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/obligations/complete",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "an obligation met outside the documents (`obligation complete`)",
        handler: || post(pages::complete_obligation),
    },
    Route {
        method: Method::POST,
        path: "/incidents/{id}/obligations/waive",
        gate: Gate::Roles(&[Role::Dpo]),
        what: "an obligation waived, with its reason (`obligation waive`)",
        handler: || post(pages::waive_obligation),
    },
    Route {
        method: Method::GET,
        path: "/audit",
        gate: Gate::SignedIn,
        what: "the auditor's view: adherence per regime, downloads, verifying the log",
        handler: || get(pages::audit),
    },
    Route {
        method: Method::POST,
        path: "/audit/verify",
        gate: Gate::SignedIn,
        what: "verify the log now (`audit verify`) and show the result",
        handler: || post(pages::audit_verify),
    },
    Route {
        method: Method::GET,
        path: "/audit/adherence.html",
        gate: Gate::SignedIn,
        what: "the deadline-adherence report, as a file to save",
        handler: || get(pages::adherence_file),
    },
    Route {
        method: Method::GET,
        path: "/audit/register.csv",
        gate: Gate::SignedIn,
        what: "the breach register (UK GDPR Art 33(5)), as CSV",
        handler: || get(pages::register_file),
    },
    Route {
        method: Method::GET,
        path: "/users",
        gate: Gate::Roles(&[Role::Admin]),
        what: "the accounts and their roles, as a page (admin)",
        handler: || get(pages::users),
    },
    Route {
        method: Method::POST,
        path: "/users",
        gate: Gate::Roles(&[Role::Admin]),
        what: "add an account with its roles and first password (`user add`, `user passwd`)",
        handler: || post(pages::add_user),
    },
    Route {
        method: Method::POST,
        path: "/users/change",
        gate: Gate::Roles(&[Role::Admin]),
        what: "change an account's roles (here only) or password (`user passwd`)",
        handler: || post(pages::change_user),
    },
    Route {
        method: Method::POST,
        path: "/users/disable",
        gate: Gate::Roles(&[Role::Admin]),
        what: "disable an account (`user disable`)",
        handler: || post(pages::disable_user),
    },
    Route {
        method: Method::GET,
        path: "/outbox",
        gate: Gate::SignedIn,
        what: "the outbox: every message by state, what a held one waits for (`outbox`)",
        handler: || get(pages::outbox),
    },
    Route {
        method: Method::POST,
        path: "/outbox/{id}/{number}/release",
        // Who may manage the outbox, as the permission table says.
        gate: Gate::Roles(crate::domain::permission::allowed(
            &crate::domain::permission::Action::ManageOutbox,
        )),
        what: "lift a hold with a reason and send (`outbox release`); refused beside the form",
        handler: || post(pages::release),
    },
    Route {
        method: Method::POST,
        path: "/outbox/{id}/{number}/resolve",
        // Who may manage the outbox, as the permission table says.
        gate: Gate::Roles(crate::domain::permission::allowed(
            &crate::domain::permission::Action::ManageOutbox,
        )),
        what: "settle an uncertain or failed message: delivered, or send again (`outbox resolve`)",
        handler: || post(pages::resolve),
    },
    Route {
        method: Method::GET,
        path: "/audit/bundles/{id}",
        gate: Gate::SignedIn,
        what: "an incident's evidence bundle, as `bundle export` writes it",
        handler: || get(pages::bundle_file),
    },
];

impl Route {
    /// Whether this is a page of the workspace (its refusals are pages, not JSON).
    pub fn is_page(&self) -> bool {
        is_page(self.path)
    }
}

/// Page routes are everything but the API and the health check.
fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/") || path == "/health")
}

/// The most any other request may carry.
pub const SMALL_BODY: usize = 16 * 1024;

/// The most a document's edit form may carry: the largest text a file may give the command
/// line, percent-encoded (up to three bytes per byte), with room for the other fields.
pub const EDIT_BODY: usize = 3 * crate::domain::bounds::MAX_TEXT_FILE_BYTES as usize + SMALL_BODY;

/// The router: every route of [`ROUTES`] behind its gate, with the security headers, size
/// limits and request log on everything.
pub fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new();
    for route in ROUTES {
        let gated = (route.handler)().route_layer(middleware::from_fn_with_state(
            (shared.clone(), route.gate, route.is_page()),
            gate,
        ));
        router = router.route(route.path, gated);
    }
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(SMALL_BODY))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            http::headers,
        ))
        .layer(middleware::from_fn(http::log))
        .with_state(shared)
}

/// An error answer: `{"error": {"code", "message"}}`.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

async fn not_found(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    if is_page(request.uri().path()) {
        return pages::refused(
            &shared,
            StatusCode::NOT_FOUND,
            "there is no such page",
            None,
        );
    }
    error(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// The gate of a route: who is asking (token or session), CSRF for a session's changes, and
/// the route's roles.
async fn gate(
    State((shared, gate, page)): State<(Arc<Shared>, Gate, bool)>,
    mut request: Request,
    next: Next,
) -> Response {
    if gate == Gate::Public {
        return next.run(request).await;
    }
    let signed = match authenticate(&shared, request.headers()) {
        Ok(s) => s,
        Err(message) => {
            if page {
                return pages::refused(&shared, StatusCode::UNAUTHORIZED, &message, None);
            }
            return error(StatusCode::UNAUTHORIZED, "unauthenticated", &message);
        }
    };
    let user = signed.principal.user.to_string();
    let refuse = |status, code, message: &str| {
        let mut r = if page {
            pages::refused(&shared, status, message, Some(&signed))
        } else {
            error(status, code, message)
        };
        r.extensions_mut().insert(Logged::user(&user));
        r
    };
    // A browser sends its cookie with any request, including one a hostile page makes it send:
    // a change made with a session must also carry the token only our page can read: in the
    // X-CSRF-Token header (scripts), or in a form's `csrf` field (pages).
    if signed.proof == Proof::Session && !matches!(*request.method(), Method::GET | Method::HEAD) {
        let expected = signed.csrf.clone().unwrap_or_default();
        let header = request
            .headers()
            .get(auth::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let given = match header {
            Some(h) => h,
            None if page => {
                let (parts, body) = request.into_parts();
                // The route's own limit bounds the body too; this is the most any form carries.
                let Ok(bytes) = axum::body::to_bytes(body, EDIT_BODY).await else {
                    return refuse(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too_large",
                        "the form is larger than this page accepts",
                    );
                };
                let field = form_field(&bytes, "csrf").unwrap_or_default();
                request = Request::from_parts(parts, axum::body::Body::from(bytes));
                field
            }
            None => String::new(),
        };
        if expected.is_empty() || !auth::same(&given, &expected) {
            return refuse(
                StatusCode::FORBIDDEN,
                "csrf",
                if page {
                    "this form had expired or did not come from this site: open the page again and retry"
                } else {
                    "this change needs the page's CSRF token (header X-CSRF-Token)"
                },
            );
        }
    }
    if let Gate::Roles(allowed) = gate
        && !auth::has_role(&signed.principal.roles, allowed)
    {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!(
                "{} may not use this: it needs the role {}",
                signed.principal.name,
                names(allowed)
            ),
        );
    }
    request.extensions_mut().insert(signed);
    let mut response = next.run(request).await;
    response.extensions_mut().insert(Logged::user(&user));
    response
}

/// One field of a urlencoded form.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    fields.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn names(roles: &[Role]) -> String {
    Role::list(roles, " or ")
}

/// Who the request is: a bearer token, else a session cookie. The message says what is wrong.
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<SignedIn, String> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or("the Authorization header is not `Bearer TOKEN`")?;
        let principal = crate::app::accounts::authenticate_token(&shared.store, token.trim())
            .map_err(|_| "the token is not accepted (unknown, revoked, or its account disabled)")?;
        return Ok(SignedIn {
            principal,
            proof: Proof::Token,
            session: None,
            csrf: None,
        });
    }
    let Some(id) = auth::cookie(headers, auth::COOKIE) else {
        return Err("sign in first (a token in Authorization: Bearer, or a session)".into());
    };
    let (user, csrf) = shared
        .sessions
        .find(&id)
        .ok_or("the session has ended (signed out, expired, or the server restarted)")?;
    let principal = crate::app::accounts::find_user(&shared.store, &user)
        .ok()
        .filter(|u| !u.disabled)
        .map(|u| Principal::of(&u))
        .ok_or("the session's account is disabled")?;
    Ok(SignedIn {
        principal,
        proof: Proof::Session,
        session: Some(id),
        csrf: Some(csrf),
    })
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": shared.started.elapsed().as_secs(),
    }))
    .into_response()
}

/// A name and password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    name: String,
    password: String,
    #[serde(default)]
    label: Option<String>,
}

/// Why a name and password did not sign anyone in.
pub enum PasswordRefused {
    /// Too many failures lately: try again after this long.
    Throttled(std::time::Duration),
    /// Wrong name or password (which, is not said).
    Wrong,
    /// The check itself failed.
    Failed,
}

/// Checks a name and password, throttled (by name and by address); the principal.
pub async fn check_password(
    shared: &Arc<Shared>,
    from: Option<std::net::IpAddr>,
    name: &str,
    password: &str,
) -> Result<Principal, PasswordRefused> {
    if let Some(wait) = shared.throttle.wait(name, from) {
        return Err(PasswordRefused::Throttled(wait));
    }
    let (store, user, pass) = (shared.store.share(), name.to_string(), password.to_string());
    // Argon2id is deliberately slow: off the async threads.
    let checked = tokio::task::spawn_blocking(move || {
        crate::app::accounts::authenticate_password(&store, &user, &pass)
    })
    .await;
    match checked {
        Ok(Ok(principal)) => {
            shared.throttle.succeeded(name);
            Ok(principal)
        }
        Ok(Err(_)) => {
            shared.throttle.failed(name, from);
            Err(PasswordRefused::Wrong)
        }
        Err(_) => Err(PasswordRefused::Failed),
    }
}

/// The API's sign-in body checked: the principal, or the answer to give.
async fn check_credentials(
    shared: &Arc<Shared>,
    from: Option<SocketAddr>,
    body: &Bytes,
) -> Result<(Principal, Credentials), Response> {
    let credentials: Credentials = serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("expected {{\"name\": ..., \"password\": ...}}: {e}"),
        )
    })?;
    match check_password(
        shared,
        from.map(|a| a.ip()),
        &credentials.name,
        &credentials.password,
    )
    .await
    {
        Ok(p) => Ok((p, credentials)),
        Err(PasswordRefused::Throttled(wait)) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "too many failed sign-ins; wait before trying again",
            );
            if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Err(r)
        }
        Err(PasswordRefused::Wrong) => Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "the name or password is not accepted",
        )),
        Err(PasswordRefused::Failed) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the check failed",
        )),
    }
}

/// The `Set-Cookie` value of a session; an empty id ends it in the browser.
pub fn session_cookie_header(id: &str, tls: bool) -> String {
    format!(
        "{}={id}; HttpOnly; SameSite=Strict; Path=/{}{}",
        auth::COOKIE,
        if id.is_empty() { "; Max-Age=0" } else { "" },
        if tls { "; Secure" } else { "" }
    )
}

/// The peer's address (none on the socket) and the body, at most [`SMALL_BODY`] bytes.
async fn peer_and_body(request: Request) -> Result<(Option<SocketAddr>, Bytes), Response> {
    let from = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a);
    let body = axum::body::to_bytes(request.into_body(), SMALL_BODY)
        .await
        .map_err(|_| {
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request is larger than a sign-in needs",
            )
        })?;
    Ok((from, body))
}

async fn sign_in(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (from, body) = match peer_and_body(request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (principal, _) = match check_credentials(&shared, from, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some((id, csrf)) = shared.sessions.start(&principal.user.to_string()) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "no session could be started",
        );
    };
    let cookie = session_cookie_header(&id, shared.tls);
    let mut r = axum::Json(serde_json::json!({
        "user": principal.user.to_string(), "name": principal.name,
        "roles": principal.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "csrf": csrf,
    }))
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r.extensions_mut()
        .insert(Logged::user(&principal.user.to_string()));
    r
}

async fn sign_out(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    if let Some(id) = &signed.session {
        shared.sessions.end(id);
    }
    let mut r = axum::Json(serde_json::json!({"signed_out": true})).into_response();
    let cookie = session_cookie_header("", shared.tls);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn whoami(axum::Extension(signed): axum::Extension<SignedIn>) -> Response {
    axum::Json(serde_json::json!({
        "user": signed.principal.user.to_string(),
        "name": signed.principal.name,
        "roles": signed.principal.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "signed_in_with": match signed.proof { Proof::Token => "token", Proof::Session => "session" },
    }))
    .into_response()
}

async fn create_token(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (from, body) = match peer_and_body(request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (principal, credentials) = match check_credentials(&shared, from, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let store = shared.store.share();
    let label = credentials.label.unwrap_or_else(|| "command line".into());
    let user = principal.user.to_string();
    let made = tokio::task::spawn_blocking(move || {
        let role = principal.roles.first().copied().unwrap_or(Role::Auditor);
        let ctx = crate::app::Context::authenticated(
            crate::adapters::clock::now_or(None),
            &principal,
            role,
        );
        crate::app::accounts::create_token(&store, &ctx, &principal.name, &label)
    })
    .await;
    let mut r = match made {
        Ok(Ok((info, secret))) => {
            axum::Json(crate::cli::commands::account::token_json(&info, &secret)).into_response()
        }
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, "refused", &e.to_string()),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the token could not be made",
        ),
    };
    r.extensions_mut().insert(Logged::user(&user));
    r
}

async fn users(State(shared): State<Arc<Shared>>) -> Response {
    let store = shared.store.share();
    match tokio::task::spawn_blocking(move || crate::app::accounts::list_users(&store)).await {
        Ok(Ok(users)) => axum::Json(users).into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, "failed", &e.to_string()),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "failed"),
    }
}

/// Runs a command line for the signed-in person.
async fn run(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    body: Bytes,
) -> Response {
    let request: RunRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("expected a command line ({{\"args\": [...]}}): {e}"),
            );
        }
    };
    let command = http::command_name(&request.args);
    let answer = tokio::task::spawn_blocking(move || {
        remote::execute(request, |cli| {
            let side = authorise(&shared, &signed.principal, cli)?;
            // Poisoning only says another request panicked; the lock itself guards no data.
            let turn = if remote::runs_alone(cli) {
                Turn::Alone {
                    _guard: shared.exclusive.write().unwrap_or_else(|p| p.into_inner()),
                }
            } else {
                Turn::Together {
                    _guard: shared.exclusive.read().unwrap_or_else(|p| p.into_inner()),
                }
            };
            Ok((side, turn))
        })
    })
    .await;
    let mut r = match answer {
        Ok(answer) => {
            let status = match answer.exit {
                crate::cli::error::EXIT_FORBIDDEN => StatusCode::FORBIDDEN,
                crate::cli::error::EXIT_UNAUTHENTICATED => StatusCode::UNAUTHORIZED,
                _ => StatusCode::OK,
            };
            let exit = answer.exit;
            let mut r = (status, axum::Json(answer)).into_response();
            r.extensions_mut().insert(Logged::exit(exit));
            r
        }
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the command stopped unexpectedly; nothing after its last success was stored",
        ),
    };
    r.extensions_mut().insert(Logged::command(&command));
    r
}

/// Whether an own-account command (`user passwd`, `token create/revoke`) is about someone else's
/// account. An account or token that does not exist is not someone else's: the command then
/// says it is not found.
fn acts_on_another(shared: &Shared, principal: &Principal, cli: &crate::cli::Cli) -> bool {
    use crate::cli::{Command, TokenCommand, UserCommand};
    let owner = match &cli.command {
        Command::User(UserCommand::Passwd { name })
        | Command::Token(TokenCommand::Create { user: name, .. }) => {
            crate::app::accounts::find_user(&shared.store, name)
                .ok()
                .map(|u| u.id)
        }
        Command::Token(TokenCommand::Revoke { id }) => crate::app::Store::token(&shared.store, *id)
            .ok()
            .flatten()
            .map(|t| t.user),
        _ => None,
    };
    owner.is_some_and(|o| o != principal.user)
}

/// What an action is, in the words of a refusal ("Dana (comms) may not decide ...").
fn describe(action: &crate::domain::permission::Action) -> &'static str {
    use crate::domain::permission::{Action, DocumentClass};
    match action {
        Action::Read => "read this",
        Action::Verify => "verify the log",
        Action::RecordFacts => "record incident facts, assessments or decisions",
        Action::Render(DocumentClass::Regulatory) => "render or edit a regulatory document",
        Action::Render(DocumentClass::Communications) => "render or edit a communications document",
        Action::Send(DocumentClass::Regulatory) => "send or file a regulatory document",
        Action::Send(DocumentClass::Communications) => "send a communications document",
        Action::Approve => "approve documents",
        Action::ManageOutbox => "manage the outbox",
        Action::Anchor => "anchor the log",
        Action::Repair => "repair the store",
        Action::ImportBundle => "import a bundle",
        Action::ManageUsers => "manage accounts",
        Action::Organisation => "change the organisation profile",
        Action::OwnAccount => "manage this account",
    }
}

/// A command's turn: most run together; a repair or an import runs alone.
enum Turn<'a> {
    Together {
        _guard: std::sync::RwLockReadGuard<'a, ()>,
    },
    Alone {
        _guard: std::sync::RwLockWriteGuard<'a, ()>,
    },
}

/// What a parsed command runs with, if the person may run it.
fn authorise(
    shared: &Shared,
    principal: &Principal,
    cli: &crate::cli::Cli,
) -> Result<Arc<crate::cli::ServerSide>, Refusal> {
    use crate::cli::permission::{Access, access};
    let action = match access(&cli.command) {
        Access::Local => {
            return Err(Refusal {
                exit: crate::cli::error::EXIT_USAGE,
                message: "this command runs on your own machine, not on the server".into(),
                hint: Some("run it without a server (it does not use the store)".into()),
            });
        }
        Access::Needs(action) => action,
    };
    // One's own password and tokens are one's own business; another person's are an admin's.
    let action = if action == crate::domain::permission::Action::OwnAccount
        && acts_on_another(shared, principal, cli)
    {
        crate::domain::permission::Action::ManageUsers
    } else {
        action
    };
    let Some(role) = crate::domain::permission::permits(&principal.roles, &action) else {
        let allowed = crate::domain::permission::allowed(&action);
        return Err(Refusal {
            exit: crate::cli::error::EXIT_FORBIDDEN,
            message: format!(
                "{} ({}) may not {}: that needs the role {}",
                principal.name,
                names(&principal.roles),
                describe(&action),
                names(allowed)
            ),
            hint: Some("ask someone with that role, or an admin to give you the role".into()),
        });
    };
    Ok(Arc::new(crate::cli::ServerSide {
        store: shared.store.share(),
        data_dir: shared.data_dir.clone(),
        regimes_dir: shared.regimes_dir.clone(),
        templates_dir: shared.templates_dir.clone(),
        rulebook: shared.rulebook.clone(),
        templates: shared.templates.clone(),
        app: crate::app::Context::authenticated(
            crate::adapters::clock::now_or(None),
            principal,
            role,
        ),
    }))
}
