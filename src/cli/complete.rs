//! Shell completion of values only the store knows: incident ids, open obligations' ids and
//! document names, offered while typing (`source <(COMPLETE=bash breachflow)`).
//!
//! The shell calls the binary with `COMPLETE` set; `complete` answers before any parsing, so
//! nothing else runs. Each lookup reads a bounded slice of the store (the newest incidents, the
//! deadline index of open work), never a scan of everything, and finds nothing, silently, when
//! the store is missing or in use: a completion must never block or print an error mid-line.

use std::ffi::OsString;

use clap::{Command, CommandFactory};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

use super::Cli;
use crate::adapters::store::SledStore;
use crate::render::template::TemplateSet;

/// How many of the newest incidents are offered.
const NEWEST: usize = 200;

/// Answers the shell and exits when `COMPLETE` is set; returns otherwise.
pub fn complete_if_asked() {
    clap_complete::CompleteEnv::with_factory(command).complete();
}

/// The registration script for `shell`: what `completions SHELL` prints.
pub fn registration(shell: &str) -> Result<String, String> {
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(shell)
        .ok_or_else(|| format!("no completion support for the shell {shell}"))?;
    let bin = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_string))
        .unwrap_or_else(|| "breachflow".to_string());
    let mut out = Vec::new();
    completer
        .write_registration("COMPLETE", "breachflow", "breachflow", &bin, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The grammar, with the store's values attached to the arguments that take them.
fn command() -> Command {
    attach(Cli::command())
}

fn attach(cmd: Command) -> Command {
    let mut cmd = cmd.mut_args(|arg| match arg.get_id().as_str() {
        "id" | "incident" => arg.add(ArgValueCandidates::new(incidents)),
        "obligation" => arg.add(ArgValueCandidates::new(obligations)),
        "document" | "template" | "doc" => arg.add(ArgValueCandidates::new(documents)),
        _ => arg,
    });
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, attach);
    }
    cmd
}

fn open() -> Option<SledStore> {
    let dir = std::env::var_os("BREACHFLOW_DATA_DIR")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(super::default_data_dir);
    // Never create a store just to complete a word.
    if !dir.join("db").exists() {
        return None;
    }
    SledStore::open(&dir).ok()
}

fn incidents() -> Vec<CompletionCandidate> {
    let Some(store) = open() else {
        return Vec::new();
    };
    store
        .newest_incident_ids(NEWEST)
        .into_iter()
        .map(|id| {
            let title = store
                .incident(id)
                .map(|r| r.facts.title)
                .unwrap_or_default();
            CompletionCandidate::new(OsString::from(id.to_string())).help(Some(title.into()))
        })
        .collect()
}

fn obligations() -> Vec<CompletionCandidate> {
    let Some(store) = open() else {
        return Vec::new();
    };
    let mut ids: Vec<String> = store
        .all_due()
        .into_iter()
        .chain(store.waiting())
        .flatten()
        .map(|e| e.obligation)
        .collect();
    ids.sort();
    ids.dedup();
    ids.into_iter().map(CompletionCandidate::new).collect()
}

fn documents() -> Vec<CompletionCandidate> {
    let Ok(set) = TemplateSet::builtin() else {
        return Vec::new();
    };
    set.documents()
        .map(|t| CompletionCandidate::new(&t.name).help(Some(t.manifest.title.clone().into())))
        .collect()
}
