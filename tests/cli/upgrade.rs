//! A store written by an earlier release still opens, verifies and reads the same.
//!
//! `tests/fixtures/store-0.1.0` was written by breachflow 0.1.0 (see `tests/fixtures/README.md`).
//! The test works on a copy: sled writes on open, and the fixture must stay as that release
//! left it.

use serde_json::Value;

use crate::support::*;

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn fixture_env() -> TestEnv {
    let env = TestEnv::new();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    copy_dir(&fixtures.join("store-0.1.0"), &env.data_dir);
    env
}

#[test]
fn a_store_written_by_0_1_0_verifies_and_reads_the_same() {
    let env = fixture_env();
    let out = env.run(&["audit", "verify"]).success();
    assert!(
        stdout_of(&out).contains("Verified: 35 events"),
        "{}",
        stdout_of(&out)
    );
    let then: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/store-0.1.0-show.json"),
        )
        .unwrap(),
    )
    .unwrap();
    // JSON output now shows empty lists as `[]` where 0.1.0 left them out: the same facts.
    let now = without_empty_lists(env.json(&["incident", "show", "BR-2024-0001"]));
    let then = without_empty_lists(then);
    assert_eq!(now["incident"], then["incident"]);
    assert_eq!(now["events"], then["events"]);
    // The bulk recipients it stored are read by today's types: a rerun sends nobody twice.
    let csv = env.tmp.path().join("r.csv");
    std::fs::write(
        &csv,
        "email,name\nalice@example.com,Alice Adams\nbob@example.com,Bob B\n",
    )
    .unwrap();
    let out = env
        .cmd()
        .env("BREACHFLOW_NOW", "2024-04-08T13:00:00Z")
        .args(["notify-subjects", "BR-2024-0001", "--recipients"])
        .arg(&csv)
        .assert()
        .success();
    assert!(
        stdout_of(&out).contains("Sent 0, already sent before 2"),
        "{}",
        stdout_of(&out)
    );
    // And it goes on: a new event joins the old chain, and the whole log still verifies.
    env.run_at(
        "2024-04-09T09:00:00Z",
        &["incident", "transition", "BR-2024-0001", "monitor"],
    )
    .success();
    let out = env.run(&["audit", "verify"]).success();
    assert!(
        stdout_of(&out).contains("Verified: 3"),
        "{}",
        stdout_of(&out)
    );
}

/// `v` with every object member whose value is an empty list removed, at any depth.
fn without_empty_lists(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k, without_empty_lists(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_empty_lists).collect()),
        other => other,
    }
}
