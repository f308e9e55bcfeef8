//! Accounts and tokens through the real binary: added, listed, passwords set, tokens created
//! and revoked, all in the log and verified; a credential planted or swapped on disk is named
//! by `audit verify` and removed by `audit repair`; the users tree is rebuilt from the log; a
//! bundle never carries accounts.

use serde_json::Value;

use crate::support::{TestEnv, stderr_of, stdout_of};

const PASSWORD: &str = "correct horse battery";

/// A store with the example incident, an admin and a DPO (with a password and a token).
fn with_accounts() -> (TestEnv, String) {
    let env = TestEnv::with_incident();
    env.run(&[
        "user",
        "add",
        "Ada Admin",
        "--email",
        "ada@example.com",
        "--role",
        "admin",
    ])
    .success();
    env.run(&[
        "user",
        "add",
        "Dana Scully",
        "--email",
        "dana@example.com",
        "--role",
        "dpo",
        "--role",
        "comms",
    ])
    .success();
    env.cmd()
        .env("BREACHFLOW_PASSWORD", PASSWORD)
        .args(["user", "passwd", "Dana Scully"])
        .assert()
        .success();
    let token = env.json(&[
        "token",
        "create",
        "--user",
        "dana scully",
        "--label",
        "laptop",
    ]);
    let text = token["token"].as_str().unwrap().to_string();
    (env, text)
}

fn open_tree(env: &TestEnv, tree: &str, change: impl FnOnce(&sled::Tree)) {
    let mut tries = 0;
    let db = loop {
        match sled::open(&env.data_dir) {
            Ok(db) => break db,
            Err(_) if tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("cannot open the store: {e}"),
        }
    };
    change(&db.open_tree(tree).unwrap());
    db.flush().unwrap();
}

#[test]
fn accounts_are_added_listed_and_verified() {
    let (env, token) = with_accounts();
    assert!(token.starts_with("bft_t1_"), "{token}");
    let users = env.json(&["user", "list"]);
    let rows: Vec<(String, String, bool)> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_string(),
                u["roles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(","),
                u["password_set"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("u1".into(), "admin".into(), false),
            ("u2".into(), "dpo,comms".into(), true)
        ]
    );
    let table = stdout_of(&env.run(&["user", "list"]).success());
    assert!(
        table.contains("Dana Scully") && table.contains("dpo, comms"),
        "{table}"
    );

    // A password from standard input when no variable is set.
    env.cmd()
        .args(["user", "passwd", "u1"])
        .write_stdin(format!("{PASSWORD} too\n"))
        .assert()
        .success();
    assert_eq!(env.json(&["user", "list"])[0]["password_set"], true);

    // The token is shown once, and listed without its secret.
    let out = stdout_of(
        &env.run(&["token", "create", "--user", "Ada Admin"])
            .success(),
    );
    assert!(
        out.contains("bft_t2_") && out.contains("will not be shown again"),
        "{out}"
    );
    let listed = stdout_of(&env.run(&["token", "list"]).success());
    assert!(
        listed.contains("t1") && listed.contains("laptop"),
        "{listed}"
    );
    assert!(!listed.contains("bft_"), "{listed}");
    env.run(&["token", "revoke", "t1"]).success();
    let tokens = env.json(&["token", "list"]);
    assert!(tokens[0]["revoked_at"].is_string(), "{tokens}");
    assert!(tokens[1].get("revoked_at").is_none(), "{tokens}");
    env.run(&["token", "revoke", "t1"]).code(4);
    env.run(&["token", "revoke", "t9"]).code(6);

    // Refusals: a name taken (whatever the case), an address mail cannot reach, no role, a
    // short password, an unknown account.
    env.run(&[
        "user",
        "add",
        "DANA SCULLY",
        "--email",
        "x@example.com",
        "--role",
        "dpo",
    ])
    .code(4);
    env.run(&[
        "user",
        "add",
        "Fox",
        "--email",
        "fox@localhost",
        "--role",
        "dpo",
    ])
    .code(4);
    env.run(&["user", "add", "Fox", "--email", "fox@example.com"])
        .code(2);
    env.cmd()
        .env("BREACHFLOW_PASSWORD", "short")
        .args(["user", "passwd", "Dana Scully"])
        .assert()
        .code(4);
    env.run(&["user", "disable", "Nobody"]).code(6);
    env.run(&["user", "disable", "Dana Scully"]).success();
    env.run(&["token", "create", "--user", "Dana Scully"])
        .code(4);

    // Everything is in the log, and no secret is.
    env.run(&["audit", "verify"]).success();
    let log = stdout_of(&env.run(&["--format", "json", "audit", "log"]).success());
    for kind in [
        "user_added",
        "password_set",
        "token_created",
        "token_revoked",
        "user_disabled",
    ] {
        assert!(log.contains(kind), "{kind} not in the log");
    }
    assert!(!log.contains(PASSWORD) && !log.contains(&token) && !log.contains("$argon2id$"));
}

