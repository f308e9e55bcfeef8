//! The crash campaign: the real binary runs a random sequence of commands and is `kill -9`ed at
//! random moments. After every kill the next command works, `audit verify` passes, every
//! command that reported success is still there, and no message reaches the SMTP server twice.
//!
//! Short by default (CI); `BREACHFLOW_CRASH_ROUNDS=250 cargo test crash -- --nocapture` for the
//! long campaign. `BREACHFLOW_CRASH_SEED` picks the sequence.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use crate::smtp::Mailbox;
use crate::support::*;

/// A small, seedable generator, so a failing campaign can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn kill_9_at_random_moments_loses_nothing_and_sends_nothing_twice() {
    let rounds: usize = std::env::var("BREACHFLOW_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let seed: u64 = std::env::var("BREACHFLOW_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_b4ea_c4f1_0001);
    let mut rng = Rng(seed | 1);
    let (port, mailbox) = Mailbox::start();
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org["flags"]["markets"] = json!([]);
    org["smtp"] = json!({ "host": "127.0.0.1", "port": port, "tls": "none", "from": "privacy@larkfield-vets.example" });
    let org = env.file("org.json", &org);
    env.run(&["init", "--org", &org]).success();

    let mut ids: Vec<String> = Vec::new();
    // Markers of updates that reported success: each must be in its incident's log.
    let mut confirmed: Vec<(String, String)> = Vec::new();
    let mut kills = 0;
    for round in 0..rounds {
        // A few incidents, worked on deeply, so sequences reach approval and sending.
        let which = if ids.len() >= 3 {
            1 + rng.below(6)
        } else {
            rng.below(7)
        };
        let id = if ids.is_empty() {
            None
        } else {
            Some(ids[rng.below(ids.len() as u64) as usize].clone())
        };
        let marker = format!("round {round} of seed {seed}");
        let title = env.file("title.json", &json!({ "title": marker }));
        let args: Vec<String> = match (which, &id) {
            (0, _) | (_, None) => [
                "--format",
                "json",
                "incident",
                "open",
                "--file",
                &example("incident-ransomware.json"),
            ]
            .map(String::from)
            .to_vec(),
            (1, Some(id)) => ["incident", "update", id, "--file", &title]
                .map(String::from)
                .to_vec(),
            (2, Some(id)) => [
                "assess",
                id,
                "--file",
                &example("assessment-ransomware.json"),
            ]
            .map(String::from)
            .to_vec(),
            (3, Some(id)) => ["decide", id, "--accept"].map(String::from).to_vec(),
            (4, Some(id)) => [
                "incident",
                "update",
                id,
                "--file",
                &example("incident-update-report-answers.json"),
            ]
            .map(String::from)
            .to_vec(),
            (5, Some(id)) => ["render", id, "board-briefing"].map(String::from).to_vec(),
            (_, Some(id)) => {
                if rng.below(2) == 0 {
                    ["approve", id, "board-briefing"].map(String::from).to_vec()
                } else {
                    let to = format!("crash-{}@example.com", id.to_lowercase());
                    ["send", id, "board-briefing", "--to", &to]
                        .map(String::from)
                        .to_vec()
                }
            }
        };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_breachflow"))
            .env("BREACHFLOW_DATA_DIR", &env.data_dir)
            .env("BREACHFLOW_NOW", NOW)
            .env("BREACHFLOW_ACTOR", "tester")
            .env("BREACHFLOW_SMTP_BACKOFF_MS", "5")
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let kill = rng.below(2) == 0;
        if kill {
            std::thread::sleep(Duration::from_micros(rng.below(30_000)));
            let _ = child.kill();
            kills += 1;
        }
        let out = child.wait_with_output().unwrap();
        // A command that was killed is not counted as a success even if it finished first.
        let ok = !kill && out.status.success();
        if ok {
            if args.contains(&"open".to_string()) {
                let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                ids.push(v["id"].as_str().unwrap().to_string());
            }
            if which == 1
                && let Some(id) = &id
            {
                confirmed.push((id.clone(), marker.clone()));
            }
        }
        // After every command, killed or not: the store opens, and the log verifies.
        let verified = env.cmd().args(["audit", "verify"]).output().unwrap();
        assert!(
            verified.status.success(),
            "round {round} (seed {seed}): after `{}`{}, audit verify: {}",
            args.join(" "),
            if kill { " (killed)" } else { "" },
            String::from_utf8_lossy(&verified.stderr)
        );
    }
    // Everything that reported success is still there.
    for id in &ids {
        env.run(&["incident", "show", id]).success();
    }
    for (id, marker) in &confirmed {
        let log = stdout_of(&env.run(&["--format", "json", "audit", "log", id]).success());
        assert!(log.contains(marker.as_str()), "{id}: {marker} lost");
    }
    // No message delivered twice, whatever was killed when: each outbox record has its own
    // Message-ID (one per document version and address), and none arrives more than once.
    std::thread::sleep(Duration::from_millis(200));
    let mut seen = std::collections::HashMap::new();
    for (_, raw) in mailbox.messages() {
        let id = raw
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .unwrap()
            .to_string();
        *seen.entry(id).or_insert(0) += 1;
    }
    for (id, n) in &seen {
        assert_eq!(*n, 1, "{id} delivered {n} times");
    }
    eprintln!(
        "crash campaign: seed {seed}, {rounds} commands, {kills} killed, {} incidents, {} updates confirmed, {} messages delivered",
        ids.len(),
        confirmed.len(),
        mailbox.messages().len()
    );
    assert!(kills > 0);
}
