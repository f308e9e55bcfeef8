//! The team server in tests: the real binary as `breachflow serve` on a test store (started,
//! waited for, stopped by SIGTERM when the guard drops), the people who use it (`member`, the
//! one place accounts and tokens are made), the CLI as one of them runs it, and a small HTTP
//! client (plain, or TLS trusting a test CA) for the routes themselves.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// Someone who uses the server: their name, an API token, and their password.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub token: String,
    pub password: String,
}

/// Makes an account `name` with `roles` in the store at `data_dir`, with a password and a
/// token, through the real commands, offline (before the server starts), as an admin makes the
/// first accounts on the machine: `user add`, `user passwd`, `token create`.
pub fn member(data_dir: &Path, name: &str, roles: &[&str]) -> Member {
    let password = format!("{name}-Larkfield-sorrel-canter-77");
    let run = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_breachflow"));
        for (key, _) in std::env::vars() {
            if key.starts_with("BREACHFLOW_") {
                cmd.env_remove(key);
            }
        }
        let out = cmd
            .env("BREACHFLOW_DATA_DIR", data_dir)
            .env("BREACHFLOW_NOW", NOW)
            .env("BREACHFLOW_TEST_RECORDED_CLOCK", "effective")
            .env("BREACHFLOW_ACTOR", "tester")
            .env("BREACHFLOW_PASSWORD", &password)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let email = format!("{}@larkfield-vets.example", name.to_lowercase());
    let mut add = vec!["user", "add", name, "--email", &email];
    for r in roles {
        add.extend(["--role", r]);
    }
    run(&add);
    run(&["user", "passwd", name]);
    let token: Value = serde_json::from_slice(&run(&[
        "--format", "json", "token", "create", "--user", name, "--label", "tests",
    ]))
    .unwrap();
    Member {
        name: name.to_string(),
        token: token["token"].as_str().unwrap().to_string(),
        password,
    }
}

/// Revokes `m`'s tokens, as `admin`.
pub fn revoke_token(env: &TestEnv, admin: &Member, m: &Member) {
    let listed = as_member(env, admin)
        .args(["--format", "json", "token", "list"])
        .assert()
        .success();
    let tokens: Value = serde_json::from_slice(&listed.get_output().stdout).unwrap();
    let mut revoked = 0;
    for t in tokens.as_array().into_iter().flatten() {
        if t["user_name"] == m.name.as_str() && t["revoked_at"].is_null() {
            as_member(env, admin)
                .args(["token", "revoke", t["id"].as_str().unwrap()])
                .assert()
                .success();
            revoked += 1;
        }
    }
    assert!(revoked > 0, "no token of {} in {tokens}", m.name);
}

/// Disables `m`'s account, as `admin`.
pub fn disable_user(env: &TestEnv, admin: &Member, m: &Member) {
    as_member(env, admin)
        .args(["user", "disable", &m.name])
        .assert()
        .success();
}

/// The binary as `m` runs it beside a server: the test environment with m's token and
/// without BREACHFLOW_ACTOR (which the server refuses: the token says who acts).
pub fn as_member(env: &TestEnv, m: &Member) -> assert_cmd::Command {
    let mut cmd = env.cmd();
    cmd.env_remove("BREACHFLOW_ACTOR")
        .env("BREACHFLOW_TOKEN", &m.token);
    cmd
}

