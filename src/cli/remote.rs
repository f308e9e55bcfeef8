//! A command line run by the team server for someone else's terminal: what travels (the words,
//! the effective time, the files the command reads and writes) and how the server runs it: the
//! same parsing, dispatch and error words as at a terminal, with stdout and stderr captured and
//! sent back. So a command through the server prints exactly what it prints without one.
//!
//! The server decides who may run what (`server::auth` and the permission table) through the
//! `authorise` callback; this module knows nothing of HTTP.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Cli, Command, DocumentsCommand, IncidentCommand, OutboxCommand, ServerSide, output};

/// A command line sent to the server.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The words after `breachflow`, as typed.
    pub args: Vec<String>,
    /// The effective time the command line resolved (its `--now` or `BREACHFLOW_NOW`); none:
    /// the server's clock.
    #[serde(default)]
    pub now: Option<DateTime<Utc>>,
    /// The asking terminal's width, for tables.
    #[serde(default)]
    pub columns: Option<u16>,
    /// The files the command reads, by the path as typed.
    #[serde(default)]
    pub files: Vec<SentFile>,
    /// A password the command needs (`user passwd`), read by the command line from
    /// `BREACHFLOW_PASSWORD` or its terminal: the server has neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

thread_local! {
    /// The password sent with the command running on this thread.
    static SECRET: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The password sent with the remote command running on this thread, taken (it is read once).
pub fn sent_secret() -> Option<String> {
    SECRET.with(|s| s.borrow_mut().take())
}

/// A file travelling with a request (read by the command) or an answer (written by it).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentFile {
    pub path: String,
    /// The bytes, base64.
    pub data: String,
}

impl SentFile {
    pub fn new(path: &std::path::Path, bytes: &[u8]) -> SentFile {
        SentFile {
            path: path.to_string_lossy().into_owned(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.data)
            .map_err(|e| format!("{}: not base64: {e}", self.path))
    }
}

/// What the command printed and wrote, and its exit code.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResponse {
    pub exit: u8,
    pub stdout: String,
    pub stderr: String,
    #[serde(default)]
    pub files: Vec<SentFile>,
}

/// Why the server will not run a command for this person (not signed in, not allowed).
#[derive(Debug)]
pub struct Refusal {
    pub exit: u8,
    pub message: String,
    pub hint: Option<String>,
}

/// Runs a command line for a remote terminal. `authorise` is asked once the words parse: it
/// returns what the command runs with (the store, who signed in) and a turn `G` held while it
/// runs (a lock), or a refusal. Runs on the calling thread (a blocking one), whose prints it
/// captures.
pub fn execute<G>(
    request: RunRequest,
    authorise: impl FnOnce(&Cli) -> Result<(Arc<ServerSide>, G), Refusal>,
) -> RunResponse {
    let mut inputs = Vec::with_capacity(request.files.len());
    for f in &request.files {
        match f.bytes() {
            Ok(b) => inputs.push((PathBuf::from(&f.path), b)),
            Err(e) => return refused(super::error::EXIT_INVALID_INPUT, &e),
        }
    }
    output::begin_capture(request.columns);
    crate::adapters::files::begin_exchange(inputs);
    SECRET.with(|s| *s.borrow_mut() = request.secret);
    let args: Vec<OsString> = std::iter::once(OsString::from("breachflow"))
        .chain(request.args.into_iter().map(OsString::from))
        .collect();
    let exit = match super::parse(&args) {
        Err(code) => code,
        Ok(mut cli) => match not_here(&cli).map_or_else(|| authorise(&cli), Err) {
            Err(refusal) => {
                report(&cli, &refusal);
                refusal.exit
            }
            Ok((side, turn)) => {
                cli.now = request.now.or(cli.now);
                let code = super::finish(cli, Some(side));
                drop(turn);
                code
            }
        },
    };
    SECRET.with(|s| s.borrow_mut().take());
    let written = crate::adapters::files::end_exchange();
    let captured = output::end_capture();
    RunResponse {
        exit,
        stdout: String::from_utf8_lossy(&captured.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&captured.stderr).into_owned(),
        files: written
            .iter()
            .map(|(path, bytes)| SentFile::new(path, bytes))
            .collect(),
    }
}

/// An answer that only says why nothing ran.
pub fn refused(exit: u8, message: &str) -> RunResponse {
    RunResponse {
        exit,
        stdout: String::new(),
        stderr: format!("error: {message}\n"),
        files: Vec::new(),
    }
}

