//! The team server against the machine's own limits, measured in one run:
//! `cargo bench --bench server`.
//!
//! Every figure is a median (or a rate) printed next to the floor it is judged against, the
//! floor measured in the same run: process start (`breachflow --version`) and a small append
//! made durable with fdatasync, as in `benches/perf.rs`. Each part starts its own
//! `breachflow serve --listen 127.0.0.1:0` on its own store and stops it with SIGTERM; the
//! server's request log (its `ms` field is the server's own time) goes to a file beside the
//! store, and each part says what the server itself spent.
//!
//! - `BREACHFLOW_BENCH_QUICK=1`: the `deadlines` figure at 10,000 incidents only (a store of
//!   100,000 takes minutes to build).
//! - `BREACHFLOW_BENCH_ONLY=command,deadlines,commits,load` (any of them): only those parts.
//! - `BREACHFLOW_BENCH_LOAD_SECONDS` (default 60) and `BREACHFLOW_BENCH_COMMIT_SECONDS`
//!   (default 3): how long the load run and each commit-rate run last.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use breachflow::SledStore;
use breachflow::app::ports::{Change, Store, Subject};
use breachflow::domain::assessment::AssessmentInput;
use breachflow::domain::event::Identity;
use breachflow::domain::incident::IncidentFacts;
use breachflow::domain::log::Stamp;
use breachflow::domain::organisation::Organisation;
use breachflow::domain::regime::Rulebook;
use breachflow::domain::workflow::{self, Rules};
use chrono::{DateTime, Duration as Span, Utc};

const BIN: &str = env!("CARGO_BIN_EXE_breachflow");
const ORG: &str = include_str!("../examples/organisation.json");
const INCIDENT: &str = include_str!("../examples/incident-ransomware.json");
const ASSESSMENT: &str = include_str!("../examples/assessment-ransomware.json");

/// The effective time of the built stores' commands (awareness in March: overdue by June).
const NOW: &str = "2024-06-01T12:00:00Z";

