//! `breachflow user ...` and `breachflow token ...`: the accounts of the people who use a team
//! server, managed on the machine that holds the store (which is how the first admin is made).
//!
//! A password comes from `BREACHFLOW_PASSWORD` when set, else one line of standard input (not
//! echoed at a terminal); it is read before the store is opened, so no one waits on a typist.

use std::io::{BufRead, IsTerminal, Read, Write};

use serde_json::json;

use super::open_store;
use crate::app::accounts::{self, TokenInfo};
use crate::app::ports::Store;
use crate::cli::output::{self, Format, instant, table};
use crate::cli::{CliError, Ctx};
use crate::domain::account::{Role, TokenId, User};

/// The environment variable a password is read from, for scripts.
pub const PASSWORD_ENV: &str = "BREACHFLOW_PASSWORD";

fn zone(store: &dyn Store) -> Result<chrono_tz::Tz, CliError> {
    Ok(store
        .organisation()?
        .map(|o| o.zone())
        .unwrap_or(chrono_tz::UTC))
}

fn roles(roles: &[Role]) -> String {
    Role::list(roles, ", ")
}

/// An account as `--format json` shows it: the password's commitment is the log's business.
fn user_json(u: &User) -> serde_json::Value {
    json!({
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "roles": u.roles,
        "disabled": u.disabled,
        "password_set": u.password.is_some(),
        "added_at": u.added_at,
    })
}

/// `user add NAME --email E --role R...`.
pub fn add(ctx: &Ctx, name: &str, email: &str, given: &[Role]) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let user = accounts::add_user(&store, &ctx.app(), name, email, given)?;
    drop(store);
    match ctx.format {
        Format::Json => output::print_json(&user_json(&user)),
        _ => output::print(&format!(
            "Added {} {} <{}> ({}).\nSet a password with `breachflow user passwd {:?}`, or create a token with `breachflow token create --user {:?}`.",
            user.id,
            user.name,
            user.email,
            roles(&user.roles),
            user.name,
            user.name
        )),
    }
    Ok(())
}

/// `user list`.
pub fn list(ctx: &Ctx) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let users = accounts::list_users(&store)?;
    let zone = zone(&store)?;
    drop(store);
    match ctx.format {
        Format::Json => output::print_json(&users.iter().map(user_json).collect::<Vec<_>>()),
        _ => {
            if users.is_empty() {
                output::print(
                    "No accounts. Add the first admin with `breachflow user add NAME --email E --role admin`.",
                );
                return Ok(());
            }
            let mut t = table(&[
                "ID", "Name", "Email", "Roles", "Status", "Password", "Added",
            ]);
            for u in &users {
                t.add_row(vec![
                    u.id.to_string(),
                    u.name.clone(),
                    u.email.clone(),
                    roles(&u.roles),
                    if u.disabled { "disabled" } else { "active" }.to_string(),
                    if u.password.is_some() {
                        "set"
                    } else {
                        "not set"
                    }
                    .to_string(),
                    instant(u.added_at, zone),
                ]);
            }
            output::fit(&mut t);
            output::print(&t.to_string());
        }
    }
    Ok(())
}

/// `user disable NAME`.
pub fn disable(ctx: &Ctx, name: &str) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let user = accounts::disable_user(&store, &ctx.app(), name)?;
    drop(store);
    match ctx.format {
        Format::Json => output::print_json(&user_json(&user)),
        _ => output::print(&format!(
            "Disabled {} {}: the account no longer signs in, with its password or its tokens.",
            user.id, user.name
        )),
    }
    Ok(())
}

/// `user passwd NAME`.
pub fn passwd(ctx: &Ctx, name: &str) -> Result<(), CliError> {
    let password = read_password(&format!("New password for {name}: "))?;
    let store = open_store(ctx)?;
    let user = accounts::set_password(&store, &ctx.app(), name, &password)?;
    drop(store);
    match ctx.format {
        Format::Json => output::print_json(&user_json(&user)),
        _ => output::print(&format!("Password set for {} {}.", user.id, user.name)),
    }
    Ok(())
}

