//! Incident intake, ids, listing, updates and input errors.

use serde_json::json;

use crate::support::*;

#[test]
fn ids_are_sequential_per_year_in_the_organisations_zone() {
    let env = TestEnv::initialised();
    let file = example("incident-ransomware.json");
    let first = env.json(&["incident", "open", "--file", &file]);
    let second = env.json(&["incident", "open", "--file", &file]);
    assert_eq!(first["id"], "BR-2024-0001");
    assert_eq!(second["id"], "BR-2024-0002");
    // 00:30 BST on 1 Jan is impossible (GMT in winter), so use 00:30 GMT on 1 Jan 2025: London
    // and UTC agree, and the year rolls over.
    let third = env
        .cmd()
        .env("BREACHFLOW_NOW", "2025-01-01T00:30:00Z")
        .args(["--format", "json", "incident", "open", "--file", &file])
        .assert()
        .success();
    let third: serde_json::Value = serde_json::from_slice(&third.get_output().stdout).unwrap();
    assert_eq!(third["id"], "BR-2025-0001");
    let list = env.json(&["incident", "list"]);
    let ids: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["BR-2024-0001", "BR-2024-0002", "BR-2025-0001"]);
}

#[test]
fn year_follows_the_organisation_zone_not_utc() {
    // 23:30 UTC on 31 Dec 2024 is already 2025 in Auckland.
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org["time_zone"] = "Pacific/Auckland".into();
    let path = env.file("org.json", &org);
    env.run(&["init", "--org", &path]).success();
    let opened = env
        .cmd()
        .env("BREACHFLOW_NOW", "2024-12-31T23:30:00Z")
        .args([
            "--format",
            "json",
            "incident",
            "open",
            "--file",
            &example("incident-ransomware.json"),
        ])
        .assert()
        .success();
    let opened: serde_json::Value = serde_json::from_slice(&opened.get_output().stdout).unwrap();
    assert_eq!(opened["id"], "BR-2025-0001");
}

#[test]
fn state_survives_a_new_process() {
    let env = TestEnv::with_incident();
    let shown = env.json(&["incident", "show", "BR-2024-0001"]);
    let intake = example_json("incident-ransomware.json");
    assert_eq!(shown["incident"]["facts"]["title"], intake["title"]);
    assert_eq!(
        shown["incident"]["facts"]["aware_at"],
        "2024-03-30T21:10:00Z"
    );
    assert_eq!(shown["incident"]["state"], "detected");
    assert_eq!(shown["incident"]["opened_by"], "tester");
    assert_eq!(shown["events"][0]["what"]["type"], "incident_opened");
    let text = stdout_of(&env.run(&["incident", "show", "BR-2024-0001"]).success());
    // Shown in the organisation's zone: 21:10 UTC on 30 March 2024 is still GMT.
    assert!(
        text.contains("Sat 30 Mar 2024 21:10 GMT (+00:00)"),
        "{text}"
    );
}

#[test]
fn awareness_before_detection_is_refused() {
    let env = TestEnv::initialised();
    let mut facts = example_json("incident-ransomware.json");
    facts["aware_at"] = "2024-03-30T19:00:00+00:00".into();
    let path = env.file("incident.json", &facts);
    let out = env.run(&["incident", "open", "--file", &path]).code(4);
    assert!(stderr_of(&out).contains("/aware_at"), "{}", stderr_of(&out));
    assert_eq!(env.json(&["incident", "list"]), json!([]));
}

#[test]
fn late_awareness_needs_a_justification() {
    let env = TestEnv::initialised();
    let mut facts = example_json("incident-ransomware.json");
    facts
        .as_object_mut()
        .unwrap()
        .remove("awareness_justification");
    let path = env.file("incident.json", &facts);
    let out = env.run(&["incident", "open", "--file", &path]).code(4);
    assert!(
        stderr_of(&out).contains("/awareness_justification"),
        "{}",
        stderr_of(&out)
    );
    // Same instant for both needs none.
    facts["aware_at"] = facts["detected_at"].clone();
    let path = env.file("incident2.json", &facts);
    env.run(&["incident", "open", "--file", &path]).success();
}

