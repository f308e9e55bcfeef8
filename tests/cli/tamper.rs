//! Tampering with every stored tree other than the log, and forging every part of a bundle:
//! each change is named by `audit verify` (tree, key, expected and found) or refused by
//! `bundle import` (the part), and `audit repair` rebuilds what the log implies.
//!
//! One store is prepared once (an organisation, two incidents, two versions of a report, a
//! reminder sent to the outbox folder) and copied for each case, so the tables stay fast. The
//! store is changed as someone with the files would: sled opened directly between commands.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::support::*;

const A: &str = "BR-2024-0001";
const B: &str = "BR-2024-0002";

/// The prepared store's directory, built on first use.
fn base() -> &'static Path {
    static BASE: OnceLock<TestEnv> = OnceLock::new();
    &BASE
        .get_or_init(|| {
            let env = TestEnv::with_incident();
            env.assess(A);
            env.run(&["decide", A, "--accept"]).success();
            env.answer(A);
            env.run(&[
                "incident",
                "open",
                "--file",
                &example("incident-ransomware.json"),
            ])
            .success();
            env.render_and_approve(NOW, A, "ico-report");
            env.run_at(
                "2024-03-31T09:00:00Z",
                &[
                    "incident",
                    "update",
                    A,
                    "--file",
                    &example("incident-update-containment.json"),
                ],
            )
            .success();
            env.run_at("2024-03-31T09:10:00Z", &["render", A, "ico-report"])
                .success();
            env.run_at("2024-04-01T12:00:00Z", &["remind"]).success();
            env.run(&["audit", "verify"]).success();
            env
        })
        .data_dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A fresh copy of the prepared store.
fn prepared() -> TestEnv {
    let env = TestEnv::new();
    copy_dir(base(), &env.data_dir);
    env
}

/// A change to one tree: its name and what is done to it.
type Change = (&'static str, fn(&sled::Tree));

/// Changes the store's trees directly, as someone with the files would.
fn tamper_all(env: &TestEnv, changes: &[Change]) {
    // sled's lock can outlive the previous process by a moment on a loaded machine.
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
    for (tree, change) in changes {
        change(&db.open_tree(tree).unwrap());
    }
    db.flush().unwrap();
}

fn tamper(env: &TestEnv, tree: &'static str, change: fn(&sled::Tree)) {
    tamper_all(env, &[(tree, change)]);
}

fn id_key(number: u32) -> Vec<u8> {
    [2024u16.to_be_bytes().as_slice(), &number.to_be_bytes()].concat()
}

fn keys(t: &sled::Tree, prefix: &[u8]) -> Vec<Vec<u8>> {
    t.scan_prefix(prefix)
        .keys()
        .map(|k| k.unwrap().to_vec())
        .collect()
}

/// Replaces the entry at `old` by one at `new` with the same value.
fn rekey(t: &sled::Tree, old: &[u8], new: &[u8]) {
    let v = t.remove(old).unwrap().unwrap();
    t.insert(new, v).unwrap();
}

/// Turns one byte of the value's JSON syntax into something else: `{` at the start.
fn flip_byte(t: &sled::Tree, key: &[u8]) {
    let mut v = t.get(key).unwrap().unwrap().to_vec();
    v[0] ^= 0x01;
    t.insert(key, v).unwrap();
}

fn swap_values(t: &sled::Tree, a: &[u8], b: &[u8]) {
    let (va, vb) = (t.get(a).unwrap().unwrap(), t.get(b).unwrap().unwrap());
    t.insert(a, vb).unwrap();
    t.insert(b, va).unwrap();
}

fn edit_json(t: &sled::Tree, key: &[u8], edit: fn(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&t.get(key).unwrap().unwrap()).unwrap();
    edit(&mut v);
    t.insert(key, serde_json::to_vec(&v).unwrap()).unwrap();
}

fn doc_key(number: u32, name: &str, version: u32) -> Vec<u8> {
    [
        id_key(number).as_slice(),
        name.as_bytes(),
        &[0],
        &version.to_be_bytes(),
    ]
    .concat()
}

/// One tampering: its name, the tree, the change, and what `audit verify` must say.
type Case = (
    &'static str,
    &'static str,
    fn(&sled::Tree),
    &'static [&'static str],
);

