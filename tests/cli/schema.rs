//! The published schemas in `schemas/` match what the binary accepts, and the examples pass them.

use std::path::Path;

use crate::support::*;

/// Regenerates the schemas through the binary and compares them with `schemas/`.
/// `UPDATE_SCHEMAS=1 cargo test` rewrites `schemas/` instead.
#[test]
fn schemas_in_the_repository_match_the_code() {
    let env = TestEnv::new();
    let out_dir = env.tmp.path().join("schemas");
    env.run(&["schema", "export", out_dir.to_str().unwrap()])
        .success();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        let generated = std::fs::read_to_string(&path).unwrap();
        let committed = repo.join(&name);
        if update {
            std::fs::create_dir_all(&repo).unwrap();
            std::fs::write(&committed, &generated).unwrap();
        } else {
            let on_disk = std::fs::read_to_string(&committed).unwrap_or_default();
            assert!(
                on_disk == generated,
                "schemas/{} differs from the code; run `UPDATE_SCHEMAS=1 cargo test` and commit",
                name.to_string_lossy()
            );
        }
        names.push(name.to_string_lossy().into_owned());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "assessment.schema.json",
            "calendar-additions.schema.json",
            "holiday-calendar.schema.json",
            "incident-update.schema.json",
            "incident.schema.json",
            "organisation.schema.json",
            "regime.schema.json"
        ]
    );
    // No stale schema left behind in the repository.
    for entry in std::fs::read_dir(&repo).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            names.contains(&name),
            "schemas/{name} is no longer generated"
        );
    }
}

#[test]
fn schema_export_json_lists_files() {
    let env = TestEnv::new();
    let out_dir = env.tmp.path().join("out");
    let out = env.json(&["schema", "export", out_dir.to_str().unwrap()]);
    assert_eq!(out["written"].as_array().unwrap().len(), 7);
}
