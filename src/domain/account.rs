//! Accounts: the people who may use breachflow through a team server, the roles they act under,
//! and their API tokens, as the fold of the account events.
//!
//! The `users` tree a store keeps is derived from the log like the incident records: [`apply`]
//! is the one fold, used by commits, by `audit verify` (`domain::integrity`) and by `audit
//! repair`. Secrets never enter an event: a `PasswordSet` or `TokenCreated` event records only
//! a commitment (the SHA-256 of the credential record the store keeps apart, in its
//! `credentials` tree), so the log says which credential is the right one without holding it.
//! Pure: the slow password hash and the randomness are the application layer's.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::event::{Event, EventKind};

/// What a person may do, granted by `domain::permission`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The data protection officer: records the facts, decides, files and sends.
    Dpo,
    /// Communications: drafts and sends the market announcement, staff briefing and notices.
    Comms,
    /// Approves document versions (the chair, legal).
    Approver,
    /// Reads everything and verifies the log; changes nothing.
    Auditor,
    /// Manages accounts and the organisation profile; anchors and repairs the store.
    Admin,
}

impl Role {
    /// Role names joined by `sep`: "dpo, admin", or "dpo or admin" in a refusal.
    pub fn list(roles: &[Role], sep: &str) -> String {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(sep)
    }

    pub const ALL: [Role; 5] = [
        Role::Dpo,
        Role::Comms,
        Role::Approver,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dpo => "dpo",
            Role::Comms => "comms",
            Role::Approver => "approver",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of the five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a role; expected dpo, comms, approver, auditor or admin")]
pub struct BadRole(pub String);

impl FromStr for Role {
    type Err = BadRole;
    fn from_str(s: &str) -> Result<Role, BadRole> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| BadRole(s.to_string()))
    }
}

/// Ids numbered in order of creation (`u1`, `u2`; `t1`, `t2`), written with a letter so a
/// user id and a token id are never confused.
macro_rules! numbered_id {
    ($name:ident, $letter:literal, $what:literal) => {
        #[doc = concat!("A ", $what, " id: `", $letter, "1`, `", $letter, "2`, ... in order of creation, never reused.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// Store key: the number big-endian, so keys sort in creation order.
            pub fn key(self) -> [u8; 4] {
                self.0.to_be_bytes()
            }

            pub fn from_key(key: &[u8]) -> Option<$name> {
                Some($name(u32::from_be_bytes(key.try_into().ok()?)))
            }

            /// The id after this one.
            pub fn next(self) -> $name {
                $name(self.0.saturating_add(1))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($letter, "{}"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<$name, String> {
                s.trim()
                    .strip_prefix($letter)
                    .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .map($name)
                    .ok_or_else(|| {
                        format!(concat!("{:?} is not a ", $what, " id; expected the form ", $letter, "1"), s)
                    })
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?
                    .parse()
                    .map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": concat!("^", $letter, "[1-9][0-9]*$"),
                })
            }
        }
    };
}

numbered_id!(UserId, "u", "user");
numbered_id!(TokenId, "t", "token");

/// Who did something, as the log records it when they signed in: the user, and the role under
/// which the act was permitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserRef {
    pub id: UserId,
    pub role: Role,
}

/// A person's account, as the account events leave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub email: String,
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// When the account was added (the event's effective time).
    pub added_at: DateTime<Utc>,
    /// The commitment (SHA-256) of the current password record; none until one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// An API token, as the account events leave it. The secret is never kept; its hash lives in
/// the store's `credentials` tree and its commitment here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Token {
    pub id: TokenId,
    pub user: UserId,
    pub label: String,
    pub created_at: DateTime<Utc>,
    /// The commitment (SHA-256) of the token's stored hash.
    pub credential: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who a request is: a signed-in user and the roles they hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub user: UserId,
    pub name: String,
    pub roles: Vec<Role>,
}

impl Principal {
    pub fn of(user: &User) -> Principal {
        Principal {
            user: user.id,
            name: user.name.clone(),
            roles: user.roles.clone(),
        }
    }

    /// The identity events record when this person acts under `role`.
    pub fn acting_as(&self, role: Role) -> UserRef {
        UserRef {
            id: self.user,
            role,
        }
    }
}

/// One entry of the `users` tree: an account or a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Record {
    User(User),
    Token(Token),
}

/// What an account event changes: one account or one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    User(UserId),
    Token(TokenId),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::User(id) => write!(f, "user {id}"),
            Key::Token(id) => write!(f, "token {id}"),
        }
    }
}

