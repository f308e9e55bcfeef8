//! Evidence an auditor can trust: when a thing happened (effective time) against when it was
//! recorded (the store's clock), the order guards, "recorded later" in what people read, and
//! anchors that catch a store rewritten with every hash recomputed.
//!
//! The recorded clock is fixed through `BREACHFLOW_TEST_RECORDED_CLOCK` (the `test-clock`
//! feature); the effective time with `--now`/`BREACHFLOW_NOW`, as users set it.

use serde_json::Value;

use crate::support::*;

const ID: &str = "BR-2024-0001";

/// The example incident, opened at NOW (Sat 30 Mar 2024 21:45 UTC), recorded at the same time.
fn opened() -> TestEnv {
    TestEnv::with_incident()
}

fn events(env: &TestEnv) -> Vec<Value> {
    env.json(&["incident", "show", ID])["events"]
        .as_array()
        .unwrap()
        .clone()
}

/// Runs at effective time `now` with the store's clock reading `clock`.
fn run_clocked(env: &TestEnv, now: &str, clock: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    env.cmd()
        .env("BREACHFLOW_NOW", now)
        .env("BREACHFLOW_TEST_RECORDED_CLOCK", clock)
        .args(args)
        .assert()
}

/// The example containment update, at effective time `now`, the store's clock reading `clock`.
fn update_containment(env: &TestEnv, now: &str, clock: &str) -> assert_cmd::assert::Assert {
    run_clocked(
        env,
        now,
        clock,
        &[
            "incident",
            "update",
            ID,
            "--file",
            &example("incident-update-containment.json"),
        ],
    )
}

