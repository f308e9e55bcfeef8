//! Anchoring the log outside the store: the head (last sequence number and store-wide hash)
//! printed, recorded as an `anchored` event and, if asked, mailed, so that a copy exists beyond
//! the machine. Someone able to rewrite the whole store and recompute every hash is caught by
//! `audit verify --anchor`: the rewritten log no longer carries the anchored hash.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::ports::{Change, Store, Subject};
use crate::app::{AppError, Context};
use crate::domain::event::EventKind;

/// The head of the log at a moment, as it is kept outside the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// The last event's sequence number.
    pub seq: u64,
    /// Its store-wide hash.
    pub hash: String,
    /// When the anchor was taken (the recorded time of its `anchored` event).
    pub at: Option<DateTime<Utc>>,
}

impl Anchor {
    /// One line a person can keep, paste or mail: `breachflow-anchor/1 seq=N hash=H`.
    pub fn line(&self) -> String {
        format!("breachflow-anchor/1 seq={} hash={}", self.seq, self.hash)
    }

    /// Reads an anchor from its line (or a file holding it, or its JSON). Hostile input:
    /// checked field by field.
    pub fn parse(text: &str) -> Result<Anchor, AppError> {
        let bad = |why: &str| {
            AppError::InvalidArgs(format!(
                "not an anchor ({why}); expected \"breachflow-anchor/1 seq=N hash=<64 hex>\" as `audit anchor` prints it"
            ))
        };
        let text = text.trim();
        if text.starts_with('{') {
            let a: Anchor = serde_json::from_str(text).map_err(|_| bad("unreadable JSON"))?;
            return check(a).map_err(|w| bad(&w));
        }
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("breachflow-anchor/1"))
            .ok_or_else(|| bad("no breachflow-anchor/1 line"))?;
        let mut seq = None;
        let mut hash = None;
        for part in line.split_whitespace().skip(1) {
            match part.split_once('=') {
                Some(("seq", v)) => seq = v.parse::<u64>().ok(),
                Some(("hash", v)) => hash = Some(v.to_string()),
                _ => {}
            }
        }
        let a = Anchor {
            seq: seq.ok_or_else(|| bad("no seq"))?,
            hash: hash.ok_or_else(|| bad("no hash"))?,
            at: None,
        };
        check(a).map_err(|w| bad(&w))
    }
}

fn check(a: Anchor) -> Result<Anchor, String> {
    if a.seq == 0 {
        return Err("seq must be at least 1".into());
    }
    if a.hash.len() != 64 || !a.hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the hash must be 64 hexadecimal digits".into());
    }
    Ok(a)
}

/// Takes the head of the log and records that it was anchored.
pub fn anchor(store: &dyn Store, ctx: &Context) -> Result<Anchor, AppError> {
    let recorded = store.recorded()?;
    let hash = recorded
        .last_hash
        .ok_or_else(|| AppError::Failed("the log is empty: there is nothing to anchor".into()))?;
    let anchor = Anchor {
        seq: recorded.count,
        hash,
        at: None,
    };
    let committed = store.commit(Change::new(
        Subject::Log,
        &[EventKind::Anchored {
            seq: anchor.seq,
            hash: anchor.hash.clone(),
        }],
        ctx.stamp(),
    ))?;
    Ok(Anchor {
        at: committed.events.first().and_then(|e| e.recorded_at),
        ..anchor
    })
}

/// Whether the log extends `anchor` unchanged: the event it names still carries its hash.
/// Since each hash covers every event before it, that proves the log up to there is the one
/// anchored. `Ok(None)` when it does; otherwise the reason.
pub fn extends(store: &dyn Store, anchor: &Anchor) -> Result<Option<String>, AppError> {
    for item in store.log() {
        let (key, event) = item?;
        if key != anchor.seq {
            continue;
        }
        let Ok(event) = event else {
            return Ok(Some(format!("event {key} cannot be read")));
        };
        if event.seal.hash == anchor.hash {
            return Ok(None);
        }
        return Ok(Some(format!(
            "the log does not extend the anchored head: event {} now has hash {}, the anchor recorded {}; the log up to event {} was rewritten",
            anchor.seq, event.seal.hash, anchor.hash, anchor.seq
        )));
    }
    Ok(Some(format!(
        "the log has no event {}: it was cut short or rewritten since it was anchored",
        anchor.seq
    )))
}

/// Mails the anchor to an address-book role, so a copy exists beyond the machine. Returns the
/// server's reply for each recipient. An anchor is not a notice: mailing it twice does no harm,
/// so it goes straight to the mailer, outside the outbox's at-most-once protocol.
pub fn mail(
    post: &crate::app::send::Post<'_>,
    anchor: &Anchor,
    role: &str,
) -> Result<Vec<String>, AppError> {
    use crate::domain::outbox::{Letter, Outcome};
    let (store, mailer, _, org, _) = post.parts();
    // The anchor is committed: nothing below needs the store while the server answers.
    store.idle();
    let from = crate::app::send::from_address(org);
    let domain = crate::app::send::domain_of(&from);
    let mut replies = Vec::new();
    for r in crate::app::send::recipients(org, &[role.to_string()])? {
        let letter = Letter {
            from: from.clone(),
            reply_to: None,
            to: r.address.clone(),
            to_name: r.name.clone(),
            subject: format!("{}: breachflow log anchor, event {}", org.name, anchor.seq),
            message_id: format!(
                "<anchor.{}.{}@{domain}>",
                anchor.seq,
                crate::render::format::short(&anchor.hash, 16)
            ),
            date: None,
            text: format!(
                "Please keep this message. It is the head of {}'s breach-notification log as it stood when it was sent:\n\n{}\n\nIf the log is ever questioned, `breachflow audit verify --anchor` with this line proves whether the log still extends it unchanged.\n",
                org.name,
                anchor.line()
            ),
            html: None,
            attachment: None,
        };
        let composed = mailer
            .compose(&letter)
            .map_err(|e| AppError::Failed(e.to_string()))?;
        match mailer.deliver(&composed) {
            Outcome::Accepted(reply) => replies.push(format!("{}: {reply}", r.address)),
            outcome @ (Outcome::Refused(_) | Outcome::Transient(_) | Outcome::Unknown(_)) => {
                use crate::domain::outbox::Shortfall;
                let (why, shortfall) = match outcome {
                    Outcome::Unknown(why) => (why, Shortfall::SomeUncertain),
                    Outcome::Refused(why) | Outcome::Transient(why) if replies.is_empty() => {
                        (why, Shortfall::NoneDelivered)
                    }
                    Outcome::Refused(why) | Outcome::Transient(why) => (why, Shortfall::SomeFailed),
                    Outcome::Accepted(why) => (why, Shortfall::SomeFailed),
                };
                // A delivery exit code (20-22), so a script or cron sees it was not mailed.
                return Err(AppError::Undelivered {
                    shortfall,
                    detail: format!(
                        "the anchor was recorded but not mailed to {}: {why}; print it and keep it, or run `breachflow audit anchor --mail {role}` again",
                        r.address
                    ),
                });
            }
        }
    }
    Ok(replies)
}
