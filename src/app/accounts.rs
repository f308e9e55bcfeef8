//! Accounts as use-cases: adding and disabling people, their passwords and API tokens, and
//! signing them in (`authenticate_password`, `authenticate_token`) for a front end that serves
//! more than one person.
//!
//! Every change is an account event committed with `Subject::Accounts`; the secrets go into the
//! store's credentials in the same commit, and the events record only their commitments
//! (`domain::account`). Passwords are hashed with Argon2id (the `argon2` crate's default
//! parameters, PHC string); tokens are 32 bytes from the operating system's generator, shown
//! once, kept as a SHA-256.

use argon2::password_hash::phc::PasswordHash;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::ports::{Change, Store, StoreError, Subject, Writes};
use crate::app::{AppError, Context};
use crate::domain::account::{
    self, Credential, Principal, Role, Token, TokenId, User, UserId, commitment, same,
};
use crate::domain::event::EventKind;

/// Why a person was not signed in. One answer for every reason (no such name, a wrong
/// password, a disabled account, an unknown or revoked token), so a guesser learns nothing.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("not signed in: the name and password, or the token, were not accepted")]
    Refused,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> AppError {
        match e {
            AuthError::Refused => AppError::Unauthenticated(e.to_string()),
            AuthError::Store(s) => AppError::Store(s),
        }
    }
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: TokenId,
    pub user: UserId,
    pub user_name: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenInfo {
    fn of(t: &Token, users: &[User]) -> TokenInfo {
        TokenInfo {
            id: t.id,
            user: t.user,
            user_name: users
                .iter()
                .find(|u| u.id == t.user)
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            label: t.label.clone(),
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

fn invalid(e: account::Invalid) -> AppError {
    AppError::InvalidArgs(e.to_string())
}

fn commit(
    store: &dyn Store,
    ctx: &Context,
    kinds: &[EventKind],
    credentials: &[Credential],
) -> Result<(), AppError> {
    store.commit(
        Change::new(Subject::Accounts, kinds, ctx.stamp()).with(Writes {
            credentials,
            ..Writes::default()
        }),
    )?;
    Ok(())
}

/// Every account, in the order they were added.
pub fn list_users(store: &dyn Store) -> Result<Vec<User>, AppError> {
    Ok(store.users()?)
}

/// The account named `name` (compared without case), or with the id `name` (`u2`).
pub fn find_user(store: &dyn Store, name: &str) -> Result<User, AppError> {
    let users = store.users()?;
    let wanted = name.trim();
    users
        .iter()
        .find(|u| u.name.eq_ignore_ascii_case(wanted))
        .or_else(|| {
            let id: UserId = wanted.parse().ok()?;
            users.iter().find(|u| u.id == id)
        })
        .cloned()
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "no user named {wanted:?}; `breachflow user list` shows the accounts"
            ))
        })
}

/// Adds an account (`u1`, `u2`, ... in order). Names are unique without regard to case; the
/// address must be one mail can reach; at least one role.
pub fn add_user(
    store: &dyn Store,
    ctx: &Context,
    name: &str,
    email: &str,
    roles: &[Role],
) -> Result<User, AppError> {
    let (name, email) = (name.trim(), email.trim());
    let roles = account::distinct(roles);
    account::check_details(name, email, &roles).map_err(invalid)?;
    let users = store.users()?;
    if let Some(u) = users.iter().find(|u| u.name.eq_ignore_ascii_case(name)) {
        return Err(AppError::InvalidArgs(format!(
            "a user named {:?} already exists ({}); names are unique without regard to case",
            u.name, u.id
        )));
    }
    let id = users
        .iter()
        .map(|u| u.id)
        .max()
        .map_or(UserId(1), UserId::next);
    commit(
        store,
        ctx,
        &[EventKind::UserAdded {
            user: id,
            name: name.to_string(),
            email: email.to_string(),
            roles,
        }],
        &[],
    )?;
    store
        .user(id)?
        .ok_or_else(|| AppError::Failed(format!("{id} was not stored")))
}

