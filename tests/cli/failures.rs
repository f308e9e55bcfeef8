//! Failures a person can finish, through the binary and a real SMTP server on loopback: each
//! delivery failure exits with its own code; a relay that refused everyone is retried once fixed
//! with `--retry-failed`; a killed bulk run is settled with `outbox resolve --bulk`; a corrected
//! notice reaches earlier recipients only when asked. Every address is delivered at most once,
//! counted by the server.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::smtp::{Mailbox, Mode};
use crate::support::*;

const ID: &str = "BR-2024-0001";

/// The example organisation, not listed, sending through 127.0.0.1:`port`.
fn env_on(port: u16) -> TestEnv {
    let mut org = example_json("organisation.json");
    org["flags"]["markets"] = json!([]);
    org["smtp"] = json!({
        "host": "127.0.0.1", "port": port, "tls": "none",
        "from": "Larkfield Privacy <privacy@larkfield-vets.example>"
    });
    TestEnv::prepared(&org)
}

fn fast(env: &TestEnv) -> assert_cmd::Command {
    let mut c = env.cmd();
    c.env("BREACHFLOW_SMTP_BACKOFF_MS", "5");
    c
}

fn people(env: &TestEnv, n: usize) -> (String, Vec<String>) {
    let addresses: Vec<String> = (1..=n).map(|i| format!("person{i}@example.com")).collect();
    let mut text = "email,name\n".to_string();
    for (i, a) in addresses.iter().enumerate() {
        text.push_str(&format!("{a},Person {}\n", i + 1));
    }
    (env.text_file("people.csv", &text), addresses)
}

/// The per-recipient report as CSV rows (header dropped): (address, state, version).
fn report(env: &TestEnv) -> Vec<(String, String, String)> {
    let out = env
        .run(&["outbox", "recipients", ID, "subject-notice", "--csv"])
        .success();
    let text = stdout_of(&out);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("line,address,state,version,at,message_id,reply_or_reason")
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[2].to_string(), f[3].to_string())
        })
        .collect()
}

#[test]
fn each_kind_of_delivery_failure_has_its_own_exit_code() {
    let (port, mailbox) = Mailbox::start();
    let env = env_on(port);
    env.render_and_approve(NOW, ID, "board-briefing");
    // A permanent refusal, alone: nothing delivered.
    let out = fast(&env)
        .args(["send", ID, "board-briefing", "--to", "reject@example.com"])
        .assert()
        .code(21);
    assert!(stderr_of(&out).contains("1 refused"), "{}", stderr_of(&out));
    // One refused, one delivered: some failed.
    fast(&env)
        .args([
            "send",
            ID,
            "board-briefing",
            "--to",
            "reject@example.net",
            "--to",
            "ok@example.com",
        ])
        .assert()
        .code(20);
    assert_eq!(mailbox.count_to("ok@example.com"), 1);
    // A relay deferring everyone (451 on every attempt): nothing delivered.
    mailbox.set_mode(Mode::DeferAll);
    fast(&env)
        .args(["send", ID, "board-briefing", "--to", "later@example.com"])
        .assert()
        .code(21);
    // Once it recovers, the deferred message goes and the command succeeds.
    mailbox.set_mode(Mode::Normal);
    fast(&env)
        .args(["outbox", "deliver", "--incident", ID])
        .assert()
        .success();
    assert_eq!(mailbox.count_to("later@example.com"), 1);
    // Success is still 0.
    fast(&env)
        .args(["send", ID, "board-briefing", "--to", "fine@example.com"])
        .assert()
        .success();

    // A refused connection (nothing listens on the port): nothing delivered.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let env = env_on(closed);
    env.render_and_approve(NOW, ID, "board-briefing");
    let out = fast(&env)
        .args(["send", ID, "board-briefing", "--to", "board"])
        .assert()
        .code(21);
    assert!(
        stderr_of(&out).contains("not accepted yet"),
        "{}",
        stderr_of(&out)
    );
    env.render_and_approve(NOW, ID, "subject-notice");
    let (file, _) = people(&env, 3);
    fast(&env)
        .args(["notify-subjects", ID, "--recipients", &file])
        .assert()
        .code(21);
}

