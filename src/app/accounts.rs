//! STAND-IN until the accounts branch lands (replaced wholesale at merge).
use crate::app::{AppError, Context, Store};
use crate::domain::account::{Principal, Role, UserId};

pub struct TokenInfo {
    pub id: String,
    pub label: String,
}

#[derive(Debug, thiserror::Error)]
#[error("not accepted")]
pub struct AuthError;

fn role(s: &str) -> Option<Role> {
    [
        Role::Dpo,
        Role::Comms,
        Role::Approver,
        Role::Auditor,
        Role::Admin,
    ]
    .into_iter()
    .find(|r| r.as_str() == s)
}

/// Stand-in: `dev:NAME:ROLE` tokens.
pub fn authenticate_token(_store: &dyn Store, token: &str) -> Result<Principal, AuthError> {
    principal(_store, token.strip_prefix("dev:").ok_or(AuthError)?)
}

pub fn principal(_store: &dyn Store, user: &str) -> Result<Principal, AuthError> {
    let (name, r) = user.split_once(':').ok_or(AuthError)?;
    Ok(Principal {
        user: UserId(user.to_string()),
        name: name.to_string(),
        roles: vec![role(r).ok_or(AuthError)?],
    })
}

pub fn authenticate_password(
    _store: &dyn Store,
    _name: &str,
    _password: &str,
) -> Result<Principal, AuthError> {
    Err(AuthError)
}

pub fn create_token(
    _store: &dyn Store,
    _ctx: &Context,
    _name: &str,
    _label: &str,
) -> Result<(TokenInfo, String), AppError> {
    Err(AppError::Failed("stand-in".into()))
}

pub fn list_users(_store: &dyn Store) -> Result<Vec<String>, AppError> {
    Ok(vec![])
}
