//! The CLI beside `breachflow serve` (issue 14, "Tests"): the same command lines print the same
//! things with and without a server; ten at once all succeed; the CLI works on its own again
//! once the server is gone (even after `kill -9`); `kill -9` under load loses no acknowledged
//! write and resends nothing; `--actor` is refused through the server.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server_support::*;
use crate::smtp::Mailbox;
use crate::support::*;

const ID: &str = "BR-2024-0001";

/// The recorded clock both runs of the script share, after every effective time in it.
const RECORDED: &str = "2024-04-02T00:00:00Z";

/// The scripted day: (effective time, words). Every kind of output: tables, JSON, CSV, a file
/// written with --out, a failure (exit 6), a usage error (exit 2) and a JSON error.
fn script() -> Vec<(&'static str, Vec<String>)> {
    let e = example;
    let s = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    vec![
        (NOW, s(&["init", "--org", &e("organisation.json")])),
        (NOW, s(&["org"])),
        (
            NOW,
            s(&["incident", "open", "--file", &e("incident-ransomware.json")]),
        ),
        (
            "2024-03-31T08:00:00Z",
            s(&[
                "incident",
                "update",
                ID,
                "--file",
                &e("incident-update-containment.json"),
            ]),
        ),
        (
            "2024-03-31T09:00:00Z",
            s(&["assess", ID, "--file", &e("assessment-ransomware.json")]),
        ),
        ("2024-03-31T10:00:00Z", s(&["decide", ID, "--accept"])),
        (
            "2024-03-31T10:30:00Z",
            s(&[
                "incident",
                "update",
                ID,
                "--file",
                &e("incident-update-report-answers.json"),
            ]),
        ),
        ("2024-03-31T11:00:00Z", s(&["deadlines"])),
        (
            "2024-03-31T11:00:00Z",
            s(&["--format", "json", "deadlines"]),
        ),
        (
            "2024-03-31T11:00:00Z",
            s(&["render", ID, "ico-report", "--draft", "--out", "draft.txt"]),
        ),
        (
            "2024-03-31T11:30:00Z",
            s(&["render", ID, "ico-report", "--out", "ico-report.html"]),
        ),
        ("2024-03-31T11:30:00Z", s(&["documents", ID])),
        (
            "2024-03-31T11:30:00Z",
            s(&["--format", "json", "documents", ID]),
        ),
        ("2024-03-31T11:30:00Z", s(&["incident", "list"])),
        ("2024-03-31T11:30:00Z", s(&["incident", "show", ID])),
        ("2024-03-31T11:30:00Z", s(&["timeline", ID])),
        ("2024-03-31T12:00:00Z", s(&["audit", "verify"])),
        (
            "2024-03-31T12:00:00Z",
            s(&["--format", "csv", "report", "adherence"]),
        ),
        (
            "2024-03-31T12:00:00Z",
            s(&["incident", "show", "BR-2024-0999"]),
        ),
        ("2024-03-31T12:00:00Z", s(&["incident", "frobnicate"])),
        (
            "2024-03-31T12:00:00Z",
            s(&["--format", "json", "decide", "BR-2024-0999", "--accept"]),
        ),
        ("2024-03-31T12:00:00Z", s(&["audit", "log"])),
        (
            "2024-03-31T12:00:00Z",
            s(&["--format", "json", "audit", "log", ID]),
        ),
    ]
}

