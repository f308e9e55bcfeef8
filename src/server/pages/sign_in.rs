//! Signing in and out: the form (a double-submit token, before there is a session), the
//! password check (throttled like the API's), the session cookie.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{Shared, SignedIn, page, refused};
use crate::server::auth;
use crate::server::http::Logged;
use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderValue;

/// The cookie that carries the sign-in form's token until the form comes back.
const SIGN_IN_COOKIE: &str = "bf_signin";

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
    let Ok(body) =
        axum::body::to_bytes(request.into_body(), crate::server::routes::SMALL_BODY).await
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
    let principal = match crate::server::routes::check_password(
        &shared,
        from,
        &form.name,
        &form.password,
    )
    .await
    {
        Ok(p) => p,
        Err(crate::server::routes::PasswordRefused::Throttled(wait)) => {
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
        Err(crate::server::routes::PasswordRefused::Wrong) => {
            return sign_in_page(
                &shared,
                StatusCode::UNAUTHORIZED,
                &form.name,
                Some("The name or password is not accepted."),
            );
        }
        Err(crate::server::routes::PasswordRefused::Failed) => {
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
        crate::server::routes::session_cookie_header(&id, shared.tls),
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
    if let Ok(v) = HeaderValue::from_str(&crate::server::routes::session_cookie_header(
        "", shared.tls,
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