#[test]
fn future_awareness_is_refused() {
    let env = TestEnv::initialised();
    let out = env
        .run_at(
            "2024-03-30T20:00:00Z",
            &[
                "incident",
                "open",
                "--file",
                &example("incident-ransomware.json"),
            ],
        )
        .code(4);
    assert!(
        stderr_of(&out).contains("in the future"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn invalid_json_reports_line_and_column() {
    let env = TestEnv::initialised();
    let path = env.text_file(
        "broken.json",
        "{\n  \"title\": \"x\",\n  \"summary\" \"missing colon\"\n}\n",
    );
    let out = env.run(&["incident", "open", "--file", &path]).code(4);
    let err = stderr_of(&out);
    assert!(err.contains("broken.json:3:13"), "{err}");
}

#[test]
fn every_schema_violation_is_listed_with_its_path() {
    let env = TestEnv::initialised();
    let mut facts = example_json("incident-ransomware.json");
    facts["detected_at"] = "yesterday".into();
    facts["impact"]["confidentiality"] = "yes".into();
    facts["reporter"]["email"] = "tom-at-larkfield".into();
    facts["colour"] = "red".into();
    facts.as_object_mut().unwrap().remove("discovery");
    let path = env.file("incident.json", &facts);
    let out = env.run(&["incident", "open", "--file", &path]).code(4);
    let err = stderr_of(&out);
    for needle in [
        "/detected_at",
        "/impact/confidentiality",
        "/reporter/email",
        "colour",
        "discovery",
        "5 problems",
    ] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }
}

#[test]
fn a_missing_file_is_named() {
    let env = TestEnv::initialised();
    let out = env
        .run(&["incident", "open", "--file", "/nonexistent/intake.json"])
        .code(4);
    assert!(
        stderr_of(&out).contains("/nonexistent/intake.json"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn unknown_incident_is_not_found() {
    let env = TestEnv::with_incident();
    let out = env.run(&["incident", "show", "BR-2024-0042"]).code(6);
    assert!(
        stderr_of(&out).contains("BR-2024-0042 not found"),
        "{}",
        stderr_of(&out)
    );
    // A malformed id is a usage error.
    env.run(&["incident", "show", "42"]).code(2);
}

#[test]
fn update_keeps_old_and_new_values() {
    let env = TestEnv::with_incident();
    let out = env.json(&[
        "incident",
        "update",
        "BR-2024-0001",
        "--file",
        &example("incident-update-containment.json"),
    ]);
    let changes = out["changes"].as_array().unwrap();
    let fields: Vec<_> = changes
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["systems_affected", "containment"]);
    let intake = example_json("incident-ransomware.json");
    assert_eq!(changes[1]["old"], intake["containment"]);
    let shown = env.json(&["incident", "show", "BR-2024-0001"]);
    assert_eq!(
        shown["incident"]["facts"]["containment"],
        example_json("incident-update-containment.json")["containment"]
    );
    let event = &shown["events"][1]["what"];
    assert_eq!(event["type"], "facts_updated");
    assert_eq!(event["changes"][1]["old"], intake["containment"]);
    assert!(event["note"].as_str().unwrap().contains("file shares"));
}

#[test]
fn correcting_awareness_is_checked_like_intake() {
    let env = TestEnv::with_incident();
    // Moving awareness later than detection needs the justification already on file: it is.
    let path = env.file(
        "u1.json",
        &json!({ "aware_at": "2024-03-30T20:30:00+00:00" }),
    );
    let out = env.json(&["incident", "update", "BR-2024-0001", "--file", &path]);
    assert_eq!(out["changes"][0]["old"], "2024-03-30T21:10:00Z");
    assert_eq!(out["changes"][0]["new"], "2024-03-30T20:30:00Z");
    // Before detection: refused, nothing stored.
    let before = env.version("BR-2024-0001");
    let path = env.file(
        "u2.json",
        &json!({ "aware_at": "2024-03-30T18:00:00+00:00" }),
    );
    env.run(&["incident", "update", "BR-2024-0001", "--file", &path])
        .code(4);
    assert_eq!(env.version("BR-2024-0001"), before);
}

#[test]
fn list_filters_by_state_and_prints_a_table() {
    let env = TestEnv::with_incident();
    env.run(&[
        "incident",
        "open",
        "--file",
        &example("incident-ransomware.json"),
    ])
    .success();
    env.assess("BR-2024-0002");
    let assessing = env.json(&["incident", "list", "--state", "assessing"]);
    assert_eq!(assessing.as_array().unwrap().len(), 1);
    assert_eq!(assessing[0]["id"], "BR-2024-0002");
    let table = stdout_of(&env.run(&["incident", "list"]).success());
    assert!(
        table.contains("BR-2024-0001") && table.contains("BR-2024-0002"),
        "{table}"
    );
}

#[test]
fn with_format_json_errors_are_json_on_stderr_with_the_exit_code_and_paths() {
    let env = TestEnv::initialised();
    let error_of = |args: &[&str], exit: i32| -> serde_json::Value {
        let out = env.run(args).code(exit);
        let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert!(out.get_output().stdout.is_empty());
        serde_json::from_str(&stderr).unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"))
    };
    let bad = env.file(
        "bad.json",
        &json!({"title": "x", "detected_at": "yesterday", "aware_at": "2024-03-30T20:00:00Z"}),
    );
    let e = error_of(&["--format", "json", "incident", "open", "--file", &bad], 4);
    assert_eq!(e["error"]["code"], "invalid_input");
    assert_eq!(e["error"]["exit"], 4);
    assert_eq!(e["error"]["file"], bad.as_str());
    let paths: Vec<&str> = e["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/detected_at"), "{e}");

    let e = error_of(&["--format", "json", "incident", "show", "BR-2024-0042"], 6);
    assert_eq!(e["error"]["code"], "not_found");
    assert_eq!(e["error"]["problems"], json!([]));
    assert!(
        e["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("incident list")
    );

    let e = error_of(&["--format", "json", "incident", "shw"], 2);
    assert_eq!(e["error"]["code"], "usage");
    assert!(e["error"]["message"].as_str().unwrap().contains("'show'"));

    // Without --format json, the same error is text.
    let out = env.run(&["incident", "show", "BR-2024-0042"]).code(6);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).starts_with("error: "));
}

#[test]
fn a_mistyped_incident_id_is_answered_with_the_ids_either_side() {
    let env = TestEnv::with_incident();
    env.run(&[
        "incident",
        "open",
        "--file",
        &example("incident-ransomware.json"),
    ])
    .success();
    // BR-2024-0001 and -0002 exist; -0012 is a typo for one of them.
    let out = env.run(&["incident", "show", "BR-2024-0012"]).code(6);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("incident BR-2024-0012 not found; did you mean BR-2024-0002?"),
        "{stderr}"
    );
    let out = env.run(&["incident", "show", "BR-2023-0001"]).code(6);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("did you mean BR-2024-0001?"), "{stderr}");
    let out = env.run(&["incident", "show", "BR-2025-0001"]).code(6);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("did you mean BR-2024-0002?"), "{stderr}");
}