/// Prints a refusal the way a command's error is printed (JSON when asked for).
fn report(cli: &Cli, refusal: &Refusal) {
    if cli.format == output::Format::Json {
        output::note(
            &serde_json::json!({"error": {"code": super::error::code_name(refusal.exit),
                "exit": refusal.exit, "message": refusal.message, "hint": refusal.hint,
                "file": null, "problems": []}})
            .to_string(),
        );
    } else {
        output::note(&format!("error: {}", refusal.message));
        if let Some(hint) = &refusal.hint {
            output::note(&format!("hint: {hint}"));
        }
    }
}

/// Whether a command rewrites the store's derived trees wholesale, and so must run while no
/// other command does.
pub fn runs_alone(cli: &Cli) -> bool {
    use super::{AuditCommand, BundleCommand};
    matches!(
        cli.command,
        Command::Audit(AuditCommand::Repair) | Command::Bundle(BundleCommand::Import { .. })
    )
}

/// What a command line cannot ask of the server, whoever asks: to be someone else, to bring
/// its own rules, or to hold a conversation with the server's terminal.
pub fn not_here(cli: &Cli) -> Option<Refusal> {
    let usage = |message: &str, hint: &str| {
        Some(Refusal {
            exit: super::error::EXIT_USAGE,
            message: message.into(),
            hint: Some(hint.into()),
        })
    };
    if cli.actor.is_some() {
        return usage(
            "--actor (or BREACHFLOW_ACTOR) is refused through the team server: the actor recorded is the person signed in",
            "unset BREACHFLOW_ACTOR and leave out --actor; the token says who you are",
        );
    }
    if cli.regimes_dir.is_some() || cli.templates_dir.is_some() {
        return usage(
            "--regimes-dir and --templates-dir (and their BREACHFLOW_ variables) are the server's: every command through it uses the same rules and templates",
            "unset them here, or start `breachflow serve` with --regimes-dir / --templates-dir",
        );
    }
    match &cli.command {
        Command::Incident(IncidentCommand::Open { file: None, .. }) => usage(
            "`incident open` without --file asks its questions at a terminal, which the server has not got",
            "write the facts with `breachflow incident new > facts.toml`, fill them in, then `breachflow incident open --file facts.toml`",
        ),
        Command::Documents {
            command: Some(DocumentsCommand::Edit { .. }),
            ..
        } => usage(
            "`documents edit` opens an editor, which the server has not got",
            "print the text with `breachflow documents show ID DOC > text.txt`, edit it, then `breachflow render ID DOC --text-file text.txt`",
        ),
        Command::Outbox {
            command:
                Some(OutboxCommand::Resolve {
                    bulk: Some(_),
                    yes: false,
                    ..
                }),
            ..
        } => usage(
            "settling bulk recipients through the server needs --yes: nobody is at the server's terminal to confirm",
            "run it first without deciding (`outbox recipients`) to see the list, then again with --yes",
        ),
        _ => None,
    }
}

/// The files a command line reads and writes, by the paths as typed: the ones a command
/// through the server sends with its request and writes from the answer.
pub fn files_of(cmd: &Command) -> (Vec<PathBuf>, Vec<PathBuf>) {
    use super::{AuditCommand, BundleCommand, RegisterCommand, ReportCommand};
    let one = |p: &PathBuf| vec![p.clone()];
    let maybe = |p: &Option<PathBuf>| p.iter().cloned().collect::<Vec<_>>();
    match cmd {
        Command::Init { org, .. } => (one(org), vec![]),
        Command::Incident(IncidentCommand::Open { file, .. }) => (maybe(file), vec![]),
        Command::Incident(IncidentCommand::Update { file, .. }) => (one(file), vec![]),
        Command::Assess { file, .. } => (maybe(file), vec![]),
        Command::Whatif { file, .. } => (maybe(file), vec![]),
        Command::Calendar { out, .. } => (vec![], maybe(out)),
        Command::Render { out, text_file, .. } => (maybe(text_file), maybe(out)),
        Command::Report(ReportCommand::Adherence { out, .. }) => (vec![], maybe(out)),
        Command::Register(RegisterCommand::Export { out }) => (vec![], maybe(out)),
        Command::Bundle(BundleCommand::Export { file, .. }) => (vec![], one(file)),
        Command::Bundle(BundleCommand::Import { file, .. }) => (one(file), vec![]),
        Command::NotifySubjects { recipients, .. } => (one(recipients), vec![]),
        Command::Outbox {
            command: Some(OutboxCommand::Resolve { only, .. }),
            ..
        } => (maybe(only), vec![]),
        // The anchor is a line, or a file holding it: sent when it names a file here.
        Command::Audit(AuditCommand::Verify { anchor: Some(a) })
            if std::path::Path::new(a).is_file() =>
        {
            (vec![PathBuf::from(a)], vec![])
        }
        _ => (vec![], vec![]),
    }
}
