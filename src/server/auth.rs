//! Who is asking: API tokens (command lines, automation) and browser sessions (cookies with a
//! CSRF token), sign-in throttling, and the check of a route's gate.
//!
//! Sessions live in the server's memory only: a restart signs everyone out, and nothing about
//! a session is ever written to the store. A token or a session is looked up again on every
//! request, so a revoked token or a disabled account stops working at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::account::{Principal, Role};

/// The session cookie's name.
pub const COOKIE: &str = "bf_session";
/// The header a cookie-authenticated request that changes something must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session ends this long after sign-in, however busy.
const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Token,
    Session,
}

/// A signed-in request: who, and how.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub principal: Principal,
    pub proof: Proof,
    /// The session's id, for signing out.
    pub session: Option<String>,
    /// The session's CSRF token, as found when the request was signed in (pages put it in
    /// their forms; the gate checks it on a change).
    pub csrf: Option<String>,
}

/// The value of cookie `name` in a request's headers, if set and not empty.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// One browser session.
struct Session {
    user: String,
    csrf: String,
    started: Instant,
    last_used: Instant,
}

/// The open sessions.
pub struct Sessions {
    idle: Duration,
    open: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            idle,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a session for `user`; returns its id and CSRF token (none if the system has no
    /// randomness to give).
    pub fn start(&self, user: &str) -> Option<(String, String)> {
        let (id, csrf) = (random_hex(32)?, random_hex(32)?);
        let now = Instant::now();
        if let Ok(mut open) = self.open.lock() {
            // Expired sessions are dropped as new ones start, so the map stays small.
            open.retain(|_, s| !self.expired(s, now));
            open.insert(
                id.clone(),
                Session {
                    user: user.to_string(),
                    csrf: csrf.clone(),
                    started: now,
                    last_used: now,
                },
            );
        }
        Some((id, csrf))
    }

    fn expired(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.last_used) > self.idle || now.duration_since(s.started) > ABSOLUTE
    }

    /// The user of a live session, and its CSRF token; touching it keeps it alive.
    pub fn find(&self, id: &str) -> Option<(String, String)> {
        let now = Instant::now();
        let mut open = self.open.lock().ok()?;
        let expired = open.get(id).is_some_and(|s| self.expired(s, now));
        if expired {
            open.remove(id);
            return None;
        }
        let s = open.get_mut(id)?;
        s.last_used = now;
        Some((s.user.clone(), s.csrf.clone()))
    }

    pub fn end(&self, id: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(id);
        }
    }
}

/// Failed sign-ins, by account name and by address: after [`Throttle::LIMIT`] failures in
/// [`Throttle::WINDOW`], further attempts are refused until the window has passed, whether or
/// not the password is right (so guessing gains nothing).
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Throttle {
    pub const LIMIT: usize = 5;
    /// An address may fail more often (several people behind one address).
    pub const ADDRESS_LIMIT: usize = 20;
    pub const WINDOW: Duration = Duration::from_secs(15 * 60);

    fn keys(name: &str, from: Option<IpAddr>) -> [(String, usize); 2] {
        [
            (format!("name:{}", name.trim().to_lowercase()), Self::LIMIT),
            (
                format!("addr:{}", from.map_or("local".into(), |a| a.to_string())),
                Self::ADDRESS_LIMIT,
            ),
        ]
    }

    /// How long until `name` from `from` may try again, if it may not now.
    pub fn wait(&self, name: &str, from: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().ok()?;
        let mut wait = None;
        for (key, limit) in Self::keys(name, from) {
            if let Some(times) = failures.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < Self::WINDOW);
                if times.len() >= limit
                    && let Some(oldest) = times.first()
                {
                    let left = Self::WINDOW.saturating_sub(now.duration_since(*oldest));
                    wait = Some(wait.map_or(left, |w: Duration| w.max(left)));
                }
            }
        }
        wait
    }

    pub fn failed(&self, name: &str, from: Option<IpAddr>) {
        if let Ok(mut failures) = self.failures.lock() {
            for (key, _) in Self::keys(name, from) {
                failures.entry(key).or_default().push(Instant::now());
            }
        }
    }

    pub fn succeeded(&self, name: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&format!("name:{}", name.trim().to_lowercase()));
        }
    }
}

/// 2n hex digits of OS randomness; none when the system cannot give any (a session id must
/// not be guessable, so there is no fallback).
pub fn random_hex(n: usize) -> Option<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

/// Equal without telling by its timing how much of it was.
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether `roles` include one of `allowed`.
pub fn has_role(roles: &[Role], allowed: &[Role]) -> bool {
    roles.iter().any(|r| allowed.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_block_the_name_and_success_clears_it() {
        let t = Throttle::default();
        let ip: Option<IpAddr> = "10.0.0.7".parse().ok();
        for _ in 0..Throttle::LIMIT - 1 {
            t.failed("Dana", ip);
            assert!(t.wait("dana", ip).is_none());
        }
        t.failed("DANA ", ip);
        let wait = t.wait("dana", ip).expect("blocked after five failures");
        assert!(wait <= Throttle::WINDOW && wait > Duration::from_secs(60));
        // Another name from the same address is not blocked yet.
        assert!(t.wait("walter", ip).is_none());
        t.succeeded("dana");
        assert!(t.wait("dana", ip).is_none());
    }

    #[test]
    fn an_address_that_fails_for_many_names_is_blocked() {
        let t = Throttle::default();
        let ip: Option<IpAddr> = "10.0.0.8".parse().ok();
        for i in 0..Throttle::ADDRESS_LIMIT {
            t.failed(&format!("name{i}"), ip);
        }
        assert!(t.wait("someone-new", ip).is_some());
        assert!(t.wait("someone-new", "10.0.0.9".parse().ok()).is_none());
    }

    #[test]
    fn sessions_end_when_idle_or_signed_out() {
        let s = Sessions::new(Duration::from_millis(50));
        let (id, csrf) = s.start("u1").unwrap();
        assert_eq!(id.len(), 64);
        assert_ne!(id, csrf);
        assert_eq!(s.find(&id), Some(("u1".into(), csrf)));
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(s.find(&id), None, "idle past the limit");
        let (id, _) = s.start("u1").unwrap();
        s.end(&id);
        assert_eq!(s.find(&id), None, "signed out");
        assert_eq!(s.find("not-a-session"), None);
    }

    #[test]
    fn comparison_is_exact() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert!(!same("", "x"));
    }
}