#[test]
fn incident_new_writes_a_commented_file_that_is_refused_until_filled_in_then_opens() {
    let env = TestEnv::initialised();
    let blank = stdout_of(&env.run(&["incident", "new"]).success());
    assert!(blank.starts_with("# An incident intake"), "{blank}");
    let path = env.tmp.path().join("incident.toml");
    std::fs::write(&path, &blank).unwrap();
    let file = path.to_str().unwrap();

    // As written, every required value is empty: refused, each named by its path.
    let out = env.run(&["incident", "open", "--file", file]).code(4);
    let stderr = stderr_of(&out);
    for pointer in [
        "/title",
        "/summary",
        "/detected_at",
        "/aware_at",
        "/discovery",
    ] {
        assert!(stderr.contains(pointer), "{pointer} not named:\n{stderr}");
    }
    assert_eq!(env.json(&["incident", "list"]), json!([]));

    let filled = blank
        .replace("\ntitle = \"\"", "\ntitle = \"Laptop stolen from a car\"")
        .replace(
            "\nsummary = \"\"",
            "\nsummary = \"An unencrypted laptop was stolen.\"",
        )
        .replace(
            "\ndetected_at = \"\"",
            "\ndetected_at = \"2024-03-30T20:00:00Z\"",
        )
        .replace("\naware_at = \"\"", "\naware_at = \"2024-03-30T20:00:00Z\"")
        .replace("\ndiscovery = \"\"", "\ndiscovery = \"Staff report\"")
        .replace("\n# confidentiality = false", "\nconfidentiality = true")
        .replace("\nname = \"\"", "\nname = \"Sam Patel\"");
    std::fs::write(&path, &filled).unwrap();
    env.run(&["incident", "open", "--file", file]).success();
    let shown = env.json(&["incident", "show", "BR-2024-0001"]);
    let facts = &shown["incident"]["facts"];
    assert_eq!(facts["title"], "Laptop stolen from a car", "{shown}");
    assert_eq!(facts["aware_at"], "2024-03-30T20:00:00Z");
    assert_eq!(facts["impact"]["confidentiality"], true);
    assert_eq!(facts["reporter"]["name"], "Sam Patel");

    let assessment = stdout_of(&env.run(&["assess", "--template"]).success());
    assert!(
        assessment.contains("\nsubjects = { estimate = \"\" }"),
        "{assessment}"
    );
    assert!(assessment.contains("# One of:"), "{assessment}");
}