/// Runs each case on a fresh copy: `audit verify` exits 9 and names every expected line.
fn each_is_named(cases: &[Case]) {
    for (name, tree, change, said) in cases {
        let env = prepared();
        tamper(&env, tree, *change);
        let out = env.run(&["audit", "verify"]).code(9);
        let err = stderr_of(&out);
        for s in *said {
            assert!(err.contains(s), "{name}: expected {s:?} in:\n{err}");
        }
    }
}

#[test]
fn an_untouched_prepared_store_verifies_and_repair_changes_nothing() {
    let env = prepared();
    env.run(&["audit", "verify"]).success();
    let out = env.run(&["audit", "repair"]).success();
    assert!(
        stdout_of(&out).contains("0 entries changed"),
        "{}",
        stdout_of(&out)
    );
}

#[test]
fn tampered_incident_records_are_named() {
    each_is_named(&[
        (
            "flip",
            "incidents",
            |t| {
                edit_json(t, &id_key(1), |r| {
                    r["facts"]["title"] = json!("Nothing happened")
                })
            },
            &[
                "incidents tree, BR-2024-0001: expected facts.title = \"",
                "found facts.title = \"Nothing happened\"",
            ],
        ),
        (
            "flip a byte",
            "incidents",
            |t| flip_byte(t, &id_key(1)),
            &[
                "incidents tree, key 0x07e800000001: expected an entry the log implies, found an unreadable entry (BR-2024-0001: ",
                "incidents tree, BR-2024-0001: expected the record at version",
            ],
        ),
        (
            "delete",
            "incidents",
            |t| {
                t.remove(id_key(1)).unwrap();
            },
            &[
                "incidents tree, BR-2024-0001: expected the record at version",
                "found nothing",
            ],
        ),
        (
            "swap",
            "incidents",
            |t| swap_values(t, &id_key(1), &id_key(2)),
            &[
                "incidents tree, BR-2024-0001: expected",
                "incidents tree, BR-2024-0002: expected",
            ],
        ),
    ]);
}

#[test]
fn a_tampered_incident_events_index_is_named() {
    each_is_named(&[
        (
            "flip",
            "incident_events",
            |t| {
                let k = keys(t, &id_key(1))[1].clone();
                let mut flipped = k.clone();
                flipped[13] ^= 0x40;
                rekey(t, &k, &flipped);
            },
            &[
                "incident_events tree, BR-2024-0001 event",
                "expected nothing (no event records it), found an entry",
            ],
        ),
        (
            "delete",
            "incident_events",
            |t| {
                t.remove(&keys(t, &id_key(1))[1]).unwrap();
            },
            &["incident_events tree, BR-2024-0001 event 3: expected an entry, found nothing"],
        ),
        (
            "swap",
            "incident_events",
            |t| {
                let (a, b) = (
                    keys(t, &id_key(1))[0].clone(),
                    keys(t, &id_key(2))[0].clone(),
                );
                rekey(t, &a, &[&a[..6], &b[6..]].concat());
                rekey(t, &b, &[&b[..6], &a[6..]].concat());
            },
            &[
                "incident_events tree, BR-2024-0001 event 2: expected an entry, found nothing",
                "incident_events tree, BR-2024-0002 event 2: expected nothing",
            ],
        ),
    ]);
}

#[test]
fn a_tampered_deadline_index_is_named() {
    each_is_named(&[
        (
            "flip",
            "deadlines",
            |t| {
                let k = keys(t, b"d")[0].clone();
                let mut flipped = k.clone();
                flipped[5] ^= 0x01;
                rekey(t, &k, &flipped);
            },
            &[
                "deadlines tree, BR-2024-0001 uk-gdpr-art33/initial due 2024-04-02T21:10:00+00:00: expected an entry, found nothing",
                "expected nothing (no event records it), found an entry",
            ],
        ),
        (
            "delete",
            "deadlines",
            |t| {
                t.remove(&keys(t, b"d")[0]).unwrap();
            },
            &[
                "deadlines tree, BR-2024-0001 uk-gdpr-art33/initial due 2024-04-02T21:10:00+00:00: expected an entry, found nothing",
            ],
        ),
        (
            "swap",
            "deadlines",
            |t| {
                // The report due now and the follow-up not yet started trade places.
                let (due, waiting) = (keys(t, b"d")[0].clone(), keys(t, b"w")[0].clone());
                rekey(t, &due, &[&due[..15], &waiting[7..]].concat());
                rekey(t, &waiting, &[&waiting[..7], &due[15..]].concat());
            },
            &[
                "deadlines tree, BR-2024-0001 uk-gdpr-art33/initial due 2024-04-02T21:10:00+00:00: expected an entry, found nothing",
                "deadlines tree, BR-2024-0001 uk-gdpr-art33/initial (clock not started): expected nothing (no event records it)",
            ],
        ),
    ]);
}