#[test]
fn a_relay_that_refused_everyone_is_retried_once_fixed_and_each_address_gets_it_once() {
    let (port, mailbox) = Mailbox::start();
    let env = env_on(port);
    env.render_and_approve(NOW, ID, "subject-notice");
    let (file, addresses) = people(&env, 20);
    mailbox.set_mode(Mode::RefuseAll);
    let out = env
        .run(&["notify-subjects", ID, "--recipients", &file, "--batch", "8"])
        .code(21);
    assert!(stdout_of(&out).contains("Sent 0,"), "{}", stdout_of(&out));
    assert!(stdout_of(&out).contains("failed 20"), "{}", stdout_of(&out));
    assert!(
        report(&env).iter().all(|(_, state, _)| state == "failed"),
        "{:?}",
        report(&env)
    );
    // The relay is fixed. A plain re-run still sends nobody: a refusal stands until asked.
    mailbox.set_mode(Mode::Normal);
    env.run(&["notify-subjects", ID, "--recipients", &file])
        .code(21);
    assert!(mailbox.messages().is_empty());
    // --retry-failed delivers each address exactly once.
    let out = env
        .run(&[
            "notify-subjects",
            ID,
            "--recipients",
            &file,
            "--retry-failed",
            "--batch",
            "8",
        ])
        .success();
    assert!(stdout_of(&out).contains("Sent 20,"), "{}", stdout_of(&out));
    for a in &addresses {
        assert_eq!(mailbox.count_to(a), 1, "{a}");
    }
    // Again: nobody hears twice.
    env.run(&[
        "notify-subjects",
        ID,
        "--recipients",
        &file,
        "--retry-failed",
    ])
    .success();
    assert_eq!(mailbox.messages().len(), 20);
    let rows = report(&env);
    assert_eq!(rows.len(), 20);
    assert!(
        rows.iter().all(|(_, s, v)| s == "sent" && v == "1"),
        "{rows:?}"
    );
    // The retry is on the record: the retried marks say why.
    let shown = env.json(&["incident", "show", ID]);
    let retried = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["what"]["type"] == "bulk_recipients" && e["what"]["step"] == "sending")
        .flat_map(|e| e["what"]["recipients"].as_array().unwrap().clone())
        .filter(|r| {
            r["note"].as_str().is_some_and(|n| {
                n.starts_with("retry after a permanent failure") && n.contains("554")
            })
        })
        .count();
    assert_eq!(retried, 20);
    env.run(&["audit", "verify"]).success();
}

/// Waits until the server has accepted a message for `address`.
fn wait_for(mailbox: &Mailbox, address: &str) {
    let start = Instant::now();
    while mailbox.count_to(address) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{address} never arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_bulk_run_is_settled_by_a_person_and_everyone_ends_known_and_served_once() {
    let (port, mailbox) = Mailbox::start();
    let env = env_on(port);
    env.render_and_approve(NOW, ID, "subject-notice");
    let mut addresses: Vec<String> = (1..=19).map(|i| format!("person{i}@example.com")).collect();
    // In the third batch of four, after two others; the server holds its reply for 3 s.
    addresses.insert(10, "slow@example.com".into());
    let mut text = "email,name\n".to_string();
    for a in &addresses {
        text.push_str(&format!("{a},Someone\n"));
    }
    let file = env.text_file("people.csv", &text);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_breachflow"))
        .env("BREACHFLOW_DATA_DIR", &env.data_dir)
        .env("BREACHFLOW_NOW", NOW)
        .env("BREACHFLOW_ACTOR", "tester")
        .env("BREACHFLOW_TEST_RECORDED_CLOCK", "effective")
        .args(["notify-subjects", ID, "--recipients", &file, "--batch", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed while the server holds slow@'s reply.
    wait_for(&mailbox, "person10@example.com");
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    // The server finishes slow@'s transaction on its own (3 s), if its data had gone out.
    let start = Instant::now();
    while mailbox.count_to("slow@example.com") == 0 && start.elapsed() < Duration::from_secs(4) {
        std::thread::sleep(Duration::from_millis(20));
    }

    // The next run sends the rest and leaves the batch in flight uncertain: exit 22.
    let out = env
        .run(&["notify-subjects", ID, "--recipients", &file, "--batch", "4"])
        .code(22);
    assert!(
        stdout_of(&out).contains("uncertain from an interrupted run"),
        "{}",
        stdout_of(&out)
    );
    let uncertain: Vec<String> = report(&env)
        .into_iter()
        .filter(|(_, s, _)| s == "uncertain")
        .map(|(a, _, _)| a)
        .collect();
    assert_eq!(
        uncertain,
        [
            "person9@example.com",
            "person10@example.com",
            "slow@example.com",
            "person11@example.com"
        ]
    );

    // The decision needs confirmation: without --yes (and no terminal) nothing is recorded.
    let out = env
        .run(&[
            "outbox",
            "resolve",
            ID,
            "--bulk",
            "subject-notice",
            "--uncertain",
            "--sent",
        ])
        .code(4);
    assert!(
        stderr_of(&out).contains("person9@example.com"),
        "the list is shown first: {}",
        stderr_of(&out)
    );
    assert_eq!(
        report(&env)
            .iter()
            .filter(|(_, s, _)| s == "uncertain")
            .count(),
        4
    );

    // The server's log shows who got it: those are confirmed, the rest resent.
    let delivered: Vec<&String> = uncertain
        .iter()
        .filter(|a| mailbox.count_to(a) == 1)
        .collect();
    // person9 and person10 for sure, slow@ if its data went out before the kill.
    assert!((2..=3).contains(&delivered.len()), "{delivered:?}");
    let log = env.text_file(
        "delivered.txt",
        &delivered
            .iter()
            .map(|a| format!("{a}\n"))
            .collect::<String>(),
    );
    // The DPO settles the uncertain: those in the relay's log as sent, the rest resent.
    let settle = |how: &[&str]| {
        let mut args = vec![
            "outbox",
            "resolve",
            ID,
            "--bulk",
            "subject-notice",
            "--uncertain",
        ];
        args.extend_from_slice(how);
        args.push("--yes");
        env.cmd()
            .env("BREACHFLOW_ACTOR", "Margaret Ellis (DPO)")
            .args(&args)
            .assert()
            .success();
    };
    settle(&["--only", &log, "--sent", "--note", "in the relay's log"]);
    settle(&["--resend"]);
    // Recorded with who decided.
    let shown = env.json(&["incident", "show", ID]);
    let decisions: Vec<&Value> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["what"]["type"] == "bulk_recipients"
                && matches!(e["what"]["step"].as_str(), Some("confirmed" | "resend"))
        })
        .collect();
    assert_eq!(decisions.len(), 2);
    assert!(
        decisions
            .iter()
            .all(|e| e["actor"] == "Margaret Ellis (DPO)")
    );

    // The next run sends the resent one; then everyone is sent, each address exactly once.
    env.run(&["notify-subjects", ID, "--recipients", &file, "--batch", "4"])
        .success();
    let rows = report(&env);
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|(_, s, _)| s == "sent"), "{rows:?}");
    for a in &addresses {
        assert_eq!(mailbox.count_to(a), 1, "{a}");
    }
    env.run(&["audit", "verify"]).success();
}