/// Issue 16 point 10: a mistyped vocabulary value in an input file is answered with the
/// accepted values and the closest; a mistyped obligation id with the closest id.
#[test]
fn mistyped_vocabulary_values_and_obligation_ids_are_answered_with_the_closest() {
    let env = TestEnv::with_incident();
    let mut assessment = example_json("assessment-ransomware.json");
    assessment["data_categories"][1] = json!("helth");
    assessment["likelihood"] = json!("nutral");
    assessment["identifiability"] = json!("zzzz");
    let file = env.file("a.json", &assessment);
    let out = env
        .run(&["assess", "BR-2024-0001", "--file", &file])
        .code(4);
    let err = stderr_of(&out);
    assert!(err.contains("3 problems"), "{err}");
    assert!(
        err.contains(
            "at /data_categories/1: \"helth\" is not one of the accepted values: basic_identifiers,"
        ),
        "{err}"
    );
    assert!(err.contains("did you mean \"health\"?"), "{err}");
    assert!(err.contains("did you mean \"neutral\"?"), "{err}");
    // Nothing near enough: the accepted values, and no guess.
    let line = err
        .lines()
        .find(|l| l.contains("/identifiability"))
        .unwrap_or_default();
    assert!(
        line.contains("\"zzzz\" is not one of the accepted values"),
        "{err}"
    );
    assert!(!line.contains("did you mean"), "{err}");
    // With --format json the same problem is in the error's message.
    let out = env
        .run(&[
            "--format",
            "json",
            "assess",
            "BR-2024-0001",
            "--file",
            &file,
        ])
        .code(4);
    assert!(stderr_of(&out).contains("did you mean \\\"health\\\"?"));

    env.assess("BR-2024-0001");
    let out = env
        .run(&[
            "obligation",
            "complete",
            "BR-2024-0001",
            "uk-gdpr-art33/intial",
        ])
        .code(4);
    let err = stderr_of(&out);
    assert!(
        err.contains("no obligation \"uk-gdpr-art33/intial\"; did you mean uk-gdpr-art33/initial?"),
        "{err}"
    );
    let out = env
        .run(&["obligation", "complete", "BR-2024-0001", "nothing-like-it"])
        .code(4);
    assert!(!stderr_of(&out).contains("did you mean"));
}

/// Issue 16 point 11: `incident open --interactive` asks a person at a terminal; answers piped
/// in are refused (exit 4) and nothing is stored. The questions themselves are tested
/// in-process (`cli::prompt::tests`), over the same schema.
#[test]
fn interactive_intake_refuses_a_stdin_that_is_not_a_terminal() {
    let env = TestEnv::initialised();
    let out = env
        .cmd()
        .args(["incident", "open", "--interactive"])
        .write_stdin("Laptop stolen\n")
        .assert()
        .code(4);
    let err = stderr_of(&out);
    assert!(err.contains("stdin is not one"), "{err}");
    assert!(err.contains("incident new"), "{err}");
    assert_eq!(stdout_of(&out), "");
    let listed = env.json(&["incident", "list"]);
    assert_eq!(listed, json!([]));
    // A file and the questions together, or neither: a usage error.
    let file = example("incident-ransomware.json");
    env.run(&["incident", "open", "--interactive", "--file", &file])
        .code(2);
    env.run(&["incident", "open"]).code(2);
}

#[test]
fn json_output_shows_empty_lists_while_what_is_stored_leaves_them_out() {
    let env = TestEnv::initialised();
    env.json(&[
        "incident",
        "open",
        "--file",
        &example("incident-ransomware.json"),
    ]);
    let assessment = example("assessment-ransomware.json");
    env.json(&["assess", "BR-2024-0001", "--file", &assessment]);
    env.json(&["decide", "BR-2024-0001", "--accept"]);
    let listed = env.json(&["obligation", "list", "BR-2024-0001"]);
    let obligations = listed["obligations"].as_array().unwrap();
    assert!(!obligations.is_empty());
    // Every obligation says which of its facts are unverified, even when none are.
    for o in obligations {
        assert!(o["unverified"].is_array(), "{o}");
    }
    assert!(
        obligations.iter().any(|o| o["unverified"] == json!([])),
        "some regime has no unverified facts: {listed}"
    );
    // The log's events were committed under --format json, and still verify; a bundle is the
    // same file whichever format the command printed.
    env.run(&["audit", "verify"]).success();
    let marker = env.text_file("marker", "");
    let dir = std::path::Path::new(&marker).parent().unwrap();
    let (a, b) = (
        dir.join("a.bundle.json").display().to_string(),
        dir.join("b.bundle.json").display().to_string(),
    );
    env.run(&["bundle", "export", "BR-2024-0001", &a]).success();
    env.run(&["--format", "json", "bundle", "export", "BR-2024-0001", &b])
        .success();
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "a bundle does not depend on the output format"
    );
}