impl Record {
    pub fn key(&self) -> Key {
        match self {
            Record::User(u) => Key::User(u.id),
            Record::Token(t) => Key::Token(t.id),
        }
    }
}

/// The record an account event changes; none for every other event.
pub fn key_of(kind: &EventKind) -> Option<Key> {
    match kind {
        EventKind::UserAdded { user, .. }
        | EventKind::UserRolesSet { user, .. }
        | EventKind::UserDisabled { user }
        | EventKind::PasswordSet { user, .. } => Some(Key::User(*user)),
        EventKind::TokenCreated { token, .. } | EventKind::TokenRevoked { token } => {
            Some(Key::Token(*token))
        }
        _ => None,
    }
}

/// Whether `kind` is an account event (which never leaves the store in a bundle).
pub fn is_account_event(kind: &EventKind) -> bool {
    key_of(kind).is_some()
}

/// Why an account event does not apply to the record it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("{0} already exists")]
    Exists(Key),
    #[error("{0} does not exist")]
    Missing(Key),
    #[error("event {0} is not an account event")]
    NotAnAccountEvent(u64),
}

/// Folds one account event into the record it names (`before`, as stored): the one fold of
/// accounts, on commit, on verification and on repair.
pub fn apply(before: Option<Record>, e: &Event) -> Result<Record, AccountError> {
    let key = key_of(&e.what).ok_or(AccountError::NotAnAccountEvent(e.seq))?;
    let missing = || AccountError::Missing(key);
    let user = |before: Option<Record>| match before {
        Some(Record::User(u)) => Ok(u),
        _ => Err(missing()),
    };
    let token = |before: Option<Record>| match before {
        Some(Record::Token(t)) => Ok(t),
        _ => Err(missing()),
    };
    Ok(match &e.what {
        EventKind::UserAdded {
            user: id,
            name,
            email,
            roles,
        } => {
            if before.is_some() {
                return Err(AccountError::Exists(key));
            }
            Record::User(User {
                id: *id,
                name: name.clone(),
                email: email.clone(),
                roles: roles.clone(),
                disabled: false,
                added_at: e.at,
                password: None,
            })
        }
        EventKind::UserRolesSet { roles, .. } => Record::User(User {
            roles: roles.clone(),
            ..user(before)?
        }),
        EventKind::UserDisabled { .. } => Record::User(User {
            disabled: true,
            ..user(before)?
        }),
        EventKind::PasswordSet { credential, .. } => Record::User(User {
            password: Some(credential.clone()),
            ..user(before)?
        }),
        EventKind::TokenCreated {
            token: id,
            user,
            label,
            credential,
        } => {
            if before.is_some() {
                return Err(AccountError::Exists(key));
            }
            Record::Token(Token {
                id: *id,
                user: *user,
                label: label.clone(),
                created_at: e.at,
                credential: credential.clone(),
                revoked_at: None,
            })
        }
        EventKind::TokenRevoked { .. } => {
            let t = token(before)?;
            Record::Token(Token {
                revoked_at: t.revoked_at.or(Some(e.at)),
                ..t
            })
        }
        _ => return Err(AccountError::NotAnAccountEvent(e.seq)),
    })
}

/// Every account and token, as the log leaves them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounts {
    pub users: std::collections::BTreeMap<UserId, User>,
    pub tokens: std::collections::BTreeMap<TokenId, Token>,
}

impl Accounts {
    /// Folds in the next event of the log (other events are ignored).
    pub fn observe(&mut self, e: &Event) -> Result<(), AccountError> {
        let Some(key) = key_of(&e.what) else {
            return Ok(());
        };
        let before = match key {
            Key::User(id) => self.users.get(&id).cloned().map(Record::User),
            Key::Token(id) => self.tokens.get(&id).cloned().map(Record::Token),
        };
        match apply(before, e)? {
            Record::User(u) => {
                self.users.insert(u.id, u);
            }
            Record::Token(t) => {
                self.tokens.insert(t.id, t);
            }
        }
        Ok(())
    }

    /// The credentials the log says the store holds, each with its commitment: a password for
    /// each account that has one, a hash for each token not revoked.
    pub fn credentials(&self) -> std::collections::BTreeMap<CredentialKey, String> {
        let passwords = self.users.values().filter_map(|u| {
            u.password
                .as_ref()
                .map(|c| (CredentialKey::Password(u.id), c.clone()))
        });
        let tokens = self
            .tokens
            .values()
            .filter(|t| t.revoked_at.is_none())
            .map(|t| (CredentialKey::Token(t.id), t.credential.clone()));
        passwords.chain(tokens).collect()
    }
}

