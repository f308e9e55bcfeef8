//! `breachflow serve`: starts the team server on the data directory.

use crate::cli::{CliError, Ctx, ServeArgs, output};

/// What a command line may set through the environment: the server reads its own settings
/// once, here, and forgets them, so a remote command's words are never read against the
/// server's environment (its BREACHFLOW_NOW or BREACHFLOW_ACTOR would otherwise apply to
/// everyone's commands).
const PER_COMMAND: &[&str] = &[
    "BREACHFLOW_DATA_DIR",
    "BREACHFLOW_NOW",
    "BREACHFLOW_ACTOR",
    "BREACHFLOW_REGIMES_DIR",
    "BREACHFLOW_TEMPLATES_DIR",
    "BREACHFLOW_SERVER",
    "BREACHFLOW_TOKEN",
    "BREACHFLOW_PASSWORD",
];

pub fn run(ctx: &Ctx, args: &ServeArgs) -> Result<(), CliError> {
    for var in PER_COMMAND {
        // SAFETY: the process has one thread here: the store (whose sled starts threads) and
        // the server's runtime are opened after this loop.
        unsafe { std::env::remove_var(var) };
    }
    let config = crate::server::Config {
        data_dir: ctx.data_dir.clone(),
        listen: args.listen,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        insecure_http: args.insecure_http,
        regimes_dir: ctx.regimes_dir.clone(),
        templates_dir: ctx.templates_dir.clone(),
        session_minutes: args.session_minutes,
    };
    // The addresses go to stdout at once (not held until the server stops), so a script or a
    // test can wait for them.
    crate::server::run(config, |addresses| {
        output::print_raw(&format!("breachflow serve: listening on {addresses}\n"));
    })
    .map_err(|e| match e {
        crate::server::ServerError::Store(s) => CliError::Store(s),
        crate::server::ServerError::Refused(m) => CliError::InvalidArgs(m),
        other => CliError::Failed(other.to_string()),
    })
}
