//! Regimes, obligations and clocks through the binary. Every expected instant is worked out by
//! hand from the cited rule in the comment beside it, not by calling the code under test.

use serde_json::{Value, json};

use crate::support::*;

const ID: &str = "BR-2024-0001";

fn obligations(env: &TestEnv) -> Vec<Value> {
    env.json(&["obligation", "list", ID])["obligations"]
        .as_array()
        .unwrap()
        .clone()
}

fn obligation(env: &TestEnv, id: &str) -> Value {
    obligations(env)
        .into_iter()
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("no obligation {id}"))
}

fn due_at(o: &Value) -> String {
    assert_eq!(o["due"]["kind"], "at", "{o}");
    o["due"]["at"].as_str().unwrap().to_string()
}

/// An organisation that every shipped regime applies to.
fn everything_org(env: &TestEnv) -> String {
    let mut org = example_json("organisation.json");
    org["flags"] = json!({
        "communications_provider": true,
        "nis": "operator_of_essential_services",
        "nis2": "essential",
        "markets": ["aim", "us_exchange"],
        "sec_registrant": true,
        "eu_establishments": ["IE"],
        "financial_entity": true,
        "hipaa": "covered_entity",
        "australian_privacy_act": true
    });
    env.file("org-all.json", &org)
}

fn high_risk(env: &TestEnv) -> String {
    let mut a = example_json("assessment-ransomware.json");
    a["data_categories"] = json!(["health"]);
    a["circumstances"]["confidentiality"] = "disclosure".into();
    env.file("high.json", &a)
}

/// A store whose organisation every shipped regime applies to, with the example incident
/// assessed as high risk and the decision to notify taken at `at`.
fn decided_under_every_regime(at: &str) -> TestEnv {
    let env = TestEnv::new();
    env.run(&["init", "--org", &everything_org(&env)]).success();
    env.run(&[
        "incident",
        "open",
        "--file",
        &example("incident-ransomware.json"),
    ])
    .success();
    env.run_at(at, &["assess", ID, "--file", &high_risk(&env)])
        .success();
    env.run_at(at, &["decide", ID, "--accept"]).success();
    env
}

#[test]
fn each_regime_runs_its_own_clock() {
    let later = "2024-07-05T12:00:00Z";
    let env = decided_under_every_regime(later);
    for (anchor, at) in [
        ("classified_major", "2024-03-31T09:00:00Z"),
        ("significant_impact", "2024-03-31T09:00:00Z"),
        ("discovered", "2024-04-01T10:00:00Z"),
        ("materiality_determined", "2024-07-03T19:00:00Z"),
        ("inside_information", "2024-03-31T15:30:00Z"),
        ("eligible_breach", "2024-04-02T08:00:00Z"),
    ] {
        env.run_at(
            later,
            &[
                "incident",
                "trigger",
                ID,
                anchor,
                "--at",
                at,
                "--by",
                "Margaret Ellis",
                "--note",
                "Test: the board's finding",
            ],
        )
        .success();
    }
    let expected = [
        // Aware Sat 30 Mar 2024 21:10 GMT + 72 elapsed hours, across the 31 Mar clock change.
        ("uk-gdpr-art33/initial", "2024-04-02T21:10:00Z"),
        ("eu-gdpr-art33/initial", "2024-04-02T21:10:00Z"),
        // Aware 30 Mar 2024 is before 20 Aug 2025: the 24-hour PECR rule, from "detection",
        // which Reg 611/2013 Art 2(2) defines as sufficient awareness (21:10), not the 19:40
        // alert: 21:10Z + 24 h.
        ("pecr-reg5a-2011/initial", "2024-03-31T21:10:00Z"),
        ("uk-nis-oes/notification", "2024-04-02T21:10:00Z"),
        // Determined Wed 3 Jul 2024 15:00 EDT (day 0); Thu 4 Jul holiday, weekend skipped:
        // Fri 5 (1), Mon 8 (2), Tue 9 (3), Wed 10 (4); 17:30 EDT = 21:30 UTC.
        ("sec-8k-item105/filing", "2024-07-10T21:30:00Z"),
        // Discovered Mon 1 Apr (London date) + 60 days = Fri 31 May, 23:59 BST = 22:59 UTC.
        ("hipaa-individuals/notice", "2024-05-31T22:59:00Z"),
        ("hipaa-hhs-500/notice", "2024-05-31T22:59:00Z"),
        ("hipaa-media/notice", "2024-05-31T22:59:00Z"),
        // Aware Sat 30 Mar + 30 days = Mon 29 Apr, 23:59 BST = 22:59 UTC.
        ("au-ndb/assessment", "2024-04-29T22:59:00Z"),
    ];
    let env_obligations = obligations(&env);
    for (id, at) in expected {
        let o = env_obligations
            .iter()
            .find(|o| o["id"] == id)
            .unwrap_or_else(|| panic!("no {id}"));
        assert_eq!(due_at(o), at, "{id}");
        assert_eq!(o["statutory"], true, "{id}");
    }
    // The second PECR notice runs 3 days from the initial notification (Art 2(3)): not yet.
    let second = env_obligations
        .iter()
        .find(|o| o["id"] == "pecr-reg5a-2011/second")
        .unwrap();
    assert_eq!(second["due"]["kind"], "not_started", "{second}");
    // Standards: no statutory deadline invented, an internal target shown as such.
    for id in [
        "uk-gdpr-art34/notice",
        "uk-mar-art17/announcement",
        "au-ndb/oaic-statement",
    ] {
        let o = env_obligations
            .iter()
            .find(|o| o["id"] == id)
            .unwrap_or_else(|| panic!("no {id}"));
        assert_eq!(o["due"]["kind"], "standard", "{id}");
        assert_eq!(o["statutory"], false, "{id}");
    }
    // Not in force on the day of awareness: the post-2025 PECR rule, NIS2 (from 18 Oct 2024).
    assert!(
        env_obligations
            .iter()
            .all(|o| o["id"] != "pecr-reg5a/initial")
    );
    assert!(
        env_obligations
            .iter()
            .all(|o| !o["id"].as_str().unwrap().starts_with("nis2"))
    );
    // Nor DORA (from 17 Jan 2025).
    assert!(
        env_obligations
            .iter()
            .all(|o| !o["id"].as_str().unwrap().starts_with("dora"))
    );
}