#[test]
fn tampered_counters_profile_and_meta_keys_are_named() {
    each_is_named(&[
        (
            "flip counter",
            "meta",
            |t| {
                t.insert(b"counter\x07\xe8", &1u32.to_be_bytes()).unwrap();
            },
            &[
                "meta tree, incident counter 2024: expected the last number 2, found the last number 1",
            ],
        ),
        (
            "delete counter",
            "meta",
            |t| {
                t.remove(b"counter\x07\xe8").unwrap();
            },
            &["meta tree, incident counter 2024: expected the last number 2, found nothing"],
        ),
        (
            "flip profile",
            "meta",
            |t| {
                edit_json(t, b"organisation", |o| {
                    o["dpo"]["email"] = json!("dpo@attacker.example")
                })
            },
            &[
                "meta tree, organisation: expected dpo.email = \"",
                "found dpo.email = \"dpo@attacker.example\"",
            ],
        ),
        (
            "delete profile",
            "meta",
            |t| {
                t.remove(b"organisation").unwrap();
            },
            &[
                "meta tree, organisation: expected the profile of",
                "found nothing",
            ],
        ),
        (
            "swap counter and last recorded time",
            "meta",
            |t| swap_values(t, b"counter\x07\xe8", b"last_recorded"),
            &[
                "meta tree, key 0x636f756e74657207e8: expected an entry the log implies, found an unreadable entry",
                "meta tree, last_recorded: expected",
                "found an unreadable entry",
            ],
        ),
        (
            "flip last recorded time",
            "meta",
            |t| {
                t.insert(b"last_recorded", b"2020-01-01T00:00:00Z").unwrap();
            },
            &[
                "meta tree, last_recorded: expected 2024-04-01T12:00:00",
                "found 2020-01-01T00:00:00+00:00",
            ],
        ),
        (
            "unknown key",
            "meta",
            |t| {
                t.insert(b"backdoor", b"1").unwrap();
            },
            &["meta tree, \"backdoor\": expected nothing (no part of breachflow writes this key)"],
        ),
    ]);
}

#[test]
fn tampered_document_bodies_are_named() {
    each_is_named(&[
        (
            "flip text",
            "documents",
            |t| {
                edit_json(t, &doc_key(1, "ico-report", 1), |b| {
                    b["text"] = json!("Nothing to report.")
                })
            },
            &[
                "documents tree, BR-2024-0001 ico-report v1: expected the SHA-256s its event recorded, found a different body: text SHA-256",
            ],
        ),
        (
            "flip HTML",
            "documents",
            |t| {
                edit_json(t, &doc_key(1, "ico-report", 1), |b| {
                    b["html"] = json!(b["html"].as_str().unwrap().replacen(
                        "<p>",
                        "<p><script>x()</script>",
                        1
                    ));
                })
            },
            &[
                "documents tree, BR-2024-0001 ico-report v1: expected the SHA-256s its event recorded, found a different body: HTML SHA-256",
            ],
        ),
        (
            "flip facts",
            "documents",
            |t| {
                edit_json(t, &doc_key(1, "ico-report", 1), |b| {
                    b["facts"]["helpline"] = json!("0900 000 000")
                })
            },
            &[
                "documents tree, BR-2024-0001 ico-report v1: expected the SHA-256s its event recorded, found a different body: case file SHA-256",
            ],
        ),
        (
            "flip a byte",
            "documents",
            |t| flip_byte(t, &doc_key(1, "ico-report", 1)),
            &[
                "documents tree, key",
                "(BR-2024-0001 ico-report v1: ",
                "documents tree, BR-2024-0001 ico-report v1: expected a body",
            ],
        ),
        (
            "delete",
            "documents",
            |t| {
                t.remove(doc_key(1, "ico-report", 2)).unwrap();
            },
            &[
                "documents tree, BR-2024-0001 ico-report v2: expected a body",
                "found nothing",
            ],
        ),
        (
            "swap",
            "documents",
            |t| {
                swap_values(
                    t,
                    &doc_key(1, "ico-report", 1),
                    &doc_key(1, "ico-report", 2),
                )
            },
            &[
                "documents tree, BR-2024-0001 ico-report v1: expected the SHA-256s",
                "documents tree, BR-2024-0001 ico-report v2: expected the SHA-256s",
            ],
        ),
    ]);
}

