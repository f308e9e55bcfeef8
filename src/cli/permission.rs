//! What each command needs from the permission table: one exhaustive match over the grammar, so
//! a new subcommand cannot compile until someone decides who may run it.
//!
//! `Local` commands never touch the store (they print a starting file, a schema, a manual page,
//! completions, or run the demo in a store of their own): they run on the caller's machine and
//! need no account. Everything else is an `Action` of `domain::permission`, which the team
//! server checks against the signed-in person's roles before it runs the command.
//!
//! `templates`, `regimes` and `whatif` read no store either, but they need an account: through
//! a server they describe the server's templates and rulebook (its `--templates-dir` and
//! `--regimes-dir`), which are what its commands use and may differ from the caller's.
//!
//! `OwnAccount` (`user passwd`, `token create/list/revoke`) is granted to every role for the
//! caller's own account and tokens only: the server must also check that the account or token
//! named is the caller's, and otherwise require `ManageUsers`.

use crate::cli::{
    AuditCommand, BundleCommand, Command, DocumentsCommand, IncidentCommand, ObligationCommand,
    OutboxCommand, RegisterCommand, ReportCommand, SchemaCommand, TokenCommand, UserCommand,
};
use crate::domain::permission::{Action, DocumentClass};

/// Whether a command needs an account, and for what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Runs on the caller's machine, touching no store: no account needed.
    Local,
    /// Needs a signed-in person with a role that `domain::permission::permits` the action.
    Needs(Action),
}

