//! `breachflow demo`, as a new user runs it.

use crate::support::*;

#[test]
fn demo_runs_the_workflow_and_leaves_an_explorable_store() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .env_remove("BREACHFLOW_DATA_DIR")
        .args(["--format", "json", "demo"])
        .assert()
        .success();
    let out: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let dir = out["data_dir"].as_str().unwrap().to_string();
    assert!(dir.starts_with(env.tmp.path().to_str().unwrap()), "{dir}");
    assert_eq!(out["incident"]["id"], "BR-2024-0001");
    assert_eq!(out["incident"]["state"], "notifying");
    assert_eq!(
        out["incident"]["decisions"][0]["decision"]["notify_ico"],
        true
    );

    // The store it leaves works with the ordinary commands.
    let shown = env
        .cmd()
        .env("BREACHFLOW_DATA_DIR", &dir)
        .args(["incident", "show", "BR-2024-0001"])
        .assert()
        .success();
    let text = stdout_of(&shown);
    assert!(
        text.contains("Ransomware on practice management servers"),
        "{text}"
    );
    assert!(text.contains("Priya Raman (DPO)"), "{text}");

    // The ICO report was filed with its approved version, and the rendered files are there.
    let ico = out["incident"]["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "uk-gdpr-art33/initial")
        .unwrap()
        .clone();
    assert_eq!(ico["state"], "filed");
    assert_eq!(ico["completion"]["document"]["document"], "ico-report");
    assert!(ico["completion"].get("late_by_minutes").is_none());
    let docs = out["documents"].as_array().unwrap();
    assert!(docs.len() >= 8, "{docs:?}");
    let html = docs
        .iter()
        .find(|p| p.as_str().unwrap().ends_with("ico-report-v1.html"))
        .unwrap();
    let html = std::fs::read_to_string(html.as_str().unwrap()).unwrap();
    assert!(html.contains("Personal data breach report to the ICO"));
    assert!(!html.contains("[MISSING"));
    // The briefings went to the outbox folder as mail, after the market announcement.
    let messages = out["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert!(
        messages.iter().all(|m| m["state"] == "sent"),
        "{messages:?}"
    );
    let eml: Vec<_> = std::fs::read_dir(std::path::Path::new(&dir).join("outbox"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(eml.len(), 2);
    let staff = eml
        .iter()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .find(|t| t.contains("all-staff@larkfield-vets.example"))
        .unwrap();
    assert!(staff.contains("Subject: Staff briefing"), "{staff}");
    // The adherence report was written and the log verified.
    assert!(out["verified_events"].as_u64().unwrap() > 20);
    let report = std::fs::read_to_string(out["adherence_report"].as_str().unwrap()).unwrap();
    assert!(report.contains("<svg") && report.contains("uk-gdpr-art33/initial"));
    env.cmd()
        .env("BREACHFLOW_DATA_DIR", &dir)
        .args(["audit", "verify"])
        .assert()
        .success();
}

#[test]
fn demo_refuses_a_store_in_use() {
    let env = TestEnv::initialised();
    let out = env.run(&["demo"]).code(1);
    assert!(
        stderr_of(&out).contains("empty store"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn demo_text_summary() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .env_remove("BREACHFLOW_DATA_DIR")
        .arg("demo")
        .assert()
        .success();
    let text = stdout_of(&out);
    assert!(text.contains("Explore it: breachflow --data-dir"), "{text}");
    assert!(text.contains("Notify the ICO:      yes"), "{text}");
}

#[test]
fn completions_are_generated() {
    let env = TestEnv::new();
    let out = env.run(&["completions", "bash"]).success();
    assert!(stdout_of(&out).contains("breachflow"));
}

/// What a DPO reads is in words: no Rust type names (`VeryHigh`, `InsideInformation`) in the
/// text of any command run on the demo's store.
#[test]
fn text_output_names_no_internal_types() {
    let env = TestEnv::new();
    let summary = stdout_of(&env.run(&["demo"]).success());
    let mut texts = vec![("demo".to_string(), summary)];
    for args in [
        vec!["incident", "show", "BR-2024-0001"],
        vec!["timeline", "BR-2024-0001"],
        vec!["audit", "log"],
        vec!["org"],
        vec!["obligation", "list", "BR-2024-0001"],
        vec![
            "deadlines",
            "--explain",
            "BR-2024-0001:uk-mar-art17/announcement",
        ],
        vec!["documents", "BR-2024-0001"],
        vec!["report", "adherence"],
    ] {
        texts.push((args.join(" "), stdout_of(&env.run(&args).success())));
    }
    for (command, text) in texts {
        for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
            let capitals = word.chars().filter(char::is_ascii_uppercase).count();
            let camel = word.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && capitals >= 2
                && word.chars().any(|c| c.is_ascii_lowercase());
            assert!(!camel, "`{command}` prints the type name {word:?}:\n{text}");
        }
    }
}