#[test]
fn tampered_reminder_marks_are_named() {
    each_is_named(&[
        (
            "flip",
            "reminders",
            |t| {
                let k = keys(t, &id_key(1))[0].clone();
                let mut flipped = k.clone();
                *flipped.last_mut().unwrap() ^= 0x20;
                rekey(t, &k, &flipped);
            },
            &[
                "reminders tree, BR-2024-0001 uk-gdpr-art33/initial",
                "found nothing",
                "expected nothing (no event records it), found an entry",
            ],
        ),
        (
            "delete",
            "reminders",
            |t| {
                t.remove(&keys(t, &id_key(1))[0]).unwrap();
            },
            &[
                "reminders tree, BR-2024-0001 uk-gdpr-art33/initial",
                "expected an entry, found nothing",
            ],
        ),
        (
            "swap",
            "reminders",
            // The mark moves to the other incident.
            |t| {
                let k = keys(t, &id_key(1))[0].clone();
                rekey(t, &k, &[id_key(2).as_slice(), &k[6..]].concat());
            },
            &[
                "reminders tree, BR-2024-0001 uk-gdpr-art33/initial",
                "reminders tree, BR-2024-0002 uk-gdpr-art33/initial",
            ],
        ),
    ]);
}

#[test]
fn a_lost_counter_never_gives_out_an_id_in_use() {
    let env = prepared();
    tamper(&env, "meta", |t| {
        t.remove(b"counter\x07\xe8").unwrap();
    });
    let opened = env.json(&[
        "incident",
        "open",
        "--file",
        &example("incident-ransomware.json"),
    ]);
    assert_eq!(opened["id"], "BR-2024-0003");
    // Both earlier incidents are untouched.
    assert_eq!(env.json(&["incident", "show", B])["incident"]["id"], B);
    assert!(env.version(A) > 1);
}

#[test]
fn repair_rebuilds_derived_trees_and_puts_back_moved_bodies() {
    let env = prepared();
    let listed = env.json(&["incident", "list"]);
    let due = env.json(&["deadlines"]);
    tamper_all(
        &env,
        &[
            ("incidents", |t| {
                t.remove(id_key(1)).unwrap();
            }),
            ("deadlines", |t| {
                t.remove(&keys(t, b"d")[0]).unwrap();
            }),
            ("meta", |t| {
                t.remove(b"counter\x07\xe8").unwrap();
                edit_json(t, b"organisation", |o| {
                    o["dpo"]["email"] = json!("dpo@attacker.example")
                });
            }),
            ("reminders", |t| {
                t.remove(&keys(t, &id_key(1))[0]).unwrap();
            }),
            ("documents", |t| {
                swap_values(
                    t,
                    &doc_key(1, "ico-report", 1),
                    &doc_key(1, "ico-report", 2),
                )
            }),
        ],
    );
    env.run(&["audit", "verify"]).code(9);
    let out = env.run(&["audit", "repair"]).success();
    let said = stdout_of(&out);
    for s in [
        "incidents tree, BR-2024-0001",
        "deadlines tree, BR-2024-0001",
        "meta tree, incident counter 2024",
        "meta tree, organisation",
        "reminders tree, BR-2024-0001",
        "put back from the identical body stored under BR-2024-0001 ico-report v2",
    ] {
        assert!(said.contains(s), "{s:?} not in:\n{said}");
    }
    env.run(&["audit", "verify"]).success();
    assert_eq!(env.json(&["incident", "list"]), listed);
    assert_eq!(env.json(&["deadlines"]), due);
    assert_eq!(
        env.json(&["org"])["dpo"]["email"],
        example_json("organisation.json")["dpo"]["email"]
    );
}

