//! The store itself: locking, replay, and what a second process sees.

use breachflow::SledStore;
use breachflow::domain::incident::IncidentId;
use breachflow::domain::record::IncidentRecord;

use crate::support::*;

#[test]
fn a_store_held_by_another_process_gives_its_own_exit_code() {
    let env = TestEnv::with_incident();
    // This test process holds sled's exclusive lock; the binary must say so, not panic.
    let held = SledStore::open(&env.data_dir).unwrap();
    let out = env.run(&["incident", "list"]).code(3);
    assert!(
        stderr_of(&out).contains("in use by another breachflow process"),
        "{}",
        stderr_of(&out)
    );
    drop(held);
    env.run(&["incident", "list"]).success();
}

#[test]
fn replaying_the_event_log_rebuilds_the_stored_record() {
    let env = TestEnv::with_incident();
    env.run(&[
        "incident",
        "update",
        "BR-2024-0001",
        "--file",
        &example("incident-update-containment.json"),
    ])
    .success();
    env.assess("BR-2024-0001");
    env.run(&["decide", "BR-2024-0001", "--accept"]).success();
    env.run(&["incident", "transition", "BR-2024-0001", "notify"])
        .success();

    let store = SledStore::open(&env.data_dir).unwrap();
    let id: IncidentId = "BR-2024-0001".parse().unwrap();
    let events = store.events_for(id).unwrap();
    // opened, updated, assessed, obligations derived, decided, transitioned (at least).
    assert!(events.len() >= 6, "{}", events.len());
    let replayed = IncidentRecord::replay(&events).unwrap().unwrap();
    let stored = store.incident(id).unwrap();
    assert!(!stored.obligations.is_empty());
    assert_eq!(replayed, stored);
    // The store-wide log has the organisation event first and no gaps.
    let seqs: Vec<u64> = store.events().map(|e| e.unwrap().seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64 + 1).collect::<Vec<_>>());
}

#[test]
fn refused_commands_write_nothing() {
    let env = TestEnv::with_incident();
    let before: Vec<_> = {
        let store = SledStore::open(&env.data_dir).unwrap();
        store.events().map(|e| e.unwrap()).collect()
    };
    env.run(&["decide", "BR-2024-0001", "--accept"]).code(5);
    env.run(&["incident", "transition", "BR-2024-0001", "close"])
        .code(5);
    let bad = env.text_file("bad.json", "{");
    env.run(&["assess", "BR-2024-0001", "--file", &bad]).code(4);
    let store = SledStore::open(&env.data_dir).unwrap();
    let after: Vec<_> = store.events().map(|e| e.unwrap()).collect();
    assert_eq!(before, after);
}