#[test]
fn the_pecr_rule_follows_the_day_of_awareness() {
    let env = TestEnv::new();
    env.run(&["init", "--org", &everything_org(&env)]).success();
    let mut facts = example_json("incident-ransomware.json");
    facts["detected_at"] = "2025-09-01T08:00:00Z".into();
    facts["aware_at"] = "2025-09-01T10:00:00Z".into();
    facts["occurred"] = json!({});
    let path = env.file("i.json", &facts);
    let now = "2025-09-01T12:00:00Z";
    let out = env
        .cmd()
        .env("BREACHFLOW_NOW", now)
        .args(["--format", "json", "incident", "open", "--file", &path])
        .assert()
        .success();
    let id: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let id = id["id"].as_str().unwrap().to_string();
    env.run_at(
        now,
        &[
            "assess",
            &id,
            "--file",
            &example("assessment-ransomware.json"),
        ],
    )
    .success();
    // NIS2 clocks run only for an incident classified as significant (Art 23(3)): recorded
    // with who decided and why.
    env.run_at(
        now,
        &[
            "incident",
            "trigger",
            &id,
            "classified_significant",
            "--at",
            "2025-09-01T10:30:00Z",
            "--by",
            "CISO",
            "--note",
            "Severe operational disruption",
        ],
    )
    .success();
    let list = env
        .cmd()
        .env("BREACHFLOW_NOW", now)
        .args(["--format", "json", "obligation", "list", &id])
        .assert()
        .success();
    let list: Value = serde_json::from_slice(&list.get_output().stdout).unwrap();
    let ids: Vec<_> = list["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.contains(&"pecr-reg5a/initial".to_string()), "{ids:?}");
    assert!(
        !ids.iter().any(|i| i.starts_with("pecr-reg5a-2011")),
        "{ids:?}"
    );
    let pecr = list["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "pecr-reg5a/initial")
        .unwrap()
        .clone();
    // 72 hours from awareness (10:00 UTC on 1 Sep 2025).
    assert_eq!(due_at(&pecr), "2025-09-04T10:00:00Z");
    let find = |id: &str| {
        list["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == id)
            .unwrap()
            .clone()
    };
    // NIS2 is in force by then: early warning 24 h, notification 72 h after awareness.
    assert_eq!(
        due_at(&find("nis2-art23/early-warning")),
        "2025-09-02T10:00:00Z"
    );
    assert_eq!(
        due_at(&find("nis2-art23/notification")),
        "2025-09-04T10:00:00Z"
    );
    // A clock that waits on an earlier step has not started.
    assert_eq!(
        find("nis2-art23/final")["due"],
        json!({"kind": "not_started", "waiting_on": "previous_phase"})
    );
    // DORA before classification as major: no duty yet (only major incidents are reported).
    assert!(!ids.iter().any(|i| i.starts_with("dora")), "{ids:?}");
    // Classified at 11:00 UTC: 4 hours later, 15:00, is before the backstop.
    env.run_at(
        now,
        &[
            "incident",
            "trigger",
            &id,
            "classified_major",
            "--at",
            "2025-09-01T11:00:00Z",
            "--by",
            "CRO",
            "--note",
            "Criteria of Delegated Regulation (EU) 2024/1772 met",
        ],
    )
    .success();
    let list = env
        .cmd()
        .env("BREACHFLOW_NOW", now)
        .args(["--format", "json", "obligation", "list", &id])
        .assert()
        .success();
    let list: Value = serde_json::from_slice(&list.get_output().stdout).unwrap();
    let dora = list["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "dora-major-ict/initial")
        .unwrap()
        .clone();
    assert_eq!(due_at(&dora), "2025-09-01T15:00:00Z");
}

#[test]
fn correcting_awareness_moves_the_clock_until_the_report_is_filed() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    assert_eq!(
        due_at(&obligation(&env, "uk-gdpr-art33/initial")),
        "2024-04-02T21:10:00Z"
    );
    // Awareness corrected to 20:00 UTC: due 72 h later, 2 Apr 20:00 UTC.
    let path = env.file("u.json", &json!({ "aware_at": "2024-03-30T20:00:00Z" }));
    env.run(&["incident", "update", ID, "--file", &path])
        .success();
    assert_eq!(
        due_at(&obligation(&env, "uk-gdpr-art33/initial")),
        "2024-04-02T20:00:00Z"
    );
    let shown = env.json(&["incident", "show", ID]);
    let change = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["what"]["type"] == "dues_changed")
        .unwrap()
        .clone();
    let ico = change["what"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["obligation"] == "uk-gdpr-art33/initial")
        .unwrap()
        .clone();
    assert_eq!(
        ico["old"]["at"],
        "2024-03-30T21:10:00Z".replace("03-30T21", "04-02T21")
    );
    assert_eq!(ico["new"]["at"], "2024-04-02T20:00:00Z");

    env.run(&["decide", ID, "--accept"]).success();
    env.answer(ID);
    env.render_and_approve("2024-04-02T19:00:00Z", ID, "ico-report");
    // Filed at 20:30 on 2 Apr: 30 minutes late. The version approved at 19:00 was prepared on
    // time and so gives no reasons for the delay (UK GDPR Art 33(1)): refused.
    let late = "2024-04-02T20:30:00Z";
    let out = env
        .run_at(
            "2024-04-03T09:00:00Z",
            &[
                "obligation",
                "complete",
                ID,
                "uk-gdpr-art33/initial",
                "--at",
                late,
                "--reference",
                "IC-1",
                "--late-reason",
                "Systems down; helpline closed over Easter",
            ],
        )
        .failure();
    assert!(
        stderr_of(&out).contains("does not give the reasons for the delay"),
        "{}",
        stderr_of(&out)
    );
    // Rendered again at 20:10, after the deadline, it is a draft until the reasons are
    // recorded; then version 2 carries them.
    let reasons = env.file(
        "delay.json",
        &json!({ "details": { "delay_reasons": "Systems down; helpline closed over Easter" } }),
    );
    env.run_at(
        "2024-04-02T20:05:00Z",
        &["incident", "update", ID, "--file", &reasons],
    )
    .success();
    env.render_and_approve("2024-04-02T20:10:00Z", ID, "ico-report");
    // Without --late-reason the reasons come from the report itself.
    env.run_at(
        "2024-04-03T09:00:00Z",
        &[
            "obligation",
            "complete",
            ID,
            "uk-gdpr-art33/initial",
            "--at",
            late,
            "--reference",
            "IC-1",
        ],
    )
    .success();
    let filed = obligation(&env, "uk-gdpr-art33/initial");
    assert_eq!(filed["state"], "filed");
    assert_eq!(filed["completion"]["late_by_minutes"], 30);
    assert_eq!(filed["completion"]["document"]["document"], "ico-report");
    assert_eq!(filed["completion"]["document"]["version"], 2);
    assert_eq!(
        filed["completion"]["late_reason"],
        "Systems down; helpline closed over Easter"
    );
    // Moving awareness later now cannot turn the late filing into an on-time one.
    let path = env.file("u2.json", &json!({ "aware_at": "2024-03-30T21:10:00Z" }));
    env.run_at(
        "2024-04-03T10:00:00Z",
        &["incident", "update", ID, "--file", &path],
    )
    .success();
    let filed = obligation(&env, "uk-gdpr-art33/initial");
    assert_eq!(filed["completion"]["late_by_minutes"], 30);
    assert_eq!(due_at(&filed), "2024-04-02T20:00:00Z");
    // The follow-up's clock started at the filing.
    let follow_up = obligation(&env, "uk-gdpr-art33/follow-up");
    assert_eq!(follow_up["due"]["kind"], "standard");
    assert_eq!(follow_up["due"]["from"], late);
}

#[test]
fn deadlines_overdue_and_within_use_the_clock() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    // At 21:00 UTC on 2 Apr: ten minutes before the ICO deadline.
    let before = env
        .cmd()
        .env("BREACHFLOW_NOW", "2024-04-02T21:00:00Z")
        .args(["--format", "json", "deadlines", "--within", "1h"])
        .assert()
        .success();
    let before: Value = serde_json::from_slice(&before.get_output().stdout).unwrap();
    assert_eq!(before.as_array().unwrap().len(), 1, "{before}");
    assert_eq!(before[0]["id"], "uk-gdpr-art33/initial");
    assert_eq!(before[0]["minutes_remaining"], 10);
    assert_eq!(before[0]["warning"], "final");
    let overdue = env
        .cmd()
        .env("BREACHFLOW_NOW", "2024-04-02T21:00:00Z")
        .args(["--format", "json", "deadlines", "--overdue"])
        .assert()
        .success();
    assert_eq!(
        serde_json::from_slice::<Value>(&overdue.get_output().stdout).unwrap(),
        json!([])
    );
    // At 22:00 UTC it is 50 minutes overdue.
    let after = env
        .cmd()
        .env("BREACHFLOW_NOW", "2024-04-02T22:00:00Z")
        .args(["--format", "json", "deadlines", "--overdue"])
        .assert()
        .success();
    let after: Value = serde_json::from_slice(&after.get_output().stdout).unwrap();
    assert_eq!(after.as_array().unwrap().len(), 1, "{after}");
    assert_eq!(after[0]["overdue"], true);
    assert_eq!(after[0]["minutes_remaining"], -50);
    let text = stdout_of(&env.run_at("2024-04-02T22:00:00Z", &["deadlines"]).success());
    assert!(text.contains("OVERDUE by 50"), "{text}");
    // The working, with the clock change named.
    let explain = stdout_of(
        &env.run(&[
            "deadlines",
            "--explain",
            "BR-2024-0001:uk-gdpr-art33/initial",
        ])
        .success(),
    );
    assert!(
        explain.contains("Crosses a clock change at 31 Mar 2024 01:00 UTC"),
        "{explain}"
    );
    assert!(
        explain.contains("Tue 2 Apr 2024 22:10 BST (+01:00)"),
        "{explain}"
    );
}

#[test]
fn a_users_regime_file_is_picked_up() {
    let env = TestEnv::with_incident();
    let dir = env.tmp.path().join("my-regimes");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("insurer.toml"),
        r#"
id = "insurer-48h"
name = "Cyber insurance policy: notify the insurer within 48 hours"
jurisdiction = "Contract"
citation = "Policy NB-12345, condition 7.2"
recipient = "Northbank Insurance cyber claims desk"
owner_role = "insurer"
effective_from = 2024-01-01

[[phases]]
id = "notice"
name = "Notice to the insurer"
anchor = "aware"
deadline = { kind = "hours", hours = 48 }
"#,
    )
    .unwrap();
    env.cmd()
        .env("BREACHFLOW_REGIMES_DIR", &dir)
        .args([
            "assess",
            ID,
            "--file",
            &example("assessment-ransomware.json"),
        ])
        .assert()
        .success();
    // Aware 30 Mar 21:10 UTC + 48 h.
    assert_eq!(
        due_at(&obligation(&env, "insurer-48h/notice")),
        "2024-04-01T21:10:00Z"
    );
}