/// Which secret a stored credential is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CredentialKey {
    Password(UserId),
    Token(TokenId),
}

impl fmt::Display for CredentialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialKey::Password(id) => write!(f, "password of {id}"),
            CredentialKey::Token(id) => write!(f, "token {id}"),
        }
    }
}

/// A secret's stored form, the one thing about an account kept outside the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An Argon2id hash in PHC string form.
    Password { user: UserId, phc: String },
    /// The SHA-256 (hex) of the whole token text.
    Token { token: TokenId, hash: String },
}

impl Credential {
    /// The record the store keeps, whose SHA-256 the log commits to.
    pub fn record(&self) -> &str {
        match self {
            Credential::Password { phc, .. } => phc,
            Credential::Token { hash, .. } => hash,
        }
    }

    pub fn key(&self) -> CredentialKey {
        match self {
            Credential::Password { user, .. } => CredentialKey::Password(*user),
            Credential::Token { token, .. } => CredentialKey::Token(*token),
        }
    }

    /// What the event records of it.
    pub fn commitment(&self) -> String {
        commitment(self.record())
    }
}

/// The commitment to a stored credential record: its SHA-256, hex.
pub fn commitment(record: &str) -> String {
    hex::encode(Sha256::digest(record.as_bytes()))
}

/// Whether two byte strings are equal, in time that does not depend on where they differ
/// (only on their lengths, which are public: hex digests of one size).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Kept opaque so the compiler cannot turn the fold back into an early exit.
    std::hint::black_box(diff) == 0
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest name, address or token label accepted.
pub const MAX_FIELD_CHARS: usize = 200;

/// Why an account's details are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("a user name cannot be empty")]
    EmptyName,
    #[error("{0} is longer than {MAX_FIELD_CHARS} characters")]
    TooLong(&'static str),
    #[error("{0} contains a control character")]
    Control(&'static str),
    #[error("the mail address {0:?} {1}")]
    Address(String, &'static str),
    #[error("give at least one role (--role dpo|comms|approver|auditor|admin)")]
    NoRole,
    #[error("a password must have at least {MIN_PASSWORD_CHARS} characters")]
    ShortPassword,
}

/// A name, address and roles an account can be added with: a name of printable characters,
/// an address mail can reach (a dot in its domain), at least one role.
pub fn check_details(name: &str, email: &str, roles: &[Role]) -> Result<(), Invalid> {
    if name.trim().is_empty() {
        return Err(Invalid::EmptyName);
    }
    check_text("the name", name)?;
    check_text("the mail address", email)?;
    if let Some(why) = crate::domain::organisation::undeliverable(email) {
        return Err(Invalid::Address(email.to_string(), why));
    }
    if roles.is_empty() {
        return Err(Invalid::NoRole);
    }
    Ok(())
}

/// A label or name: bounded, no control characters (they could forge lines of a report).
pub fn check_text(what: &'static str, s: &str) -> Result<(), Invalid> {
    if s.chars().count() > MAX_FIELD_CHARS {
        return Err(Invalid::TooLong(what));
    }
    if s.chars().any(char::is_control) {
        return Err(Invalid::Control(what));
    }
    Ok(())
}

pub fn check_password(password: &str) -> Result<(), Invalid> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Invalid::ShortPassword);
    }
    Ok(())
}

/// Roles without repeats, in the table's order.
pub fn distinct(roles: &[Role]) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| roles.contains(r))
        .collect()
}

/// The prefix of every token's text.
pub const TOKEN_PREFIX: &str = "bft_";

/// A token's text, as shown once: `bft_<token id>_<64 hex digits>`.
pub fn token_text(id: TokenId, secret: &[u8; 32]) -> String {
    format!("{TOKEN_PREFIX}{id}_{}", hex::encode(secret))
}

/// The token id a token's text names, if it has the token's form.
pub fn token_id_of(text: &str) -> Option<TokenId> {
    let rest = text.trim().strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    id.parse().ok()
}

