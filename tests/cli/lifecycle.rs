//! The lifecycle through the binary: the full path, and every refused step from every state.

use crate::support::*;

const ID: &str = "BR-2024-0001";
const MANUAL: [&str; 4] = ["notify", "monitor", "close", "reopen"];

/// Tries every manual step that `allowed` does not list and checks each is refused with exit 5,
/// names the allowed steps, and changes nothing.
fn refused_steps_change_nothing(env: &TestEnv, state: &str, allowed: &[&str]) {
    assert_eq!(env.state(ID), state);
    let version = env.version(ID);
    for step in MANUAL.iter().filter(|s| !allowed.contains(s)) {
        let out = env
            .run(&["incident", "transition", ID, step, "--reason", "test"])
            .code(5);
        let err = stderr_of(&out);
        assert!(
            err.contains(&format!("cannot {step} an incident that is {state}")),
            "{err}"
        );
        assert!(err.contains(&format!("allowed from {state}:")), "{err}");
        assert_eq!(
            env.version(ID),
            version,
            "{step} from {state} changed the incident"
        );
        assert_eq!(env.state(ID), state);
    }
}

#[test]
fn full_lifecycle_with_every_refusal() {
    let env = TestEnv::with_incident();
    refused_steps_change_nothing(&env, "detected", &[]);
    env.assess(ID);
    refused_steps_change_nothing(&env, "assessing", &[]);
    env.run(&["decide", ID, "--accept"]).success();
    refused_steps_change_nothing(&env, "decided", &["notify", "monitor", "close"]);
    env.run(&["incident", "transition", ID, "notify"]).success();
    refused_steps_change_nothing(&env, "notifying", &["monitor"]);
    env.run(&["incident", "transition", ID, "monitor"])
        .success();
    // Closing is refused while obligations are owed, and names them.
    let version = env.version(ID);
    let out = env.run(&["incident", "transition", ID, "close"]).code(5);
    let err = stderr_of(&out);
    assert!(
        err.contains("uk-gdpr-art33/initial") && err.contains("uk-mar-art17/announcement"),
        "{err}"
    );
    assert_eq!(env.version(ID), version);
    env.answer(ID);
    env.render_and_approve(NOW, ID, "ico-report");
    env.run(&[
        "obligation",
        "complete",
        ID,
        "uk-gdpr-art33/initial",
        "--reference",
        "IC-123456",
    ])
    .success();
    for obl in [
        "uk-gdpr-art33/follow-up",
        "uk-mar-art17/announcement",
        "aim-rule-11/announcement",
    ] {
        env.run(&[
            "obligation",
            "waive",
            ID,
            obl,
            "--reason",
            "Not needed in this test",
            "--by",
            "Priya Raman",
        ])
        .success();
    }
    refused_steps_change_nothing(&env, "monitoring", &["notify", "close"]);
    env.run(&["incident", "transition", ID, "close"]).success();
    refused_steps_change_nothing(&env, "closed", &["reopen"]);

    // Closed incidents take no assessments, decisions or fact updates until reopened.
    env.run(&[
        "assess",
        ID,
        "--file",
        &example("assessment-ransomware.json"),
    ])
    .code(5);
    env.run(&["decide", ID, "--accept"]).code(5);
    env.run(&[
        "incident",
        "update",
        ID,
        "--file",
        &example("incident-update-containment.json"),
    ])
    .code(5);

    let out = env.run(&["incident", "transition", ID, "reopen"]).code(4);
    assert!(stderr_of(&out).contains("--reason"));
    env.run(&[
        "incident",
        "transition",
        ID,
        "reopen",
        "--reason",
        "Forensics found exfiltration",
    ])
    .success();
    assert_eq!(env.state(ID), "assessing");
    // The earlier assessment and decision are still on record.
    let shown = env.json(&["incident", "show", ID]);
    assert_eq!(
        shown["incident"]["assessments"].as_array().unwrap().len(),
        1
    );
    assert_eq!(shown["incident"]["decisions"].as_array().unwrap().len(), 1);
    let steps: Vec<String> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"]["type"].as_str().unwrap().to_string())
        .filter(|s| {
            ["incident_opened", "assessed", "decided", "transitioned"].contains(&s.as_str())
        })
        .collect();
    assert_eq!(
        steps,
        [
            "incident_opened",
            "assessed",
            "decided",
            "transitioned",
            "transitioned",
            "transitioned",
            "transitioned"
        ]
    );
}

#[test]
fn assess_and_decide_are_not_manual_steps() {
    let env = TestEnv::with_incident();
    let out = env.run(&["incident", "transition", ID, "assess"]).code(4);
    assert!(
        stderr_of(&out).contains("breachflow assess"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn decided_not_notifiable_can_close_directly() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    env.run(&[
        "decide",
        ID,
        "--ico",
        "no",
        "--reason",
        "Contained before any access",
    ])
    .success();
    // The ICO obligation is waived by the decision, with its reason and who decided.
    let list = env.json(&["obligation", "list", ID]);
    let ico = list["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "uk-gdpr-art33/initial")
        .unwrap()
        .clone();
    assert_eq!(ico["state"], "waived");
    assert_eq!(ico["waiver"]["by"], "tester");
    assert!(
        ico["waiver"]["reason"]
            .as_str()
            .unwrap()
            .contains("Contained before any access")
    );
    // The market announcement is still owed (an AIM company), so closing is refused until waived.
    env.run(&["incident", "transition", ID, "close"]).code(5);
    for obl in ["uk-mar-art17/announcement", "aim-rule-11/announcement"] {
        env.run(&[
            "obligation",
            "waive",
            ID,
            obl,
            "--reason",
            "Not price-sensitive",
            "--by",
            "Sophie Turner",
        ])
        .success();
    }
    env.run(&["incident", "transition", ID, "close"]).success();
    assert_eq!(env.state(ID), "closed");
}
