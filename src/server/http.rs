//! What every answer gets: security headers, and a line in the request log.
//!
//! The log is JSON lines on stderr (journald keeps them under systemd): method, route (the
//! route's pattern, never a query string), status, milliseconds, the user's id, and for a
//! command its name and exit code. Never a command's arguments, a file, a name, a password or a
//! token: those carry personal data or secrets.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::Shared;

/// The policy every page and answer is served under: nothing from elsewhere, no inline script,
/// never inside a frame.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The policy of a stored document shown as it prints: its own inline style and nothing else
/// (no script, no fetch, no form), sandboxed, and framed only by the workspace's own pages.
pub const DOCUMENT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox";

/// Adds the security headers to every response (404s included). A response that set its own
/// policy and framing (a stored document's print view) keeps them.
pub async fn headers(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if shared.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// What the handlers tell the log about a request, as response extensions (one type each, so
/// one never replaces another).
pub struct Logged;

/// The signed-in user's id.
#[derive(Debug, Clone)]
pub struct LogUser(pub String);
/// The command's name.
#[derive(Debug, Clone)]
pub struct LogCommand(pub String);
/// The command's exit code.
#[derive(Debug, Clone, Copy)]
pub struct LogExit(pub u8);

impl Logged {
    pub fn user(id: &str) -> LogUser {
        LogUser(id.to_string())
    }
    pub fn command(name: &str) -> LogCommand {
        LogCommand(name.to_string())
    }
    pub fn exit(code: u8) -> LogExit {
        LogExit(code)
    }
}

/// Logs one line per request.
pub async fn log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(no route)".into());
    let response = next.run(request).await;
    let x = response.extensions();
    let user = x.get::<LogUser>().map(|u| u.0.clone());
    let command = x.get::<LogCommand>().map(|c| c.0.clone());
    let exit = x.get::<LogExit>().map(|e| e.0);
    log_line(&serde_json::json!({
        "event": "request",
        "method": method,
        "route": route,
        "status": response.status().as_u16(),
        "ms": (started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        "user": user,
        "command": command,
        "exit": exit,
    }));
    response
}

/// Writes one JSON line to the log (stderr), with the time.
pub fn log_line(value: &serde_json::Value) {
    use std::io::Write;
    let at = crate::adapters::clock::log_time();
    let mut line =
        serde_json::json!({"at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)});
    if let (Some(dst), Some(src)) = (line.as_object_mut(), value.as_object()) {
        for (k, v) in src {
            dst.insert(k.clone(), v.clone());
        }
    }
    // One write per line: stderr is unbuffered, and formatting straight into it costs a
    // system call per fragment.
    let mut text = line.to_string();
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The command's name (its subcommand words, e.g. `incident update`) for the log: never its
/// values.
pub fn command_name(args: &[String]) -> String {
    let mut cmd = crate::cli::grammar();
    let mut words = Vec::new();
    // Global options come before or after; a word that names a subcommand of where we are
    // descends.
    for a in args {
        if a.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(a) {
            Some(sub) => {
                words.push(sub.get_name().to_string());
                cmd = sub;
            }
            None => {
                if words.is_empty() {
                    continue;
                }
                break;
            }
        }
    }
    if words.is_empty() {
        "(none)".into()
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_log_names_the_command_never_its_values() {
        assert_eq!(
            command_name(&words(
                "incident update BR-2024-0001 /home/dana/secret.json"
            )),
            "incident update"
        );
        assert_eq!(
            command_name(&words("--format json deadlines --overdue")),
            "deadlines"
        );
        assert_eq!(command_name(&words("audit repair")), "audit repair");
        assert_eq!(command_name(&words("nonsense words")), "(none)");
    }
}
