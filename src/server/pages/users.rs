//! The accounts page (admins).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Shared, SignedIn, page, read, roles, who, zone};
use crate::app;

/// `GET /users`: the accounts (admins).
pub async fn users(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
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
                "state": if u.disabled { "disabled" } else { "active" },
            })
        })
        .collect();
    page(
        &shared,
        StatusCode::OK,
        "users",
        json!({"title": "Accounts", "zone": zone.name(), "users": users, "who": who(&signed)}),
    )
}