#[test]
fn an_effective_time_in_the_future_is_refused_and_nothing_is_stored() {
    let env = opened();
    let before = env.version(ID);
    // The clock reads Sat 30 Mar 22:00; an update said to happen Mon 1 Apr is in the future.
    let out = update_containment(&env, "2024-04-01T09:00:00Z", "2024-03-30T22:00:00Z").code(4);
    assert!(
        stderr_of(&out).contains("is in the future"),
        "{}",
        stderr_of(&out)
    );
    assert!(
        stderr_of(&out).contains("nothing was stored"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(env.version(ID), before);
    // Within the 5-minute tolerance (clocks of two machines differ) it is accepted.
    update_containment(&env, "2024-03-30T22:04:00Z", "2024-03-30T22:00:00Z").success();
}

#[test]
fn only_intake_facts_may_be_effective_before_the_incident_was_opened() {
    let env = opened();
    let before = env.version(ID);
    // Opened 21:45; containment stamped 21:20 the same evening is before the incident existed.
    let out = env
        .run_at(
            "2024-03-30T21:20:00Z",
            &[
                "incident",
                "update",
                ID,
                "--file",
                &example("incident-update-containment.json"),
            ],
        )
        .code(4);
    assert!(
        stderr_of(&out).contains("before BR-2024-0001 was opened"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(env.version(ID), before);
    // The detection time, corrected with an earlier effective time, is an intake fact: allowed.
    let fix = env.file(
        "detected.json",
        &serde_json::json!({"detected_at": "2024-03-30T19:35:00Z", "note": "the first alert was at 19:35"}),
    );
    env.run_at(
        "2024-03-30T21:20:00Z",
        &["incident", "update", ID, "--file", &fix],
    )
    .success();
    assert_eq!(env.version(ID), before + 1);
}

#[test]
fn no_approval_before_rendering_and_no_filing_before_approval() {
    let env = TestEnv::new();
    env.prepare(&example_json("organisation.json"));
    env.run_at("2024-04-02T09:30:00Z", &["render", ID, "ico-report"])
        .success();
    let before = env.version(ID);
    // Approved at 09:00, half an hour before the version existed: refused.
    let out = env
        .run_at("2024-04-02T09:00:00Z", &["approve", ID, "ico-report"])
        .code(4);
    assert!(
        stderr_of(&out).contains("before it existed"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(env.version(ID), before);
    env.run_as(
        APPROVER,
        "2024-04-02T10:15:00Z",
        &["approve", ID, "ico-report"],
    )
    .success();
    let before = env.version(ID);
    // Filed with --at 10:00, before the 10:15 approval of what it files: refused.
    let out = env
        .run_at(
            "2024-04-02T10:30:00Z",
            &[
                "obligation",
                "complete",
                ID,
                "uk-gdpr-art33/initial",
                "--at",
                "2024-04-02T10:00:00Z",
            ],
        )
        .code(4);
    assert!(
        stderr_of(&out).contains("was approved at 2024-04-02T10:15:00+00:00, later"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(env.version(ID), before);
}

#[test]
fn recorded_time_only_moves_forward_across_processes() {
    let env = opened();
    let update = example("incident-update-containment.json");
    let note = |n: u32| {
        env.file(
            &format!("n{n}.json"),
            &serde_json::json!({"containment": format!("step {n}"), "note": "progress"}),
        )
    };
    // Three processes: the clock reads the same instant twice, then an hour earlier.
    run_clocked(
        &env,
        NOW,
        "2024-03-30T23:00:00Z",
        &["incident", "update", ID, "--file", &update],
    )
    .success();
    run_clocked(
        &env,
        NOW,
        "2024-03-30T23:00:00Z",
        &["incident", "update", ID, "--file", &note(1)],
    )
    .success();
    let back = run_clocked(
        &env,
        NOW,
        "2024-03-30T22:00:00Z",
        &["incident", "update", ID, "--file", &note(2)],
    )
    .success();
    assert!(
        stderr_of(&back).contains("clock is 1 h behind the last recorded event"),
        "a clock an hour back is reported: {}",
        stderr_of(&back)
    );
    let recorded: Vec<String> = events(&env)
        .iter()
        .map(|e| e["recorded_at"].as_str().unwrap().to_string())
        .collect();
    let parsed: Vec<chrono::DateTime<chrono::Utc>> =
        recorded.iter().map(|r| r.parse().unwrap()).collect();
    assert!(
        parsed.windows(2).all(|w| w[0] < w[1]),
        "recorded times strictly increase: {recorded:?}"
    );
    // The later two were recorded a microsecond after their predecessor, not at the clock.
    let n = parsed.len();
    assert_eq!(
        parsed[n - 1] - parsed[n - 2],
        chrono::Duration::microseconds(1)
    );
    env.run(&["audit", "verify"]).success();
}

#[test]
fn a_fact_recorded_later_is_marked_where_people_read_it() {
    let env = opened();
    // Containment done Sat 23:40, written up Sun 08:30: recorded 8 h 50 min later.
    update_containment(&env, "2024-03-30T23:40:00Z", "2024-03-31T08:30:00Z").success();
    let mark =
        "recorded Sun 31 Mar 2024 09:30 BST (+01:00), 8 h 50 min later, by tester (self-declared)";
    for args in [
        vec!["timeline", ID],
        vec!["audit", "log", ID],
        vec!["incident", "show", ID],
    ] {
        // Wide enough that no cell wraps, so the mark reads on one line.
        let out = env
            .cmd()
            .env("COLUMNS", "400")
            .args(&args)
            .assert()
            .success();
        assert!(
            stdout_of(&out).contains(mark),
            "{args:?} does not mark the backfilled fact:\n{}",
            stdout_of(&out)
        );
    }
    // JSON carries both times and the identity.
    let last = events(&env).last().unwrap().clone();
    assert_eq!(last["at"], "2024-03-30T23:40:00Z");
    assert_eq!(last["recorded_at"], "2024-03-31T08:30:00Z");
    assert_eq!(last["identity"], "self_declared");
}

#[test]
fn an_anchor_catches_a_store_rewritten_with_every_hash_recomputed() {
    let env = opened();
    env.assess(ID);
    let out = env.run(&["audit", "anchor"]).success();
    let line = stdout_of(&out).lines().next().unwrap().to_string();
    // Opened, profile, assessment and its obligations: the head is event 4.
    assert!(
        line.starts_with("breachflow-anchor/1 seq=4 hash="),
        "{line}"
    );
    // The anchored log verifies against its anchor, given as the line or as a file.
    env.run(&["audit", "verify", "--anchor", &line]).success();
    let file = env.tmp.path().join("anchor.txt");
    std::fs::write(&file, format!("{line}\n")).unwrap();
    env.run(&["audit", "verify", "--anchor", file.to_str().unwrap()])
        .success();
    // Someone with the files rewrites history: the same steps, another title, every hash
    // recomputed by breachflow itself. The log is internally consistent...
    std::fs::remove_dir_all(&env.data_dir).unwrap();
    env.run(&["init", "--org", &example("organisation.json")])
        .success();
    let mut facts = example_json("incident-ransomware.json");
    facts["title"] = "A minor IT outage".into();
    let forged = env.file("forged.json", &facts);
    env.run(&["incident", "open", "--file", &forged]).success();
    env.assess(ID);
    env.run(&["audit", "verify"]).success();
    // ...but it does not extend the anchored head.
    let out = env.run(&["audit", "verify", "--anchor", &line]).code(9);
    assert!(
        stderr_of(&out).contains("does not extend the anchored head: event 4"),
        "{}",
        stderr_of(&out)
    );
    // A damaged anchor is refused as input, not taken as proof.
    env.run(&[
        "audit",
        "verify",
        "--anchor",
        "breachflow-anchor/1 seq=4 hash=xyz",
    ])
    .code(4);
}

#[test]
fn a_filing_recorded_later_is_marked_in_every_report_format() {
    let env = TestEnv::new();
    env.prepare(&example_json("organisation.json"));
    env.render_and_approve("2024-04-02T10:00:00Z", ID, "ico-report");
    // Filed Tue 2 Apr 11:00 BST (10:00Z) by the DPO's account; written up Fri 5 Apr 09:20Z,
    // 2 d 23 h 20 min later.
    run_clocked(
        &env,
        "2024-04-05T09:20:00Z",
        "2024-04-05T09:20:00Z",
        &[
            "obligation",
            "complete",
            ID,
            "uk-gdpr-art33/initial",
            "--at",
            "2024-04-02T10:00:00Z",
            "--reference",
            "IC-1",
        ],
    )
    .success();
    let later = "2 d 23 h 20 min later, by tester (self-declared)";
    let wide = |args: &[&str]| {
        stdout_of(
            &env.cmd()
                .env("COLUMNS", "400")
                .args(args)
                .assert()
                .success(),
        )
    };
    for format in ["table", "csv", "html"] {
        let text = wide(&["--format", format, "report", "adherence"]);
        assert!(text.contains(later), "adherence as {format}:\n{text}");
    }
    let json = env.json(&["report", "adherence"]);
    let art33 = json["regimes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["regime"] == "uk-gdpr-art33")
        .unwrap()
        .clone();
    assert_eq!(art33["recorded_later"], 1, "{art33}");
    let row = json["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["obligation"] == "uk-gdpr-art33/initial")
        .unwrap()
        .clone();
    assert!(
        row["recorded_later"].as_str().unwrap().contains(later),
        "{row}"
    );
    let csv = wide(&["--format", "csv", "register", "export"]);
    assert!(csv.contains(later), "{csv}");
    let reg = env.json(&["register", "export"]);
    assert!(
        reg["incidents"][0]["ico_filing_recorded_later"]
            .as_str()
            .unwrap()
            .contains(later),
        "{reg}"
    );
}

#[test]
fn an_anchor_can_be_mailed_to_a_role_so_a_copy_leaves_the_machine() {
    let env = opened();
    // The example profile names no SMTP server: mail goes to the outbox folder as .eml files.
    let out = env.run(&["audit", "anchor", "--mail", "board"]).success();
    let line = stdout_of(&out).lines().next().unwrap().to_string();
    let outbox = env.data_dir.join("outbox");
    let mails: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mails.len(), 1, "one anchor mail");
    // Quoted-printable: soft line breaks joined, `=3D` back to `=`.
    let mail = mails[0]
        .replace("=\r\n", "")
        .replace("\r\n", "\n")
        .replace("=3D", "=");
    assert!(
        mail.contains(&line),
        "the mail carries the anchor line:\n{mail}"
    );
    assert!(mail.contains("log anchor, event"), "{mail}");
    env.run(&["audit", "verify", "--anchor", &line]).success();
}

/// An anchor the relay refuses is still recorded, and the command says it was not mailed with a
/// delivery exit code (21: nothing delivered), so a cron job sees it.
#[test]
fn an_anchor_the_relay_refuses_is_recorded_and_exits_with_a_delivery_code() {
    let (port, mailbox) = crate::smtp::Mailbox::start();
    mailbox.set_mode(crate::smtp::Mode::RefuseAll);
    let mut org = example_json("organisation.json");
    org["smtp"] = serde_json::json!({
        "host": "127.0.0.1", "port": port, "tls": "none",
        "from": "privacy@larkfield-vets.example"
    });
    let env = TestEnv::new();
    env.run(&["init", "--org", &env.file("org.json", &org)])
        .success();
    let out = env.run(&["audit", "anchor", "--mail", "board"]).code(21);
    assert!(
        stderr_of(&out).contains("the anchor was recorded but not mailed"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(mailbox.messages().len(), 0);
    // Recorded all the same: the log's last event is the anchor.
    let log = stdout_of(&env.run(&["--format", "json", "audit", "log"]).success());
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["what"]["type"], "anchored", "{last}");
}
