//! Tampering with the outbox and the bulk recipients, as someone with the store's files could:
//! each entry flipped, deleted, swapped or planted is named by `audit verify` (tree, key,
//! expected and found), and a deleted recipient state never makes `notify-subjects` mail the
//! same person twice.

use serde_json::{Value, json};

use crate::smtp::Mailbox;
use crate::support::*;

const ID: &str = "BR-2024-0001";

/// A store with sent, failed and held-free messages and a bulk run of four (one refused), and
/// the port of the server it sends through.
fn sent_store() -> (TestEnv, u16, Mailbox) {
    let (port, mailbox) = Mailbox::start();
    let mut org = example_json("organisation.json");
    org["flags"]["markets"] = json!([]);
    org["smtp"] = json!({
        "host": "127.0.0.1", "port": port, "tls": "none",
        "from": "Larkfield Privacy <privacy@larkfield-vets.example>"
    });
    let env = TestEnv::prepared(&org);
    env.render_and_approve(NOW, ID, "board-briefing");
    env.render_and_approve(NOW, ID, "subject-notice");
    env.run(&["send", ID, "board-briefing", "--to", "board"])
        .success();
    env.run(&["send", ID, "board-briefing", "--to", "reject@example.com"])
        .code(21);
    let file = env.text_file(
        "r.csv",
        "email,name\nalice@example.com,Alice\nbob@example.com,Bob\ncarol@example.com,Carol\nreject@example.com,Rita\n",
    );
    env.run(&["notify-subjects", ID, "--recipients", &file, "--batch", "2"])
        .code(20);
    env.run(&["audit", "verify"]).success();
    (env, port, mailbox)
}

/// A copy of `env`'s store in a new environment, so each case starts from the same bytes.
fn copy_of(env: &TestEnv) -> TestEnv {
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
    let copy = TestEnv::new();
    copy_dir(&env.data_dir, &copy.data_dir);
    copy
}

/// Changes one tree of the store directly.
fn tamper(env: &TestEnv, tree: &str, f: impl FnOnce(&sled::Tree)) {
    let db = sled::open(&env.data_dir).unwrap();
    f(&db.open_tree(tree).unwrap());
    db.flush().unwrap();
}

/// Swaps the values of the tree's first two entries.
fn swap_first_two(t: &sled::Tree) {
    let ks = keys(t);
    let (a, b) = (
        t.get(&ks[0]).unwrap().unwrap(),
        t.get(&ks[1]).unwrap().unwrap(),
    );
    t.insert(&ks[0], b).unwrap();
    t.insert(&ks[1], a).unwrap();
}

/// The tree's keys, in order.
fn keys(t: &sled::Tree) -> Vec<sled::IVec> {
    t.iter().keys().map(Result::unwrap).collect()
}

/// The value at `key` as JSON.
fn json_at(t: &sled::Tree, key: &[u8]) -> Value {
    serde_json::from_slice(&t.get(key).unwrap().unwrap()).unwrap()
}

/// `audit verify` fails with exit 9 and names everything in `expected`.
fn named(env: &TestEnv, case: &str, expected: &[&str]) {
    let out = env.run(&["audit", "verify"]).code(9);
    let err = stderr_of(&out);
    for e in expected {
        assert!(err.contains(e), "{case}: {e:?} not in:\n{err}");
    }
}

#[test]
fn every_flip_deletion_swap_and_plant_in_the_outbox_and_recipients_is_named() {
    let (env, _port, _mailbox) = sent_store();

    // messages: flip a state.
    let e = copy_of(&env);
    tamper(&e, "messages", |t| {
        let k = keys(t).remove(0);
        let mut m = json_at(t, &k);
        assert_eq!(m["state"], "sent");
        m["state"] = json!("failed");
        t.insert(&k, serde_json::to_vec(&m).unwrap()).unwrap();
    });
    named(
        &e,
        "messages flip",
        &[
            "messages tree, BR-2024-0001/1",
            "state = \"sent\"",
            "state = \"failed\"",
        ],
    );

    // messages: a byte of the address changed.
    let e = copy_of(&env);
    tamper(&e, "messages", |t| {
        let k = keys(t).remove(1);
        let text = String::from_utf8(t.get(&k).unwrap().unwrap().to_vec())
            .unwrap()
            .replace("reject@example.com", "reJect@example.com");
        t.insert(&k, text.as_bytes()).unwrap();
    });
    named(&e, "messages byte", &["BR-2024-0001/2", "reJect"]);

    // messages: delete.
    let e = copy_of(&env);
    tamper(&e, "messages", |t| {
        let k = keys(t).remove(0);
        t.remove(&k).unwrap();
    });
    named(
        &e,
        "messages delete",
        &["BR-2024-0001/1", "the record is missing"],
    );

    // messages: swap two records' values.
    let e = copy_of(&env);
    tamper(&e, "messages", swap_first_two);
    named(&e, "messages swap", &["BR-2024-0001/1", "BR-2024-0001/2"]);

    // messages: a record planted with no event.
    let e = copy_of(&env);
    tamper(&e, "messages", |t| {
        let ks = keys(t);
        let mut k = ks[0].to_vec();
        let n = k.len();
        k[n - 4..].copy_from_slice(&99u32.to_be_bytes());
        t.insert(k, t.get(&ks[0]).unwrap().unwrap()).unwrap();
    });
    named(
        &e,
        "messages plant",
        &["BR-2024-0001/99", "no event records this message"],
    );

    // recipients: flip the refused one to sent (so it would never be retried).
    let e = copy_of(&env);
    tamper(&e, "recipients", |t| {
        for k in keys(t) {
            let mut r = json_at(t, &k);
            if r["address"] == "reject@example.com" {
                r["state"] = json!("sent");
                t.insert(&k, serde_json::to_vec(&r).unwrap()).unwrap();
            }
        }
    });
    named(
        &e,
        "recipients flip",
        &[
            "recipients tree",
            "reject@example.com",
            "state = \"failed\"",
            "state = \"sent\"",
        ],
    );

    // recipients: delete.
    let e = copy_of(&env);
    tamper(&e, "recipients", |t| {
        for k in keys(t) {
            if json_at(t, &k)["address"] == "alice@example.com" {
                t.remove(&k).unwrap();
            }
        }
    });
    named(
        &e,
        "recipients delete",
        &[
            "recipients tree",
            "alice@example.com sent",
            "the state is missing",
        ],
    );

    // recipients: swap two states' values.
    let e = copy_of(&env);
    tamper(&e, "recipients", swap_first_two);
    named(&e, "recipients swap", &["recipients tree", "address = "]);

    // recipients: a state planted for someone never sent (they would be skipped as notified).
    let e = copy_of(&env);
    tamper(&e, "recipients", |t| {
        let ks = keys(t);
        let mut k = ks[0].to_vec();
        let n = k.len();
        k[n - 16..].copy_from_slice(&[7u8; 16]);
        t.insert(k, t.get(&ks[0]).unwrap().unwrap()).unwrap();
    });
    named(
        &e,
        "recipients plant",
        &["recipients tree", "no event records this recipient"],
    );

    // Untouched, it still verifies.
    env.run(&["audit", "verify"]).success();
}

