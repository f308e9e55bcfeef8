//! The test environment: a temporary store, a fixed clock and actor, and the real binary.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// The instant most tests act at: shortly after the example incident's awareness.
pub const NOW: &str = "2024-03-30T21:45:00Z";

/// The second person who approves what the tester renders (four-eyes approval).
pub const APPROVER: &str = "approver";

pub struct TestEnv {
    pub tmp: TempDir,
    pub data_dir: PathBuf,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let tmp = tempfile::tempdir().expect("temp dir");
        let data_dir = tmp.path().join("store");
        TestEnv { tmp, data_dir }
    }

    /// A store with the example organisation profile.
    pub fn initialised() -> TestEnv {
        let env = TestEnv::new();
        env.run(&["init", "--org", &example("organisation.json")])
            .success();
        env
    }

    /// A store with the example organisation and the example incident open (BR-2024-0001).
    pub fn with_incident() -> TestEnv {
        let env = TestEnv::initialised();
        env.run(&[
            "incident",
            "open",
            "--file",
            &example("incident-ransomware.json"),
        ])
        .success();
        env
    }

    /// Initialises this store with `org` and takes the example incident (BR-2024-0001) through
    /// assessment, the DPO's decision and the answers the reports ask for.
    pub fn prepare(&self, org: &Value) {
        let org = self.file("org.json", org);
        self.run(&["init", "--org", &org]).success();
        self.run(&[
            "incident",
            "open",
            "--file",
            &example("incident-ransomware.json"),
        ])
        .success();
        self.assess("BR-2024-0001");
        self.run(&["decide", "BR-2024-0001", "--accept"]).success();
        self.answer("BR-2024-0001");
    }

    /// A new store prepared as `prepare` does.
    pub fn prepared(org: &Value) -> TestEnv {
        let env = TestEnv::new();
        env.prepare(org);
        env
    }

    /// Records the example assessment on `id`.
    pub fn assess(&self, id: &str) {
        self.run(&[
            "assess",
            id,
            "--file",
            &example("assessment-ransomware.json"),
        ])
        .success();
    }

    /// Records the example answers the reports ask for (`details`) on `id`.
    pub fn answer(&self, id: &str) {
        self.run(&[
            "incident",
            "update",
            id,
            "--file",
            &example("incident-update-report-answers.json"),
        ])
        .success();
    }

    /// Renders `doc` for `id` and approves that version, at `now`: rendered by the tester and
    /// approved by a second person ([`APPROVER`]), as four-eyes approval requires of the ICO
    /// report, the market announcement and the subject notice.
    pub fn render_and_approve(&self, now: &str, id: &str, doc: &str) {
        self.run_at(now, &["render", id, doc]).success();
        self.run_as(APPROVER, now, &["approve", id, doc]).success();
    }

    /// Runs `args` at `now` as `actor` instead of the tester.
    pub fn run_as(&self, actor: &str, now: &str, args: &[&str]) -> assert_cmd::assert::Assert {
        self.cmd()
            .env("BREACHFLOW_NOW", now)
            .env("BREACHFLOW_ACTOR", actor)
            .args(args)
            .assert()
    }

    /// The binary with a clean environment: only what the test sets reaches it.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_breachflow"));
        for (key, _) in std::env::vars() {
            if key.starts_with("BREACHFLOW_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("BREACHFLOW_DATA_DIR", &self.data_dir)
            .env("BREACHFLOW_NOW", NOW)
            // Recorded times follow the effective time, so outputs are repeatable; needs the
            // `test-clock` feature, which `cargo test --features test-clock` (CI) enables.
            .env("BREACHFLOW_TEST_RECORDED_CLOCK", "effective")
            .env("BREACHFLOW_ACTOR", "tester")
            .env("TMPDIR", self.tmp.path());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.cmd().args(args).assert()
    }

    pub fn run_at(&self, now: &str, args: &[&str]) -> assert_cmd::assert::Assert {
        self.cmd().env("BREACHFLOW_NOW", now).args(args).assert()
    }

    /// Runs with `--format json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self
            .cmd()
            .arg("--format")
            .arg("json")
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}",
                String::from_utf8_lossy(&out)
            )
        })
    }

    /// Writes a JSON value to a file in the temp dir and returns its path.
    pub fn file(&self, name: &str, value: &Value) -> String {
        self.text_file(name, &serde_json::to_string_pretty(value).unwrap())
    }

    pub fn text_file(&self, name: &str, text: &str) -> String {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    /// The stored incident's version, read through the binary.
    pub fn version(&self, id: &str) -> u64 {
        self.json(&["incident", "show", id])["incident"]["version"]
            .as_u64()
            .unwrap()
    }

    pub fn state(&self, id: &str) -> String {
        self.json(&["incident", "show", id])["incident"]["state"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

pub fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

pub fn example_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(example(name)).unwrap()).unwrap()
}

pub fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

pub fn stdout_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}