fn now() -> DateTime<Utc> {
    NOW.parse().unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The `q` quantile (0.5, 0.99) of sorted times.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn line(what: &str, figure: String, note: String) {
    println!("| {what} | {figure} | {note} |");
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

/// A person with one role and an API token for them: made offline on `data_dir` (the account,
/// then the token) before the server starts, as an admin would make the first accounts.
fn member(data_dir: &Path, name: &str, role: &str) -> String {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("BREACHFLOW_DATA_DIR", data_dir)
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
    let email = format!("{}@bench.example", name.to_lowercase());
    run(&["user", "add", name, "--email", &email, "--role", role]);
    let token: serde_json::Value = serde_json::from_slice(&run(&[
        "--format", "json", "token", "create", "--user", name, "--label", "bench",
    ]))
    .unwrap();
    token["token"].as_str().unwrap().to_string()
}

/// The disk's floor: small appends, each made durable with fdatasync (as in perf.rs).
fn fdatasync_floor(dir: &Path, n: usize) -> Duration {
    let path = dir.join("floor");
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        f.write_all(format!("{i:064}").as_bytes()).unwrap();
        // SAFETY: the descriptor is open for the life of `f`.
        let rc = unsafe { libc::fdatasync(f.as_raw_fd()) };
        assert_eq!(rc, 0);
        times.push(start.elapsed());
    }
    let _ = std::fs::remove_file(path);
    median(times)
}

fn stamp() -> Stamp {
    Stamp {
        at: now(),
        actor: "bench".into(),
        identity: Identity::SelfDeclared,
        user: None,
    }
}

/// A store of `n` incidents built through the library, as perf.rs builds them: `assessed` of
/// them assessed with awareness an hour ago (deadlines ahead), `overdue` assessed with
/// awareness in March (the ICO's 72 hours long gone by [`NOW`]).
fn build_store(dir: &Path, n: usize, assessed: usize, overdue: usize) -> Duration {
    let start = Instant::now();
    let store = SledStore::open(dir).unwrap();
    let org: Organisation = serde_json::from_str(ORG).unwrap();
    store
        .commit(Change::new(
            Subject::Organisation(&org),
            &[breachflow::domain::event::EventKind::OrganisationRecorded {
                organisation: org.clone(),
                replaced: false,
            }],
            stamp(),
        ))
        .unwrap();
    let book = Rulebook::load(None).unwrap();
    let rules = Rules {
        org: &org,
        rulebook: &book,
    };
    let base: IncidentFacts = serde_json::from_str(INCIDENT).unwrap();
    let assessment: AssessmentInput = serde_json::from_str(ASSESSMENT).unwrap();
    for i in 0..n {
        let mut facts = base.clone();
        if i >= overdue {
            facts.occurred.from = Some(now() - Span::hours(3));
            facts.detected_at = now() - Span::hours(2);
            facts.aware_at = now() - Span::hours(1);
        }
        let kinds = workflow::open(&facts, now()).unwrap();
        let c = store
            .commit(Change::new(
                Subject::NewIncident { year: 2024 },
                &kinds,
                stamp(),
            ))
            .unwrap();
        if i < overdue + assessed {
            let record = c.record.unwrap();
            let kinds = workflow::assess(&record, &assessment, &rules, now(), "bench").unwrap();
            store
                .commit(Change::new(Subject::Incident(&record), &kinds, stamp()))
                .unwrap();
        }
    }
    start.elapsed()
}

fn incident_id(i: usize) -> String {
    format!("BR-2024-{:04}", i + 1)
}

/// A running `breachflow serve` on a store, its request log in a file beside the store.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
    /// Kept open: a server writing to a closed stdout would fail.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Server {
    fn start(data: &Path) -> Server {
        let log = data.with_extension("serve.log");
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("BREACHFLOW_DATA_DIR", data)
            .env_remove("BREACHFLOW_ACTOR")
            .env_remove("BREACHFLOW_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        // `breachflow serve: listening on http://127.0.0.1:PORT and DIR/serve.sock`
        let port = first
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the server did not say where it listens: {first:?}"));
        Server {
            child,
            port,
            log,
            _stdout: stdout,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now, in kB.
    fn rss_kb(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse().ok())
            })
            .unwrap_or(0)
    }

    /// SIGTERM, then wait for it to drain and close the store.
    fn stop(mut self) {
        // SAFETY: kill(2) on the pid of the child we started and have not yet waited for.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let status = self.child.wait().unwrap();
        if !status.success() {
            line(
                "the server, stopped with SIGTERM",
                format!("{status}"),
                format!("expected exit 0; its log: {}", self.log.display()),
            );
        }
    }

    /// The server's own milliseconds for each request of `command` in its log.
    fn logged_ms(&self, command: &str) -> Vec<Duration> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == "request" && v["command"] == command)
            .filter_map(|v| v["ms"].as_f64())
            .map(|ms| Duration::from_secs_f64(ms / 1000.0))
            .collect()
    }

    fn client(&self, token: &str) -> Client {
        Client::new(self.port, token)
    }
}

/// A keep-alive HTTP/1.1 connection to the server's TCP listener, one request at a time.
struct Client {
    port: u16,
    token: String,
    conn: Option<BufReader<TcpStream>>,
}

/// The command's answer (`cli::remote::RunResponse`, which the crate keeps to itself; the
/// JSON is the interface).
#[derive(serde::Deserialize)]
struct RunResponse {
    exit: u8,
    stdout: String,
    stderr: String,
}

/// What came back: the HTTP status, and the command's answer when there was one.
struct Answer {
    status: u16,
    response: Option<RunResponse>,
    body: String,
}

impl Answer {
    fn ok(&self) -> bool {
        self.status == 200 && self.response.as_ref().is_some_and(|r| r.exit == 0)
    }