/// One step's result: its words, exit code, stdout and stderr, and the files it wrote.
#[derive(Debug, PartialEq)]
struct Step {
    words: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the script on `env` with `command` making each process (plain, or as a member beside a
/// server), in a working folder of its own (the --out files land there).
fn run_script(env: &TestEnv, command: impl Fn() -> assert_cmd::Command) -> (Vec<Step>, String) {
    let work = env.tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let steps = script()
        .into_iter()
        .map(|(now, words)| {
            let out = command()
                .current_dir(&work)
                .env("BREACHFLOW_NOW", now)
                .env("BREACHFLOW_TEST_RECORDED_CLOCK", RECORDED)
                .args(&words)
                .output()
                .unwrap();
            // The two stores live in different folders; everything else must be the same.
            let clean = |b: &[u8]| {
                String::from_utf8_lossy(b)
                    .replace(&env.data_dir.display().to_string(), "<STORE>")
                    .replace(&env.tmp.path().display().to_string(), "<TMP>")
            };
            Step {
                words: words.join(" "),
                code: out.status.code(),
                stdout: clean(&out.stdout),
                stderr: clean(&out.stderr),
            }
        })
        .collect::<Vec<Step>>();
    let files = ["draft.txt", "ico-report.html"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(work.join(f))
                .unwrap_or_else(|e| panic!("{f} was not written: {e}"))
        })
        .collect::<Vec<_>>()
        .join("\n----\n");
    (steps, files)
}

#[test]
fn the_same_commands_print_the_same_with_and_without_a_server() {
    let plain = TestEnv::new();
    let dana_plain = member(&plain.data_dir, "dana", &["dpo", "admin"]);
    let (without, files_without) = run_script(&plain, || {
        let mut cmd = plain.cmd();
        cmd.env("BREACHFLOW_ACTOR", &dana_plain.name);
        cmd
    });

    let served = TestEnv::new();
    let dana = member(&served.data_dir, "dana", &["dpo", "admin"]);
    let server = Server::start_with(
        &served,
        &[],
        &[("BREACHFLOW_TEST_RECORDED_CLOCK", RECORDED)],
    );
    let (with, files_with) = run_script(&served, || as_member(&served, &dana));

    // The script did what it says: successes, then the three failures.
    let codes: Vec<_> = without.iter().map(|s| s.code).collect();
    let n = codes.len();
    assert!(codes[..n - 5].iter().all(|c| *c == Some(0)), "{without:#?}");
    assert_eq!(
        &codes[n - 5..],
        &[Some(6), Some(2), Some(6), Some(0), Some(0)],
        "{without:#?}"
    );
    assert!(
        without[n - 3].stderr.starts_with("{\"error\""),
        "{without:#?}"
    );

    // Every request went through the server (none ran in the test's process on its own).
    let requests = server.requests();
    assert!(
        requests.len() >= n - 1,
        "{} requests logged for {n} commands: {}",
        requests.len(),
        server.log()
    );

    // The audit log differs only in who: self-declared here, the signed-in person there.
    let (log_without, log_with) = (&without[n - 1], &with[n - 1]);
    assert_eq!(log_without.code, Some(0));
    assert_eq!(log_with.code, Some(0), "{}", log_with.stderr);
    let events = |s: &Step| -> Vec<Value> {
        s.stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect()
    };
    let (ev_without, ev_with) = (events(log_without), events(log_with));
    assert_eq!(ev_without.len(), ev_with.len());
    assert!(ev_with.len() >= 6, "{ev_with:?}");
    for (a, b) in ev_without.iter().zip(&ev_with) {
        for key in ["seq", "incident", "version", "at", "recorded_at", "what"] {
            assert_eq!(a[key], b[key], "{key} of event {}", a["seq"]);
        }
        // The accounts were made offline, before the server started: self-declared in both.
        let offline = a["what"]["type"]
            .as_str()
            .is_some_and(|t| matches!(t, "user_added" | "password_set" | "token_created"));
        if offline {
            assert_eq!(a["identity"], "self_declared", "{a}");
            assert_eq!(b["identity"], "self_declared", "{b}");
            continue;
        }
        assert_eq!(a["identity"], "self_declared", "{a}");
        assert_eq!(b["identity"], "authenticated", "{b}");
        assert!(
            b["actor"].to_string().contains(&dana.name),
            "the server's actor is the signed-in person: {b}"
        );
        // With the user id and the role that allowed the act.
        assert_eq!(b["user"]["id"], "u1", "{b}");
        assert!(
            b["user"]["role"] == "dpo" || b["user"]["role"] == "admin",
            "{b}"
        );
    }
    let table = &with[n - 2].stdout;
    assert!(table.contains("dana (dpo, u1,"), "{table}");
    assert!(
        table.contains("dana (admin, u1,"),
        "init is an admin's act: {table}"
    );
    assert!(without[n - 2].stdout.contains("dana (self-declared)"));

    // Everything else is the same, word for word, code for code, file for file, once the
    // identity mark (the same width in both) is read as the server's.
    let mark = |s: &str| {
        s.replace("(self-declared)", "(authenticated)")
            .replace("\"self_declared\"", "\"authenticated\"")
    };
    // Where the server's identity shows ("by dana (dpo, u1, authenticated)"), it is longer than
    // the declared one and a table wraps differently: those outputs are compared as their words,
    // with the table's borders, the line breaks and the identity marks taken out.
    let flat = |s: &str| {
        s.chars()
            .map(|c| {
                if "│┌┐└┘╞╡═─┬┴┼├┤╪".contains(c) {
                    ' '
                } else {
                    c
                }
            })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            // Who acted, and how they are known, is checked on the log above.
            .replace(" (dpo, u1, authenticated)", "")
            .replace(" (admin, u1, authenticated)", "")
            .replace(" (authenticated)", "")
    };
    for (a, b) in without.iter().zip(&with).take(n - 2) {
        let a = Step {
            words: a.words.clone(),
            code: a.code,
            stdout: mark(&a.stdout),
            stderr: mark(&a.stderr),
        };
        if b.stdout.contains("authenticated)") {
            assert_eq!((&a.words, a.code), (&b.words, b.code));
            assert_eq!(flat(&a.stdout), flat(&b.stdout), "`{}` differs", a.words);
            assert_eq!(a.stderr, b.stderr, "`{}` differs", a.words);
        } else {
            assert_eq!(a, *b, "`{}` differs through the server", a.words);
        }
    }
    assert_eq!(files_without, files_with);
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
}

/// An incident-update file setting the title to `marker`.
fn title_file(env: &TestEnv, name: &str, marker: &str) -> String {
    env.file(name, &json!({ "title": marker }))
}

#[test]
fn ten_commands_at_once_beside_a_server_all_succeed_and_all_are_logged() {
    let env = TestEnv::initialised();
    let ids: Vec<String> = (0..5)
        .map(|_| {
            env.json(&[
                "incident",
                "open",
                "--file",
                &example("incident-ransomware.json"),
            ])["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let _server = Server::start(&env);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(10));
    let mut threads = Vec::new();
    let mut markers = Vec::new();
    for i in 0..10 {
        let id = ids[i % 5].clone();
        let args: Vec<String> = if i < 5 {
            let marker = format!("concurrent update {i} of {id}");
            let file = title_file(&env, &format!("title-{i}.json"), &marker);
            markers.push((id.clone(), marker));
            ["incident", "update", &id, "--file", &file]
                .map(String::from)
                .to_vec()
        } else {
            match i {
                5 => vec!["incident".into(), "show".into(), id],
                6 => vec!["deadlines".into()],
                7 => vec!["audit".into(), "log".into(), id],
                8 => vec!["incident".into(), "list".into()],
                _ => vec![
                    "--format".into(),
                    "json".into(),
                    "incident".into(),
                    "show".into(),
                    id,
                ],
            }
        };
        let mut cmd = spawn_as(&env, &dana, &[]);
        cmd.args(&args);
        let barrier = barrier.clone();
        threads.push(std::thread::spawn(move || {
            barrier.wait();
            let out = cmd.output().unwrap();
            (args.join(" "), out)
        }));
    }
    for t in threads {
        let (words, out) = t.join().unwrap();
        assert!(
            out.status.success(),
            "`{words}` exited {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    as_member(&env, &dana)
        .args(["audit", "verify"])
        .assert()
        .success();
    for (id, marker) in &markers {
        let log = stdout_of(
            &as_member(&env, &dana)
                .args(["--format", "json", "audit", "log", id])
                .assert()
                .success(),
        );
        assert!(log.contains(marker.as_str()), "{id}: `{marker}` not logged");
    }
}

#[test]
fn concurrent_updates_of_one_incident_through_the_server_all_succeed() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let _server = Server::start(&env);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let marker = format!("same-incident update {i}");
            let file = title_file(&env, &format!("same-{i}.json"), &marker);
            let mut cmd = spawn_as(&env, &dana, &["incident", "update", ID, "--file", &file]);
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                (marker, cmd.output().unwrap())
            })
        })
        .collect();
    let mut markers = Vec::new();
    for t in threads {
        let (marker, out) = t.join().unwrap();
        assert!(
            out.status.success(),
            "`{marker}` exited {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        markers.push(marker);
    }
    let log = stdout_of(
        &as_member(&env, &dana)
            .args(["--format", "json", "audit", "log", ID])
            .assert()
            .success(),
    );
    for m in &markers {
        assert!(log.contains(m.as_str()), "`{m}` not logged");
    }
    as_member(&env, &dana)
        .args(["audit", "verify"])
        .assert()
        .success();
}

#[test]
fn without_a_server_the_cli_works_as_before_even_after_a_kill_9() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let server = Server::start(&env);
    let socket = server.socket.clone();
    let pid_file = env.data_dir.join("serve.pid");
    assert!(socket.exists() && pid_file.exists());
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        server.pid().to_string()
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Beside the server, a command without a token is refused: it is not run on its own.
    env.cmd()
        .env_remove("BREACHFLOW_ACTOR")
        .args(["incident", "list"])
        .assert()
        .code(14);
    let update = title_file(&env, "t1.json", "through the server");
    as_member(&env, &dana)
        .args(["incident", "update", ID, "--file", &update])
        .assert()
        .success();

    // Stopped: the socket and pid file are gone and the CLI opens the store itself.
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
    assert!(!socket.exists(), "the socket outlived the server");
    assert!(!pid_file.exists(), "the pid file outlived the server");
    let update = title_file(&env, "t2.json", "after a clean stop");
    env.run(&["incident", "update", ID, "--file", &update])
        .success();
    env.run(&["audit", "verify"]).success();

    // Killed: a stale socket (and pid file) stay behind, and block nothing.
    let server = Server::start(&env);
    server.kill9();
    assert!(socket.exists(), "kill -9 leaves the socket behind");
    let update = title_file(&env, "t3.json", "after a kill");
    let started = Instant::now();
    env.run(&["incident", "update", ID, "--file", &update])
        .success();
    assert!(started.elapsed() < Duration::from_secs(10));
    let log = stdout_of(&env.run(&["--format", "json", "audit", "log", ID]).success());
    for marker in ["through the server", "after a clean stop", "after a kill"] {
        assert!(log.contains(marker), "{marker} not logged");
    }
    env.run(&["audit", "verify"]).success();
    // And a new server starts over the dead one's files.
    let server = Server::start(&env);
    as_member(&env, &dana)
        .args(["incident", "show", ID])
        .assert()
        .success();
    drop(server);
    assert!(!socket.exists());
}

/// The example organisation (no market listing, so no disclosure hold) sending through the
/// test's SMTP server on `port`, with the example incident prepared and the board briefing
/// approved.
fn env_with_smtp(port: u16) -> TestEnv {
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org["smtp"] = json!({
        "host": "127.0.0.1", "port": port, "tls": "none",
        "from": "Larkfield Privacy <privacy@larkfield-vets.example>"
    });
    org["flags"]["markets"] = json!([]);
    env.prepare(&org);
    env.render_and_approve(NOW, ID, "board-briefing");
    env
}

fn outbox(env: &TestEnv, m: &Member) -> Vec<Value> {
    let out = as_member(env, m)
        .args(["--format", "json", "outbox", "--incident", ID])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    v["messages"].as_array().unwrap().clone()
}

#[test]
fn kill_9_of_the_server_under_load_loses_no_acknowledged_write_and_resends_nothing() {
    let (port, mailbox) = Mailbox::start();
    let env = env_with_smtp(port);
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let server = Server::start(&env);

    // A writer loop: updates through the server, each with its own marker.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let (stop, done) = (stop.clone(), done.clone());
        let files: Vec<String> = (0..400)
            .map(|i| title_file(&env, &format!("load-{i}.json"), &format!("load update {i}")))
            .collect();
        let commands: Vec<_> = files
            .iter()
            .map(|f| spawn_as(&env, &dana, &["incident", "update", ID, "--file", f]))
            .collect();
        std::thread::spawn(move || {
            let mut acknowledged = Vec::new();
            for (i, mut cmd) in commands.into_iter().enumerate() {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let out = cmd
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .unwrap();
                if out.success() {
                    acknowledged.push(format!("load update {i}"));
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
            acknowledged
        })
    };

    // The load is on before the send starts, however slow the machine.
    let started = Instant::now();
    while done.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no update got through"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A send to slow@, whose server holds its reply for 3 s: in flight when the server dies.
    let mut send = spawn_as(
        &env,
        &dana,
        &["send", ID, "board-briefing", "--to", "slow@example.com"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let started = Instant::now();
    loop {
        if outbox(&env, &dana)
            .first()
            .is_some_and(|m| m["state"] == "sending")
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the send never reached the mail server"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    server.kill9();
    let sent = send.wait().unwrap();
    assert!(!sent.success(), "the send cannot have been acknowledged");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let acknowledged = writer.join().unwrap();
    assert!(
        !acknowledged.is_empty(),
        "no update got through before the kill"
    );

    let _server = Server::start(&env);
    let log = stdout_of(
        &as_member(&env, &dana)
            .args(["--format", "json", "audit", "log", ID])
            .assert()
            .success(),
    );
    for marker in &acknowledged {
        assert!(
            log.contains(&format!("\"{marker}\"")),
            "`{marker}` was acknowledged but is not in the log"
        );
    }
    as_member(&env, &dana)
        .args(["audit", "verify"])
        .assert()
        .success();
    let m = outbox(&env, &dana)[0].clone();
    assert_eq!(m["state"], "uncertain", "{m}");
    as_member(&env, &dana)
        .args(["outbox", "deliver", "--incident", ID])
        .assert()
        .success();
    // The mail server finishes the interrupted transaction on its own, if its data went out.
    std::thread::sleep(Duration::from_millis(3500));
    assert!(mailbox.count_to("slow@example.com") <= 1);
    assert_eq!(outbox(&env, &dana)[0]["state"], "uncertain");
    as_member(&env, &dana)
        .args(["audit", "verify"])
        .assert()
        .success();
}

#[test]
fn actor_is_refused_through_the_server_and_nothing_is_stored() {
    let env = TestEnv::with_incident();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let _server = Server::start(&env);
    let before = as_member(&env, &dana)
        .args(["--format", "json", "audit", "log"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let update = title_file(&env, "t.json", "an actor's update");
    // --actor on the command line, and BREACHFLOW_ACTOR in the environment.
    let flag = as_member(&env, &dana)
        .args([
            "--actor",
            "Someone Else",
            "incident",
            "update",
            ID,
            "--file",
            &update,
        ])
        .assert()
        .code(2);
    assert!(stderr_of(&flag).contains("--actor"), "{}", stderr_of(&flag));
    let var = as_member(&env, &dana)
        .env("BREACHFLOW_ACTOR", "Someone Else")
        .args(["incident", "update", ID, "--file", &update])
        .assert()
        .code(2);
    assert!(
        stderr_of(&var).contains("BREACHFLOW_ACTOR"),
        "{}",
        stderr_of(&var)
    );
    let json = as_member(&env, &dana)
        .args(["--format", "json", "--actor", "X", "decide", ID, "--accept"])
        .assert()
        .code(2);
    let err: Value = serde_json::from_str(stderr_of(&json).trim()).unwrap();
    assert_eq!(err["error"]["exit"], 2);
    let after = as_member(&env, &dana)
        .args(["--format", "json", "audit", "log"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(before, after, "a refused command stored something");
}