/// Replaces an account's roles.
pub fn set_roles(
    store: &dyn Store,
    ctx: &Context,
    name: &str,
    roles: &[Role],
) -> Result<User, AppError> {
    let user = find_user(store, name)?;
    let roles = account::distinct(roles);
    if roles.is_empty() {
        return Err(invalid(account::Invalid::NoRole));
    }
    commit(
        store,
        ctx,
        &[EventKind::UserRolesSet {
            user: user.id,
            roles,
        }],
        &[],
    )?;
    store
        .user(user.id)?
        .ok_or_else(|| AppError::Failed(format!("{} was not stored", user.id)))
}

/// Disables an account: it no longer signs in, with its password or any of its tokens.
pub fn disable_user(store: &dyn Store, ctx: &Context, name: &str) -> Result<User, AppError> {
    let user = find_user(store, name)?;
    if user.disabled {
        return Err(AppError::InvalidArgs(format!(
            "{} ({}) is already disabled",
            user.name, user.id
        )));
    }
    commit(
        store,
        ctx,
        &[EventKind::UserDisabled { user: user.id }],
        &[],
    )?;
    store
        .user(user.id)?
        .ok_or_else(|| AppError::Failed(format!("{} was not stored", user.id)))
}

/// Sets an account's password (at least 12 characters), hashed with Argon2id.
pub fn set_password(
    store: &dyn Store,
    ctx: &Context,
    name: &str,
    password: &str,
) -> Result<User, AppError> {
    let user = find_user(store, name)?;
    refuse_disabled(&user)?;
    account::check_password(password).map_err(invalid)?;
    let credential = Credential::Password {
        user: user.id,
        phc: hash_password(password)?,
    };
    commit(
        store,
        ctx,
        &[EventKind::PasswordSet {
            user: user.id,
            credential: credential.commitment(),
        }],
        &[credential],
    )?;
    store
        .user(user.id)?
        .ok_or_else(|| AppError::Failed(format!("{} was not stored", user.id)))
}

fn refuse_disabled(user: &User) -> Result<(), AppError> {
    if user.disabled {
        return Err(AppError::InvalidArgs(format!(
            "{} ({}) is disabled",
            user.name, user.id
        )));
    }
    Ok(())
}

/// Creates an API token for `user_name`: its description, and its text, which is shown this
/// once and kept nowhere (the store keeps its SHA-256).
pub fn create_token(
    store: &dyn Store,
    ctx: &Context,
    user_name: &str,
    label: &str,
) -> Result<(TokenInfo, String), AppError> {
    let user = find_user(store, user_name)?;
    refuse_disabled(&user)?;
    let label = label.trim();
    account::check_text("the label", label).map_err(invalid)?;
    let id = store
        .tokens()?
        .iter()
        .map(|t| t.id)
        .max()
        .map_or(TokenId(1), TokenId::next);
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| {
        AppError::Failed(format!(
            "the operating system's random number generator failed: {e}"
        ))
    })?;
    let text = account::token_text(id, &secret);
    let credential = Credential::Token {
        token: id,
        hash: account::token_hash(&text),
    };
    commit(
        store,
        ctx,
        &[EventKind::TokenCreated {
            token: id,
            user: user.id,
            label: label.to_string(),
            credential: credential.commitment(),
        }],
        &[credential],
    )?;
    let token = store
        .token(id)?
        .ok_or_else(|| AppError::Failed(format!("{id} was not stored")))?;
    Ok((TokenInfo::of(&token, std::slice::from_ref(&user)), text))
}

/// Every token (of one account, or all), revoked ones too, oldest first.
pub fn list_tokens(store: &dyn Store, of: Option<UserId>) -> Result<Vec<TokenInfo>, AppError> {
    let users = store.users()?;
    Ok(store
        .tokens()?
        .iter()
        .filter(|t| of.is_none_or(|u| t.user == u))
        .map(|t| TokenInfo::of(t, &users))
        .collect())
}

/// Revokes a token: it never signs anyone in again, and its hash is removed.
pub fn revoke_token(store: &dyn Store, ctx: &Context, id: TokenId) -> Result<TokenInfo, AppError> {
    let token = store.token(id)?.ok_or_else(|| {
        AppError::NotFound(format!(
            "no token {id}; `breachflow token list` shows the tokens"
        ))
    })?;
    if token.revoked_at.is_some() {
        return Err(AppError::InvalidArgs(format!("{id} is already revoked")));
    }
    commit(store, ctx, &[EventKind::TokenRevoked { token: id }], &[])?;
    let token = store
        .token(id)?
        .ok_or_else(|| AppError::Failed(format!("{id} was not stored")))?;
    Ok(TokenInfo::of(&token, &store.users()?))
}