    fn why(&self) -> String {
        match &self.response {
            Some(r) => format!(
                "status {}, exit {}: {}",
                self.status,
                r.exit,
                r.stderr.lines().next().unwrap_or_default()
            ),
            None => format!("status {}: {}", self.status, self.body),
        }
    }
}

impl Client {
    fn new(port: u16, token: &str) -> Client {
        Client {
            port,
            token: token.to_string(),
            conn: None,
        }
    }

    /// Runs a command line through `POST /api/v1/run`, with the files it reads.
    fn run(&mut self, args: &[&str], files: &[(&str, &[u8])], at: &str) -> Answer {
        use base64::Engine as _;
        // `cli::remote::RunRequest` as JSON: the files the command reads travel base64.
        let request = serde_json::json!({
            "args": args,
            "now": at,
            "columns": null,
            "files": files.iter().map(|(path, bytes)| serde_json::json!({
                "path": path,
                "data": base64::engine::general_purpose::STANDARD.encode(bytes),
            })).collect::<Vec<_>>(),
        });
        let body = serde_json::to_vec(&request).unwrap();
        match self.post("/api/v1/run", &body) {
            Ok((status, bytes)) => Answer {
                status,
                response: serde_json::from_slice(&bytes).ok(),
                body: String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            },
            Err(e) => {
                // The connection is not reused after a failure.
                self.conn = None;
                Answer {
                    status: 0,
                    response: None,
                    body: format!("no answer: {e}"),
                }
            }
        }
    }

    fn post(&mut self, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(("127.0.0.1", self.port))?;
            stream.set_nodelay(true)?;
            self.conn = Some(BufReader::new(stream));
        }
        let conn = self.conn.as_mut().unwrap();
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.port,
            self.token,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        conn.get_mut().write_all(&request)?;
        read_response(conn)
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Status and body of one HTTP/1.1 response (Content-Length or chunked).
fn read_response(conn: &mut BufReader<TcpStream>) -> std::io::Result<(u16, Vec<u8>)> {
    let mut status_line = String::new();
    if conn.read_line(&mut status_line)? == 0 {
        return Err(bad("the server closed the connection"));
    }
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let (mut length, mut chunked) = (None, false);
    loop {
        let mut header = String::new();
        conn.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if name == "content-length" {
                length = value.parse::<usize>().ok();
            } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            conn.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("bad chunk size"))?;
            let mut chunk = vec![0; size + 2];
            conn.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        let mut b = vec![0; length.ok_or_else(|| bad("no length"))?];
        conn.read_exact(&mut b)?;
        body = b;
    }
    Ok((status, body))
}