#[test]
fn repair_names_a_deleted_body_as_lost_and_refuses_a_broken_log() {
    let env = prepared();
    tamper(&env, "documents", |t| {
        t.remove(doc_key(1, "ico-report", 2)).unwrap();
    });
    let out = env.run(&["audit", "repair"]).code(9);
    assert!(
        stderr_of(&out).contains("BR-2024-0001 ico-report v2: expected a body")
            && stderr_of(&out).contains("lost: the log holds only its hashes"),
        "{}",
        stderr_of(&out)
    );
    env.run(&["audit", "verify"]).code(9);

    let env = prepared();
    tamper_all(
        &env,
        &[
            ("incidents", |t| {
                t.remove(id_key(2)).unwrap();
            }),
            ("events", |t| {
                edit_json(t, &3u64.to_be_bytes(), |e| e["actor"] = json!("intruder"))
            }),
        ],
    );
    let out = env.run(&["audit", "repair"]).code(13);
    assert!(
        stderr_of(&out).contains("event 3 was changed")
            && stderr_of(&out).contains("nothing was changed"),
        "{}",
        stderr_of(&out)
    );
    // Nothing was rebuilt: the deleted record is still gone.
    env.run(&["incident", "show", B]).code(6);
}

/// The prepared incident A's bundle, as JSON.
fn exported() -> Value {
    let env = prepared();
    let file = env.tmp.path().join("a.json");
    env.run(&["bundle", "export", A, file.to_str().unwrap()])
        .success();
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

/// `bundle` with its checksum recomputed, as a forger would.
fn resealed(mut bundle: Value) -> String {
    use sha2::Digest;
    bundle.as_object_mut().unwrap().remove("sha256");
    let sha = hex::encode(sha2::Sha256::digest(serde_json::to_vec(&bundle).unwrap()));
    bundle["sha256"] = json!(sha);
    serde_json::to_string(&bundle).unwrap()
}

#[test]
fn forged_bundle_parts_are_refused_by_name() {
    let original = exported();
    assert!(
        original["messages"]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "the reminder's message is in the bundle"
    );
    /// A part, how it is forged, and what the refusal says.
    type Forgery = (&'static str, fn(&mut Value), &'static str);
    let cases: &[Forgery] = &[
        (
            "document text",
            |b| b["documents"][0]["body"]["text"] = json!("Nothing happened."),
            "documents: the text of ico-report v1 does not match the SHA-256 its event recorded",
        ),
        (
            "document HTML",
            |b| b["documents"][0]["body"]["html"] = json!("<p>Call 0900 000 000</p>"),
            "documents: the HTML of ico-report v1 does not match the SHA-256 its event recorded",
        ),
        (
            "document facts",
            |b| b["documents"][1]["body"]["facts"]["helpline"] = json!("0900 000 000"),
            "documents: the case file of ico-report v2 does not match the SHA-256 its event recorded",
        ),
        (
            "added version",
            |b| {
                let mut extra = b["documents"][1].clone();
                extra["version"] = json!(3);
                b["documents"].as_array_mut().unwrap().push(extra);
            },
            "documents: ico-report v3 is in the bundle but no event records it",
        ),
        (
            "dropped version",
            |b| {
                b["documents"].as_array_mut().unwrap().remove(1);
            },
            "documents: ico-report v2 is recorded by its events but is not in the bundle (a version was dropped)",
        ),
        (
            "outbox state",
            |b| b["messages"][0]["state"] = json!("queued"),
            "messages: BR-2024-0001/1: state queued (its events say sent)",
        ),
        (
            "outbox address",
            |b| b["messages"][0]["to"]["address"] = json!("mallory@attacker.example"),
            "messages: BR-2024-0001/1: address \"mallory@attacker.example\"",
        ),
        (
            "dropped message",
            |b| {
                b["messages"].as_array_mut().unwrap().clear();
            },
            "messages: BR-2024-0001/1: its events record it but it is not in the bundle",
        ),
    ];
    for (part, forge, said) in cases {
        let mut forged = original.clone();
        forge(&mut forged);
        let env = TestEnv::new();
        let file = env.text_file("forged.json", &resealed(forged));
        let out = env
            .run(&["bundle", "import", &file, "--accept-organisation"])
            .code(9);
        assert!(
            stderr_of(&out).contains(said),
            "{part}: expected {said:?} in:\n{}",
            stderr_of(&out)
        );
        assert!(
            !env.data_dir.join("db").exists(),
            "{part}: a store was written"
        );
    }
}

#[test]
fn a_bundles_organisation_profile_is_never_taken_silently_nor_its_smtp_settings() {
    let mut forged = exported();
    forged["organisation"]["dpo"]["email"] = json!("dpo@attacker.example");
    forged["organisation"]["smtp"] = json!({ "host": "mail.attacker.example", "port": 587, "tls": "starttls", "from": "dpo@attacker.example" });
    let env = TestEnv::new();
    let file = env.text_file("forged.json", &resealed(forged));
    // Shown, not taken.
    let out = env.run(&["bundle", "import", &file]).code(1);
    let err = stderr_of(&out);
    assert!(
        err.contains("DPO: ") && err.contains("<dpo@attacker.example>"),
        "{err}"
    );
    assert!(
        err.contains("--accept-organisation") && err.contains("SMTP settings are never imported"),
        "{err}"
    );
    env.run(&["incident", "list"]).code(6);
    // Accepted: recorded without its SMTP settings.
    let out = env
        .run(&["bundle", "import", &file, "--accept-organisation"])
        .success();
    assert!(
        stdout_of(&out).contains("SMTP settings were not imported"),
        "{}",
        stdout_of(&out)
    );
    let org = env.json(&["org"]);
    assert_eq!(org["dpo"]["email"], "dpo@attacker.example");
    assert!(org.get("smtp").is_none_or(Value::is_null), "{org}");
    env.run(&["audit", "verify"]).success();
    // A store with its own profile keeps it.
    let other = TestEnv::initialised();
    other.run(&["bundle", "import", &file]).success();
    assert_eq!(
        other.json(&["org"])["dpo"]["email"],
        example_json("organisation.json")["dpo"]["email"]
    );
}

#[test]
fn verify_in_json_lists_each_finding_with_tree_key_expected_and_found() {
    let env = prepared();
    tamper(&env, "meta", |t| {
        t.remove(b"counter\x07\xe8").unwrap();
    });
    let out = env
        .cmd()
        .args(["--format", "json", "audit", "verify"])
        .assert()
        .code(9);
    let json: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["verified"], false);
    assert_eq!(
        json["findings"],
        json!([{
            "tree": "meta",
            "key": "incident counter 2024",
            "expected": "the last number 2",
            "found": "nothing",
        }])
    );
}