/// What `cmd` needs. No catch-all arm, on purpose.
pub fn access(cmd: &Command) -> Access {
    use Access::{Local, Needs};
    let render = |document: &str| Needs(Action::Render(DocumentClass::of(document)));
    let send = |document: &str| Needs(Action::Send(DocumentClass::of(document)));
    match cmd {
        Command::Init { .. } => Needs(Action::Organisation),
        Command::Org => Needs(Action::Read),
        Command::Incident(c) => match c {
            IncidentCommand::New => Local,
            IncidentCommand::List { .. } | IncidentCommand::Show { .. } => Needs(Action::Read),
            IncidentCommand::Open { .. }
            | IncidentCommand::Update { .. }
            | IncidentCommand::Trigger { .. }
            | IncidentCommand::DelayDisclosure { .. }
            | IncidentCommand::Transition { .. } => Needs(Action::RecordFacts),
        },
        // Without an incident and a file it only prints the starting file.
        Command::Assess {
            id: Some(_),
            file: Some(_),
            ..
        } => Needs(Action::RecordFacts),
        Command::Assess { .. } => Local,
        Command::Decide { .. } => Needs(Action::RecordFacts),
        Command::Obligation(c) => match c {
            ObligationCommand::List { .. } => Needs(Action::Read),
            ObligationCommand::Complete { .. }
            | ObligationCommand::Reference { .. }
            | ObligationCommand::Waive { .. } => Needs(Action::RecordFacts),
        },
        Command::Deadlines { .. }
        | Command::Whatif { .. }
        | Command::Calendar { .. }
        | Command::Check { .. }
        | Command::Timeline { .. }
        | Command::Templates
        | Command::Regimes => Needs(Action::Read),
        // An edit from a file is a new version like a rendering.
        Command::Render { template, .. } => render(template),
        Command::Documents { command, .. } => match command {
            None | Some(DocumentsCommand::Show { .. }) | Some(DocumentsCommand::Diff { .. }) => {
                Needs(Action::Read)
            }
            Some(DocumentsCommand::Edit { document, .. }) => render(document),
        },
        Command::Approve { .. } => Needs(Action::Approve),
        Command::Send { document, .. } => send(document),
        Command::NotifySubjects { document, .. } => send(document),
        Command::Outbox { command, .. } => match command {
            None | Some(OutboxCommand::Recipients { .. }) => Needs(Action::Read),
            Some(OutboxCommand::Deliver { .. })
            | Some(OutboxCommand::Release { .. })
            | Some(OutboxCommand::Resolve { .. }) => Needs(Action::ManageOutbox),
        },
        Command::Remind => Needs(Action::RecordFacts),
        Command::Audit(c) => match c {
            AuditCommand::Verify { .. } => Needs(Action::Verify),
            AuditCommand::Anchor { .. } => Needs(Action::Anchor),
            AuditCommand::Log { .. } => Needs(Action::Read),
            AuditCommand::Repair => Needs(Action::Repair),
        },
        Command::Report(ReportCommand::Adherence { .. }) => Needs(Action::Read),
        Command::Register(RegisterCommand::Export { .. }) => Needs(Action::Read),
        Command::Bundle(c) => match c {
            BundleCommand::Export { .. } => Needs(Action::Read),
            BundleCommand::Import { .. } => Needs(Action::ImportBundle),
        },
        Command::Schema(SchemaCommand::Export { .. }) => Local,
        Command::Demo | Command::Completions { .. } | Command::Man => Local,
        Command::User(c) => match c {
            UserCommand::Add { .. } | UserCommand::List | UserCommand::Disable { .. } => {
                Needs(Action::ManageUsers)
            }
            UserCommand::Passwd { .. } => Needs(Action::OwnAccount),
        },
        Command::Token(c) => match c {
            TokenCommand::Create { .. } | TokenCommand::List | TokenCommand::Revoke { .. } => {
                Needs(Action::OwnAccount)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::account::Role;
    use crate::domain::permission::permits;
    use clap::{CommandFactory, Parser};

    /// Every leaf of the grammar, with an example and the roles that may run it ("local": no
    /// account needed). Written out by hand: a change to the permission table must be made
    /// here too, on purpose.
    const MATRIX: &[(&str, &str, &str)] = &[
        ("init", "init --org org.json", "admin"),
        ("org", "org", "dpo comms approver auditor admin"),
        ("incident open", "incident open --file i.json", "dpo"),
        ("incident new", "incident new", "local"),
        (
            "incident list",
            "incident list",
            "dpo comms approver auditor admin",
        ),
        (
            "incident show",
            "incident show BR-2024-0001",
            "dpo comms approver auditor admin",
        ),
        (
            "incident update",
            "incident update BR-2024-0001 --file u.json",
            "dpo",
        ),
        (
            "incident trigger",
            "incident trigger BR-2024-0001 discovered",
            "dpo",
        ),
        (
            "incident delay-disclosure",
            "incident delay-disclosure BR-2024-0001",
            "dpo",
        ),
        (
            "incident transition",
            "incident transition BR-2024-0001 close",
            "dpo",
        ),
        ("assess", "assess BR-2024-0001 --file a.json", "dpo"),
        ("assess", "assess --template", "local"),
        ("decide", "decide BR-2024-0001 --accept", "dpo"),
        (
            "obligation list",
            "obligation list BR-2024-0001",
            "dpo comms approver auditor admin",
        ),
        (
            "obligation complete",
            "obligation complete BR-2024-0001 uk",
            "dpo",
        ),
        (
            "obligation reference",
            "obligation reference BR-2024-0001 uk --reference R",
            "dpo",
        ),
        (
            "obligation waive",
            "obligation waive BR-2024-0001 uk",
            "dpo",
        ),
        (
            "deadlines",
            "deadlines --overdue",
            "dpo comms approver auditor admin",
        ),
        (
            "whatif",
            "whatif --aware-at 2024-04-01T09:00:00Z",
            "dpo comms approver auditor admin",
        ),
        ("calendar", "calendar", "dpo comms approver auditor admin"),
        ("render", "render BR-2024-0001 ico-report", "dpo"),
        ("render", "render BR-2024-0001 my-custom-letter", "dpo"),
        (
            "render",
            "render BR-2024-0001 market-announcement",
            "dpo comms",
        ),
        (
            "render",
            "render BR-2024-0001 staff-briefing --text-file t.txt",
            "dpo comms",
        ),
        (
            "check",
            "check BR-2024-0001 ico-report",
            "dpo comms approver auditor admin",
        ),
        (
            "documents",
            "documents BR-2024-0001",
            "dpo comms approver auditor admin",
        ),
        (
            "documents show",
            "documents show BR-2024-0001 ico-report",
            "dpo comms approver auditor admin",
        ),
        (
            "documents edit",
            "documents edit BR-2024-0001 subject-notice",
            "dpo comms",
        ),
        (
            "documents edit",
            "documents edit BR-2024-0001 ico-report",
            "dpo",
        ),
        (
            "documents diff",
            "documents diff BR-2024-0001 ico-report 1 2",
            "dpo comms approver auditor admin",
        ),
        ("approve", "approve BR-2024-0001 ico-report", "approver"),
        (
            "send",
            "send BR-2024-0001 staff-briefing --to staff",
            "dpo comms",
        ),
        (
            "send",
            "send BR-2024-0001 ico-report --to ico@example.com",
            "dpo",
        ),
        ("outbox", "outbox", "dpo comms approver auditor admin"),
        ("outbox deliver", "outbox deliver", "dpo"),
        ("outbox release", "outbox release BR-2024-0001/1", "dpo"),
        (
            "outbox resolve",
            "outbox resolve BR-2024-0001/1 --sent",
            "dpo",
        ),
        (
            "outbox recipients",
            "outbox recipients BR-2024-0001",
            "dpo comms approver auditor admin",
        ),
        (
            "notify-subjects",
            "notify-subjects BR-2024-0001 --recipients r.csv",
            "dpo comms",
        ),
        ("remind", "remind", "dpo"),
        (
            "audit verify",
            "audit verify",
            "dpo comms approver auditor admin",
        ),
        ("audit anchor", "audit anchor", "dpo admin"),
        ("audit log", "audit log", "dpo comms approver auditor admin"),
        ("audit repair", "audit repair", "admin"),
        (
            "report adherence",
            "report adherence",
            "dpo comms approver auditor admin",
        ),
        (
            "register export",
            "register export",
            "dpo comms approver auditor admin",
        ),
        (
            "timeline",
            "timeline BR-2024-0001",
            "dpo comms approver auditor admin",
        ),
        (
            "bundle export",
            "bundle export BR-2024-0001 b.json",
            "dpo comms approver auditor admin",
        ),
        ("bundle import", "bundle import b.json", "admin"),
        ("templates", "templates", "dpo comms approver auditor admin"),
        ("regimes", "regimes", "dpo comms approver auditor admin"),
        ("schema export", "schema export out", "local"),
        ("demo", "demo", "local"),
        ("completions", "completions bash", "local"),
        ("man", "man", "local"),
        (
            "user add",
            "user add Dana --email d@example.com --role dpo",
            "admin",
        ),
        ("user list", "user list", "admin"),
        ("user disable", "user disable Dana", "admin"),
        (
            "user passwd",
            "user passwd Dana",
            "dpo comms approver auditor admin",
        ),
        (
            "token create",
            "token create --user Dana",
            "dpo comms approver auditor admin",
        ),
        (
            "token list",
            "token list",
            "dpo comms approver auditor admin",
        ),
        (
            "token revoke",
            "token revoke t1",
            "dpo comms approver auditor admin",
        ),
    ];

    /// Every command a person can run: the leaves of the grammar, and the commands with
    /// subcommands that also run on their own (`documents ID`, `outbox`).
    fn runnable(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let path = if prefix.is_empty() {
                sub.get_name().to_string()
            } else {
                format!("{prefix} {}", sub.get_name())
            };
            if !sub.has_subcommands() || sub.is_args_conflicts_with_subcommands_set() {
                out.push(path.clone());
            }
            runnable(sub, &path, out);
        }
    }

    #[test]
    fn every_command_has_a_decision_matching_the_written_matrix() {
        let mut paths = Vec::new();
        runnable(&crate::cli::Cli::command(), "", &mut paths);
        for path in &paths {
            assert!(
                MATRIX.iter().any(|(p, _, _)| p == path),
                "`{path}` has no row in the permission matrix: decide who may run it"
            );
        }
        for (path, example, expected) in MATRIX {
            assert!(
                paths.contains(&path.to_string()),
                "`{path}` is not a command"
            );
            let words = std::iter::once("breachflow").chain(example.split_whitespace());
            let cli = crate::cli::Cli::try_parse_from(words)
                .unwrap_or_else(|e| panic!("`{example}` does not parse: {e}"));
            assert!(
                example.starts_with(path),
                "the example `{example}` is not of `{path}`"
            );
            match access(&cli.command) {
                Access::Local => assert_eq!(*expected, "local", "`{example}`"),
                Access::Needs(action) => {
                    let granted: Vec<&str> = Role::ALL
                        .into_iter()
                        .filter(|r| permits(&[*r], &action) == Some(*r))
                        .map(Role::as_str)
                        .collect();
                    assert_eq!(granted.join(" "), *expected, "`{example}` ({action:?})");
                }
            }
        }
    }
}