/// A whole command line (a process) through the server's socket, as a person types it.
fn cli(data: &Path, token: &str, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(BIN)
        .env("BREACHFLOW_DATA_DIR", data)
        .env("BREACHFLOW_NOW", NOW)
        .env("BREACHFLOW_TOKEN", token)
        .env_remove("BREACHFLOW_ACTOR")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// A command run by this process on a store no server holds (setting up, checking after).
fn offline(data: &Path, at: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .env("BREACHFLOW_DATA_DIR", data)
        .env("BREACHFLOW_NOW", at)
        .env("BREACHFLOW_ACTOR", "bench")
        .env_remove("BREACHFLOW_TOKEN")
        .args(args)
        .output()
        .unwrap()
}

fn offline_ok(data: &Path, at: &str, args: &[&str]) -> String {
    let out = offline(data, at, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn server_note(server: &Server, command: &str) -> String {
    let logged = server.logged_ms(command);
    if logged.is_empty() {
        return String::new();
    }
    format!(
        "; the server's own time (request log): {}",
        ms(median(logged))
    )
}

/// Figure 1: a durable command through the server against the floor.
fn durable_command(root: &Path, floor: Duration, start: Duration) {
    let data = root.join("command");
    build_store(&data, 1, 0, 0);
    let token = member(&data, "dana", "dpo");
    let server = Server::start(&data);
    let files: Vec<PathBuf> = (0..31)
        .map(|i| {
            let p = root.join(format!("u{i}.json"));
            std::fs::write(&p, format!("{{\"title\": \"Ransomware, revision {i}\"}}")).unwrap();
            p
        })
        .collect();
    // One to warm the server (its first command loads the rulebook and templates).
    cli(
        &data,
        &token,
        &[
            "incident",
            "update",
            "BR-2024-0001",
            "--file",
            files[0].to_str().unwrap(),
        ],
    );
    let times: Vec<Duration> = files[1..]
        .iter()
        .map(|f| {
            cli(
                &data,
                &token,
                &[
                    "incident",
                    "update",
                    "BR-2024-0001",
                    "--file",
                    f.to_str().unwrap(),
                ],
            )
        })
        .collect();
    let d = median(times);
    let ratio = d.as_secs_f64() / (floor + start).as_secs_f64();
    line(
        "`incident update` through the server (whole CLI process, socket)",
        ms(d),
        format!(
            "{ratio:.2}x (disk floor + process start); target 1.5x: {}{}",
            verdict(ratio <= 1.5),
            server_note(&server, "incident update")
        ),
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}

/// Figure 2: `deadlines --overdue --format json` through the server on a big store.
fn deadlines(root: &Path, n: usize) {
    let data = root.join(format!("deadlines-{n}"));
    let built = build_store(&data, n, n / 10, 100);
    let token = member(&data, "aud", "auditor");
    let server = Server::start(&data);
    let args = ["deadlines", "--overdue", "--format", "json"];
    let mut client = server.client(&token);
    // Warm-up, and a check that it answers what it should.
    let first = client.run(&args, &[], NOW);
    assert!(first.ok(), "{}", first.why());
    let overdue = first
        .response
        .as_ref()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.stdout).ok())
        .and_then(|v| v.as_array().map(|a| a.len()))
        .unwrap_or(0);
    let size = first.response.as_ref().map_or(0, |r| r.stdout.len());
    let requests: Vec<Duration> = (0..31)
        .map(|_| {
            // A fresh connection each time, as a command line makes.
            let mut client = server.client(&token);
            let t = Instant::now();
            let a = client.run(&args, &[], NOW);
            let took = t.elapsed();
            assert!(a.ok(), "{}", a.why());
            took
        })
        .collect();
    let request = median(requests);
    line(
        &format!(
            "`deadlines --overdue --format json`, {n} incidents, {} with obligations, {overdue} overdue: the HTTP request (new connection)",
            n / 10 + 100
        ),
        ms(request),
        format!(
            "target under 5 ms: {}{}; the answer {} KB (store built in {:.1} s)",
            verdict(request < Duration::from_millis(5)),
            server_note(&server, "deadlines"),
            size / 1000,
            built.as_secs_f64()
        ),
    );
    let whole: Vec<Duration> = (0..31).map(|_| cli(&data, &token, &args)).collect();
    line(
        &format!("the same, {n} incidents, as a whole command line (socket)"),
        ms(median(whole)),
        "(process start included)".into(),
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}

/// What each client of a rate run sends.
#[derive(Clone, Copy, PartialEq)]
enum Traffic {
    /// `incident update` of the client's own incident: one durable commit each.
    Updates,
    /// `obligation list` of the same incident: the same trip through HTTP, clap, the app layer
    /// (one record read) and the output, with nothing written: the server's ceiling for a
    /// command. (Not `incident show`: it lists every event, and the update runs before it
    /// leave thousands.)
    Reads,
}

/// Commands per second with `writers` threads, each on its own incident over its own
/// connection for `seconds`; the rate of those that succeeded, and the failures.
fn commit_rate(server: &Server, tokens: &[String], seconds: f64, traffic: Traffic) -> (f64, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(w, token)| {
            let (stop, mut client) = (stop.clone(), server.client(token));
            std::thread::spawn(move || {
                let id = incident_id(w);
                let (mut done, mut failed, mut i) = (0usize, 0usize, 0usize);
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let file = format!("{{\"title\": \"Writer {w}, revision {i}\"}}");
                    let a = match traffic {
                        Traffic::Updates => client.run(
                            &["incident", "update", &id, "--file", "update.json"],
                            &[("update.json", file.as_bytes())],
                            NOW,
                        ),
                        Traffic::Reads => client.run(&["obligation", "list", &id], &[], NOW),
                    };
                    if a.ok() {
                        done += 1;
                    } else {
                        failed += 1;
                    }
                }
                (done, failed)
            })
        })
        .collect();
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    let (mut done, mut failed) = (0, 0);
    for th in threads {
        let (d, f) = th.join().unwrap();
        done += d;
        failed += f;
    }
    (done as f64 / t.elapsed().as_secs_f64(), failed)
}

/// Figure 3: durable commits per second inside the server, 1 and 32 writers.
fn commits(root: &Path, floor: Duration) {
    let seconds: f64 = std::env::var("BREACHFLOW_BENCH_COMMIT_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let data = root.join("commits");
    build_store(&data, 32, 0, 0);
    let tokens: Vec<String> = (0..32)
        .map(|w| member(&data, &format!("writer{w}"), "dpo"))
        .collect();
    let server = Server::start(&data);
    let floor_rate = 1.0 / floor.as_secs_f64();
    for (writers, target) in [(1usize, 0.7), (32, 2.0)] {
        let (rate, failed) = commit_rate(&server, &tokens[..writers], seconds, Traffic::Updates);
        let ratio = rate / floor_rate;
        line(
            &format!(
                "durable commits inside the server (`incident update` over HTTP), {writers} writer{}",
                if writers == 1 { "" } else { "s" }
            ),
            format!("{rate:.0} per second"),
            format!(
                "{ratio:.2}x the floor's {floor_rate:.0} fdatasync/s; target {target}x: {}{}",
                verdict(ratio >= target),
                if failed > 0 {
                    format!("; {failed} FAILED")
                } else {
                    String::new()
                }
            ),
        );
    }
    line(
        "the server's own time per `incident update` (request log, both runs)",
        ms(median(server.logged_ms("incident update"))),
        String::new(),
    );
    // The ceiling: the same clients sending a command that writes nothing. A commit rate can
    // be no higher than this, whatever the store does, so a target above it is out of reach of
    // any commit path on this machine.
    for writers in [1usize, 32] {
        let (rate, failed) = commit_rate(&server, &tokens[..writers], seconds, Traffic::Reads);
        line(
            &format!(
                "ceiling: `obligation list` over HTTP, nothing written, {writers} client{}",
                if writers == 1 { "" } else { "s" }
            ),
            format!("{rate:.0} per second"),
            format!(
                "{:.2}x the floor's {floor_rate:.0} fdatasync/s{}",
                rate / floor_rate,
                if failed > 0 {
                    format!("; {failed} FAILED")
                } else {
                    String::new()
                }
            ),
        );
    }
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}

/// The kinds of request in the load run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    List,
    Show,
    Deadlines,
    Update,
    Draft,
    /// The comms member's render that an approval follows.
    Render,
    Approve,
}

const KINDS: [Kind; 7] = [
    Kind::List,
    Kind::Show,
    Kind::Deadlines,
    Kind::Update,
    Kind::Draft,
    Kind::Render,
    Kind::Approve,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::List => "`incident list`",
            Kind::Show => "`incident show`",
            Kind::Deadlines => "`deadlines --overdue`",
            Kind::Update => "`incident update`",
            Kind::Draft => "`render ID market-announcement --draft`",
            Kind::Render => "`render ID market-announcement` (comms, before an approval)",
            Kind::Approve => "`approve ID market-announcement` (approver)",
        }
    }
}