#[test]
fn an_invalid_regime_file_is_rejected_with_its_path() {
    let env = TestEnv::with_incident();
    let dir = env.tmp.path().join("bad-regimes");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("broken.toml"),
        "id = \"broken\"\nname = \"x\"\njurisdiction = \"UK\"\ncitation = \"x\"\nrecipient = \"x\"\nowner_role = \"dpo\"\neffective_from = \"2024-01-01\"\n\n[[phases]]\nid = \"p\"\nname = \"p\"\nanchor = \"aware\"\ndeadline = { kind = \"fortnight\" }\n",
    )
    .unwrap();
    let out = env
        .cmd()
        .env("BREACHFLOW_REGIMES_DIR", &dir)
        .args([
            "assess",
            ID,
            "--file",
            &example("assessment-ransomware.json"),
        ])
        .assert()
        .code(4);
    let err = stderr_of(&out);
    assert!(
        err.contains("broken.toml") && err.contains("/phases/0/deadline"),
        "{err}"
    );
    // Nothing was stored.
    assert_eq!(env.state(ID), "detected");
    std::fs::write(dir.join("broken.toml"), "id = \"broken\"\nname = [\n").unwrap();
    let out = env
        .cmd()
        .env("BREACHFLOW_REGIMES_DIR", &dir)
        .arg("regimes")
        .assert()
        .code(4);
    assert!(
        stderr_of(&out).contains("broken.toml:2:"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn business_days_outside_the_holiday_calendar_are_an_error() {
    let env = TestEnv::new();
    env.run(&["init", "--org", &everything_org(&env)]).success();
    env.run(&[
        "incident",
        "open",
        "--file",
        &example("incident-ransomware.json"),
    ])
    .success();
    env.assess(ID);
    // 30 Dec 2030 + 4 business days reaches into 2031, beyond the shipped US calendar.
    let now = "2030-12-30T20:00:00Z";
    env.run_at(
        now,
        &[
            "incident",
            "trigger",
            ID,
            "materiality_determined",
            "--at",
            "2030-12-30T19:00:00Z",
            "--by",
            "CFO",
        ],
    )
    .success();
    let sec = obligation(&env, "sec-8k-item105/filing");
    assert_eq!(sec["due"]["kind"], "error", "{sec}");
    assert!(
        sec["due"]["message"]
            .as_str()
            .unwrap()
            .contains("covers 2018 to 2030"),
        "{sec}"
    );
}

#[test]
fn whatif_stores_nothing() {
    let env = TestEnv::initialised();
    let out = env.json(&[
        "whatif",
        "--aware-at",
        "2025-10-24T09:00:00+01:00",
        "--file",
        &example("assessment-ransomware.json"),
    ]);
    let ico = out["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "uk-gdpr-art33/initial")
        .unwrap()
        .clone();
    // regimes.md §5.3: aware 09:00 BST Fri 24 Oct 2025 -> due 08:00 GMT Mon 27 Oct.
    assert_eq!(due_at(&ico), "2025-10-27T08:00:00Z");
    assert_eq!(env.json(&["incident", "list"]), json!([]));
}

#[test]
fn the_calendar_is_valid_icalendar_with_stable_uids() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    let first = stdout_of(&env.run(&["calendar"]).success());
    let second = stdout_of(
        &env.run_at("2024-03-31T09:00:00Z", &["calendar", ID])
            .success(),
    );
    let parse = |text: &str| {
        let reader = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
        let calendars: Vec<_> = reader.map(|c| c.expect("valid iCalendar")).collect();
        assert_eq!(calendars.len(), 1);
        calendars.into_iter().next().unwrap()
    };
    let a = parse(&first);
    let b = parse(&second);
    let prop = |e: &ical::parser::ical::component::IcalEvent, name: &str| {
        e.properties
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
            .unwrap_or_default()
    };
    let ico = a
        .events
        .iter()
        .find(|e| prop(e, "UID").contains("uk-gdpr-art33.initial"))
        .expect("ICO event");
    assert_eq!(prop(ico, "DTSTART"), "20240402T211000Z");
    assert_eq!(ico.alarms.len(), 2);
    let uids = |c: &ical::parser::ical::component::IcalCalendar| {
        let mut u: Vec<_> = c.events.iter().map(|e| prop(e, "UID")).collect();
        u.sort();
        u
    };
    assert_eq!(uids(&a), uids(&b));
    assert!(first.contains("\r\n"), "lines end in CRLF");
    assert!(first.lines().all(|l| l.len() <= 76), "lines are folded");
}

#[test]
fn a_filed_obligation_stays_in_the_calendar_as_cancelled_with_the_same_uid() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    let event_of = |text: &str, obligation: &str| -> Vec<(String, String)> {
        let reader = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
        let calendar = reader.map(|c| c.expect("valid iCalendar")).next().unwrap();
        let event = calendar
            .events
            .into_iter()
            .find(|e| {
                e.properties.iter().any(|p| {
                    p.name == "UID" && p.value.as_deref().unwrap_or("").contains(obligation)
                })
            })
            .unwrap_or_else(|| panic!("no event for {obligation} in\n{text}"));
        let mut props: Vec<(String, String)> = event
            .properties
            .into_iter()
            .map(|p| (p.name, p.value.unwrap_or_default()))
            .collect();
        props.push(("ALARMS".into(), event.alarms.len().to_string()));
        props
    };
    let get = |props: &[(String, String)], name: &str| {
        props
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let before = event_of(
        &stdout_of(&env.run(&["calendar"]).success()),
        "uk-gdpr-art33.initial",
    );
    assert_eq!(get(&before, "STATUS"), "CONFIRMED");
    assert_eq!(get(&before, "ALARMS"), "2");
    let uid = get(&before, "UID");
    assert!(uid.ends_with("@larkfield-vets.example"), "{uid}");
    // The recipient is in the phase name already; the summary does not say it twice.
    assert_eq!(
        get(&before, "SUMMARY"),
        format!("Deadline: Initial report to the ICO ({ID})")
    );

    // Waived (the shortest way to close it here; filing takes the whole report).
    env.run_at(
        "2024-04-02T11:00:00Z",
        &[
            "obligation",
            "waive",
            ID,
            "uk-gdpr-art33/initial",
            "--reason",
            "test: reported by the group's other controller",
        ],
    )
    .success();
    for args in [vec!["calendar"], vec!["calendar", ID]] {
        let after = event_of(
            &stdout_of(&env.run_at("2024-04-02T12:00:00Z", &args).success()),
            "uk-gdpr-art33.initial",
        );
        assert_eq!(get(&after, "UID"), uid, "{args:?}");
        assert_eq!(get(&after, "STATUS"), "CANCELLED", "{args:?}");
        assert_eq!(get(&after, "ALARMS"), "0", "{args:?}");
        assert!(
            get(&after, "SEQUENCE").parse::<u32>().unwrap()
                > get(&before, "SEQUENCE").parse::<u32>().unwrap()
        );
    }
}

/// A `deadlines` row is the obligation as `obligation list` shows it, less the phase's list of
/// required content, plus its incident: the row's own writer must not drift from the
/// obligation's fields.
#[test]
fn a_deadlines_row_is_the_obligation_as_listed_with_its_incident() {
    let at = "2024-04-01T12:00:00Z";
    let env = decided_under_every_regime(at);
    let json_at = |args: &[&str]| -> Value {
        let out = env
            .cmd()
            .env("BREACHFLOW_NOW", at)
            .args(["--format", "json"])
            .args(args)
            .assert()
            .success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    };
    let rows = json_at(&["deadlines"]);
    let rows = rows.as_array().unwrap();
    let listed = json_at(&["obligation", "list", ID])["obligations"]
        .as_array()
        .unwrap()
        .clone();
    let title = json_at(&["incident", "show", ID])["incident"]["facts"]["title"].clone();
    assert!(rows.len() >= 3, "{rows:?}");
    assert!(
        listed.iter().any(|o| o["phase"]["content"].is_array()),
        "some listed phase carries its required content: {listed:?}"
    );
    for row in rows {
        let mut expected = listed
            .iter()
            .find(|o| o["id"] == row["id"])
            .unwrap_or_else(|| panic!("{} is not listed", row["id"]))
            .clone();
        expected["phase"].as_object_mut().unwrap().remove("content");
        expected["incident"] = json!(ID);
        expected["incident_title"] = title.clone();
        assert_eq!(row, &expected);
    }
}
