//! The layers, checked: `domain` is pure, and imports only point inwards
//! (cli -> app/render/adapters, adapters -> app/domain/render, app -> domain/render,
//! render -> domain), so there is no import circle between the folders.
//!
//! Reads the sources as text. Test modules (`#[cfg(test)]` and below) are left out: a domain
//! unit test may load the built-in regimes through an adapter, as a fixture.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's text up to its test module, without comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn layer(name: &str) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(name);
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(!files.is_empty(), "src/{name} has no files");
    files.into_iter().map(|p| (p.clone(), code(&p))).collect()
}

fn refuse(layer_name: &str, forbidden: &[&str]) {
    let mut found = Vec::new();
    for (path, code) in layer(layer_name) {
        for f in forbidden {
            if code.contains(f) {
                found.push(format!("{} uses {f}", path.display()));
            }
        }
    }
    assert!(found.is_empty(), "src/{layer_name}:\n{}", found.join("\n"));
}

#[test]
fn the_domain_does_no_io_reads_no_clock_and_knows_no_outer_layer() {
    refuse(
        "domain",
        &[
            "sled::",
            "lettre::",
            "std::fs",
            "std::net",
            "std::env",
            "std::io::stdout",
            "println!",
            "eprintln!",
            "Utc::now",
            "Local::now",
            "SystemTime::now",
            "Instant::now",
            "crate::app",
            "crate::adapters",
            "crate::render",
            "crate::cli",
            "crate::server",
        ],
    );
}

#[test]
fn rendering_knows_only_the_domain() {
    refuse(
        "render",
        &[
            "std::fs",
            "std::net",
            "std::env",
            "sled::",
            "lettre::",
            "Utc::now",
            "crate::app",
            "crate::adapters",
            "crate::cli",
            "crate::server",
        ],
    );
}

#[test]
fn use_cases_reach_storage_and_mail_only_through_their_ports() {
    refuse(
        "app",
        &[
            "sled::",
            "lettre::",
            "std::fs",
            "std::net",
            "std::env",
            "println!",
            "eprintln!",
            "Utc::now",
            "SystemTime::now",
            "crate::adapters",
            "crate::cli",
            "crate::server",
        ],
    );
}

#[test]
fn adapters_never_call_the_front_end() {
    refuse("adapters", &["crate::cli", "crate::server"]);
}

#[test]
fn only_the_clock_adapter_reads_the_wall_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let readers: Vec<String> = files
        .iter()
        .filter(|p| !p.ends_with("adapters/clock.rs"))
        .filter(|p| {
            let c = code(p);
            c.contains("Utc::now()")
                || c.contains("Local::now()")
                || c.contains("SystemTime::now()")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        readers.is_empty(),
        "wall-clock reads outside adapters/clock.rs: {readers:?}"
    );
}
