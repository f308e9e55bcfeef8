//! Sending through the binary to a real SMTP server on loopback: approved documents only, at
//! most once, retries and refusals, the disclosure order, crashes mid-send, bulk notices that
//! resume, and reminders once per warning level.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use crate::smtp::Mailbox;
use crate::support::*;

const ID: &str = "BR-2024-0001";

/// The example organisation sending through the test's SMTP server on `port`.
fn env_with_smtp(port: u16, listed: bool) -> TestEnv {
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org["smtp"] = json!({
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "from": "Larkfield Privacy <privacy@larkfield-vets.example>",
        "reply_to": "dpo@larkfield-vets.example"
    });
    if !listed {
        org["flags"]["markets"] = json!([]);
    }
    env.prepare(&org);
    env
}

fn outbox(env: &TestEnv) -> Vec<Value> {
    env.json(&["outbox", "--incident", ID])["messages"]
        .as_array()
        .unwrap()
        .clone()
}

fn fast(env: &TestEnv) -> assert_cmd::Command {
    let mut c = env.cmd();
    c.env("BREACHFLOW_SMTP_BACKOFF_MS", "10");
    c
}

#[test]
fn an_approved_document_is_sent_once_with_both_parts_and_the_attachment() {
    let (port, mailbox) = Mailbox::start();
    let env = env_with_smtp(port, false);
    // Not approved yet: nothing goes out.
    env.run(&["render", ID, "board-briefing"]).success();
    let out = env
        .run(&["send", ID, "board-briefing", "--to", "board"])
        .code(5);
    assert!(
        stderr_of(&out).contains("no approved version"),
        "{}",
        stderr_of(&out)
    );
    assert!(mailbox.messages().is_empty());
    env.run(&["approve", ID, "board-briefing"]).success();
    env.run(&["send", ID, "board-briefing", "--to", "board"])
        .success();
    let messages = mailbox.messages();
    assert_eq!(messages.len(), 1);
    let (to, raw) = &messages[0];
    assert_eq!(to, &vec!["chair@larkfield-vets.example".to_string()]);
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(raw.contains("text/plain"));
    assert!(raw.contains("text/html"));
    assert!(raw.contains("Content-Disposition: attachment"), "{raw}");
    assert!(raw.contains("BR-2024-0001-board-briefing-v1.html"), "{raw}");
    assert!(raw.contains("Subject: Board briefing: Ransomware on practice management servers"));
    assert!(raw.contains("Reply-To: dpo@larkfield-vets.example"));
    // The Message-ID we chose is the one recorded, with the server's reply.
    let m = &outbox(&env)[0];
    assert_eq!(m["state"], "sent");
    let id = m["message_id"].as_str().unwrap();
    assert!(raw.contains(&format!("Message-ID: {id}")), "{raw}");
    assert!(m["reply"].as_str().unwrap().starts_with("250"), "{m}");
    assert_eq!(m["document"]["version"], 1);
    // Sending the same version to the same people again sends nothing.
    let again = env
        .run(&[
            "send",
            ID,
            "board-briefing",
            "--to",
            "board",
            "--to",
            "chair@larkfield-vets.example",
        ])
        .success();
    assert!(
        stdout_of(&again).contains("skipped"),
        "{}",
        stdout_of(&again)
    );
    assert_eq!(mailbox.messages().len(), 1);
    // The event log has it.
    let shown = env.json(&["incident", "show", ID]);
    assert!(
        shown["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["what"]["type"] == "message_changed" && e["what"]["state"] == "sent")
    );
}

#[test]
fn refusals_fail_with_the_servers_words_and_busy_servers_are_retried() {
    let (port, mailbox) = Mailbox::start();
    let env = env_with_smtp(port, false);
    env.render_and_approve(NOW, ID, "board-briefing");
    fast(&env)
        .args([
            "send",
            ID,
            "board-briefing",
            "--to",
            "reject@example.com",
            "--to",
            "busy@example.com",
        ])
        .assert()
        // One refused for good, one delivered: exit 20.
        .code(20);
    let messages = outbox(&env);
    let rejected = messages
        .iter()
        .find(|m| m["to"]["address"] == "reject@example.com")
        .unwrap();
    assert_eq!(rejected["state"], "failed");
    assert!(
        rejected["reply"].as_str().unwrap().contains("550"),
        "{rejected}"
    );
    assert_eq!(
        rejected["attempts"], 1,
        "a permanent refusal is not retried"
    );
    let busy = messages
        .iter()
        .find(|m| m["to"]["address"] == "busy@example.com")
        .unwrap();
    assert_eq!(busy["state"], "sent", "{busy}");
    assert_eq!(busy["attempts"], 3);
    assert_eq!(mailbox.count_to("busy@example.com"), 1);
    assert_eq!(mailbox.count_to("reject@example.com"), 0);
}

#[test]
fn plain_smtp_is_refused_for_a_remote_host() {
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org["smtp"] =
        json!({ "host": "smtp.example.com", "tls": "none", "from": "privacy@example.com" });
    let org = env.file("org.json", &org);
    let out = env.run(&["init", "--org", &org]).code(4);
    assert!(stderr_of(&out).contains("/smtp/tls"), "{}", stderr_of(&out));
}

#[test]
fn the_market_hears_first_and_lifting_a_hold_is_recorded() {
    let (port, mailbox) = Mailbox::start();
    let env = env_with_smtp(port, true);
    env.render_and_approve(NOW, ID, "staff-briefing");
    env.run(&["send", ID, "staff-briefing", "--to", "staff"])
        .success();
    assert!(
        mailbox.messages().is_empty(),
        "held until the market is told"
    );
    let m = outbox(&env)[0].clone();
    assert_eq!(m["state"], "held");
    assert!(m["waiting_on"].as_str().unwrap().contains("market"), "{m}");
    // Releasing needs a reason.
    env.run(&["outbox", "release", m["key"].as_str().unwrap()])
        .code(4);
    // Once the announcement is out, the held message goes.
    env.run(&[
        "incident",
        "trigger",
        ID,
        "inside_information",
        "--at",
        "2024-03-30T21:40:00Z",
    ])
    .success();
    env.render_and_approve(NOW, ID, "market-announcement");
    for o in ["uk-mar-art17/announcement", "aim-rule-11/announcement"] {
        env.run(&[
            "obligation",
            "complete",
            ID,
            o,
            "--sent",
            "--reference",
            "RNS 1234X",
        ])
        .success();
    }
    env.run(&["outbox", "deliver", "--incident", ID]).success();
    assert_eq!(mailbox.count_to("all-staff@larkfield-vets.example"), 1);
    assert_eq!(outbox(&env)[0]["state"], "sent");

    // A second held message, released by a named person with a reason.
    env.render_and_approve(NOW, ID, "board-briefing");
    let rules = json!({"disclosure_order": [{"before": "obligation:uk-gdpr-art33/initial", "after": ["board"]}]});
    let mut org = example_json("organisation.json");
    org["smtp"] = json!({"host": "127.0.0.1", "port": port, "tls": "none", "from": "privacy@larkfield-vets.example"});
    org["disclosure_order"] = rules["disclosure_order"].clone();
    let org = env.file("org2.json", &org);
    env.run(&["init", "--org", &org, "--force"]).success();
    env.run(&["send", ID, "board-briefing", "--to", "board"])
        .success();
    let held = outbox(&env)
        .into_iter()
        .find(|m| m["state"] == "held")
        .unwrap();
    assert!(
        held["waiting_on"]
            .as_str()
            .unwrap()
            .contains("uk-gdpr-art33/initial")
    );
    env.cmd()
        .env("BREACHFLOW_ACTOR", "Margaret Ellis (Chair)")
        .args([
            "outbox",
            "release",
            held["key"].as_str().unwrap(),
            "--reason",
            "The board meets at 9",
        ])
        .assert()
        .success();
    let released = outbox(&env)
        .into_iter()
        .find(|m| m["key"] == held["key"])
        .unwrap();
    assert_eq!(released["state"], "sent");
    assert_eq!(released["hold_lifted_by"], "Margaret Ellis (Chair)");
    assert_eq!(mailbox.count_to("chair@larkfield-vets.example"), 1);
    // Holds, releases and sends: every outbox record is still the fold of its events.
    env.run(&["audit", "verify"]).success();
}

#[test]
fn a_send_killed_mid_transaction_is_uncertain_and_never_resent_by_itself() {
    let (port, mailbox) = Mailbox::start();
    let env = env_with_smtp(port, false);
    env.render_and_approve(NOW, ID, "board-briefing");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_breachflow"))
        .env("BREACHFLOW_DATA_DIR", &env.data_dir)
        .env("BREACHFLOW_NOW", NOW)
        .env("BREACHFLOW_ACTOR", "tester")
        .args(["send", ID, "board-briefing", "--to", "slow@example.com"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The server holds the final reply for 3 s: kill while the message is on the wire.
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    let m = outbox(&env)[0].clone();
    assert_eq!(m["state"], "uncertain", "{m}");
    // Delivering again does not resend it.
    env.run(&["outbox", "deliver", "--incident", ID]).success();
    std::thread::sleep(Duration::from_millis(3500));
    assert!(mailbox.count_to("slow@example.com") <= 1);
    let delivered = mailbox.count_to("slow@example.com");
    assert_eq!(outbox(&env)[0]["state"], "uncertain");
    // A person confirms it arrived.
    env.run(&[
        "outbox",
        "resolve",
        m["key"].as_str().unwrap(),
        "--sent",
        "--note",
        "seen in the server log",
    ])
    .success();
    assert_eq!(outbox(&env)[0]["state"], "sent");
    assert_eq!(mailbox.count_to("slow@example.com"), delivered);
}

fn csv(env: &TestEnv, name: &str, rows: &[&str]) -> String {
    let path = env.tmp.path().join(name);
    std::fs::write(&path, format!("email,name\n{}\n", rows.join("\n"))).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn bulk_notices_are_personalised_checked_and_never_sent_twice() {
    let (port, mailbox) = Mailbox::start();
    let env = env_with_smtp(port, false);
    env.render_and_approve(NOW, ID, "subject-notice");
    let file = csv(
        &env,
        "r.csv",
        &[
            "alice@example.com,Alice Adams",
            "not-an-address,Bob",
            ",Carol",
            "dan@example.com,Dan Dare",
            "alice@example.com,Alice again",
            "reject@example.com,Rita",
            "erin@example.com",
        ],
    );
    // A dry run checks every row, names the bad ones by line, sends and stores nothing.
    let out = env
        .run(&["notify-subjects", ID, "--recipients", &file, "--dry-run"])
        .code(4);
    let text = stdout_of(&out);
    for line in ["line 3:", "line 4:", "line 6:", "line 8:"] {
        assert!(text.contains(line), "{line} not reported:\n{text}");
    }
    assert!(mailbox.messages().is_empty());
    // Rita's address is refused for good: exit 20 (some failed).
    let out = env
        .run(&["notify-subjects", ID, "--recipients", &file, "--batch", "2"])
        .code(20);
    let text = stdout_of(&out);
    assert!(text.contains("Sent 2,"), "{text}");
    assert!(text.contains("failed 1"), "{text}");
    assert_eq!(mailbox.count_to("alice@example.com"), 1);
    assert_eq!(mailbox.count_to("dan@example.com"), 1);
    let alice = mailbox
        .messages()
        .into_iter()
        .find(|(to, _)| to[0] == "alice@example.com")
        .unwrap()
        .1;
    assert!(alice.contains("Dear Alice Adams,"), "{alice}");
    // Run again: nobody hears twice (Alice's second line counts as already having it).
    // Rita still has not got it: still exit 20.
    let out = env
        .run(&["notify-subjects", ID, "--recipients", &file])
        .code(20);
    assert!(
        stdout_of(&out).contains("already sent before 3"),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(mailbox.messages().len(), 2);
    let shown = env.json(&["incident", "show", ID]);
    let runs: Vec<&Value> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["what"]["type"] == "bulk_notices" && e["what"]["finished"] == true)
        .collect();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["what"]["sent"], 2);
}

#[test]
fn a_bulk_run_killed_mid_batch_resumes_without_sending_anyone_twice() {
    let (port, mailbox) = Mailbox::start();
    let env = env_with_smtp(port, false);
    env.render_and_approve(NOW, ID, "subject-notice");
    let mut rows: Vec<String> = (1..=20)
        .map(|i| format!("person{i}@example.com,Person {i}"))
        .collect();
    rows.insert(10, "slow@example.com,Slow".into());
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = csv(&env, "r.csv", &rows);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_breachflow"))
        .env("BREACHFLOW_DATA_DIR", &env.data_dir)
        .env("BREACHFLOW_NOW", NOW)
        .env("BREACHFLOW_ACTOR", "tester")
        .args(["notify-subjects", ID, "--recipients", &file, "--batch", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    let before = mailbox.messages().len();
    assert!(before < 21, "the run was killed before the end");
    // The interrupted batch is uncertain: exit 22.
    let out = env
        .run(&["notify-subjects", ID, "--recipients", &file, "--batch", "4"])
        .code(22);
    let text = stdout_of(&out);
    // Everyone but the interrupted batch's uncertain recipients has it exactly once.
    for i in 1..=20 {
        assert!(
            mailbox.count_to(&format!("person{i}@example.com")) <= 1,
            "person{i} twice"
        );
    }
    assert!(mailbox.count_to("slow@example.com") <= 1);
    let uncertain: usize = text
        .lines()
        .filter(|l| l.contains("uncertain from an interrupted run"))
        .count();
    assert!((1..=4).contains(&uncertain), "{text}");
    let delivered = (1..=20)
        .filter(|i| mailbox.count_to(&format!("person{i}@example.com")) == 1)
        .count();
    assert!(
        delivered >= 20 - uncertain,
        "{delivered} delivered, {uncertain} uncertain:\n{text}"
    );
}

#[test]
fn reminders_go_once_per_warning_level_and_secrets_stay_out_of_the_store() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    env.run(&["decide", ID, "--accept"]).success();
    // Aware 30 Mar 21:10 UTC; the ICO's 72 h: half gone at 1 Apr 09:10, final 10% from 2 Apr 14:00.
    let secret = "s3cret-pa55word-xyz";
    let remind = |now: &str| {
        let out = env
            .cmd()
            .env("BREACHFLOW_NOW", now)
            .env("BREACHFLOW_SMTP_USER", "user")
            .env("BREACHFLOW_SMTP_PASSWORD", secret)
            .args(["--format", "json", "remind"])
            .assert()
            .success();
        serde_json::from_slice::<Value>(&out.get_output().stdout).unwrap()["reminders"]
            .as_array()
            .unwrap()
            .clone()
    };
    let first = remind("2024-04-01T10:00:00Z");
    let ico: Vec<&Value> = first
        .iter()
        .filter(|m| {
            m["subject"]
                .as_str()
                .unwrap()
                .contains("uk-gdpr-art33/initial")
        })
        .collect();
    assert_eq!(ico.len(), 1, "{first:?}");
    assert!(ico[0]["subject"].as_str().unwrap().contains("half"));
    assert_eq!(ico[0]["to"]["address"], "dpo@larkfield-vets.example");
    assert_eq!(ico[0]["state"], "sent");
    assert!(remind("2024-04-01T11:00:00Z").iter().all(|m| {
        !m["subject"]
            .as_str()
            .unwrap()
            .contains("uk-gdpr-art33/initial")
    }));
    let later = remind("2024-04-02T15:00:00Z");
    assert!(
        later.iter().any(|m| m["subject"]
            .as_str()
            .unwrap()
            .contains("uk-gdpr-art33/initial (final 10%)")),
        "{later:?}"
    );
    // Reminders are outbox records too: each the fold of its events.
    env.run(&["audit", "verify"]).success();
    // No server configured: the reminders are .eml files in the outbox folder.
    let outbox = env.data_dir.join("outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox).unwrap().collect();
    assert!(files.len() >= 2);
    // The password reached nothing on disk.
    for dir in [&env.data_dir, &outbox] {
        for entry in walk(dir) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{}",
                entry.display()
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn starttls_with_our_own_authority_and_no_fall_back_to_clear_text() {
    let env = TestEnv::new();
    let (ca, chain, key) = crate::smtp::certificates(env.tmp.path());
    let (port, mailbox) = Mailbox::start_tls(&chain, &key);
    let setup = |env: &TestEnv, ca_file: Option<&str>| {
        let mut org = example_json("organisation.json");
        org["flags"]["markets"] = json!([]);
        org["smtp"] = json!({ "host": "localhost", "port": port, "tls": "starttls", "from": "privacy@larkfield-vets.example" });
        if let Some(ca) = ca_file {
            org["smtp"]["ca_file"] = json!(ca);
        }
        env.prepare(&org);
        // A title in French, with a dash: the subject must travel as an encoded word.
        let title = env.file(
            "t.json",
            &json!({ "title": "Rançongiciel sur les serveurs — cabinet" }),
        );
        env.run(&["incident", "update", ID, "--file", &title])
            .success();
        env.render_and_approve(NOW, ID, "staff-briefing");
    };
    setup(&env, Some(&ca));
    // The TLS server wants authentication; the credentials come from the environment.
    env.cmd()
        .env("BREACHFLOW_SMTP_USER", crate::smtp::USER)
        .env("BREACHFLOW_SMTP_PASSWORD", crate::smtp::PASSWORD)
        .args(["send", ID, "staff-briefing", "--to", "staff"])
        .assert()
        .success();
    let messages = mailbox.messages();
    assert_eq!(messages.len(), 1, "delivered over STARTTLS");
    let raw = &messages[0].1;
    let subject = raw.lines().find(|l| l.starts_with("Subject:")).unwrap();
    assert!(
        subject.is_ascii() && subject.contains("=?utf-8?"),
        "{subject}"
    );
    assert!(
        raw.contains("Rançongiciel") || raw.contains("=?utf-8?"),
        "{raw}"
    );
    // Without our authority the certificate is not trusted: the message fails, nothing is sent
    // in clear instead.
    let other = TestEnv::new();
    setup(&other, None);
    // Nothing delivered: exit 21.
    other
        .run(&["send", ID, "staff-briefing", "--to", "staff"])
        .code(21);
    let m = outbox(&other)[0].clone();
    assert_eq!(m["state"], "failed", "{m}");
    assert_eq!(mailbox.messages().len(), 1);
}

#[test]
fn header_injection_through_names_titles_and_addresses_is_refused() {
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org["contacts"][0]["name"] = json!("Priya\r\nBcc: attacker@example.com");
    let file = env.file("org.json", &org);
    let out = env.run(&["init", "--org", &file]).code(4);
    assert!(
        stderr_of(&out).contains("/contacts/0/name"),
        "{}",
        stderr_of(&out)
    );
    let env = TestEnv::with_incident();
    let title = env.file(
        "t.json",
        &json!({ "title": "Breach\nBcc: attacker@example.com" }),
    );
    let out = env
        .run(&["incident", "update", ID, "--file", &title])
        .code(4);
    assert!(stderr_of(&out).contains("/title"), "{}", stderr_of(&out));
    env.assess(ID);
    env.run(&["decide", ID, "--accept"]).success();
    env.answer(ID);
    env.render_and_approve(NOW, ID, "board-briefing");
    env.run(&[
        "send",
        ID,
        "board-briefing",
        "--to",
        "x@example.com\r\nBcc: attacker@example.com",
    ])
    .code(4);
    // A CSV name with a line break is a bad row, not a header.
    env.render_and_approve(NOW, ID, "subject-notice");
    let path = env.tmp.path().join("r.csv");
    std::fs::write(
        &path,
        "email,name\nok@example.com,\"Ann\r\nBcc: attacker@example.com\"\n",
    )
    .unwrap();
    let out = env
        .run(&[
            "notify-subjects",
            ID,
            "--recipients",
            path.to_str().unwrap(),
            "--dry-run",
        ])
        .code(4);
    assert!(stdout_of(&out).contains("line 2:"), "{}", stdout_of(&out));
}

#[test]
fn outbox_files_are_named_by_date_incident_document_and_recipient() {
    let env = TestEnv::prepared(&example_json("organisation.json"));
    env.render_and_approve(NOW, ID, "board-briefing");
    env.run(&["send", ID, "board-briefing", "--to", "board"])
        .success();
    let names: Vec<String> = walk(&env.data_dir.join("outbox"))
        .into_iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
        .filter(|n| n.ends_with(".eml"))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let date = &NOW[..10];
    assert!(
        names[0].starts_with(&format!(
            "{date}_BR-2024-0001-board-briefing-v1_chair-at-larkfield-vets.example_"
        )),
        "{names:?}"
    );
    let mode = std::fs::metadata(env.data_dir.join("outbox").join(&names[0]))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Issue 16 point 12: a domain without a dot is a bad row in the dry run and the real run
/// alike; a dry run shows its progress on stderr (counts only); a run after which every row has
/// the notice names the one command that records the Art 34 duty, and that command works.
#[test]
fn bulk_refuses_a_domain_without_a_dot_shows_progress_and_says_how_to_complete_art34() {
    let (port, mailbox) = Mailbox::start();
    let env = env_with_smtp(port, false);
    // The DPO decides to tell the people affected: the Art 34 duty is owed.
    env.run(&[
        "decide",
        ID,
        "--subjects",
        "yes",
        "--reason",
        "passwords were taken; people should change them elsewhere",
    ])
    .success();
    env.render_and_approve(NOW, ID, "subject-notice");
    let file = csv(
        &env,
        "r.csv",
        &[
            "alice@example.com,Alice Adams",
            "bob@example,Bob Brown",
            "carol@example.com,Carol Cole",
        ],
    );
    let out = env
        .cmd()
        .env("BREACHFLOW_PROGRESS_EVERY", "1")
        .args(["notify-subjects", ID, "--recipients", &file, "--dry-run"])
        .assert()
        .code(4);
    let text = stdout_of(&out);
    assert!(
        text.contains("line 3: \"bob@example\" has no domain"),
        "{text}"
    );
    let progress = stderr_of(&out);
    for n in 1..=3 {
        assert!(
            progress.contains(&format!("notify-subjects: {n} rows checked, 0 sent")),
            "{progress}"
        );
    }
    assert!(!progress.contains("alice"), "{progress}");
    // The real run refuses the same row, and says nothing of completing: a row is missing.
    let out = env
        .run(&["notify-subjects", ID, "--recipients", &file])
        .success();
    let text = stdout_of(&out);
    assert!(
        text.contains("line 3: \"bob@example\" has no domain"),
        "{text}"
    );
    assert!(text.contains("Sent 2,"), "{text}");
    assert!(!text.contains("obligation complete"), "{text}");
    assert_eq!(mailbox.count_to("bob@example"), 0);
    // Bob's address corrected: he is sent the notice, and every row now has it.
    let fixed = csv(
        &env,
        "fixed.csv",
        &[
            "alice@example.com,Alice Adams",
            "bob@example.com,Bob Brown",
            "carol@example.com,Carol Cole",
        ],
    );
    let report = env.json(&["notify-subjects", ID, "--recipients", &fixed]);
    assert_eq!(report["tally"]["sent"], 1, "{report}");
    let next = report["to_complete"].as_array().unwrap();
    assert_eq!(
        next.len(),
        1,
        "{report}\n{}",
        env.json(&["obligation", "list", ID])
    );
    assert_eq!(next[0]["obligation"], "uk-gdpr-art34/notice");
    let command = next[0]["command"].as_str().unwrap();
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    env.run(&args).success();
    let obligations = env.json(&["obligation", "list", ID]);
    let art34 = obligations["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "uk-gdpr-art34/notice")
        .unwrap();
    assert_eq!(art34["state"], "sent", "{art34}");
    // Once completed, a further run has nothing left to complete.
    let out = env
        .run(&["notify-subjects", ID, "--recipients", &fixed])
        .success();
    assert!(!stdout_of(&out).contains("obligation complete"));
}

/// An address whose domain has no dot (`bob@example`) is refused wherever an address is given
/// by hand, as the bulk rows refuse it; nothing is queued.
#[test]
fn a_single_send_or_an_address_list_refuses_a_domain_without_a_dot() {
    let env = TestEnv::prepared(&example_json("organisation.json"));
    env.render_and_approve(NOW, ID, "board-briefing");
    let out = env
        .run(&["send", ID, "board-briefing", "--to", "bob@example"])
        .code(4);
    assert!(
        stderr_of(&out).contains("no dot after the @"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(env.json(&["outbox"])["messages"], json!([]));
}