#[test]
fn an_altered_body_is_never_shown_sent_or_exported() {
    let env = prepared();
    let mailed = || {
        std::fs::read_dir(env.data_dir.join("outbox"))
            .unwrap()
            .count()
    };
    let before = mailed();
    tamper(&env, "documents", |t| {
        edit_json(t, &doc_key(1, "ico-report", 1), |b| {
            b["html"] = json!("<p>Call 0900 000 000</p>")
        })
    });
    let said = "documents tree, BR-2024-0001 ico-report v1: the stored HTML no longer matches the SHA-256 its event recorded";
    let file = env.tmp.path().join("a.json");
    for args in [
        vec![
            "documents",
            "show",
            A,
            "ico-report",
            "--version",
            "1",
            "--html",
        ],
        vec!["send", A, "ico-report", "--to", "dpo"],
        vec!["bundle", "export", A, file.to_str().unwrap()],
    ] {
        let out = env.run(&args).code(9);
        assert!(
            stderr_of(&out).contains(said),
            "{args:?}: {}",
            stderr_of(&out)
        );
    }
    assert!(!file.exists());
    assert_eq!(mailed(), before, "nothing was mailed");
}

/// A record whose document hash was cut short (a tampered store) is shown as it is, and
/// named by `audit verify`: no command panics on what it reads back.
#[test]
fn a_hash_cut_short_in_a_stored_record_is_shown_not_a_panic() {
    let env = prepared();
    tamper(&env, "incidents", |t| {
        edit_json(t, &id_key(1), |r| {
            r["documents"][0]["sha256"] = json!("ab");
        })
    });
    for args in [vec!["documents", A], vec!["incident", "show", A]] {
        let out = env.run(&args).success();
        assert!(stdout_of(&out).contains("ab"), "{args:?}");
    }
    env.run(&["audit", "verify"]).code(9);
}