/// What the store keeps of a token: the SHA-256 (hex) of its whole text. A token is 256 random
/// bits, so a fast hash is enough: no one can guess their way back to it, and a slow hash
/// (needed for passwords, which people choose) would only slow every request down.
pub fn token_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn event(seq: u64, what: EventKind) -> Event {
        Event {
            seq,
            incident: None,
            version: 0,
            at: at("2025-01-02T09:00:00Z"),
            recorded_at: None,
            actor: "admin".into(),
            identity: None,
            user: None,
            what,
            seal: Default::default(),
        }
    }

    #[test]
    fn the_fold_follows_the_account_events() {
        let mut a = Accounts::default();
        let events = [
            EventKind::UserAdded {
                user: UserId(1),
                name: "Dana Scully".into(),
                email: "dana@example.com".into(),
                roles: vec![Role::Dpo],
            },
            EventKind::PasswordSet {
                user: UserId(1),
                credential: commitment("phc-1"),
            },
            EventKind::TokenCreated {
                token: TokenId(1),
                user: UserId(1),
                label: "laptop".into(),
                credential: commitment("hash-1"),
            },
            EventKind::UserRolesSet {
                user: UserId(1),
                roles: vec![Role::Dpo, Role::Admin],
            },
            EventKind::TokenRevoked { token: TokenId(1) },
            EventKind::UserDisabled { user: UserId(1) },
        ];
        for (i, k) in events.into_iter().enumerate() {
            a.observe(&event(i as u64 + 1, k)).unwrap();
        }
        let u = &a.users[&UserId(1)];
        assert_eq!(u.roles, [Role::Dpo, Role::Admin]);
        assert!(u.disabled);
        assert_eq!(u.password.as_deref(), Some(commitment("phc-1").as_str()));
        assert!(a.tokens[&TokenId(1)].revoked_at.is_some());
        // A revoked token's credential is no longer expected; the password's still is.
        let creds = a.credentials();
        assert_eq!(creds.len(), 1);
        assert!(creds.contains_key(&CredentialKey::Password(UserId(1))));
        // An account added twice, or changed before it exists, does not fold.
        let again = event(
            9,
            EventKind::UserAdded {
                user: UserId(1),
                name: "x".into(),
                email: "x@example.com".into(),
                roles: vec![Role::Dpo],
            },
        );
        assert_eq!(
            a.observe(&again),
            Err(AccountError::Exists(Key::User(UserId(1))))
        );
        assert_eq!(
            a.observe(&event(10, EventKind::UserDisabled { user: UserId(7) })),
            Err(AccountError::Missing(Key::User(UserId(7))))
        );
        // Other events are not the accounts' business.
        a.observe(&event(
            11,
            EventKind::Anchored {
                seq: 1,
                hash: "h".into(),
            },
        ))
        .unwrap();
    }

    #[test]
    fn ids_and_roles_read_and_print_the_same() {
        assert_eq!("u12".parse::<UserId>(), Ok(UserId(12)));
        assert_eq!(UserId(12).to_string(), "u12");
        assert!("t0".parse::<TokenId>().is_err());
        assert!("u1".parse::<TokenId>().is_err());
        assert!("u".parse::<UserId>().is_err());
        assert_eq!(
            serde_json::to_string(&TokenId(3)).unwrap(),
            "\"t3\"".to_string()
        );
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::json!(r.as_str())
            );
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn details_are_checked() {
        assert_eq!(
            check_details("Dana", "dana@example.com", &[Role::Dpo]),
            Ok(())
        );
        assert_eq!(
            check_details(" ", "dana@example.com", &[Role::Dpo]),
            Err(Invalid::EmptyName)
        );
        assert!(matches!(
            check_details("Dana", "dana@localhost", &[Role::Dpo]),
            Err(Invalid::Address(..))
        ));
        assert_eq!(
            check_details("Dana", "dana@example.com", &[]),
            Err(Invalid::NoRole)
        );
        assert!(matches!(
            check_details("Dana\nEvil", "dana@example.com", &[Role::Dpo]),
            Err(Invalid::Control(_))
        ));
        assert_eq!(check_password("short"), Err(Invalid::ShortPassword));
        assert_eq!(check_password("correct horse battery"), Ok(()));
    }

    #[test]
    fn a_token_names_its_id_and_compares_in_constant_time() {
        let text = token_text(TokenId(4), &[0xab; 32]);
        assert!(text.starts_with("bft_t4_abab"));
        assert_eq!(token_id_of(&text), Some(TokenId(4)));
        assert_eq!(token_id_of("bft_t4_xyz"), None);
        assert_eq!(token_id_of("hello"), None);
        assert_eq!(token_hash(&text).len(), 64);
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }
}
