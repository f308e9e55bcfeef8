//! The accounts page (admins): everyone who can sign in, adding an account with its first
//! password, changing an account's roles or password, and disabling one; the use-cases of
//! `user add`, `user passwd` and `user disable` (roles are changed here only: the command line
//! has no command for it).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Shared, SignedIn, Wrote, page, read, roles, see_other, who, write, zone};
use crate::app;
use crate::domain::account::Role;
use crate::domain::permission::Action;

/// `GET /users`: the accounts (admins).
pub async fn users(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    users_page(shared, signed, NewAccount::default(), None).await
}

/// The add-an-account form as it was posted.
#[derive(Default)]
struct NewAccount {
    name: String,
    email: String,
    roles: Vec<String>,
    password: String,
    again: String,
}

fn new_account(body: &[u8]) -> NewAccount {
    let mut f = NewAccount::default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    for (k, v) in pairs {
        match k.as_str() {
            "name" => f.name = v,
            "email" => f.email = v,
            "role" => f.roles.push(v),
            "password" => f.password = v,
            "again" => f.again = v,
            _ => {}
        }
    }
    f
}

async fn users_page(
    shared: Arc<Shared>,
    signed: SignedIn,
    typed: NewAccount,
    error: Option<String>,
) -> Response {
    let found = read(&shared, &signed, |store| {
        Ok((zone(store)?, app::accounts::list_users(store)?))
    })
    .await;
    let (zone, users) = match found {
        Ok(x) => x,
        Err(r) => return r,
    };
    let users: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({
                "id": u.id.to_string(),
                "name": u.name,
                "email": u.email,
                "roles": roles(&u.roles),
                "active": !u.disabled,
                "state": if u.disabled { "disabled" } else { "active" },
                "me": u.id == signed.principal.user,
            })
        })
        .collect();
    let choices: Vec<Value> = Role::ALL
        .iter()
        .map(
            |r| json!({"role": r.as_str(), "checked": typed.roles.iter().any(|t| t == r.as_str())}),
        )
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        &shared,
        status,
        "users",
        json!({
            "title": "Accounts",
            "zone": zone.name(),
            "users": users,
            "choices": choices,
            "all_roles": Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "form": {"name": typed.name, "email": typed.email},
            "error": error,
            "who": who(&signed),
        }),
    )
}

/// `POST /users`: adds an account with its roles and first password (`user add`, then `user
/// passwd`). The password is checked before anything is stored, so a refused one leaves no
/// account behind; it is never shown again or logged.
pub async fn add_user(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    body: axum::body::Bytes,
) -> Response {
    let f = new_account(&body);
    let mut chosen = Vec::new();
    for r in &f.roles {
        match r.parse::<Role>() {
            Ok(role) => chosen.push(role),
            Err(e) => return users_page(shared, signed, f, Some(e.to_string())).await,
        }
    }
    let refusal = if f.password != f.again {
        Some("the two passwords differ; type the same one twice".to_string())
    } else {
        crate::domain::account::check_password(&f.password)
            .err()
            .map(|e| e.to_string())
    };
    if let Some(e) = refusal {
        return users_page(shared, signed, f, Some(e)).await;
    }
    let (name, email, password) = (f.name.clone(), f.email.clone(), f.password.clone());
    let done = write(
        &shared,
        &signed,
        Action::ManageUsers,
        "Adding an account",
        move |store, ctx| {
            let user = app::accounts::add_user(store, ctx, &name, &email, &chosen)?;
            app::accounts::set_password(store, ctx, &user.name, &password)
        },
    )
    .await;
    match done {
        Wrote::Done(_) => see_other("/users", &signed),
        Wrote::Refused(e) => users_page(shared, signed, f, Some(super::said(&e))).await,
        Wrote::Page(r) => r,
    }
}

/// `POST /users/disable`: the account named no longer signs in, with its password or any
/// token (`user disable`).
pub async fn disable_user(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    body: axum::body::Bytes,
) -> Response {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let name = pairs
        .into_iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let done = write(
        &shared,
        &signed,
        Action::ManageUsers,
        "Disabling an account",
        move |store, ctx| app::accounts::disable_user(store, ctx, &name),
    )
    .await;
    match done {
        Wrote::Done(_) => see_other("/users", &signed),
        Wrote::Refused(e) => {
            users_page(shared, signed, NewAccount::default(), Some(super::said(&e))).await
        }
        Wrote::Page(r) => r,
    }
}

/// `POST /users/change`: an account's roles replaced (when any is ticked) and its password set
/// (when one is typed, twice); both checked before anything is stored.
pub async fn change_user(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    body: axum::body::Bytes,
) -> Response {
    let f = new_account(&body);
    let mut chosen = Vec::new();
    for r in &f.roles {
        match r.parse::<Role>() {
            Ok(role) => chosen.push(role),
            Err(e) => {
                return users_page(shared, signed, NewAccount::default(), Some(e.to_string()))
                    .await;
            }
        }
    }
    let password = (!f.password.is_empty() || !f.again.is_empty()).then(|| f.password.clone());
    let refusal = match &password {
        _ if chosen.is_empty() && password.is_none() => Some(format!(
            "{}: tick the roles it is to have, or type a new password",
            f.name
        )),
        Some(p) if *p != f.again => {
            Some("the two passwords differ; type the same one twice".to_string())
        }
        Some(p) => crate::domain::account::check_password(p)
            .err()
            .map(|e| e.to_string()),
        None => None,
    };
    if let Some(e) = refusal {
        return users_page(shared, signed, NewAccount::default(), Some(e)).await;
    }
    let name = f.name.clone();
    let done = write(
        &shared,
        &signed,
        Action::ManageUsers,
        "Changing an account",
        move |store, ctx| {
            if !chosen.is_empty() {
                app::accounts::set_roles(store, ctx, &name, &chosen)?;
            }
            if let Some(p) = &password {
                app::accounts::set_password(store, ctx, &name, p)?;
            }
            Ok(())
        },
    )
    .await;
    match done {
        Wrote::Done(_) => see_other("/users", &signed),
        Wrote::Refused(e) => {
            users_page(shared, signed, NewAccount::default(), Some(super::said(&e))).await
        }
        Wrote::Page(r) => r,
    }
}