/// Signs a person in with their name (or user id) and password.
pub fn authenticate_password(
    store: &dyn Store,
    name: &str,
    password: &str,
) -> Result<Principal, AuthError> {
    let wanted = name.trim();
    let user = store
        .users()?
        .into_iter()
        .find(|u| u.name.eq_ignore_ascii_case(wanted));
    let stored = match &user {
        Some(u) => store.password(u.id)?,
        None => None,
    };
    // The stored hash must be the one the log committed to: a hash swapped in on disk signs
    // no one in.
    let committed = match (&user, &stored) {
        (Some(u), Some(phc)) => u
            .password
            .as_deref()
            .is_some_and(|c| same(c.as_bytes(), commitment(phc).as_bytes())),
        _ => false,
    };
    // An unknown name costs as much as a wrong password, so timing does not tell them apart.
    let phc = match (&stored, committed) {
        (Some(phc), true) => phc.as_str(),
        _ => dummy_hash(),
    };
    let verified = verify_password(phc, password);
    match user {
        Some(u) if committed && verified && !u.disabled => Ok(Principal::of(&u)),
        _ => Err(AuthError::Refused),
    }
}

/// Signs a person in with an API token (`bft_...`): one key read for the token's hash.
pub fn authenticate_token(store: &dyn Store, secret: &str) -> Result<Principal, AuthError> {
    let named = account::token_id_of(secret).ok_or(AuthError::Refused)?;
    let hash = account::token_hash(secret);
    let found = store.token_by_hash(&hash)?.ok_or(AuthError::Refused)?;
    if found != named {
        return Err(AuthError::Refused);
    }
    let token = store.token(found)?.ok_or(AuthError::Refused)?;
    // The stored hash must be the one the log committed to: a hash written in on disk signs
    // no one in.
    if !same(token.credential.as_bytes(), commitment(&hash).as_bytes())
        || token.revoked_at.is_some()
    {
        return Err(AuthError::Refused);
    }
    match store.user(token.user)? {
        Some(u) if !u.disabled => Ok(Principal::of(&u)),
        _ => Err(AuthError::Refused),
    }
}