#[test]
fn a_corrected_notice_reaches_earlier_recipients_only_with_the_flag_and_says_so() {
    let (port, mailbox) = Mailbox::start();
    let env = env_on(port);
    env.render_and_approve(NOW, ID, "subject-notice");
    let (file, addresses) = people(&env, 3);
    env.run(&["notify-subjects", ID, "--recipients", &file])
        .success();
    // A corrected version: rendered again after a fact changed, and approved.
    let fix = env.file(
        "fix.json",
        &json!({ "details": { "subject_contact": "our helpline on 0800 000 1111" } }),
    );
    env.run(&["incident", "update", ID, "--file", &fix])
        .success();
    env.render_and_approve(NOW, ID, "subject-notice");
    let out = env
        .run(&["notify-subjects", ID, "--recipients", &file])
        .success();
    assert!(
        stdout_of(&out).contains("--corrected-to-previous-recipients"),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(mailbox.messages().len(), 3);
    env.run(&[
        "notify-subjects",
        ID,
        "--recipients",
        &file,
        "--corrected-to-previous-recipients",
    ])
    .success();
    for a in &addresses {
        assert_eq!(mailbox.count_to(a), 2, "{a}");
    }
    // The text as a reader sees it: quoted-printable soft line breaks joined.
    let corrected = mailbox
        .messages()
        .into_iter()
        .map(|(to, raw)| (to, raw.replace("=\r\n", "").replace("=\n", "")))
        .filter(|(_, raw)| raw.contains("0800 000 1111"))
        .collect::<Vec<_>>();
    assert_eq!(corrected.len(), 3);
    assert!(
        corrected
            .iter()
            .all(|(_, raw)| raw.contains("corrects the notice we sent you")),
        "{}",
        corrected[0].1
    );
    // At most once per version: asking again sends nothing.
    env.run(&[
        "notify-subjects",
        ID,
        "--recipients",
        &file,
        "--corrected-to-previous-recipients",
    ])
    .success();
    assert_eq!(mailbox.messages().len(), 6);
    assert!(report(&env).iter().all(|(_, s, v)| s == "sent" && v == "2"));
}
