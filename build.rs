//! Embeds every file of `regimes/`, `calendars/`, `templates/` and `web/` (the browser
//! workspace's pages and assets) in the binary, so the list in the binary can never fall behind
//! the folders.

use std::fmt::Write;
use std::path::Path;

fn embed(dir: &str, ext: &str, out: &mut String, name: &str) {
    println!("cargo:rerun-if-changed={dir}");
    // Read at run time, not with env!(): a build script compiled in one checkout and reused from
    // a copied target/ would otherwise embed that other checkout's files.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = Path::new(&manifest).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    writeln!(out, "pub const {name}: &[(&str, &str)] = &[").unwrap();
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let file = path.file_name().unwrap().to_string_lossy();
        writeln!(
            out,
            "    (\"{dir}/{file}\", include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    writeln!(out, "];").unwrap();
}

fn main() {
    let mut out = String::new();
    embed("regimes", "toml", &mut out, "REGIMES");
    embed("calendars", "toml", &mut out, "CALENDARS");
    embed("templates", "hbs", &mut out, "TEMPLATES");
    embed("web/pages", "hbs", &mut out, "PAGES");
    embed("web/assets", "css", &mut out, "STYLES");
    embed("web/assets", "js", &mut out, "SCRIPTS");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(dest, out).unwrap();
}
