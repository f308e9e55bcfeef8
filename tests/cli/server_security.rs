//! The team server's web security (issue 14, point 6), through the real binary: every route of
//! the router's own table (`server::routes::ROUTES`) refuses the unauthenticated (401) and the
//! wrong role (403); security headers on every answer; size limits; per-command permissions
//! through `/api/v1/run` and the CLI; a request log without personal data or secrets; TLS.
//!
//! Tests marked `needs accounts` use real passwords and tokens (sign-in, CSRF with a session,
//! throttling, revocation, disabled accounts); they run once accounts have landed.

use breachflow::server::routes::{Gate, ROUTES};
use serde_json::{Value, json};

use crate::server_support::*;
use crate::smtp::certificates;
use crate::support::*;

const ID: &str = "BR-2024-0001";

/// Every role there is, by name.
const ROLES: &[&str] = &["dpo", "comms", "approver", "auditor", "admin"];

/// What a stored document's print view carries instead: its own inline style and nothing
/// else, sandboxed, framed only by the workspace.
fn assert_document_headers(what: &str, r: &Reply) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy: {r:?}"));
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(csp.contains("sandbox"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'self'"), "{what}: {csp}");
    assert!(!csp.contains("script-src"), "{what}: {csp}");
    assert_eq!(r.header("x-frame-options"), Some("SAMEORIGIN"), "{what}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
}

/// The headers an answer of `route` must carry: a document's print view, when it is shown,
/// has its own; everything else the workspace's.
fn assert_headers_of(route: &str, what: &str, r: &Reply) {
    if route.ends_with("/print") && r.status == 200 {
        assert_document_headers(what, r);
    } else {
        assert_secure_headers(what, r);
    }
}

/// What every answer must carry, whatever its status.
fn assert_secure_headers(what: &str, r: &Reply) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy: {r:?}"));
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
}

/// A member for every role, by role name.
fn everyone(env: &TestEnv) -> Vec<(&'static str, Member)> {
    ROLES
        .iter()
        .map(|r| (*r, member(&env.data_dir, &format!("{r}-person"), &[*r])))
        .collect()
}

#[test]
fn every_route_refuses_the_unauthenticated_and_the_wrong_role() {
    let env = TestEnv::with_incident();
    // A document with a version, for the document workspace's routes.
    env.run(&["render", ID, "staff-briefing", "--draft"])
        .success();
    let people = everyone(&env);
    let server = Server::start(&env);
    assert!(
        ROUTES
            .iter()
            .any(|r| r.path == "/health" && r.gate == Gate::Public)
    );
    let mut checked = 0;
    for route in ROUTES {
        let method = route.method.as_str();
        let what = format!("{method} {}", route.path);
        // A path's parameters filled with something that exists.
        let path = route
            .path
            .replace("{id}", ID)
            .replace("{name}", "app.css")
            .replace("{doc}", "staff-briefing")
            .replace("{version}", "1")
            .replace("{number}", "1");
        assert!(
            !path.contains('{'),
            "{what}: a parameter this test cannot fill"
        );
        let call = |headers: &[(&str, &str)]| request(server.port, method, &path, headers, b"");
        // A page's refusal is a page that says what happened; the API's is JSON.
        let refused_as = |r: &Reply, code: &str, heading: &str| {
            if route.is_page() {
                assert_eq!(
                    r.header("content-type"),
                    Some("text/html; charset=utf-8"),
                    "{what}"
                );
                assert!(
                    r.text().contains(&format!("<h1>{heading}</h1>")),
                    "{what}: {}",
                    r.text()
                );
            } else {
                assert_eq!(r.json()["error"]["code"], code, "{what}");
            }
        };
        if route.gate == Gate::Public {
            let r = call(&[]);
            assert_secure_headers(&what, &r);
            assert_ne!(r.status, 404, "{what} is in the table but not served");
            continue;
        }
        // No credentials, a token nobody was given, and a header that is not a bearer token.
        for (case, headers) in [
            ("no credentials", vec![]),
            (
                "an unknown token",
                vec![("Authorization", "Bearer dev:mallory:superuser".to_string())],
            ),
            (
                "a made-up token",
                vec![("Authorization", "Bearer 3f9a0c1e5b7d2f4a".to_string())],
            ),
            (
                "not a bearer token",
                vec![("Authorization", "Basic ZGFuYTpkYW5h".to_string())],
            ),
            (
                "a forged session cookie",
                vec![("Cookie", "bf_session=0123456789abcdef".to_string())],
            ),
        ] {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = call(&headers);
            assert_eq!(r.status, 401, "{what} with {case}: {}", r.text());
            refused_as(&r, "unauthenticated", "Sign in first");
            assert_secure_headers(&what, &r);
            checked += 1;
        }
        for (role, m) in &people {
            let (k, v) = bearer(&m.token);
            let r = call(&[(k, &v)]);
            assert_headers_of(route.path, &what, &r);
            let allowed = match route.gate {
                Gate::Roles(roles) => roles.iter().any(|r| r.as_str() == *role),
                _ => true,
            };
            if allowed {
                assert!(
                    ![401, 403, 404].contains(&r.status),
                    "{what} refused {role}, whom its gate lets in: {} {}",
                    r.status,
                    r.text()
                );
            } else {
                assert_eq!(r.status, 403, "{what} let {role} in: {}", r.text());
                refused_as(&r, "forbidden", "Not allowed");
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} checks");
}

#[test]
fn security_headers_are_on_every_answer_including_errors() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let server = Server::start(&env);
    let (k, v) = bearer(&dana.token);
    let cases = [
        ("GET", "/health", vec![], 200),
        ("GET", "/no/such/route", vec![], 404),
        ("GET", "/api/v1/whoami", vec![], 401),
        ("GET", "/api/v1/whoami", vec![(k, v.as_str())], 200),
        ("DELETE", "/health", vec![], 405),
    ];
    for (method, path, headers, status) in cases {
        let r = request(server.port, method, path, &headers, b"");
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        assert_secure_headers(&format!("{method} {path}"), &r);
    }
    let r = request(
        server.port,
        "POST",
        "/api/v1/run",
        &[(k, &v), ("Content-Type", "application/json")],
        &run_body(&["incident", "show", ID]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_secure_headers("a command's answer", &r);
    // No HSTS on plain HTTP (it is only meaningful, and only sent, under TLS).
    assert!(r.header("strict-transport-security").is_none());
}

#[test]
fn bodies_over_the_limit_are_refused_with_413() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let server = Server::start(&env);
    let big = vec![b'x'; 17 * 1024];
    for path in ["/api/v1/session", "/api/v1/tokens"] {
        let r = request(server.port, "POST", path, &[], &big);
        assert_eq!(r.status, 413, "{path}: {}", r.text());
        assert_secure_headers(path, &r);
    }
    let (k, v) = bearer(&dana.token);
    let huge = vec![b' '; breachflow::domain::bounds::MAX_REQUEST_BYTES + 1];
    let r = request(server.port, "POST", "/api/v1/run", &[(k, &v)], &huge);
    assert_eq!(r.status, 413, "{}", r.text());
    assert_secure_headers("/api/v1/run", &r);
    // The server is still there, and nothing was stored.
    let r = request(server.port, "GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
}

/// The log's events, through the server.
fn events(env: &TestEnv, m: &Member) -> String {
    stdout_of(
        &as_member(env, m)
            .args(["--format", "json", "audit", "log"])
            .assert()
            .success(),
    )
}

#[test]
fn commands_are_checked_against_the_permission_table() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let carl = member(&env.data_dir, "carl", &["comms"]);
    let aude = member(&env.data_dir, "aude", &["auditor"]);
    let server = Server::start(&env);
    let before = events(&env, &dana);

    // A comms member may not decide: exit 15 at the command line, 403 over HTTP.
    let refused = as_member(&env, &carl)
        .args(["decide", ID, "--accept"])
        .assert()
        .code(15);
    assert!(
        stderr_of(&refused).contains("carl"),
        "{}",
        stderr_of(&refused)
    );
    let (k, v) = bearer(&carl.token);
    let r = request(
        server.port,
        "POST",
        "/api/v1/run",
        &[(k, &v), ("Content-Type", "application/json")],
        &run_body(&["decide", ID, "--accept"]),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["exit"], 15);

    // An auditor reads, and changes nothing.
    for read in [
        vec!["incident", "list"],
        vec!["incident", "show", ID],
        vec!["deadlines"],
    ] {
        as_member(&env, &aude).args(&read).assert().success();
    }
    let update = env.file("t.json", &json!({"title": "an auditor's change"}));
    let answers = example("incident-update-report-answers.json");
    let org = example("organisation.json");
    let (assessment, incident) = (
        example("assessment-ransomware.json"),
        example("incident-ransomware.json"),
    );
    let changes: Vec<Vec<&str>> = vec![
        vec!["incident", "update", ID, "--file", &update],
        vec!["incident", "update", ID, "--file", &answers],
        vec!["assess", ID, "--file", &assessment],
        vec!["decide", ID, "--accept"],
        vec!["render", ID, "board-briefing"],
        vec!["approve", ID, "board-briefing"],
        vec!["send", ID, "board-briefing", "--to", "dpo@example.com"],
        vec!["outbox", "deliver"],
        vec!["init", "--org", &org, "--force"],
        vec!["audit", "repair"],
        vec!["incident", "open", "--file", &incident],
    ];
    for change in &changes {
        let out = as_member(&env, &aude).args(change).assert().code(15);
        assert!(
            stderr_of(&out).contains("aude"),
            "`{}`: {}",
            change.join(" "),
            stderr_of(&out)
        );
        let (k, v) = bearer(&aude.token);
        let r = request(
            server.port,
            "POST",
            "/api/v1/run",
            &[(k, &v)],
            &run_body(change),
        );
        assert_eq!(r.status, 403, "`{}`: {}", change.join(" "), r.text());
    }

    // No token beside a server: exit 14, and nothing is run on its own.
    env.cmd()
        .env_remove("BREACHFLOW_ACTOR")
        .args(["incident", "list"])
        .assert()
        .code(14);
    env.cmd()
        .env_remove("BREACHFLOW_ACTOR")
        .args(["decide", ID, "--accept"])
        .assert()
        .code(14);
    // A token the server does not accept: exit 14 too.
    as_member(
        &env,
        &Member {
            name: "mallory".into(),
            token: "not-a-real-token".into(),
            password: String::new(),
        },
    )
    .args(["incident", "list"])
    .assert()
    .code(14);

    assert_eq!(
        before,
        events(&env, &dana),
        "a refused command stored something"
    );
    // The allowed person still can.
    as_member(&env, &dana)
        .args(["decide", ID, "--accept"])
        .assert()
        .success();
}

#[test]
fn the_request_log_has_a_line_per_request_and_no_personal_data_or_secrets() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let carl = member(&env.data_dir, "carl", &["comms"]);
    let server = Server::start(&env);
    let secret_title = "Quokka-Zebra leak at the Harrowgate practice";
    let update = env.file("quokka-update.json", &json!({"title": secret_title}));
    let mut sent = 0;
    as_member(&env, &dana)
        .args(["incident", "update", ID, "--file", &update])
        .assert()
        .success();
    sent += 1;
    as_member(&env, &dana)
        .args(["incident", "show", ID])
        .assert()
        .success();
    sent += 1;
    as_member(&env, &carl)
        .args([
            "decide",
            ID,
            "--accept",
            "--reason",
            "Marmalade-Otter reasoning",
        ])
        .assert()
        .code(15);
    sent += 1;
    as_member(&env, &dana)
        .args(["incident", "show", "BR-2024-0999"])
        .assert()
        .code(6);
    sent += 1;
    let wrong_password = "Tangerine-Wolverine-Password-1";
    let r = sign_in(server.port, &dana.name, wrong_password);
    assert_eq!(r.status, 401);
    sent += 1;
    let bad_token = "dev:Persimmon-Badger:dpo-nope";
    let r = request(
        server.port,
        "GET",
        "/api/v1/whoami",
        &[("Authorization", &format!("Bearer {bad_token}"))],
        b"",
    );
    assert_eq!(r.status, 401);
    sent += 1;
    let r = request(
        server.port,
        "GET",
        "/no/such/page?name=Priya+Raman",
        &[],
        b"",
    );
    assert_eq!(r.status, 404);
    sent += 1;
    let r = request(server.port, "GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
    sent += 1;

    let (_, log) = server.stop();
    let requests: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event"] == "request")
        .collect();
    assert_eq!(requests.len(), sent, "{log}");
    for line in &requests {
        for key in ["at", "method", "route", "status", "ms"] {
            assert!(!line[key].is_null(), "{key} missing: {line}");
        }
    }
    let runs: Vec<&Value> = requests
        .iter()
        .filter(|l| l["route"] == "/api/v1/run")
        .collect();
    assert_eq!(runs.len(), 4, "{log}");
    for run in &runs {
        assert!(run["user"].is_string(), "{run}");
        assert!(run["command"].is_string(), "{run}");
        assert!(run["exit"].is_u64(), "{run}");
    }
    assert!(
        runs.iter()
            .any(|r| r["command"] == "incident update" && r["exit"] == 0)
    );
    assert!(
        runs.iter()
            .any(|r| r["command"] == "decide" && r["status"] == 403 && r["exit"] == 15)
    );
    assert!(
        requests
            .iter()
            .any(|r| r["route"] == "(no route)" && r["status"] == 404)
    );
    // Never an argument, a file's contents, a name, a password or a token.
    let secrets = [
        secret_title,
        "Quokka",
        "quokka-update.json",
        "Marmalade-Otter",
        "BR-2024-0999",
        "Priya",
        "Tom Okafor",
        "larkfield-vets.example",
        "Ransomware on practice management servers",
        wrong_password,
        bad_token,
        "Persimmon",
        &dana.token,
        &carl.token,
        &dana.password,
    ];
    for s in secrets {
        assert!(!log.contains(s), "the log holds `{s}`:\n{log}");
    }
    // People are named only by their account's id, in the `user` field.
    for line in &requests {
        let mut rest = line.clone();
        rest.as_object_mut().unwrap().remove("user");
        let rest = rest.to_string();
        for m in [&dana, &carl] {
            assert!(
                !rest.contains(&m.name),
                "{} named outside `user`: {line}",
                m.name
            );
        }
    }
}

// TLS (point 1) ----------------------------------------------------------------------------

#[test]
fn the_cli_reaches_a_tls_server_that_its_ca_vouches_for() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let (ca, chain, key) = certificates(env.tmp.path());
    let server = Server::start_with(&env, &["--tls-cert", &chain, "--tls-key", &key], &[]);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let url = format!("https://localhost:{}", server.port);
    let through_tls = as_member(&env, &dana)
        .env("BREACHFLOW_SERVER_CA", &ca)
        .args(["--server", &url, "incident", "show", ID])
        .assert()
        .success();
    let through_socket = as_member(&env, &dana)
        .args(["incident", "show", ID])
        .assert()
        .success();
    assert_eq!(stdout_of(&through_tls), stdout_of(&through_socket));
    // A write, too, with the signed-in person recorded.
    let update = env.file("tls.json", &json!({"title": "updated over TLS"}));
    as_member(&env, &dana)
        .env("BREACHFLOW_SERVER_CA", &ca)
        .args([
            "--server", &url, "incident", "update", ID, "--file", &update,
        ])
        .assert()
        .success();
    let log = stdout_of(
        &as_member(&env, &dana)
            .args(["--format", "json", "audit", "log", ID])
            .assert()
            .success(),
    );
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["identity"], "authenticated", "{last}");
    // Without the CA the certificate is not trusted, and nothing is sent.
    let untrusted = as_member(&env, &dana)
        .args(["--server", &url, "incident", "show", ID])
        .assert()
        .failure();
    assert!(
        stderr_of(&untrusted).contains("TLS") || stderr_of(&untrusted).contains("certificate"),
        "{}",
        stderr_of(&untrusted)
    );
    // Plain HTTP to the TLS port gets nowhere.
    let plain = as_member(&env, &dana)
        .args([
            "--server",
            &format!("http://127.0.0.1:{}", server.port),
            "incident",
            "list",
        ])
        .assert()
        .failure();
    assert_ne!(plain.get_output().status.code(), Some(0));
    // Headers over TLS, with HSTS.
    let r = request_tls(server.port, &ca, "GET", "/health", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_secure_headers("TLS /health", &r);
    assert!(r.header("strict-transport-security").is_some(), "{r:?}");
}

#[test]
fn a_non_loopback_address_needs_tls_or_insecure_http() {
    let env = TestEnv::initialised();
    let refused = match Server::try_start(&env, &["--listen", "0.0.0.0:0"], &[]) {
        Ok(_) => panic!("served plain HTTP on every address"),
        Err(e) => e,
    };
    assert_eq!(refused.code, Some(4), "{}", refused.stderr);
    assert!(refused.stderr.contains("--tls-cert"), "{}", refused.stderr);
    assert!(!env.data_dir.join("serve.sock").exists());
    let server = Server::start_with(&env, &["--listen", "0.0.0.0:0", "--insecure-http"], &[]);
    let r = request(server.port, "GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
    let (code, log) = server.stop();
    assert_eq!(code, Some(0));
    assert!(
        log.contains("\"insecure_http\""),
        "the choice is logged: {log}"
    );
}

// Needs accounts: real passwords and tokens ------------------------------------------------

#[test]
fn sign_in_sets_a_strict_cookie_and_a_change_needs_the_csrf_token() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let server = Server::start(&env);
    let r = sign_in(server.port, &dana.name, &dana.password);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_secure_headers("sign-in", &r);
    let set = r.header("set-cookie").unwrap().to_string();
    assert!(set.starts_with("bf_session="), "{set}");
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(!set.contains("Secure"), "no Secure on plain HTTP: {set}");
    let csrf = r.json()["csrf"].as_str().unwrap().to_string();
    assert!(csrf.len() >= 32);
    let cookie = session_cookie(&r);
    // Reading with the cookie needs no CSRF token.
    let r = request(
        server.port,
        "GET",
        "/api/v1/whoami",
        &[("Cookie", &cookie)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["signed_in_with"], "session");
    // A change with the cookie and no token, or the wrong one, is refused; with it, it runs.
    let update = env.file("t.json", &json!({"title": "changed in a browser"}));
    let body = serde_json::to_vec(&json!({
        "args": ["incident", "update", ID, "--file", &update], "now": NOW,
        "files": [{"path": update, "data": base64_of(&std::fs::read(&update).unwrap())}],
    }))
    .unwrap();
    for headers in [
        vec![("Cookie", cookie.as_str())],
        vec![("Cookie", cookie.as_str()), ("X-CSRF-Token", "0000")],
    ] {
        let r = request(server.port, "POST", "/api/v1/run", &headers, &body);
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(r.json()["error"]["code"], "csrf");
    }
    let r = request(
        server.port,
        "POST",
        "/api/v1/run",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["exit"], 0, "{}", r.text());
    // A token-authenticated change needs no CSRF token (no browser sends it by itself).
    let (k, v) = bearer(&dana.token);
    let r = request(
        server.port,
        "POST",
        "/api/v1/run",
        &[(k, &v)],
        &run_body(&["incident", "list"]),
    );
    assert_eq!(r.status, 200);
}

/// Base64 (standard) of `bytes`, as a command's files travel.
fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn sign_out_ends_the_session() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let server = Server::start(&env);
    let r = sign_in(server.port, &dana.name, &dana.password);
    assert_eq!(r.status, 200, "{}", r.text());
    let (cookie, csrf) = (
        session_cookie(&r),
        r.json()["csrf"].as_str().unwrap().to_string(),
    );
    let r = request(
        server.port,
        "POST",
        "/api/v1/session/end",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = request(
        server.port,
        "GET",
        "/api/v1/whoami",
        &[("Cookie", &cookie)],
        b"",
    );
    assert_eq!(r.status, 401, "{}", r.text());
}

#[test]
fn the_sixth_wrong_password_is_throttled_even_when_it_is_right() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let carl = member(&env.data_dir, "carl", &["comms"]);
    let server = Server::start(&env);
    for i in 0..5 {
        let r = sign_in(server.port, &dana.name, &format!("wrong-{i}"));
        assert_eq!(r.status, 401, "attempt {i}: {}", r.text());
    }
    let r = sign_in(server.port, &dana.name, &dana.password);
    assert_eq!(r.status, 429, "{}", r.text());
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    assert!(r.header("set-cookie").is_none());
    // Making a token with the password is throttled the same way.
    let body = json!({"name": dana.name, "password": dana.password, "label": "x"}).to_string();
    let r = request(server.port, "POST", "/api/v1/tokens", &[], body.as_bytes());
    assert_eq!(r.status, 429, "{}", r.text());
    // Someone else is not locked out by it, and dana's token still works.
    let r = sign_in(server.port, &carl.name, &carl.password);
    assert_eq!(r.status, 200, "{}", r.text());
    let (k, v) = bearer(&dana.token);
    let r = request(server.port, "GET", "/api/v1/whoami", &[(k, &v)], b"");
    assert_eq!(r.status, 200);
}

#[test]
fn a_token_made_with_a_password_works_and_is_shown_once() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let server = Server::start(&env);
    let body = json!({"name": dana.name, "password": dana.password, "label": "laptop"}).to_string();
    let r = request(server.port, "POST", "/api/v1/tokens", &[], body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let token = r.json()["token"].as_str().unwrap().to_string();
    let (k, v) = bearer(&token);
    let r = request(server.port, "GET", "/api/v1/whoami", &[(k, &v)], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], dana.name);
    assert!(!server.log().contains(&token));
}

#[test]
fn a_revoked_token_is_refused_at_once() {
    let env = TestEnv::with_incident();
    let admin = member(&env.data_dir, "ada", &["admin"]);
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let server = Server::start(&env);
    let (k, v) = bearer(&dana.token);
    assert_eq!(
        request(server.port, "GET", "/api/v1/whoami", &[(k, &v)], b"").status,
        200
    );
    revoke_token(&env, &admin, &dana);
    let r = request(server.port, "GET", "/api/v1/whoami", &[(k, &v)], b"");
    assert_eq!(r.status, 401, "{}", r.text());
    as_member(&env, &dana)
        .args(["incident", "list"])
        .assert()
        .code(14);
}

#[test]
fn a_disabled_users_token_and_session_are_refused() {
    let env = TestEnv::with_incident();
    let admin = member(&env.data_dir, "ada", &["admin"]);
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let server = Server::start(&env);
    let session = sign_in(server.port, &dana.name, &dana.password);
    assert_eq!(session.status, 200, "{}", session.text());
    let cookie = session_cookie(&session);
    disable_user(&env, &admin, &dana);
    let (k, v) = bearer(&dana.token);
    let r = request(server.port, "GET", "/api/v1/whoami", &[(k, &v)], b"");
    assert_eq!(r.status, 401, "{}", r.text());
    let r = request(
        server.port,
        "GET",
        "/api/v1/whoami",
        &[("Cookie", &cookie)],
        b"",
    );
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(sign_in(server.port, &dana.name, &dana.password).status, 401);
    as_member(&env, &dana)
        .args(["incident", "list"])
        .assert()
        .code(14);
}

#[test]
fn an_auditor_reads_and_verifies_everything() {
    let env = TestEnv::with_incident();
    let aude = member(&env.data_dir, "aude", &["auditor"]);
    let _server = Server::start(&env);
    for read in [
        vec!["audit", "verify"],
        vec!["audit", "log"],
        vec!["timeline", ID],
        vec!["documents", ID],
        vec!["outbox"],
        vec!["register", "export"],
        vec!["report", "adherence"],
    ] {
        as_member(&env, &aude).args(&read).assert().success();
    }
}

#[test]
fn session_cookies_are_secure_under_tls() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let (ca, chain, key) = certificates(env.tmp.path());
    let server = Server::start_with(&env, &["--tls-cert", &chain, "--tls-key", &key], &[]);
    let body = json!({"name": dana.name, "password": dana.password}).to_string();
    let r = request_tls(
        server.port,
        &ca,
        "POST",
        "/api/v1/session",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let set = r.header("set-cookie").unwrap();
    assert!(
        set.contains("Secure") && set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
}

#[test]
fn four_eyes_through_the_server_tells_people_apart_by_account_and_records_the_role() {
    // An incident with every fact the ICO report needs.
    let env = TestEnv::prepared(&example_json("organisation.json"));
    // Dana writes the ICO report and also holds the approver role: still not a second pair of
    // eyes on her own version. Walter, an approver, is.
    let dana = member(&env.data_dir, "dana", &["dpo", "approver"]);
    let walter = member(&env.data_dir, "walter", &["approver"]);
    let _server = Server::start(&env);
    as_member(&env, &dana)
        .args(["render", ID, "ico-report"])
        .assert()
        .success();
    let own = as_member(&env, &dana)
        .args(["approve", ID, "ico-report"])
        .assert()
        .code(5);
    assert!(
        stderr_of(&own).contains("cannot also approve"),
        "{}",
        stderr_of(&own)
    );
    as_member(&env, &walter)
        .args(["approve", ID, "ico-report"])
        .assert()
        .success();
    let log = as_member(&env, &walter)
        .args(["--format", "json", "audit", "log", ID])
        .assert()
        .success();
    let approval = stdout_of(&log)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["what"]["type"] == "document_approved")
        .expect("an approval in the log");
    assert_eq!(approval["actor"], "walter", "{approval}");
    assert_eq!(approval["identity"], "authenticated", "{approval}");
    assert_eq!(approval["user"]["role"], "approver", "{approval}");
    assert_eq!(approval["user"]["id"], "u2", "{approval}");
}

#[test]
fn workspace_forms_need_their_csrf_token() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let server = Server::start(&env);
    let signed = sign_in(server.port, "dana", &dana.password);
    let cookie = session_cookie(&signed);
    let csrf = signed.json()["csrf"].as_str().unwrap().to_string();
    let form = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    // Signing out with the session cookie alone (what a hostile page can make a browser send)
    // is refused, as a page, and the session lives on.
    for body in ["", "csrf=", "csrf=0123456789abcdef", "other=1"] {
        let r = request(server.port, "POST", "/sign-out", &form, body.as_bytes());
        assert_eq!(r.status, 403, "{body:?}: {}", r.text());
        assert!(r.text().contains("<h1>Not allowed</h1>"), "{}", r.text());
        assert_secure_headers("POST /sign-out", &r);
    }
    let still = request(
        server.port,
        "GET",
        "/dashboard",
        &[("Cookie", &cookie)],
        b"",
    );
    assert_eq!(still.status, 200, "{}", still.text());
    // With the page's token, it signs out.
    let body = format!("csrf={csrf}");
    let r = request(server.port, "POST", "/sign-out", &form, body.as_bytes());
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/sign-in"));
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = request(
        server.port,
        "GET",
        "/dashboard",
        &[("Cookie", &cookie)],
        b"",
    );
    assert_eq!(after.status, 401);

    // The sign-in form: its token must match the cookie set with the form, so another site
    // cannot sign a browser in as someone else.
    let page = request(server.port, "GET", "/sign-in", &[], b"");
    assert_eq!(page.status, 200);
    let set = page.header("set-cookie").unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let pair = set.split(';').next().unwrap().trim().to_string();
    let token = pair.split_once('=').unwrap().1.to_string();
    assert!(page.text().contains(&format!("value=\"{token}\"")));
    let creds = format!("name=dana&password={}", dana.password);
    let urlencoded = ("Content-Type", "application/x-www-form-urlencoded");
    for (case, headers, body) in [
        (
            "no cookie",
            vec![urlencoded],
            format!("{creds}&csrf={token}"),
        ),
        (
            "a token other than the cookie's",
            vec![urlencoded, ("Cookie", pair.as_str())],
            format!("{creds}&csrf=ffff{token}"),
        ),
    ] {
        let r = request(server.port, "POST", "/sign-in", &headers, body.as_bytes());
        assert_eq!(r.status, 403, "{case}: {}", r.text());
        assert!(
            r.header("set-cookie")
                .is_none_or(|c| !c.contains("bf_session=")),
            "{case}"
        );
    }
    let r = request(
        server.port,
        "POST",
        "/sign-in",
        &[urlencoded, ("Cookie", pair.as_str())],
        format!("{creds}&csrf={token}").as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/dashboard"));
}