/// The password: from the environment, else one line of standard input, prompted on stderr
/// and not echoed when it is a terminal.
pub(crate) fn read_password(prompt: &str) -> Result<String, CliError> {
    // On the team server the password came with the command: the server has no terminal, and
    // its environment is not the person's.
    if output::capturing() {
        return crate::cli::remote::sent_secret().ok_or_else(|| {
            CliError::InvalidArgs(
                "the password did not come with the command; send it from the command line (BREACHFLOW_PASSWORD or the prompt)".into(),
            )
        });
    }
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(p);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return rpassword::prompt_password(prompt)
            .map_err(|e| CliError::Failed(format!("cannot read the password: {e}")));
    }
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    // Bounded: a password is a line, not a file.
    stdin
        .lock()
        .take(4096)
        .read_line(&mut line)
        .map_err(|e| CliError::Failed(format!("cannot read the password: {e}")))?;
    eprintln!();
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn token_row(t: &TokenInfo, zone: chrono_tz::Tz) -> Vec<String> {
    vec![
        t.id.to_string(),
        format!("{} ({})", t.user_name, t.user),
        t.label.clone(),
        instant(t.created_at, zone),
        match t.revoked_at {
            Some(at) => format!("revoked {}", instant(at, zone)),
            None => "active".into(),
        },
    ]
}

/// `token create --user NAME [--label L]`.
pub fn create(ctx: &Ctx, user: &str, label: Option<&str>) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let (info, text) = accounts::create_token(&store, &ctx.app(), user, label.unwrap_or(""))?;
    drop(store);
    print_token(ctx.format, &token_json(&info, &text));
    Ok(())
}

/// A new token as `token create --format json` shows it (and the server's `/api/v1/tokens`).
pub fn token_json(info: &TokenInfo, text: &str) -> serde_json::Value {
    json!({
        "id": info.id,
        "user": info.user,
        "user_name": info.user_name,
        "label": info.label,
        "created_at": info.created_at,
        "token": text,
    })
}

/// Prints a new token, once.
pub fn print_token(format: Format, token: &serde_json::Value) {
    match format {
        Format::Json => output::print_json(token),
        _ => output::print(&format!(
            "Token {} for {} ({}):\n{}\nThis token will not be shown again: keep it somewhere safe (the store keeps only its hash). Use it as BREACHFLOW_TOKEN.",
            token["id"].as_str().unwrap_or_default(),
            token["user_name"].as_str().unwrap_or_default(),
            token["user"].as_str().unwrap_or_default(),
            token["token"].as_str().unwrap_or_default(),
        )),
    }
}

/// `token list`.
pub fn list_tokens(ctx: &Ctx) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let tokens = accounts::list_tokens(&store, None)?;
    let zone = zone(&store)?;
    drop(store);
    match ctx.format {
        Format::Json => output::print_json(&tokens),
        _ => {
            if tokens.is_empty() {
                output::print("No tokens.");
                return Ok(());
            }
            let mut t = table(&["ID", "User", "Label", "Created", "Status"]);
            for token in &tokens {
                t.add_row(token_row(token, zone));
            }
            output::fit(&mut t);
            output::print(&t.to_string());
        }
    }
    Ok(())
}

/// `token revoke ID`.
pub fn revoke(ctx: &Ctx, id: TokenId) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let info = accounts::revoke_token(&store, &ctx.app(), id)?;
    drop(store);
    match ctx.format {
        Format::Json => output::print_json(&info),
        _ => output::print(&format!(
            "Revoked {} ({} of {}): it no longer signs anyone in.",
            info.id,
            if info.label.is_empty() {
                "unlabelled"
            } else {
                info.label.as_str()
            },
            info.user_name
        )),
    }
    Ok(())
}
