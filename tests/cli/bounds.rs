//! Bounds of issue 17 through the binary: a send lets go of the store while it waits on a mail
//! server (point 5); nothing is written inside the data directory or through a planted link
//! (point 6); oversized and bidirectional input is refused with its path and limit, and tables
//! stay fast (point 7); approving twice, and `--out` files 0600 (point 8).

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::smtp::Mailbox;
use crate::support::*;

const ID: &str = "BR-2024-0001";

/// The example organisation (not listed, so no disclosure-order hold) sending through the
/// test's SMTP server on `port`.
fn env_with_smtp(port: u16) -> TestEnv {
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org["smtp"] = json!({
        "host": "127.0.0.1", "port": port, "tls": "none",
        "from": "Larkfield Privacy <privacy@larkfield-vets.example>"
    });
    org["flags"]["markets"] = json!([]);
    env.prepare(&org);
    env
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// Point 5 -------------------------------------------------------------------------------------

#[test]
fn while_a_send_waits_on_a_slow_server_other_commands_use_the_store() {
    let (port, mailbox) = Mailbox::start();
    let env = env_with_smtp(port);
    env.render_and_approve(NOW, ID, "board-briefing");
    // The server waits 3 s before it answers the message to slow@.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_breachflow"))
        .env("BREACHFLOW_DATA_DIR", &env.data_dir)
        .env("BREACHFLOW_NOW", NOW)
        .env("BREACHFLOW_TEST_RECORDED_CLOCK", "effective")
        .env("BREACHFLOW_ACTOR", "tester")
        .args(["send", ID, "board-briefing", "--to", "slow@example.com"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Each look at the outbox must itself get in; once the message shows `sending`, the
    // sender is on the wire.
    let start = Instant::now();
    loop {
        let messages = env.json(&["outbox", "--incident", ID])["messages"].clone();
        if messages[0]["state"] == "sending" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the send never reached the server: {messages}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Another person's command, on the same store, during the wait.
    let list = env.run(&["incident", "list"]).success();
    assert!(stdout_of(&list).contains(ID), "{}", stdout_of(&list));
    env.run(&["deadlines"]).success();
    // The outbox seen meanwhile shows the live mark as it is: not taken for a crash.
    assert_eq!(
        env.json(&["outbox", "--incident", ID])["messages"][0]["state"],
        "sending"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the send was still waiting on the server"
    );
    // A second sender is kept out while the first is sending.
    let second = env.run(&["outbox", "deliver", "--incident", ID]).code(3);
    assert!(
        stderr_of(&second).contains("sending mail from the store"),
        "{}",
        stderr_of(&second)
    );
    let status = child.wait().unwrap();
    assert!(status.success());
    assert_eq!(mailbox.count_to("slow@example.com"), 1);
    assert_eq!(
        env.json(&["outbox", "--incident", ID])["messages"][0]["state"],
        "sent"
    );
    env.run(&["audit", "verify"]).success();
}

#[test]
fn a_reader_that_does_not_read_keeps_no_one_out_of_the_store() {
    use std::io::Read;
    let env = TestEnv::with_incident();
    // Enough facts that `incident show` prints more than a pipe holds (64 KiB on Linux).
    let long = "wordy text ".repeat(1_500);
    let update = env.file(
        "long.json",
        &json!({ "details": { "cause": long, "business_impact": long, "prevention": long, "remedial_actions": long } }),
    );
    env.run(&["incident", "update", ID, "--file", &update])
        .success();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_breachflow"))
        .env("BREACHFLOW_DATA_DIR", &env.data_dir)
        .env("BREACHFLOW_NOW", NOW)
        .env("BREACHFLOW_TEST_RECORDED_CLOCK", "effective")
        .args(["--format", "json", "incident", "show", ID])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    // The first byte: the command is writing, and the rest waits for a reader.
    let mut first = [0u8; 1];
    out.read_exact(&mut first).unwrap();
    assert!(
        child.try_wait().unwrap().is_none(),
        "the output is larger than a pipe, so the writer is blocked"
    );
    env.run(&["incident", "list"]).success();
    let mut rest = Vec::new();
    out.read_to_end(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(rest.len() > 64 * 1024, "{} bytes", rest.len() + 1);
}

// Point 6 -------------------------------------------------------------------------------------

#[test]
fn output_inside_the_data_directory_is_refused_however_it_is_named() {
    let env = TestEnv::with_incident();
    let tmp = env.tmp.path();
    std::fs::create_dir(tmp.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(&env.data_dir, tmp.join("link-to-store")).unwrap();
    let db = env.data_dir.join("db");
    let before = std::fs::read(&db).unwrap();
    let named = [
        db.display().to_string(),
        tmp.join("elsewhere/../store/db").display().to_string(),
        tmp.join("link-to-store/db").display().to_string(),
        tmp.join("link-to-store/new-file.txt").display().to_string(),
    ];
    for out in &named {
        let r = env
            .run(&["render", ID, "staff-briefing", "--draft", "--out", out])
            .code(10);
        assert!(
            stderr_of(&r).contains("inside the data directory"),
            "{out}: {}",
            stderr_of(&r)
        );
    }
    let inside = tmp.join("link-to-store/report.csv").display().to_string();
    for args in [
        vec!["report", "adherence", "--out", &inside],
        vec!["calendar", "--out", &inside],
        vec!["register", "export", "--out", &inside],
        vec!["bundle", "export", ID, &inside],
        vec!["schema", "export", &inside],
    ] {
        env.run(&args).code(10);
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the store's file is untouched"
    );
    assert!(!env.data_dir.join("report.csv").exists());
    assert!(!env.data_dir.join("new-file.txt").exists());
    env.run(&["audit", "verify"]).success();
    env.run(&["incident", "list"]).success();
    // Outside the store, the same command writes its file.
    let fine = tmp.join("elsewhere/briefing.txt");
    env.run(&[
        "render",
        ID,
        "staff-briefing",
        "--draft",
        "--out",
        fine.to_str().unwrap(),
    ])
    .success();
    assert_eq!(mode(&fine), 0o600);
}

#[test]
fn a_planted_link_is_never_written_through_and_a_linked_template_is_reported() {
    let env = TestEnv::with_incident();
    let tmp = env.tmp.path();
    let victim = tmp.join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let planted = tmp.join("out.txt");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    for args in [
        vec!["render", ID, "staff-briefing", "--draft", "--out"],
        vec!["calendar", "--out"],
        vec!["register", "export", "--out"],
    ] {
        let mut args = args.clone();
        args.push(planted.to_str().unwrap());
        let r = env.run(&args).code(10);
        assert!(stderr_of(&r).contains("symbolic link"), "{}", stderr_of(&r));
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert_eq!(mode(&victim), 0o644);
    // A template folder with a link in it: the link is not read, and the person is told why.
    let templates = tmp.join("templates");
    std::fs::create_dir(&templates).unwrap();
    std::os::unix::fs::symlink(&victim, templates.join("staff-briefing.hbs")).unwrap();
    let r = env
        .run(&["--templates-dir", templates.to_str().unwrap(), "templates"])
        .success();
    let err = stderr_of(&r);
    assert!(
        err.contains("staff-briefing.hbs")
            && err.contains("symbolic link")
            && err.contains("ignored"),
        "{err}"
    );
}

// Point 7 -------------------------------------------------------------------------------------

#[test]
fn oversized_input_is_refused_with_its_path_and_limit_and_stores_nothing() {
    let env = TestEnv::with_incident();
    let version = env.version(ID);
    // A 2 MB file: refused by size before it is parsed.
    let big = env.file("big.json", &json!({ "summary": "word ".repeat(400_000) }));
    let r = env.run(&["incident", "update", ID, "--file", &big]).code(4);
    assert!(
        stderr_of(&r).contains("the limit is 1048576 bytes"),
        "{}",
        stderr_of(&r)
    );
    // One 400,000-character word: refused at its JSON path, in well under the 7.6 s the
    // table formatting took.
    let word = env.file("word.json", &json!({ "summary": "x".repeat(400_000) }));
    let start = Instant::now();
    let r = env
        .run(&["incident", "update", ID, "--file", &word])
        .code(4);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let err = stderr_of(&r);
    assert!(
        err.contains("/summary") && err.contains("400000 characters") && err.contains("20000"),
        "{err}"
    );
    // A word within the field's length but longer than a header line can fold.
    let word = env.file(
        "word2.json",
        &json!({ "containment": format!("isolated {}", "x".repeat(5_000)) }),
    );
    let err = stderr_of(
        &env.run(&["incident", "update", ID, "--file", &word])
            .code(4),
    );
    assert!(
        err.contains("/containment") && err.contains("word of 5000") && err.contains("300"),
        "{err}"
    );
    // A long title, and a right-to-left override in a title that goes into subjects.
    let title = env.file(
        "title.json",
        &json!({ "title": "T".repeat(201), "details": { "cause": "ok \u{202E}fdp.exe" } }),
    );
    let err = stderr_of(
        &env.run(&["incident", "update", ID, "--file", &title])
            .code(4),
    );
    assert!(err.contains("/title") && err.contains("200"), "{err}");
    assert!(
        err.contains("/details/cause") && err.contains("U+202E"),
        "{err}"
    );
    let mut opened = example_json("incident-ransomware.json");
    opened["title"] = json!("Invoice \u{202E}fdp.exe");
    let err = stderr_of(
        &env.run(&["incident", "open", "--file", &env.file("rtl.json", &opened)])
            .code(4),
    );
    assert!(err.contains("/title") && err.contains("U+202E"), "{err}");
    // A command-line value: bounded too.
    let reason = "r".repeat(30_000);
    env.run(&["incident", "transition", ID, "triage", "--reason", &reason])
        .code(4);
    assert_eq!(env.version(ID), version, "nothing was stored");
    assert_eq!(env.json(&["incident", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn a_huge_or_bidirectional_recipient_name_is_a_bad_row_not_a_header() {
    let (port, mailbox) = Mailbox::start();
    let env = env_with_smtp(port);
    env.render_and_approve(NOW, ID, "subject-notice");
    let huge = "N".repeat(100 * 1024);
    let file = env.text_file(
        "recipients.csv",
        &format!(
            "email,name\nann@example.com,Ann Smith\nbig@example.com,{huge}\nrtl@example.com,Bob \u{202E}gpj.exe\n"
        ),
    );
    let r = env
        .run(&["notify-subjects", ID, "--recipients", &file])
        .success();
    let out = stdout_of(&r);
    assert!(
        out.contains("line 3") && out.contains("recipient name"),
        "{out}"
    );
    assert!(out.contains("line 4") && out.contains("U+202E"), "{out}");
    assert_eq!(mailbox.count_to("ann@example.com"), 1);
    assert_eq!(mailbox.count_to("big@example.com"), 0);
    assert_eq!(mailbox.count_to("rtl@example.com"), 0);
    // What was sent has no header line over RFC 5322's 998 characters.
    for (_, raw) in mailbox.messages() {
        let head = raw.split("\r\n\r\n").next().unwrap();
        assert!(head.split("\r\n").all(|l| l.len() <= 998), "{head}");
    }
}

// Point 8 -------------------------------------------------------------------------------------

#[test]
fn approving_an_approved_version_says_so_and_succeeds() {
    let env = TestEnv::prepared(&example_json("organisation.json"));
    env.run(&["render", ID, "staff-briefing"]).success();
    env.run(&["approve", ID, "staff-briefing"]).success();
    let again = env
        .cmd()
        .env("BREACHFLOW_ACTOR", "someone else")
        .args(["approve", ID, "staff-briefing"])
        .assert()
        .success();
    let said = stdout_of(&again);
    assert!(
        said.contains("already approved") && said.contains("by tester"),
        "{said}"
    );
    let json = env.json(&["approve", ID, "staff-briefing"]);
    assert_eq!(json["already_approved"], true);
    assert_eq!(json["document"]["approval"]["by"], "tester");
    let approvals = env.run(&["--format", "json", "audit", "log", ID]).success();
    assert_eq!(
        stdout_of(&approvals)
            .lines()
            .filter(|l| l.contains("\"document_approved\""))
            .count(),
        1,
        "one approval recorded"
    );
}

#[test]
fn calendar_and_register_written_with_out_are_private_files() {
    let env = TestEnv::with_incident();
    let ics = env.tmp.path().join("deadlines.ics");
    let csv = env.tmp.path().join("register.csv");
    env.run(&["calendar", "--out", ics.to_str().unwrap()])
        .success();
    env.run(&[
        "--format",
        "csv",
        "register",
        "export",
        "--out",
        csv.to_str().unwrap(),
    ])
    .success();
    assert_eq!(mode(&ics), 0o600);
    assert_eq!(mode(&csv), 0o600);
    assert!(
        std::fs::read_to_string(&ics)
            .unwrap()
            .starts_with("BEGIN:VCALENDAR")
    );
    assert!(std::fs::read_to_string(&csv).unwrap().contains(ID));
}