/// What one load client saw.
#[derive(Default)]
struct Seen {
    times: Vec<(Kind, Duration)>,
    errors: Vec<(Kind, String)>,
    /// The titles of the updates the server acknowledged (status 200, exit 0).
    acknowledged: Vec<String>,
}

/// Notes one request's time and, when it failed, why; whether it succeeded.
fn record(seen: &mut Seen, kind: Kind, t: Instant, a: &Answer) -> bool {
    seen.times.push((kind, t.elapsed()));
    if !a.ok() {
        seen.errors.push((kind, a.why()));
    }
    a.ok()
}

/// A small deterministic generator (xorshift), one per client.
struct Dice(u64);

impl Dice {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }
}

/// The incidents the load run works on, each ready for a market announcement.
const LOAD_INCIDENTS: usize = 10;
const LOAD_CLIENTS: usize = 50;
/// The load run's effective time (the example incident's awareness was the evening before).
const LOAD_AT: &str = "2024-03-31T12:00:00Z";

fn load_client(
    c: usize,
    port: u16,
    tokens: (String, String, String),
    stop: Arc<AtomicBool>,
) -> Seen {
    let (dpo, comms, approver) = tokens;
    let mut dpo = Client::new(port, &dpo);
    let mut comms = Client::new(port, &comms);
    let mut approver = Client::new(port, &approver);
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ (c as u64 + 1).wrapping_mul(0x2545_F491));
    let mut seen = Seen::default();
    let own = incident_id(c % LOAD_INCIDENTS);
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let any = incident_id(dice.next(LOAD_INCIDENTS));
        // The mix: 45% reads, 30% updates, 12% drafts, 13% render-and-approve.
        let roll = dice.next(100);
        let t = Instant::now();
        if roll < 10 {
            let a = dpo.run(&["incident", "list", "--format", "json"], &[], LOAD_AT);
            record(&mut seen, Kind::List, t, &a);
        } else if roll < 30 {
            let a = dpo.run(&["incident", "show", &any], &[], LOAD_AT);
            record(&mut seen, Kind::Show, t, &a);
        } else if roll < 45 {
            let a = dpo.run(
                &["deadlines", "--overdue", "--format", "json"],
                &[],
                LOAD_AT,
            );
            record(&mut seen, Kind::Deadlines, t, &a);
        } else if roll < 75 {
            let title = format!("Load client {c}, update {i}");
            let file = serde_json::json!({ "title": title }).to_string();
            let a = dpo.run(
                &["incident", "update", &own, "--file", "update.json"],
                &[("update.json", file.as_bytes())],
                LOAD_AT,
            );
            if record(&mut seen, Kind::Update, t, &a) {
                seen.acknowledged.push(title);
            }
        } else if roll < 87 {
            let a = comms.run(
                &["render", &own, "market-announcement", "--draft"],
                &[],
                LOAD_AT,
            );
            record(&mut seen, Kind::Draft, t, &a);
        } else {
            let a = comms.run(&["render", &own, "market-announcement"], &[], LOAD_AT);
            if record(&mut seen, Kind::Render, t, &a) {
                let t = Instant::now();
                // Exit 0 also when another client's approval came first ("already approved;
                // nothing changed"): that is expected, not an error.
                let a = approver.run(&["approve", &own, "market-announcement"], &[], LOAD_AT);
                record(&mut seen, Kind::Approve, t, &a);
            }
        }
    }
    seen
}

