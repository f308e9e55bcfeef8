//! Exposure assessment and the DPO's decision.

use serde_json::json;

use crate::support::*;

const ID: &str = "BR-2024-0001";

#[test]
fn example_assessment_is_medium_severity_and_a_risk() {
    let env = TestEnv::with_incident();
    let out = env.json(&[
        "assess",
        ID,
        "--file",
        &example("assessment-ransomware.json"),
    ]);
    // Worked by hand from the ENISA method: the most sensitive category is simple data (DPC 1),
    // identification is maximum (EI 1), CB = exposure 0.25 + temporary unavailability 0.25 +
    // malicious 0.5 = 1.0, so SE = 1 x 1 + 1.0 = 2.0: the bottom of "medium", which is a risk.
    let severity = &out["assessment"]["severity"];
    assert_eq!(severity["dpc"], 1);
    assert_eq!(severity["ei"], 1.0);
    assert_eq!(severity["cb"], 1.0);
    assert_eq!(severity["score"], 2.0);
    assert_eq!(severity["level"], "risk");
    assert_eq!(out["state"], "assessing");
    assert!(!severity["rationale"].as_array().unwrap().is_empty());
}

#[test]
fn reassessment_keeps_every_version() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    let mut worse = example_json("assessment-ransomware.json");
    worse["data_categories"] = json!(["basic_identifiers", "health"]);
    worse["circumstances"]["confidentiality"] = "disclosure".into();
    let path = env.file("worse.json", &worse);
    let out = env.json(&["assess", ID, "--file", &path]);
    // DPC 4 (health) x EI 1 + CB (0.5 + 0.25 + 0.5 = 1.25) = 5.25: very high, so high risk.
    assert_eq!(out["assessment"]["version"], 2);
    assert_eq!(out["assessment"]["severity"]["score"], 5.25);
    assert_eq!(out["assessment"]["severity"]["level"], "high");
    let shown = env.json(&["incident", "show", ID]);
    let versions = shown["incident"]["assessments"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["severity"]["level"], "risk");
    assert_eq!(versions[1]["severity"]["level"], "high");
}

#[test]
fn override_of_the_level_needs_a_reason() {
    let env = TestEnv::with_incident();
    let mut a = example_json("assessment-ransomware.json");
    a["override_level"] = json!({ "level": "high", "reason": "   " });
    let path = env.file("a.json", &a);
    let out = env.run(&["assess", ID, "--file", &path]).code(4);
    assert!(
        stderr_of(&out).contains("/override_level/reason"),
        "{}",
        stderr_of(&out)
    );
    a["override_level"] = json!({ "level": "high" });
    let path = env.file("b.json", &a);
    let out = env.run(&["assess", ID, "--file", &path]).code(4);
    assert!(stderr_of(&out).contains("reason"), "{}", stderr_of(&out));
    assert_eq!(env.state(ID), "detected");

    a["override_level"] =
        json!({ "level": "high", "reason": "Client list includes known vulnerable owners" });
    let path = env.file("c.json", &a);
    let out = env.json(&["assess", ID, "--file", &path]);
    assert_eq!(out["assessment"]["severity"]["computed_level"], "risk");
    assert_eq!(out["assessment"]["severity"]["level"], "high");
    assert_eq!(out["assessment"]["severity"]["overridden"], true);
}

#[test]
fn semantic_problems_of_an_assessment_are_all_listed() {
    let env = TestEnv::with_incident();
    let mut a = example_json("assessment-ransomware.json");
    a["subjects"] = json!({ "min": 500, "max": 100 });
    a["data_categories"] = json!(["other"]);
    let path = env.file("a.json", &a);
    let out = env.run(&["assess", ID, "--file", &path]).code(4);
    let err = stderr_of(&out);
    assert!(err.contains("/subjects"), "{err}");
    assert!(err.contains("/other_data_description"), "{err}");
}

#[test]
fn decide_before_assessment_is_refused_with_the_allowed_steps() {
    let env = TestEnv::with_incident();
    let out = env.run(&["decide", ID, "--accept"]).code(5);
    let err = stderr_of(&out);
    assert!(err.contains("allowed from detected: assess"), "{err}");
    assert_eq!(env.version(ID), 1);
}

#[test]
fn accepting_the_recommendation_records_it_with_its_reasoning() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    let out = env.json(&["decide", ID, "--accept"]);
    let d = &out["decision"]["decision"];
    assert_eq!(out["state"], "decided");
    assert_eq!(d["notify_ico"], true);
    assert_eq!(d["tell_subjects"], false);
    assert_eq!(d["follows_recommendation"], true);
    assert_eq!(d["assessment_version"], 1);
    assert!(
        d["recommendation"]["basis"]
            .as_str()
            .unwrap()
            .contains("Art 33(1)")
    );
    assert!(!d["reasoning"].as_array().unwrap().is_empty());
    assert_eq!(out["decision"]["by"], "tester");
}

#[test]
fn overriding_the_recommendation_needs_a_reason() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    let out = env.run(&["decide", ID, "--subjects", "yes"]).code(4);
    assert!(stderr_of(&out).contains("--reason"), "{}", stderr_of(&out));
    let out = env
        .run(&["decide", ID, "--ico", "no", "--reason", "  "])
        .code(4);
    assert!(stderr_of(&out).contains("--reason"), "{}", stderr_of(&out));
    assert_eq!(env.state(ID), "assessing");

    let out = env.json(&[
        "decide",
        ID,
        "--ico",
        "no",
        "--reason",
        "Backups restored within hours and no access to client data shown by forensics",
    ]);
    let d = &out["decision"]["decision"];
    assert_eq!(d["notify_ico"], false);
    assert_eq!(d["tell_subjects"], false);
    assert_eq!(d["follows_recommendation"], false);
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .starts_with("Backups restored")
    );
}

#[test]
fn decide_needs_accept_or_an_answer_but_not_both() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    env.run(&["decide", ID]).code(4);
    env.run(&["decide", ID, "--accept", "--ico", "yes"]).code(4);
    env.run(&["decide", ID, "--ico", "maybe"]).code(2);
    assert_eq!(env.state(ID), "assessing");
}