/// The same as a plain `std::process::Command`, for tests that spawn and kill.
pub fn spawn_as(env: &TestEnv, m: &Member, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_breachflow"));
    for (key, _) in std::env::vars() {
        if key.starts_with("BREACHFLOW_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("BREACHFLOW_DATA_DIR", &env.data_dir)
        .env("BREACHFLOW_NOW", NOW)
        .env("BREACHFLOW_TEST_RECORDED_CLOCK", "effective")
        .env("BREACHFLOW_TOKEN", &m.token)
        .env("TMPDIR", env.tmp.path())
        .args(args);
    cmd
}

static STARTED: AtomicUsize = AtomicUsize::new(0);

/// `breachflow serve` on a test store, running until dropped (SIGTERM, then kill -9 if it does
/// not stop in time).
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    /// `http://127.0.0.1:PORT` or `https://...`.
    pub url: String,
    pub socket: PathBuf,
    log: PathBuf,
}

/// Why a server did not start: its exit code and what it wrote on stderr.
#[derive(Debug)]
pub struct NotStarted {
    pub code: Option<i32>,
    pub stderr: String,
}

impl Server {
    /// `serve --listen 127.0.0.1:0` on `env`'s store; recorded times fixed at [`NOW`].
    pub fn start(env: &TestEnv) -> Server {
        Server::start_with(env, &[], &[])
    }

    /// `serve` with more `args` and environment `vars` (which override the defaults).
    pub fn start_with(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> Server {
        Server::try_start(env, args, vars)
            .unwrap_or_else(|e| panic!("the server did not start: {e:?}"))
    }

    pub fn try_start(
        env: &TestEnv,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> Result<Server, NotStarted> {
        let n = STARTED.fetch_add(1, Ordering::SeqCst);
        let log = env.tmp.path().join(format!("serve-{n}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_breachflow"));
        for (key, _) in std::env::vars() {
            if key.starts_with("BREACHFLOW_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("BREACHFLOW_DATA_DIR", &env.data_dir)
            .env("BREACHFLOW_NOW", NOW)
            // The server's recorded clock follows its own effective time: fixed at NOW.
            .env("BREACHFLOW_TEST_RECORDED_CLOCK", "effective")
            .env("BREACHFLOW_SMTP_BACKOFF_MS", "5")
            .env("TMPDIR", env.tmp.path());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let listen = if args.contains(&"--listen") {
            vec![]
        } else {
            vec!["--listen", "127.0.0.1:0"]
        };
        let mut child = cmd
            .arg("serve")
            .args(listen)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            // Kept reading, so the server never writes into a closed pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().unwrap();
                return Err(NotStarted {
                    code: status.code(),
                    stderr: std::fs::read_to_string(&log).unwrap_or_default(),
                });
            }
        };
        let rest = line
            .strip_prefix("breachflow serve: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"));
        let (url, socket) = rest.split_once(" and ").unwrap();
        let port = url.rsplit_once(':').unwrap().1.parse().unwrap();
        Ok(Server {
            child: Some(child),
            port,
            url: url.to_string(),
            socket: PathBuf::from(socket),
            log,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// The request log so far (the server's stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// The log's request lines, parsed.
    pub fn requests(&self) -> Vec<Value> {
        self.log()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l)
                    .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {l}"))
            })
            .filter(|v| v["event"] == "request")
            .collect()
    }

    /// SIGTERM, and waits for the drain; returns the exit code and the whole log.
    pub fn stop(mut self) -> (Option<i32>, String) {
        let child = self.child.take().unwrap();
        let code = terminate(child);
        (code, self.log())
    }

    /// `kill -9`: the server gets no chance to tidy up.
    pub fn kill9(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            terminate(child);
        }
    }
}

fn terminate(mut child: Child) -> Option<i32> {
    // SAFETY: a signal to our own child, whose pid is live until we wait for it.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One request to the server on loopback, on a fresh connection.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    exchange(stream, "127.0.0.1", method, path, headers, body)
}

/// One request over TLS to `localhost:port`, trusting the PEM certificates in `ca`.
pub fn request_tls(
    port: u16,
    ca: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    exchange(
        rustls::StreamOwned::new(connection, tcp),
        "localhost",
        method,
        path,
        headers,
        body,
    )
}

fn exchange(
    mut stream: impl Read + Write,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // A server that answers before reading everything may close early: what it said counts.
    let _ = stream.write_all(body);
    let _ = stream.flush();
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A TLS peer that closes without close_notify, or a reset after the answer.
            Err(_) if !raw.is_empty() => break,
            Err(e) => panic!("reading the answer: {e}"),
        }
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..end])
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap();
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// `Authorization: Bearer TOKEN`.
pub fn bearer(token: &str) -> (&'static str, String) {
    ("Authorization", format!("Bearer {token}"))
}

/// Signs `m` in with their password; returns the answer (cookie in Set-Cookie, `csrf` in the
/// body). Needs accounts.
pub fn sign_in(port: u16, name: &str, password: &str) -> Reply {
    let body = serde_json::json!({"name": name, "password": password}).to_string();
    request(
        port,
        "POST",
        "/api/v1/session",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// The `bf_session=...` pair of a Set-Cookie header, to send back as `Cookie`.
pub fn session_cookie(reply: &Reply) -> String {
    reply
        .header("set-cookie")
        .unwrap_or_else(|| panic!("no Set-Cookie: {reply:?}"))
        .split(';')
        .next()
        .unwrap()
        .trim()
        .to_string()
}

/// A `POST /api/v1/run` body for a command line.
pub fn run_body(args: &[&str]) -> Vec<u8> {
    serde_json::json!({"args": args, "now": NOW})
        .to_string()
        .into_bytes()
}