/// Figure 4: 50 clients for a while against one server, then the checks.
fn load(root: &Path) {
    let seconds: u64 = std::env::var("BREACHFLOW_BENCH_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let data = root.join("load");
    let ex = |f: &str| format!("{}/examples/{f}", env!("CARGO_MANIFEST_DIR"));
    offline_ok(&data, LOAD_AT, &["init", "--org", &ex("organisation.json")]);
    for i in 0..LOAD_INCIDENTS {
        let id = incident_id(i);
        offline_ok(
            &data,
            LOAD_AT,
            &[
                "incident",
                "open",
                "--file",
                &ex("incident-ransomware.json"),
            ],
        );
        offline_ok(
            &data,
            LOAD_AT,
            &["assess", &id, "--file", &ex("assessment-ransomware.json")],
        );
        offline_ok(&data, LOAD_AT, &["decide", &id, "--accept"]);
        offline_ok(
            &data,
            LOAD_AT,
            &[
                "incident",
                "update",
                &id,
                "--file",
                &ex("incident-update-report-answers.json"),
            ],
        );
    }
    // Ten people of each role; client c is the (c mod 10)th of each.
    let people: Vec<(String, String, String)> = (0..10)
        .map(|k| {
            (
                member(&data, &format!("dana{k}"), "dpo"),
                member(&data, &format!("carol{k}"), "comms"),
                member(&data, &format!("walter{k}"), "approver"),
            )
        })
        .collect();
    let server = Server::start(&data);
    let pid = server.pid();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let clients: Vec<_> = (0..LOAD_CLIENTS)
        .map(|c| {
            let (port, tokens, stop) = (server.port, people[c % 10].clone(), stop.clone());
            std::thread::spawn(move || load_client(c, port, tokens, stop))
        })
        .collect();
    // Memory every 5 s; the first sample (after 5 s) is the warmed-up baseline.
    let mut rss = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        let left = Duration::from_secs(seconds).saturating_sub(started.elapsed());
        std::thread::sleep(left.min(Duration::from_secs(5)));
        rss.push(server.rss_kb());
    }
    stop.store(true, Ordering::Relaxed);
    let seen: Vec<Seen> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let elapsed = started.elapsed();
    let per_command: Vec<(String, Vec<Duration>)> = [
        "incident list",
        "incident show",
        "deadlines",
        "incident update",
        "render",
        "approve",
    ]
    .iter()
    .map(|c| (c.to_string(), server.logged_ms(c)))
    .collect();
    server.stop();

    let total: usize = seen.iter().map(|s| s.times.len()).sum();
    let errors: Vec<&(Kind, String)> = seen.iter().flat_map(|s| &s.errors).collect();
    line(
        &format!(
            "load run: {LOAD_CLIENTS} clients, {:.0} s, loopback, one server (pid {pid})",
            elapsed.as_secs_f64()
        ),
        format!(
            "{total} requests, {:.0} per second",
            total as f64 / elapsed.as_secs_f64()
        ),
        format!(
            "{} errors (non-200, or exit not 0; every kind here is expected to exit 0, an approval of an already approved version included); target 0: {}",
            errors.len(),
            verdict(errors.is_empty())
        ),
    );
    for kind in KINDS {
        let mut times: Vec<Duration> = seen
            .iter()
            .flat_map(|s| &s.times)
            .filter(|(k, _)| *k == kind)
            .map(|(_, d)| *d)
            .collect();
        times.sort();
        let failed = errors.iter().filter(|(k, _)| *k == kind).count();
        line(
            &format!("load: {}", kind.name()),
            format!(
                "p50 {}, p99 {}",
                ms(quantile(&times, 0.5)),
                ms(quantile(&times, 0.99))
            ),
            format!("{} requests, {failed} errors", times.len()),
        );
    }
    let mut shown = std::collections::BTreeMap::new();
    for (kind, why) in &errors {
        shown.entry(kind.name()).or_insert_with(|| why.clone());
    }
    for (kind, why) in shown {
        line("load error, first of its kind", kind.into(), why);
    }
    let own: Vec<String> = per_command
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(c, v)| {
            let mut v = v.clone();
            v.sort();
            format!("{c} {} / {}", ms(quantile(&v, 0.5)), ms(quantile(&v, 0.99)))
        })
        .collect();
    line(
        "load: the server's own time per command, p50 / p99 (request log)",
        own.join("; "),
        "the rest of a request's time is waiting for a core (2 cores, 50 clients)".into(),
    );

    // Every acknowledged update is in the log, and the log verifies.
    let log = offline_ok(&data, LOAD_AT, &["audit", "log", "--format", "json"]);
    let mut recorded = std::collections::HashSet::new();
    for l in log.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else {
            continue;
        };
        if v["what"]["type"] == "facts_updated" {
            for change in v["what"]["changes"].as_array().into_iter().flatten() {
                if change["field"] == "title"
                    && let Some(t) = change["new"].as_str()
                {
                    recorded.insert(t.to_string());
                }
            }
        }
    }
    let acknowledged: Vec<&String> = seen.iter().flat_map(|s| &s.acknowledged).collect();
    let missing = acknowledged
        .iter()
        .filter(|t| !recorded.contains(t.as_str()))
        .count();
    line(
        "load: acknowledged updates present in the log afterwards (`audit log --format json`)",
        format!("{} of {}", acknowledged.len() - missing, acknowledged.len()),
        format!("target all: {}", verdict(missing == 0)),
    );
    let verify = offline(&data, LOAD_AT, &["audit", "verify"]);
    line(
        "load: `audit verify` afterwards",
        format!("exit {}", verify.status.code().unwrap_or(-1)),
        format!(
            "{}: {}",
            verdict(verify.status.success()),
            String::from_utf8_lossy(&verify.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
        ),
    );
    let (first, max, last) = (
        rss.first().copied().unwrap_or(0),
        rss.iter().copied().max().unwrap_or(0),
        rss.last().copied().unwrap_or(0),
    );
    let flat = last as f64 <= first as f64 * 1.2;
    // The second half against the first sample of it: growth that levels off (caches filling
    // to their bounds) against growth that goes on.
    let half = rss.get(rss.len() / 2).copied().unwrap_or(0);
    let levelled = last as f64 <= half as f64 * 1.1;
    line(
        "load: server memory, every sample (MB)",
        rss.iter()
            .map(|kb| format!("{:.0}", *kb as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", "),
        format!(
            "second half: last within 1.1x of its first sample: {}",
            if levelled {
                "levelled off"
            } else {
                "**still growing**"
            }
        ),
    );
    line(
        "load: server memory (VmRSS every 5 s: first after warm-up, max, last)",
        format!(
            "{:.1} / {:.1} / {:.1} MB",
            first as f64 / 1024.0,
            max as f64 / 1024.0,
            last as f64 / 1024.0
        ),
        format!(
            "{}: last within 1.2x of first ({} samples)",
            if flat {
                "memory flat"
            } else {
                "**memory grew**"
            },
            rss.len()
        ),
    );
    let _ = std::fs::remove_dir_all(&data);
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let quick = std::env::var("BREACHFLOW_BENCH_QUICK").is_ok();
    let only = std::env::var("BREACHFLOW_BENCH_ONLY").ok();
    let wanted = |part: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|p| p == part))
    };
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-server");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    println!("| measurement | median | against |");
    println!("| --- | --- | --- |");

    let floor = fdatasync_floor(&root, 2000);
    line(
        "disk floor: 64-byte append + fdatasync",
        ms(floor),
        format!("{:.0} per second", 1.0 / floor.as_secs_f64()),
    );
    let start = median(
        (0..40)
            .map(|_| {
                let t = Instant::now();
                Command::new(BIN)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
                t.elapsed()
            })
            .collect(),
    );
    line(
        "process start (`breachflow --version`)",
        ms(start),
        String::new(),
    );
    if wanted("command") {
        durable_command(&root, floor, start);
    }
    if wanted("deadlines") {
        deadlines(&root, 10_000);
        if !quick {
            deadlines(&root, 100_000);
        }
    }
    if wanted("commits") {
        commits(&root, floor);
    }
    if wanted("load") {
        load(&root);
    }
}