#[test]
fn a_deleted_recipient_state_never_makes_anyone_hear_twice() {
    let (env, _port, mailbox) = sent_store();
    assert_eq!(mailbox.count_to("alice@example.com"), 1);
    tamper(&env, "recipients", |t| {
        for k in keys(t) {
            if json_at(t, &k)["address"] == "alice@example.com" {
                t.remove(&k).unwrap();
            }
        }
    });
    let file = env.text_file("again.csv", "email,name\nalice@example.com,Alice\n");
    let out = env
        .run(&["notify-subjects", ID, "--recipients", &file])
        .code(9);
    assert!(
        stderr_of(&out).contains("not what the log records"),
        "{}",
        stderr_of(&out)
    );
    // Nor with --retry-failed, nor in a dry run.
    env.run(&[
        "notify-subjects",
        ID,
        "--recipients",
        &file,
        "--retry-failed",
    ])
    .code(9);
    env.run(&["notify-subjects", ID, "--recipients", &file, "--dry-run"])
        .code(9);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(mailbox.count_to("alice@example.com"), 1);
}

#[test]
fn a_bundle_brings_the_bulk_recipient_states_its_events_imply() {
    let (env, _port, _mailbox) = sent_store();
    let file = env.tmp.path().join("case.bundle.json");
    env.run(&["bundle", "export", ID, file.to_str().unwrap()])
        .success();
    let other = TestEnv::new();
    // A store with no profile takes the bundle's only when told to (issue 17, point 2).
    other
        .run(&[
            "bundle",
            "import",
            file.to_str().unwrap(),
            "--accept-organisation",
        ])
        .success();
    other.run(&["audit", "verify"]).success();
    let states =
        |e: &TestEnv| e.json(&["outbox", "recipients", ID, "subject-notice"])["recipients"].clone();
    assert_eq!(states(&other), states(&env));
    assert_eq!(states(&other).as_array().unwrap().len(), 4);
}

/// `audit repair` rebuilds the outbox and the bulk recipients from their events: after a
/// flip, a deletion and a planted entry in each, the store verifies again and holds what it
/// held before.
#[test]
fn repair_rebuilds_the_outbox_and_the_recipients_from_their_events() {
    let (env, _port, _mailbox) = sent_store();
    let before = |e: &TestEnv| {
        (
            e.json(&["outbox"])["messages"].clone(),
            e.json(&["outbox", "recipients", ID, "subject-notice"])["recipients"].clone(),
        )
    };
    let original = before(&env);
    let e = copy_of(&env);
    tamper(&e, "messages", |t| {
        let ks = keys(t);
        let mut m = json_at(t, &ks[0]);
        m["state"] = json!("failed");
        t.insert(&ks[0], serde_json::to_vec(&m).unwrap()).unwrap();
        t.remove(&ks[1]).unwrap();
    });
    tamper(&e, "recipients", |t| {
        let ks = keys(t);
        let mut r = json_at(t, &ks[0]);
        r["state"] = json!("failed");
        t.insert(&ks[0], serde_json::to_vec(&r).unwrap()).unwrap();
        t.remove(&ks[1]).unwrap();
    });
    named(&e, "before repair", &["messages tree", "recipients tree"]);
    let repaired = stdout_of(&e.run(&["audit", "repair"]).success());
    assert!(repaired.contains("messages"), "{repaired}");
    e.run(&["audit", "verify"]).success();
    assert_eq!(before(&e), original);
}
