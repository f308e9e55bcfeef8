//! Integration tests: the real `breachflow` binary on real sled stores in temporary directories.
//!
//! One test binary (faster to build than one per file); every `*.rs` here must be declared below,
//! which `every_test_file_is_declared` checks.

mod support;

mod accounts;
mod architecture;
mod assess_decide;
mod audit;
mod bounds;
mod browser;
mod crash;
mod deadlines;
mod demo;
mod documents;
mod evidence;
mod failures;
mod fuzz;
mod incident;
mod init;
mod law;
mod lifecycle;
mod schema;
mod security;
mod send;
mod server;
mod server_security;
mod server_support;
mod smtp;
mod store;
mod tamper;
mod tamper_outbox;
mod upgrade;

#[test]
fn every_test_file_is_declared() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli");
    let main = std::fs::read_to_string(here.join("main.rs")).unwrap();
    for entry in std::fs::read_dir(&here).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(module) = name.strip_suffix(".rs")
            && module != "main"
        {
            assert!(
                main.contains(&format!("mod {module};")),
                "tests/cli/{name} is not declared in main.rs"
            );
        }
    }
}
