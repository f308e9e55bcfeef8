//! The command line: arguments (clap), the shared context of a run, dispatch, exit codes.
//!
//! Arguments are parsed and checked before the store is opened, so a usage error never touches
//! the store. Each subcommand lives in its own file under `commands/`.
//!
//! Longer than our ~600-line guide on purpose: it is the whole clap grammar (every subcommand and
//! flag, as `--help` shows them) and the dispatch table in one place; split, one grammar would be
//! read in several files.

pub(crate) mod client;
pub(crate) mod commands;
pub(crate) mod complete;
pub(crate) mod error;
pub(crate) mod output;
pub mod permission;
pub(crate) mod prompt;
pub(crate) mod remote;

pub use commands::deadlines::parse_duration;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::app::bulk::BulkRequest;
use crate::app::incident::TriggerRequest;
use crate::domain::account::{Role, TokenId};
use crate::domain::deadline::Known;
use crate::domain::incident::IncidentId;
use crate::domain::lifecycle::{State, Step};
use crate::domain::regime::Anchor;
pub use error::CliError;
use output::Format;

/// Regulatory breach notification workflow: incidents, exposure assessment, decisions, deadlines.
#[derive(Debug, Parser)]
#[command(name = "breachflow", version, about, max_term_width = 100)]
pub struct Cli {
    /// Store directory (created 0700 if missing). Default: $XDG_DATA_HOME/breachflow, or
    /// ~/.local/share/breachflow.
    #[arg(long, env = "BREACHFLOW_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The effective time: when what this command records happened (RFC 3339 with offset, e.g.
    /// 2024-04-01T09:00:00+01:00). Default: now. The time it is recorded is always the real
    /// clock.
    #[arg(long, env = "BREACHFLOW_NOW", global = true, value_parser = parse_instant, value_name = "TIME")]
    pub now: Option<DateTime<Utc>>,
    /// The team server to send commands to (http://HOST:PORT on loopback, else https://),
    /// with your token in BREACHFLOW_TOKEN. Without it, a server holding the data directory is
    /// found by its socket.
    #[arg(long, env = "BREACHFLOW_SERVER", global = true, value_name = "URL")]
    pub server: Option<String>,
    /// Who is acting, as recorded in the event log. Default: the OS user.
    #[arg(long, env = "BREACHFLOW_ACTOR", global = true, value_name = "NAME")]
    pub actor: Option<String>,
    /// Folder of your own regimes (`*.toml`, and holiday calendars in `calendars/`); a file with
    /// a built-in regime's id replaces it.
    #[arg(
        long,
        env = "BREACHFLOW_REGIMES_DIR",
        global = true,
        value_name = "DIR"
    )]
    pub regimes_dir: Option<PathBuf>,
    /// Folder of your own document templates (`NAME.hbs`, and `_layout.hbs` for the HTML
    /// letterhead); a file with a built-in template's name replaces it.
    #[arg(
        long,
        env = "BREACHFLOW_TEMPLATES_DIR",
        global = true,
        value_name = "DIR"
    )]
    pub templates_dir: Option<PathBuf>,
    /// Output format of commands that print data.
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    pub format: Format,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum DocumentsCommand {
    /// Print a stored version (the latest unless --version).
    Show {
        id: IncidentId,
        document: String,
        #[arg(long)]
        version: Option<u32>,
        /// The HTML rendering instead of the text.
        #[arg(long)]
        html: bool,
    },
    /// Edit the latest version's text in $VISUAL or $EDITOR; the edit is stored as a new
    /// version (author, the version it came from, hashes, the diff), to be approved.
    Edit {
        id: IncidentId,
        document: String,
        /// Why required content the edit removes is not needed (without it, such a version
        /// cannot be approved).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// A unified diff of two versions' text.
    Diff {
        id: IncidentId,
        document: String,
        from: u32,
        to: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Send queued messages, and held ones whose earlier disclosure has happened.
    Deliver {
        #[arg(long)]
        incident: Option<IncidentId>,
    },
    /// Lift a disclosure-order hold on one message, on the record, and send it.
    Release {
        /// Message key, e.g. BR-2024-0001/3.
        key: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Settle an uncertain (or failed) message: it was delivered, or send it again. With
    /// --bulk DOC --uncertain, KEY is the incident and every uncertain recipient of that bulk
    /// notice is settled at once (listed first; confirm with --yes or at the prompt).
    Resolve {
        /// Message key (e.g. BR-2024-0001/3), or the incident with --bulk.
        key: String,
        #[arg(long, conflicts_with = "resend", required_unless_present = "resend")]
        sent: bool,
        /// Send it again (bulk: queued for the next `notify-subjects` run with the file).
        #[arg(long)]
        resend: bool,
        #[arg(long)]
        note: Option<String>,
        /// The bulk notice (document) whose recipients to settle.
        #[arg(long, value_name = "DOC")]
        bulk: Option<String>,
        /// Settle the recipients whose delivery is uncertain (needed with --bulk).
        #[arg(long, requires = "bulk")]
        uncertain: bool,
        /// Do not ask: the list shown is the list decided.
        #[arg(long, requires = "bulk")]
        yes: bool,
        /// Only these of the uncertain recipients: a file of addresses, one a line (or a CSV
        /// whose first column is the address), e.g. those the mail server's log shows delivered.
        #[arg(long, requires = "bulk", value_name = "FILE")]
        only: Option<PathBuf>,
    },
    /// Each recipient of a bulk notice and where it stands (sent, failed, uncertain, ...), in
    /// the order of the recipients file; --csv for a spreadsheet.
    Recipients {
        id: IncidentId,
        /// The document (template name) sent in bulk.
        #[arg(default_value = "subject-notice")]
        document: String,
        /// CSV (line, address, state, version, when, message id, server reply or why).
        #[arg(long)]
        csv: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every event's digest and link; name the first that does not match.
    Verify {
        /// Also prove the log extends this anchored head unchanged: the line `audit anchor`
        /// printed, or a file holding it.
        #[arg(long, value_name = "HEAD|FILE")]
        anchor: Option<String>,
    },
    /// Print the log's head (sequence number and hash) to keep outside the store, and record
    /// that it was anchored; --mail sends it to an address-book role too.
    Anchor {
        /// Also mail the head to this address-book role (e.g. outside counsel).
        #[arg(long, value_name = "ROLE")]
        mail: Option<String>,
    },
    /// The events (all, or one incident's): a table, or JSON lines with --format json.
    Log { id: Option<IncidentId> },
    /// Rebuild the trees derived from the event log (records, indexes, counters, profile,
    /// reminder marks) and say what changed; refuses when the log itself does not verify.
    /// Document bodies are put back only from an identical copy; lost ones are named.
    Repair,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Deadline adherence: per obligation and per regime (--format table|csv|json|html).
    Adherence {
        /// Incidents whose awareness is on or after this day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// ... and on or before this day.
        #[arg(long)]
        to: Option<String>,
        /// One regime only, e.g. uk-gdpr-art33.
        #[arg(long)]
        regime: Option<String>,
        /// Write to FILE (0600) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RegisterCommand {
    /// Export the register (--format csv|json).
    Export {
        /// Write to FILE (0600) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Write one incident's evidence bundle.
    Export { id: IncidentId, file: PathBuf },
    /// Verify a bundle and load it into this store. Every part is checked against the bundle's
    /// events; its organisation profile is recorded only into a store that has none, and only
    /// with --accept-organisation (its SMTP settings never).
    Import {
        file: PathBuf,
        /// Record the bundle's organisation profile (shown first) when this store has none.
        #[arg(long)]
        accept_organisation: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store the organisation profile (refuses to replace one unless --force).
    Init {
        /// Organisation profile (JSON; see schemas/organisation.schema.json).
        #[arg(long, value_name = "FILE")]
        org: PathBuf,
        /// Replace an existing profile (the old one stays in the event log).
        #[arg(long)]
        force: bool,
    },
    /// Show the stored organisation profile.
    Org,
    /// Open, list, show, update and move incidents through their lifecycle.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// Record an exposure assessment (a new version; earlier ones are kept).
    Assess {
        #[arg(required_unless_present = "template")]
        id: Option<IncidentId>,
        /// Assessment (JSON, or TOML when the name ends in .toml; see
        /// schemas/assessment.schema.json).
        #[arg(long, value_name = "FILE", required_unless_present = "template")]
        file: Option<PathBuf>,
        /// Print a commented starting file (TOML) with every field of an assessment, to fill
        /// in and pass back with --file.
        #[arg(long, conflicts_with_all = ["id", "file"])]
        template: bool,
    },
    /// Record the DPO's decision on notifying the ICO and telling data subjects.
    Decide {
        id: IncidentId,
        /// Accept the recommendation that follows from the risk level.
        #[arg(long)]
        accept: bool,
        /// Notify the ICO: yes or no (overrides the recommendation; needs --reason if different).
        #[arg(long, value_name = "yes|no", value_parser = parse_yes_no)]
        ico: Option<bool>,
        /// Tell data subjects: yes or no (overrides the recommendation; needs --reason if different).
        #[arg(long, value_name = "yes|no", value_parser = parse_yes_no)]
        subjects: Option<bool>,
        /// The reasoning, kept in the breach record (UK GDPR Art 33(5)).
        #[arg(long)]
        reason: Option<String>,
    },
    /// An incident's obligations: list them, record a filing or sending, or waive one.
    #[command(subcommand)]
    Obligation(ObligationCommand),
    /// Every open obligation across incidents, soonest first, with time left or overdue by.
    Deadlines {
        /// Only those due within this long from now (e.g. 24h, 3d, 1w).
        #[arg(long, value_parser = commands::deadlines::parse_duration, value_name = "DURATION")]
        within: Option<chrono::Duration>,
        /// Only those past a deadline in law.
        #[arg(long)]
        overdue: bool,
        /// Only this incident.
        #[arg(long, value_name = "ID")]
        incident: Option<IncidentId>,
        /// Show the arithmetic of one obligation (with --incident, or as ID:OBL).
        #[arg(long, value_name = "OBL")]
        explain: Option<String>,
    },
    /// The clocks that would run if the organisation became aware at TIME; nothing is stored.
    Whatif {
        #[arg(long, value_parser = parse_instant, value_name = "TIME")]
        aware_at: DateTime<Utc>,
        /// An assessment file; without one, every threshold is assumed met.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Deadlines as iCalendar (RFC 5545), with alarms: `breachflow calendar > deadlines.ics`.
    Calendar {
        /// Only this incident.
        id: Option<IncidentId>,
        /// Write to FILE (0600) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Render a document from its template and store the version (text, HTML, hashes).
    Render {
        id: IncidentId,
        /// Template name (`breachflow templates` lists them), e.g. ico-report.
        template: String,
        /// The obligation to measure against (default: the first still owed that the template
        /// discharges).
        #[arg(long, value_name = "OBLIGATION")]
        obligation: Option<String>,
        /// Also write the rendering to FILE (0600); HTML when FILE ends in .html.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print (or write) the HTML rendering instead of the text.
        #[arg(long)]
        html: bool,
        /// Render even with facts missing, showing [MISSING: ...] markers (cannot be approved).
        #[arg(long, conflicts_with = "phased")]
        draft: bool,
        /// A report in phases (UK GDPR Art 33(4)): facts that may follow are stated to follow
        /// in a later report and recorded as deferred; facts needed now still block. Can be
        /// approved and filed.
        #[arg(long)]
        phased: bool,
        /// Store FILE's text as an edit of the latest version, instead of rendering the template.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["draft", "phased", "out", "obligation"])]
        text_file: Option<PathBuf>,
        /// With --text-file: why required content the edit removes is not needed.
        #[arg(long, value_name = "TEXT", requires = "text_file")]
        reason: Option<String>,
    },
    /// Which facts a document still lacks, and which may follow in a later report.
    Check {
        id: IncidentId,
        template: String,
        #[arg(long, value_name = "OBLIGATION")]
        obligation: Option<String>,
    },
    /// List an incident's document versions; show or compare them.
    #[command(args_conflicts_with_subcommands = true)]
    Documents {
        id: Option<IncidentId>,
        #[command(subcommand)]
        command: Option<DocumentsCommand>,
    },
    /// Approve a document version (the latest unless --version): only approved versions are
    /// sent or filed.
    Approve {
        id: IncidentId,
        document: String,
        #[arg(long)]
        version: Option<u32>,
        /// A note kept with the approval.
        #[arg(long)]
        note: Option<String>,
    },
    /// Send an approved document by mail to address-book roles or addresses (at most once).
    Send {
        id: IncidentId,
        /// The document (template name), e.g. staff-briefing.
        document: String,
        /// A role from the address book (board, staff, insurer, ...) or a mail address; repeat
        /// for several.
        #[arg(long, required = true, value_name = "ROLE|ADDRESS")]
        to: Vec<String>,
        /// The approved version to send (default: the latest approved).
        #[arg(long)]
        version: Option<u32>,
        /// The audience for the disclosure order (default: the template's).
        #[arg(long)]
        audience: Option<String>,
    },
    /// The outbox: every message and its state; deliver, release a hold, resolve the uncertain.
    #[command(args_conflicts_with_subcommands = true)]
    Outbox {
        #[arg(long)]
        incident: Option<IncidentId>,
        #[command(subcommand)]
        command: Option<OutboxCommand>,
    },
    /// Send the approved Art 34 notice to every row of a CSV file (column `email`, and any the
    /// notice uses, e.g. `name`), resumable, at most once per address.
    NotifySubjects {
        id: IncidentId,
        /// CSV with a header row; streamed, so any length.
        #[arg(long, value_name = "FILE.csv")]
        recipients: PathBuf,
        /// The document to send.
        #[arg(long, default_value = "subject-notice")]
        document: String,
        /// Check every row and render each notice; send nothing, store nothing.
        #[arg(long)]
        dry_run: bool,
        /// At most this many messages per second.
        #[arg(long, value_name = "PER_SECOND")]
        rate: Option<f64>,
        /// Recipients marked sending per durable write; a crash leaves at most one batch
        /// uncertain.
        #[arg(long, default_value_t = 50)]
        batch: u32,
        /// Send although the disclosure order holds these notices back, with the reason.
        #[arg(long, value_name = "REASON")]
        lift_hold: Option<String>,
        /// Send again to recipients whose delivery was refused for good, once the relay or
        /// address is fixed (each address still gets this version at most once).
        #[arg(long)]
        retry_failed: bool,
        /// Send this (corrected) version to recipients who had an earlier one too; the letter
        /// says it corrects the earlier notice where the template does.
        #[arg(long)]
        corrected_to_previous_recipients: bool,
    },
    /// Remind each open obligation's owner as its deadline passes each warning level (once per
    /// level).
    Remind,
    /// The tamper-evident event log: verify the chain of hashes, or list events.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Reports for compliance.
    #[command(subcommand)]
    Report(ReportCommand),
    /// The breach register (UK GDPR Art 33(5)): every incident, notified or not.
    #[command(subcommand)]
    Register(RegisterCommand),
    /// An incident's facts, events, clocks and documents in time order.
    Timeline { id: IncidentId },
    /// Evidence bundles: one file with an incident, its events, documents and hash chain.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// List the document templates and the obligations each discharges.
    Templates,
    /// The regimes in force: built-in and from --regimes-dir, with their unverified facts (†).
    Regimes,
    /// JSON Schemas of the input files.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Run the workflow on a built-in example (a fictional listed veterinary group hit by
    /// ransomware), in a new temporary store or the given --data-dir.
    Demo,
    /// Print a shell completion script.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), generated from these definitions: `breachflow man >
    /// breachflow.1 && man ./breachflow.1`.
    Man,
    /// Run the team server: it keeps the store open and serves the team's command lines (on the
    /// socket `serve.sock` in the data directory, and over HTTP) with their signed-in
    /// identities. Stops, finishing what is in flight, on SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Accounts of the people who use a team server: add, list, disable, set a password. On
    /// the machine that holds the store, this is how the first admin is made.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens for the command line and automation: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account with one or more roles (dpo, comms, approver, auditor, admin).
    Add {
        /// The person's name, as the log will record their acts (unique, whatever the case).
        name: String,
        #[arg(long, value_name = "ADDRESS")]
        email: String,
        /// A role; repeat for several.
        #[arg(long = "role", value_enum, required = true, value_name = "ROLE")]
        roles: Vec<Role>,
    },
    /// List the accounts, their roles and whether each is active.
    List,
    /// Disable an account: it no longer signs in, with its password or any of its tokens.
    Disable {
        /// Name (or user id, e.g. u2).
        name: String,
    },
    /// Set an account's password (at least 12 characters): from BREACHFLOW_PASSWORD, or one
    /// line of standard input (not echoed at a terminal).
    Passwd {
        /// Name (or user id, e.g. u2).
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for an account; it is printed once and never again.
    Create {
        /// The account (name or user id).
        #[arg(long, value_name = "NAME")]
        user: String,
        /// What the token is for (e.g. "laptop", "nightly export").
        #[arg(long)]
        label: Option<String>,
    },
    /// List the tokens (never their secrets), revoked ones too.
    List,
    /// Revoke a token: it no longer signs anyone in.
    Revoke {
        /// Token id, e.g. t3.
        id: TokenId,
    },
}

/// `breachflow serve`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on for HTTP. Any address other than loopback needs --tls-cert and
    /// --tls-key (or --insecure-http).
    #[arg(long, default_value = "127.0.0.1:8470", value_name = "ADDR:PORT")]
    pub listen: std::net::SocketAddr,
    /// The server's certificate chain (PEM), for HTTPS.
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address: passwords and tokens then cross the network
    /// readable. Logged at start.
    #[arg(long, conflicts_with = "tls_cert")]
    pub insecure_http: bool,
    /// Minutes a signed-in browser session lasts without use.
    #[arg(long, default_value_t = 30, value_name = "MINUTES", value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub session_minutes: u32,
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident from an intake file.
    Open {
        /// Incident intake (JSON, or TOML when the name ends in .toml; see
        /// schemas/incident.schema.json; `incident new` writes a starting file).
        #[arg(long, value_name = "FILE", required_unless_present = "interactive")]
        file: Option<PathBuf>,
        /// Ask for each required field at the terminal instead (its description and choices
        /// shown, each answer checked), show the result and ask to confirm before storing.
        #[arg(long, conflicts_with = "file")]
        interactive: bool,
    },
    /// Print a commented starting file (TOML) with every field of an incident intake:
    /// `breachflow incident new > incident.toml`, fill it in, then `incident open --file
    /// incident.toml`.
    New,
    /// List incidents.
    List {
        /// Only incidents in this state.
        #[arg(long, value_enum)]
        state: Option<State>,
    },
    /// Show an incident: facts, assessment, decision and history.
    Show { id: IncidentId },
    /// Correct or add facts (a partial update; old and new values are kept in the event).
    Update {
        id: IncidentId,
        /// Partial update (JSON; see schemas/incident-update.schema.json).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Record an instant that starts a clock or opens a gate: classified_major,
    /// classified_significant, significant_impact or substantial_impact (UK NIS),
    /// materiality_determined, inside_information, eligible_breach, discovered, or
    /// confidentiality_lost (ends a delayed disclosure), with who decided it and why (--note;
    /// required for a classification and a loss of confidentiality).
    Trigger {
        id: IncidentId,
        #[arg(value_enum)]
        anchor: Anchor,
        /// When (default: now).
        #[arg(long, value_parser = parse_instant, value_name = "TIME")]
        at: Option<DateTime<Utc>>,
        /// The person who decided (default: --actor).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Record the decision to delay disclosure of inside information (UK MAR Art 17(4)), with
    /// how each of the three conditions is met. The market announcement's clock is suspended
    /// until confidentiality is lost (`incident trigger ID confidentiality_lost`), when it is
    /// due at once; once it is disclosed, the FCA is told that it was delayed (an obligation of
    /// its own).
    DelayDisclosure {
        id: IncidentId,
        /// When the delay was decided (default: now).
        #[arg(long, value_parser = parse_instant, value_name = "TIME")]
        at: Option<DateTime<Utc>>,
        /// The persons responsible for the decision (default: --actor).
        #[arg(long, value_name = "NAMES")]
        by: Option<String>,
        /// (a) Why immediate disclosure is likely to prejudice the issuer's legitimate interests.
        #[arg(long, value_name = "TEXT")]
        legitimate_interests: Option<String>,
        /// (b) Why the delay is not likely to mislead the public.
        #[arg(long, value_name = "TEXT")]
        not_misleading: Option<String>,
        /// (c) How confidentiality is ensured.
        #[arg(long, value_name = "TEXT")]
        confidentiality: Option<String>,
        /// The evidence, or where it is kept.
        #[arg(long, value_name = "TEXT")]
        evidence: Option<String>,
    },
    /// Take a manual lifecycle step: notify, monitor, close or reopen.
    Transition {
        id: IncidentId,
        #[arg(value_enum)]
        step: Step,
        /// Why (required for reopen).
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ObligationCommand {
    /// List an incident's obligations with their due instants and states.
    List { id: IncidentId },
    /// Record that an obligation was filed (or sent, with --sent). Late needs --late-reason.
    Complete {
        id: IncidentId,
        /// Obligation id (e.g. uk-gdpr-art33/initial) or a unique prefix.
        obligation: String,
        /// When it was filed or sent (default: now): an instant, or only a day (2024-02-07) or
        /// a month (2024-02) in the organisation's zone, or "unknown". A verdict on a day,
        /// month or unknown time is only as sure as its bounds: on time, late, or
        /// indeterminate.
        #[arg(long, value_parser = parse_known, value_name = "TIME|DAY|MONTH|unknown")]
        at: Option<Known>,
        /// The recipient's reference, e.g. the ICO case reference.
        #[arg(long, value_name = "REF")]
        reference: Option<String>,
        /// The reasons for delay, required when after the due instant (UK GDPR Art 33(1)).
        #[arg(long, value_name = "TEXT")]
        late_reason: Option<String>,
        /// A notice that was sent rather than a report that was filed.
        #[arg(long)]
        sent: bool,
    },
    /// Record the recipient's reference (e.g. the ICO case reference) on a filed or sent
    /// obligation, and when it was acknowledged.
    Reference {
        id: IncidentId,
        obligation: String,
        #[arg(long, value_name = "REF")]
        reference: String,
        /// When the recipient acknowledged it (the obligation becomes acknowledged).
        #[arg(long, value_parser = parse_instant, value_name = "TIME")]
        acknowledged_at: Option<DateTime<Utc>>,
    },
    /// Decide an obligation is not required, with a reason and the person who decided.
    Waive {
        id: IncidentId,
        obligation: String,
        #[arg(long)]
        reason: Option<String>,
        /// The person who decided (default: --actor).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Write every input schema into DIR.
    Export { dir: PathBuf },
}

// The lifecycle's own names are the command-line values, so the two can never disagree.
impl clap::ValueEnum for Step {
    fn value_variants<'a>() -> &'a [Self] {
        &Step::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl clap::ValueEnum for Anchor {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Anchor::ClassifiedMajor,
            Anchor::ClassifiedSignificant,
            Anchor::MaterialityDetermined,
            Anchor::InsideInformation,
            Anchor::EligibleBreach,
            Anchor::Discovered,
            Anchor::ConfidentialityLost,
            Anchor::SignificantImpact,
            Anchor::SubstantialImpact,
        ]
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl clap::ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        &Role::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl clap::ValueEnum for State {
    fn value_variants<'a>() -> &'a [Self] {
        &State::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    // RFC 3339 has four-digit years; a longer (or signed) year is refused in words.
    let year_digits = s
        .trim_start_matches(['+', '-'])
        .chars()
        .take_while(char::is_ascii_digit)
        .count();
    if year_digits > 4 || s.starts_with(['+', '-']) {
        return Err(format!(
            "{s:?}: years beyond 9999 (or before year 0) are refused; expected RFC 3339 with a four-digit year, e.g. 2024-04-01T09:00:00+01:00"
        ));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; expected RFC 3339 with offset, e.g. 2024-04-01T09:00:00+01:00"))
}

/// When something happened, as precisely as it is known: an RFC 3339 instant, a day
/// (`2024-02-07`), a month (`2024-02`), or `unknown`. Days and months are the organisation's.
fn parse_known(s: &str) -> Result<Known, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("unknown") {
        return Ok(Known::Unknown);
    }
    if t.len() == 10
        && let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
    {
        return Ok(Known::Day(d));
    }
    if t.len() == 7
        && let Ok(d) = chrono::NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d")
    {
        return Ok(Known::Month(d));
    }
    parse_instant(t).map(Known::At).map_err(|e| {
        format!("{e}; or a day (2024-02-07), a month (2024-02) or \"unknown\" when that is all that is known")
    })
}

fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" => Ok(true),
        "no" | "n" | "false" => Ok(false),
        _ => Err("expected yes or no".into()),
    }
}

/// What a command run on the team server is given: the server's open store and settings, and
/// who signed in.
pub struct ServerSide {
    /// A handle on the store the server keeps open.
    pub store: crate::adapters::store::SledStore,
    pub data_dir: PathBuf,
    pub regimes_dir: Option<PathBuf>,
    pub templates_dir: Option<PathBuf>,
    /// The regimes and templates, read once when the server started (a change to their folders
    /// takes a restart), so a command does not parse them again.
    pub rulebook: std::sync::Arc<crate::domain::regime::Rulebook>,
    pub templates: std::sync::Arc<crate::render::template::TemplateSet>,
    /// Who acts (authenticated); its `now` is replaced by the command's.
    pub app: crate::app::Context,
}

impl std::fmt::Debug for ServerSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSide")
            .field("data_dir", &self.data_dir)
            .field("actor", &self.app.actor)
            .finish_non_exhaustive()
    }
}

/// What every command knows about its run.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Set when the command runs on the team server for a remote command line.
    pub server: Option<std::sync::Arc<ServerSide>>,
    pub data_dir: PathBuf,
    /// True when the directory was named with --data-dir or BREACHFLOW_DATA_DIR.
    pub data_dir_given: bool,
    pub now: DateTime<Utc>,
    pub actor: String,
    pub format: Format,
    pub regimes_dir: Option<PathBuf>,
    pub templates_dir: Option<PathBuf>,
}

impl Ctx {
    /// Who acts and when, for the application layer.
    pub fn app(&self) -> crate::app::Context {
        match &self.server {
            Some(side) => crate::app::Context {
                now: self.now,
                ..side.app.clone()
            },
            None => crate::app::Context::self_declared(self.now, self.actor.clone()),
        }
    }
}

fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("breachflow");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/breachflow"),
        None => PathBuf::from(".breachflow"),
    }
}

fn os_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .or_else(passwd_name)
        .unwrap_or_else(|| "unknown".into())
}

/// The login name of the process's user from the password database, for environments (cron,
/// containers) that set no USER.
fn passwd_name() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: an all-zero passwd is a valid value for getpwuid_r to overwrite.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to memory we own and that outlives the call; the buffer length
    // is passed with it, so getpwuid_r cannot write beyond it.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points to a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    name.to_str()
        .ok()
        .map(str::to_string)
        .filter(|n| !n.is_empty())
}

/// Runs the CLI and returns the process exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    // The shell asking for completions (`COMPLETE` set) is answered here, before anything runs.
    complete::complete_if_asked();
    // Personal data lives in the store: nothing this process creates is readable by others.
    // SAFETY: umask only changes this process's file-creation mask; no other thread exists yet.
    unsafe {
        libc::umask(0o077);
    }
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match parse(&args) {
        Ok(cli) => cli,
        Err(code) => return ExitCode::from(code),
    };
    // A server that holds the data directory (or `--server`) runs the command; else it runs here.
    let code = match client::route(&cli) {
        client::Route::Here => finish(cli, None),
        client::Route::Server(server) => client::run(server, &cli, &args),
    };
    ExitCode::from(code)
}

/// Checks and parses the words of a command line. A usage error is reported (as JSON when the
/// words ask for it) and its exit code returned.
pub(crate) fn parse(args: &[OsString]) -> Result<Cli, u8> {
    // Bounded before anything reads them: a note or reason is stored in every copy of the log.
    if let Some((i, long)) = args
        .iter()
        .enumerate()
        .find(|(_, a)| a.len() > crate::domain::bounds::MAX_ARGUMENT_BYTES)
    {
        output::note(&format!(
            "error: argument {i} ({}...) is {} bytes long; the limit for a command-line value is {} bytes",
            long.to_string_lossy().chars().take(20).collect::<String>(),
            long.len(),
            crate::domain::bounds::MAX_ARGUMENT_BYTES
        ));
        output::note("hint: nothing was stored");
        return Err(error::EXIT_INVALID_INPUT);
    }
    parse_words(args).map_err(|e| {
        let code = if e.use_stderr() { error::EXIT_USAGE } else { 0 };
        let message = e.render().to_string();
        if e.use_stderr() && asks_for_json(args) {
            output::note(
                &serde_json::json!({"error": {"code": error::code_name(code), "exit": code,
                    "message": message.trim_end(), "hint": null, "file": null, "problems": []}})
                .to_string(),
            );
        } else if !output::capturing() {
            // At a terminal, clap's own printing (colour, --help on stdout).
            let _ = e.print();
        } else if e.use_stderr() {
            output::note_raw(&message);
        } else {
            output::print(message.trim_end());
        }
        code
    })
}

/// The words parsed against the grammar, built once per thread: building clap's grammar for
/// every subcommand costs more than the parse, and the team server parses every request.
fn parse_words(args: &[OsString]) -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    thread_local! {
        static GRAMMAR: std::cell::RefCell<Option<clap::Command>> =
            const { std::cell::RefCell::new(None) };
    }
    GRAMMAR.with(|grammar| {
        let mut grammar = grammar.borrow_mut();
        let grammar = grammar.get_or_insert_with(Cli::command);
        let mut matches = grammar.try_get_matches_from_mut(args)?;
        Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(grammar))
    })
}

/// The grammar, built once for the process, for reading a command line without parsing it
/// (the server's request log names the command).
pub fn grammar() -> &'static clap::Command {
    use clap::CommandFactory;
    static GRAMMAR: std::sync::OnceLock<clap::Command> = std::sync::OnceLock::new();
    GRAMMAR.get_or_init(|| {
        let mut grammar = Cli::command();
        grammar.build();
        grammar
    })
}

/// Runs a parsed command here (in this process, or for a remote command line on the server)
/// and reports its error; returns the exit code.
pub(crate) fn finish(cli: Cli, server: Option<std::sync::Arc<ServerSide>>) -> u8 {
    let json = cli.format == Format::Json;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli, server)));
    match outcome {
        Ok(Ok(())) => 0,
        // A script that asked for JSON gets its error as JSON too, on stderr.
        Ok(Err(e)) if json => {
            output::note(&e.to_json().to_string());
            e.exit_code()
        }
        Ok(Err(e)) => {
            output::note(&format!("error: {e}"));
            if let Some(hint) = e.hint() {
                output::note(&format!("hint: {hint}"));
            }
            e.exit_code()
        }
        Err(_) => {
            output::note(
                "error: internal error (a bug in breachflow); nothing after the last success was stored",
            );
            error::EXIT_INTERNAL
        }
    }
}

/// Whether the words ask for `--format json`, for answering a usage error (the words did not
/// parse, so the flag is looked for by hand).
fn asks_for_json(args: &[OsString]) -> bool {
    args.windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json")
}

/// Runs a parsed command. Its output is written once it has returned, so the store it opened is
/// closed before a slow reader of stdout can hold anything up.
pub fn run(cli: Cli, server: Option<std::sync::Arc<ServerSide>>) -> Result<(), CliError> {
    output::hold();
    // JSON output lists every list field, empty or not (what is stored still leaves them out).
    let result = if cli.format == Format::Json {
        crate::domain::serial::showing_empty(|| dispatch(cli, server))
    } else {
        dispatch(cli, server)
    };
    output::release();
    result
}

/// Dispatches a parsed command.
fn dispatch(cli: Cli, server: Option<std::sync::Arc<ServerSide>>) -> Result<(), CliError> {
    let now = crate::adapters::clock::now_or(cli.now);
    crate::adapters::clock::note_effective(now);
    // On the server the server's data directory, regimes and templates apply, and the
    // signed-in user acts (looking up this machine's home and user would only cost time).
    let ctx = match server {
        Some(side) => Ctx {
            data_dir: side.data_dir.clone(),
            data_dir_given: true,
            regimes_dir: side.regimes_dir.clone(),
            templates_dir: side.templates_dir.clone(),
            actor: side.app.actor.clone(),
            server: Some(side),
            now,
            format: cli.format,
        },
        None => Ctx {
            data_dir_given: cli.data_dir.is_some(),
            data_dir: cli.data_dir.unwrap_or_else(default_data_dir),
            server: None,
            now,
            actor: cli
                .actor
                .filter(|a| !a.trim().is_empty())
                .unwrap_or_else(os_user),
            format: cli.format,
            regimes_dir: cli.regimes_dir,
            templates_dir: cli.templates_dir,
        },
    };
    use commands::*;
    let tabular = matches!(cli.command, Command::Report(_) | Command::Register(_));
    if matches!(ctx.format, Format::Csv | Format::Html) && !tabular {
        return Err(CliError::InvalidArgs(format!(
            "--format {} is for `report adherence` and `register export`; use table or json here",
            if ctx.format == Format::Csv {
                "csv"
            } else {
                "html"
            }
        )));
    }
    match cli.command {
        Command::Init { org, force } => init::run(&ctx, &org, force),
        Command::Org => init::show(&ctx),
        Command::Incident(cmd) => match cmd {
            IncidentCommand::Open {
                file: Some(file), ..
            } => incident::open(&ctx, &file),
            IncidentCommand::Open { file: None, .. } => incident::open_interactive(&ctx),
            IncidentCommand::New => incident::starting_file(incident::Intake::Incident),
            IncidentCommand::List { state } => incident::list(&ctx, state),
            IncidentCommand::Show { id } => incident::show(&ctx, id),
            IncidentCommand::Update { id, file } => incident::update(&ctx, id, &file),
            IncidentCommand::Trigger {
                id,
                anchor,
                at,
                by,
                note,
            } => obligation::trigger(
                &ctx,
                id,
                TriggerRequest {
                    anchor,
                    at,
                    by,
                    note,
                },
            ),
            IncidentCommand::DelayDisclosure {
                id,
                at,
                by,
                legitimate_interests,
                not_misleading,
                confidentiality,
                evidence,
            } => obligation::delay_disclosure(
                &ctx,
                id,
                crate::domain::decision::DisclosureDelay {
                    at: at.unwrap_or(ctx.now),
                    decided_by: by.unwrap_or_else(|| ctx.actor.clone()),
                    legitimate_interests: legitimate_interests.unwrap_or_default(),
                    not_misleading: not_misleading.unwrap_or_default(),
                    confidentiality: confidentiality.unwrap_or_default(),
                    evidence,
                },
            ),
            IncidentCommand::Transition { id, step, reason } => {
                incident::transition(&ctx, id, step, reason.as_deref())
            }
        },
        Command::Assess {
            id: Some(id),
            file: Some(file),
            ..
        } => assess::run(&ctx, id, &file),
        Command::Assess { .. } => incident::starting_file(incident::Intake::Assessment),
        Command::Decide {
            id,
            accept,
            ico,
            subjects,
            reason,
        } => decide::run(
            &ctx,
            id,
            &crate::domain::workflow::DecideRequest {
                accept,
                notify_ico: ico,
                tell_subjects: subjects,
                reason,
            },
        ),
        Command::Obligation(cmd) => match cmd {
            ObligationCommand::List { id } => obligation::list(&ctx, id),
            ObligationCommand::Complete {
                id,
                obligation: obl,
                at,
                reference,
                late_reason,
                sent,
            } => obligation::complete(&ctx, id, &obl, at, reference, late_reason, sent),
            ObligationCommand::Reference {
                id,
                obligation: obl,
                reference,
                acknowledged_at,
            } => obligation::reference(&ctx, id, &obl, &reference, acknowledged_at),
            ObligationCommand::Waive {
                id,
                obligation: obl,
                reason,
                by,
            } => obligation::waive(&ctx, id, &obl, reason.as_deref(), by.as_deref()),
        },
        Command::Deadlines {
            within,
            overdue,
            incident,
            explain,
        } => deadlines::deadlines(&ctx, within, overdue, incident, explain.as_deref()),
        Command::Whatif { aware_at, file } => deadlines::whatif(&ctx, aware_at, file.as_deref()),
        Command::Calendar { id, out } => deadlines::calendar(&ctx, id, out.as_deref()),
        Command::Regimes => deadlines::regimes(&ctx),
        Command::Render {
            id,
            template,
            html,
            text_file: Some(file),
            reason,
            ..
        } => document::edit(
            &ctx,
            id,
            &template,
            document::EditedText::File(&file),
            reason.as_deref(),
            html,
        ),
        Command::Render {
            id,
            template,
            obligation,
            out,
            html,
            draft,
            phased,
            ..
        } => document::render(
            &ctx,
            id,
            &template,
            obligation.as_deref(),
            out.as_deref(),
            html,
            if phased {
                crate::app::documents::Mode::Phased
            } else if draft {
                crate::app::documents::Mode::Draft
            } else {
                crate::app::documents::Mode::Complete
            },
        ),
        Command::Check {
            id,
            template,
            obligation,
        } => document::check(&ctx, id, &template, obligation.as_deref()),
        Command::Documents { id, command } => match (id, command) {
            (
                _,
                Some(DocumentsCommand::Show {
                    id,
                    document: doc,
                    version,
                    html,
                }),
            ) => document::show(&ctx, id, &doc, version, html),
            (
                _,
                Some(DocumentsCommand::Diff {
                    id,
                    document: doc,
                    from,
                    to,
                }),
            ) => document::diff(&ctx, id, &doc, from, to),
            (
                _,
                Some(DocumentsCommand::Edit {
                    id,
                    document: doc,
                    reason,
                }),
            ) => document::edit(
                &ctx,
                id,
                &doc,
                document::EditedText::Editor,
                reason.as_deref(),
                false,
            ),
            (Some(id), None) => document::list(&ctx, id),
            (None, None) => Err(CliError::InvalidArgs(
                "name an incident: `breachflow documents ID`".into(),
            )),
        },
        Command::Approve {
            id,
            document: doc,
            version,
            note,
        } => document::approve(&ctx, id, &doc, version, note.as_deref()),
        Command::Templates => document::templates(&ctx),
        Command::Audit(AuditCommand::Verify { anchor }) => audit::verify(&ctx, anchor.as_deref()),
        Command::Audit(AuditCommand::Repair) => audit::repair(&ctx),
        Command::Audit(AuditCommand::Anchor { mail }) => audit::anchor(&ctx, mail.as_deref()),
        Command::Audit(AuditCommand::Log { id }) => audit::log(&ctx, id),
        Command::Report(ReportCommand::Adherence {
            from,
            to,
            regime,
            out,
        }) => audit::adherence(
            &ctx,
            from.as_deref(),
            to.as_deref(),
            regime.as_deref(),
            out.as_deref(),
        ),
        Command::Register(RegisterCommand::Export { out }) => audit::register(&ctx, out.as_deref()),
        Command::Timeline { id } => audit::timeline(&ctx, id),
        Command::Bundle(BundleCommand::Export { id, file }) => {
            audit::bundle_export(&ctx, id, &file)
        }
        Command::Bundle(BundleCommand::Import {
            file,
            accept_organisation,
        }) => audit::bundle_import(&ctx, &file, accept_organisation),
        Command::Send {
            id,
            document: doc,
            to,
            version,
            audience,
        } => send::send(&ctx, id, &doc, version, &to, audience.as_deref()),
        Command::Outbox { incident, command } => match command {
            None => send::list(&ctx, incident),
            Some(OutboxCommand::Deliver { incident: i }) => send::deliver_all(&ctx, i.or(incident)),
            Some(OutboxCommand::Release { key, reason }) => {
                send::release(&ctx, &key, reason.as_deref())
            }
            Some(OutboxCommand::Resolve {
                key,
                sent,
                note,
                bulk: Some(doc),
                uncertain,
                yes,
                only,
                ..
            }) => send::resolve_bulk(
                &ctx,
                &key,
                &doc,
                uncertain,
                sent,
                yes,
                only.as_deref(),
                note.as_deref(),
            ),
            Some(OutboxCommand::Resolve {
                key, sent, note, ..
            }) => send::resolve(&ctx, &key, sent, note.as_deref()),
            Some(OutboxCommand::Recipients { id, document, csv }) => {
                send::recipients(&ctx, id, &document, csv)
            }
        },
        Command::NotifySubjects {
            id,
            recipients,
            document: doc,
            dry_run,
            rate,
            batch,
            lift_hold,
            retry_failed,
            corrected_to_previous_recipients,
        } => send::notify_subjects(
            &ctx,
            &BulkRequest {
                id,
                document: &doc,
                dry_run,
                rate,
                batch,
                lift_hold: lift_hold.as_deref(),
                retry_failed,
                corrected: corrected_to_previous_recipients,
            },
            &recipients,
        ),
        Command::Remind => send::remind(&ctx),
        Command::Schema(SchemaCommand::Export { dir }) => schema::export(&ctx, &dir),
        Command::Demo => demo::run(&ctx),
        Command::Serve(args) => serve::run(&ctx, &args),
        Command::Completions { shell } => {
            output::print(&complete::registration(&shell.to_string()).map_err(CliError::Failed)?);
            Ok(())
        }
        Command::User(UserCommand::Add { name, email, roles }) => {
            account::add(&ctx, &name, &email, &roles)
        }
        Command::User(UserCommand::List) => account::list(&ctx),
        Command::User(UserCommand::Disable { name }) => account::disable(&ctx, &name),
        Command::User(UserCommand::Passwd { name }) => account::passwd(&ctx, &name),
        Command::Token(TokenCommand::Create { user, label }) => {
            account::create(&ctx, &user, label.as_deref())
        }
        Command::Token(TokenCommand::List) => account::list_tokens(&ctx),
        Command::Token(TokenCommand::Revoke { id }) => account::revoke(&ctx, id),
        Command::Man => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map_err(|e| CliError::Failed(format!("cannot write the manual page: {e}")))?;
            output::print(&String::from_utf8_lossy(&out));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    /// The grammar kept from one parse to the next gives the same answers, errors and help
    /// included, as a grammar built afresh: the server parses every request with one.
    #[test]
    fn a_kept_grammar_parses_as_a_fresh_one() {
        use clap::Parser;
        let lines: [&[&str]; 6] = [
            &["breachflow", "incident", "frobnicate"],
            &["breachflow", "incident", "update", "--help"],
            &["breachflow", "deadlines", "--overdue", "--format", "json"],
            &["breachflow", "render", "BR-2024-0001"],
            &["breachflow", "--format", "yaml", "incident", "list"],
            &["breachflow", "incident", "list", "--state", "nonsense"],
        ];
        for round in 0..3 {
            for line in lines {
                let args: Vec<std::ffi::OsString> = line.iter().map(Into::into).collect();
                let kept = super::parse_words(&args);
                let fresh = super::Cli::try_parse_from(&args);
                match (kept, fresh) {
                    (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "{line:?}"),
                    (Err(a), Err(b)) => {
                        assert_eq!(a.kind(), b.kind(), "{line:?}");
                        assert_eq!(
                            a.render().to_string(),
                            b.render().to_string(),
                            "{line:?}, round {round}"
                        );
                    }
                    (a, b) => panic!("{line:?}: kept {:?}, fresh {:?}", a.is_ok(), b.is_ok()),
                }
            }
        }
    }
}