/// The Argon2id hash of `password` (default parameters, a fresh random salt from the operating
/// system), as a PHC string.
fn hash_password(password: &str) -> Result<String, AppError> {
    use argon2::password_hash::PasswordHasher;
    let hash: PasswordHash = argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| AppError::Failed(format!("cannot hash the password: {e}")))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string (Argon2's comparison is constant-time).
fn verify_password(phc: &str, password: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    match PasswordHash::new(phc) {
        Ok(hash) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of no one's password, made once, checked when a name is unknown.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no one's password, ever").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::memory::MemoryStore;

    fn ctx() -> Context {
        Context::self_declared(
            "2025-01-02T09:00:00Z".parse().unwrap(),
            "Ada Admin (self-declared)",
        )
    }

    fn with_dana() -> MemoryStore {
        let store = MemoryStore::new();
        add_user(
            &store,
            &ctx(),
            "Ada Admin",
            "ada@example.com",
            &[Role::Admin],
        )
        .unwrap();
        add_user(
            &store,
            &ctx(),
            "Dana Scully",
            "dana@example.com",
            &[Role::Dpo, Role::Comms],
        )
        .unwrap();
        set_password(&store, &ctx(), "dana scully", "correct horse battery").unwrap();
        store
    }

    #[test]
    fn users_are_numbered_and_names_are_unique() {
        let store = with_dana();
        let users = list_users(&store).unwrap();
        assert_eq!(
            users.iter().map(|u| u.id.to_string()).collect::<Vec<_>>(),
            ["u1", "u2"]
        );
        assert!(matches!(
            add_user(
                &store,
                &ctx(),
                "DANA SCULLY",
                "d2@example.com",
                &[Role::Dpo]
            ),
            Err(AppError::InvalidArgs(_))
        ));
        assert!(matches!(
            add_user(&store, &ctx(), "Fox", "fox@localhost", &[Role::Dpo]),
            Err(AppError::InvalidArgs(_))
        ));
        assert!(matches!(
            add_user(&store, &ctx(), "Fox", "fox@example.com", &[]),
            Err(AppError::InvalidArgs(_))
        ));
        assert!(matches!(
            set_password(&store, &ctx(), "Ada Admin", "too short"),
            Err(AppError::InvalidArgs(_))
        ));
        assert_eq!(find_user(&store, "u2").unwrap().name, "Dana Scully");
        assert!(matches!(
            find_user(&store, "nobody"),
            Err(AppError::NotFound(_))
        ));
    }

    #[test]
    fn a_password_is_hashed_and_checked_and_never_stored_plain() {
        let store = with_dana();
        let p = authenticate_password(&store, "Dana Scully", "correct horse battery").unwrap();
        assert_eq!(
            (p.user, p.roles.clone()),
            (UserId(2), vec![Role::Dpo, Role::Comms])
        );
        let phc = store.password(UserId(2)).unwrap().unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        // The event holds only the commitment.
        let log: Vec<_> = store.log().map(|e| e.unwrap().1.unwrap()).collect();
        let text = serde_json::to_string(&log).unwrap();
        assert!(!text.contains(&phc) && !text.contains("correct horse"));
        assert!(text.contains(&commitment(&phc)));
        // A wrong password and an unknown name get the same answer.
        for (name, pw) in [
            ("Dana Scully", "wrong password!!"),
            ("Nobody", "correct horse battery"),
            ("Ada Admin", "correct horse battery"),
        ] {
            assert!(matches!(
                authenticate_password(&store, name, pw),
                Err(AuthError::Refused)
            ));
        }
        // Disabled: refused, whatever the password.
        disable_user(&store, &ctx(), "Dana Scully").unwrap();
        assert!(matches!(
            authenticate_password(&store, "Dana Scully", "correct horse battery"),
            Err(AuthError::Refused)
        ));
    }

    #[test]
    fn tokens_sign_in_until_revoked_and_stop_when_the_user_is_disabled() {
        let store = with_dana();
        let (info, text) = create_token(&store, &ctx(), "Dana Scully", "laptop").unwrap();
        assert_eq!(info.id, TokenId(1));
        assert!(text.starts_with("bft_t1_"));
        assert_eq!(authenticate_token(&store, &text).unwrap().user, UserId(2));
        // A token of the right form but not issued, or altered, is refused.
        let mut altered = text.clone();
        altered.pop();
        altered.push(if text.ends_with('0') { '1' } else { '0' });
        assert!(matches!(
            authenticate_token(&store, &altered),
            Err(AuthError::Refused)
        ));
        assert!(matches!(
            authenticate_token(&store, "nonsense"),
            Err(AuthError::Refused)
        ));
        revoke_token(&store, &ctx(), TokenId(1)).unwrap();
        assert!(matches!(
            authenticate_token(&store, &text),
            Err(AuthError::Refused)
        ));
        assert!(
            store
                .token_by_hash(&account::token_hash(&text))
                .unwrap()
                .is_none()
        );
        let (_, second) = create_token(&store, &ctx(), "Dana Scully", "ci").unwrap();
        assert!(authenticate_token(&store, &second).is_ok());
        disable_user(&store, &ctx(), "Dana Scully").unwrap();
        assert!(matches!(
            authenticate_token(&store, &second),
            Err(AuthError::Refused)
        ));
        let listed = list_tokens(&store, Some(UserId(2))).unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed[0].revoked_at.is_some());
        assert_eq!(listed[1].user_name, "Dana Scully");
        // And the whole store still verifies.
        assert!(crate::app::audit::verify(&store).unwrap().is_ok());
    }

    #[test]
    fn an_authenticated_act_records_who_and_under_which_role() {
        let store = with_dana();
        let dana = authenticate_password(&store, "Dana Scully", "correct horse battery").unwrap();
        let ctx = Context::authenticated("2025-01-02T10:00:00Z".parse().unwrap(), &dana, Role::Dpo);
        create_token(&store, &ctx, "Dana Scully", "mine").unwrap();
        let last = store.log().last().unwrap().unwrap().1.unwrap();
        assert_eq!(last.actor, "Dana Scully");
        assert_eq!(
            last.user,
            Some(account::UserRef {
                id: UserId(2),
                role: Role::Dpo
            })
        );
        assert_eq!(
            crate::render::format::who(&last),
            "Dana Scully (dpo, u2, authenticated)"
        );
        assert!(crate::app::audit::verify(&store).unwrap().is_ok());
    }
}