#[test]
fn a_planted_or_swapped_credential_is_named_and_removed_by_repair() {
    let (env, _) = with_accounts();
    env.run(&["audit", "verify"]).success();
    // Someone with the files writes a token of their own for Dana, and swaps her password
    // hash for one of a password they know.
    open_tree(&env, "credentials", |t| {
        let planted = format!("t{}", "ab".repeat(32));
        t.insert(planted.as_bytes(), b"t1".as_slice()).unwrap();
        t.insert(planted.replace("ab", "cd").as_bytes(), b"t7".as_slice())
            .unwrap();
        let mut key = b"p".to_vec();
        key.extend_from_slice(&2u32.to_be_bytes());
        t.insert(
            key,
            b"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$bm90IHRoZSBoYXNo".as_slice(),
        )
        .unwrap();
    });
    let err = stderr_of(&env.run(&["audit", "verify"]).code(9));
    for said in [
        "credentials tree, token t1: expected one credential, found a second one",
        "credentials tree, token t7: expected nothing (no event records it)",
        "credentials tree, password of u2: expected the credential the log commits to",
    ] {
        assert!(err.contains(said), "expected {said:?} in:\n{err}");
    }
    // The swapped hash cannot be put back (the log holds only its commitment): repair says
    // so, and exits as a verification failure.
    let repaired = env.run(&["audit", "repair"]).code(9);
    let out = stdout_of(&repaired);
    assert!(out.contains("token t7") && out.contains("removed"), "{out}");
    assert!(
        stderr_of(&repaired).contains("user passwd"),
        "{}",
        stderr_of(&repaired)
    );
    // The planted token is gone; the swapped password is gone too, and named until a new
    // one is set.
    let err = stderr_of(&env.run(&["audit", "verify"]).code(9));
    assert!(
        err.contains("password of u2") && !err.contains("token t7"),
        "{err}"
    );
    env.cmd()
        .env("BREACHFLOW_PASSWORD", PASSWORD)
        .args(["user", "passwd", "Dana Scully"])
        .assert()
        .success();
    env.run(&["audit", "verify"]).success();
}

#[test]
fn repair_rebuilds_the_users_tree_from_the_log() {
    let (env, _) = with_accounts();
    let before = env.json(&["user", "list"]);
    open_tree(&env, "users", |t| {
        let mut key = b"u".to_vec();
        key.extend_from_slice(&1u32.to_be_bytes());
        t.remove(&key).unwrap();
        let mut dana = b"u".to_vec();
        dana.extend_from_slice(&2u32.to_be_bytes());
        let mut record: Value = serde_json::from_slice(&t.get(&dana).unwrap().unwrap()).unwrap();
        record["roles"] = serde_json::json!(["admin", "comms"]);
        t.insert(dana, serde_json::to_vec(&record).unwrap())
            .unwrap();
    });
    let err = stderr_of(&env.run(&["audit", "verify"]).code(9));
    for said in [
        "users tree, user u1: expected the account of \"Ada Admin\", found nothing",
        "users tree, user u2: expected roles.0 = \"dpo\", found roles.0 = \"admin\"",
    ] {
        assert!(err.contains(said), "expected {said:?} in:\n{err}");
    }
    env.run(&["audit", "repair"]).success();
    env.run(&["audit", "verify"]).success();
    assert_eq!(env.json(&["user", "list"]), before);
}

#[test]
fn a_bundle_never_carries_accounts_or_secrets() {
    let (env, token) = with_accounts();
    let file = env.tmp.path().join("bundle.json");
    env.run(&[
        "bundle",
        "export",
        "BR-2024-0001",
        &file.display().to_string(),
    ])
    .success();
    let text = std::fs::read_to_string(&file).unwrap();
    for word in [
        "user_added",
        "password_set",
        "token_created",
        "Dana Scully",
        "dana@example.com",
        "$argon2id$",
        token.as_str(),
    ] {
        assert!(!text.contains(word), "the bundle carries {word:?}");
    }
}
