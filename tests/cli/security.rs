//! Security checks through the binary: permissions of everything written, credentials that
//! reach the server and nothing else, and templates that cannot read files.

use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use crate::smtp::{self, Mailbox};
use crate::support::*;

const ID: &str = "BR-2024-0001";

fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.clone());
        if p.is_dir() {
            files(&p, out);
        }
    }
}

#[test]
fn credentials_authenticate_over_tls_and_are_found_nowhere_else() {
    let env = TestEnv::new();
    let (ca, chain, key) = smtp::certificates(env.tmp.path());
    let (port, mailbox) = Mailbox::start_tls(&chain, &key);
    let mut org = example_json("organisation.json");
    org["flags"]["markets"] = json!([]);
    org["smtp"] = json!({ "host": "localhost", "port": port, "tls": "starttls", "from": "privacy@larkfield-vets.example", "ca_file": ca });
    env.prepare(&org);
    env.render_and_approve(NOW, ID, "board-briefing");
    // Wrong password: the server refuses, nothing is delivered, the message fails.
    let out = env
        .cmd()
        .env("BREACHFLOW_SMTP_USER", smtp::USER)
        .env("BREACHFLOW_SMTP_PASSWORD", "wrong-password")
        .args(["send", ID, "board-briefing", "--to", "board"])
        .output()
        .unwrap();
    // Nothing delivered: exit 21, not success.
    assert_eq!(out.status.code(), Some(21));
    assert!(mailbox.messages().is_empty());
    let failed = env.json(&["outbox", "--incident", ID])["messages"][0].clone();
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["reply"].as_str().unwrap().contains("535"),
        "{failed}"
    );
    // The right one: delivered.
    let out = env
        .cmd()
        .env("BREACHFLOW_SMTP_USER", smtp::USER)
        .env("BREACHFLOW_SMTP_PASSWORD", smtp::PASSWORD)
        .args(["outbox", "resolve", &format!("{ID}/1"), "--resend"])
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{printed}");
    assert_eq!(mailbox.messages().len(), 1, "{printed}");
    assert!(!printed.contains(smtp::PASSWORD));
    let bundle = env.tmp.path().join("b.json");
    env.run(&["bundle", "export", ID, bundle.to_str().unwrap()])
        .success();
    let log = stdout_of(&env.run(&["--format", "json", "audit", "log"]).success());
    assert!(!log.contains(smtp::PASSWORD) && !log.contains(smtp::USER));
    let mut all = Vec::new();
    files(&env.data_dir, &mut all);
    all.push(bundle);
    for p in all.iter().filter(|p| p.is_file()) {
        let bytes = std::fs::read(p).unwrap();
        for secret in [smtp::PASSWORD, "wrong-password"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in {}",
                p.display()
            );
        }
    }
}

#[test]
fn everything_written_is_private() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .env_remove("BREACHFLOW_DATA_DIR")
        .args(["--format", "json", "demo"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let dir = std::path::PathBuf::from(v["data_dir"].as_str().unwrap());
    let mut all = vec![dir.clone()];
    files(&dir, &mut all);
    assert!(
        all.iter()
            .any(|p| p.extension().is_some_and(|e| e == "eml"))
    );
    assert!(
        all.iter()
            .any(|p| p.extension().is_some_and(|e| e == "html"))
    );
    for p in &all {
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{:o} {}", mode, p.display());
    }
}

#[test]
fn a_template_cannot_read_files() {
    let env = TestEnv::with_incident();
    let dir = env.tmp.path().join("templates");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("sneaky.hbs"), "{{!--\ntitle = \"x\"\naudience = \"y\"\n--}}\n{{> /etc/passwd}}{{> ../../../../etc/passwd}}\n").unwrap();
    let out = env
        .cmd()
        .args([
            "--templates-dir",
            dir.to_str().unwrap(),
            "render",
            ID,
            "sneaky",
        ])
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success());
    assert!(!printed.contains("root:"), "{printed}");
    // A symbolic link in the folder is not followed.
    std::fs::remove_file(dir.join("sneaky.hbs")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd.hbs")).unwrap();
    let out = env
        .cmd()
        .args(["--templates-dir", dir.to_str().unwrap(), "templates"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("passwd"));
}
