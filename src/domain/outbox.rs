//! The outbox: every message breachflow sends, as a record that moves
//! queued -> sending -> sent | failed | uncertain, or waits as held.
//!
//! At most once: a message is marked `sending`, durably, before its SMTP transaction starts. A
//! process that dies mid-send leaves it `sending`; the next run finds it so, cannot know whether
//! the server took it, and marks it `uncertain`, which is never retried by itself: a person
//! decides (`outbox resolve --sent | --resend`). Only a reply that proves the message was not
//! accepted (a 4xx, a refused connection) lets it go round again.
//!
//! Pure: the store keeps the records, `mail` talks to the server, this module decides.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::document::DocumentRef;
use crate::domain::incident::IncidentId;
use crate::domain::obligation::ObligationState;
use crate::domain::organisation::OrderRule;
use crate::domain::record::IncidentRecord;

/// The audiences a message can be for; the disclosure order is written in these words.
pub const AUDIENCES: &[&str] = &[
    "market",
    "regulator",
    "board",
    "staff",
    "customers",
    "press",
    "insurer",
    "other",
];

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Waiting to be sent.
    Queued,
    /// Waiting for an earlier disclosure (the disclosure order).
    Held,
    /// Handed to the mail server; if the process died here, the outcome is unknown.
    Sending,
    /// The server accepted it.
    Sent,
    /// The server refused it for good (5xx), or a person gave up on it.
    Failed,
    /// It may or may not have been delivered: a person must decide.
    Uncertain,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Queued => "queued",
            MessageState::Held => "held",
            MessageState::Sending => "sending",
            MessageState::Sent => "sent",
            MessageState::Failed => "failed",
            MessageState::Uncertain => "uncertain",
        }
    }
}

impl std::fmt::Display for MessageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a message goes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Recipient {
    /// The address-book role it was resolved from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub address: String,
}

/// One step in a message's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub state: MessageState,
    pub by: String,
    /// The server's reply, or why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One message of the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OutMessage {
    /// `<incident>/<n>`, e.g. `BR-2024-0001/3`.
    pub key: String,
    pub incident: IncidentId,
    pub number: u32,
    /// The approved document it carries; none for a reminder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentRef>,
    /// The audience, for the disclosure order.
    pub audience: String,
    pub to: Recipient,
    pub subject: String,
    /// The Message-ID header we set, so the sent mail and this record point at each other.
    pub message_id: String,
    pub state: MessageState,
    /// What it waits for while held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_on: Option<String>,
    /// Who lifted a hold, if one was lifted by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_lifted_by: Option<String>,
    pub attempts: u32,
    /// SHA-256 of the exact bytes handed to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_sha256: Option<String>,
    /// The server's last reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    pub history: Vec<Step>,
}

impl OutMessage {
    /// A new message, queued, with no history yet.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        incident: IncidentId,
        number: u32,
        document: Option<DocumentRef>,
        audience: &str,
        to: Recipient,
        subject: String,
        message_id: String,
    ) -> OutMessage {
        OutMessage {
            key: format!("{incident}/{number}"),
            incident,
            number,
            document,
            audience: audience.to_string(),
            to,
            subject,
            message_id,
            state: MessageState::Queued,
            waiting_on: None,
            hold_lifted_by: None,
            attempts: 0,
            bytes_sha256: None,
            reply: None,
            history: Vec::new(),
        }
    }

    /// Moves to `state`, keeping the step in the history.
    pub fn set(&mut self, state: MessageState, at: DateTime<Utc>, by: &str, note: Option<String>) {
        self.state = state;
        if note.is_some() && matches!(state, MessageState::Sent | MessageState::Failed) {
            self.reply = note.clone();
        }
        self.history.push(Step {
            at,
            state,
            by: by.to_string(),
            note,
        });
    }
}

/// One data subject's bulk notice: where it stands, kept by address so a resumed run skips
/// whoever already has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecipientState {
    /// The line of the recipients file it came from.
    pub line: u64,
    pub address: String,
    pub message_id: String,
    pub state: MessageState,
    /// The server's reply, or why.
    #[serde(default)]
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// A message to be composed: everything the wire format needs, in the domain's words.
#[derive(Debug, Clone, PartialEq)]
pub struct Letter {
    pub from: String,
    pub reply_to: Option<String>,
    pub to: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub message_id: String,
    /// The `Date:` header.
    pub date: DateTime<Utc>,
    pub text: String,
    pub html: Option<String>,
    /// File name and bytes.
    pub attachment: Option<(String, Vec<u8>)>,
}

/// The first 16 bytes of the SHA-256 of an address, compared without case or surrounding
/// spaces: how a bulk recipient is known, so the address itself need not be repeated in keys.
pub fn address_digest(address: &str) -> [u8; 16] {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(address.trim().to_lowercase().as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// The Message-ID for a message: stable for the record, so a resend carries the same id and a
/// receiving system can recognise it.
pub fn message_id(incident: IncidentId, number: u32, salt: &str, from_domain: &str) -> String {
    let salt: String = salt
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("<{incident}.{number}.{salt}@{from_domain}>")
}

/// What holds a message for `audience` back, if anything: the first rule whose earlier
/// disclosure has not happened. `sent_audiences` are audiences with a message already sent for
/// this incident.
pub fn hold_for(
    audience: &str,
    rules: &[OrderRule],
    record: &IncidentRecord,
    sent_audiences: &[String],
) -> Option<String> {
    for rule in rules {
        if !rule.after.iter().any(|a| a == audience) {
            continue;
        }
        let done = match rule.before.strip_prefix("obligation:") {
            Some(obligation) => record.obligations.iter().any(|o| {
                o.id == obligation
                    && matches!(
                        o.state,
                        ObligationState::Filed
                            | ObligationState::Sent
                            | ObligationState::Acknowledged
                    )
            }),
            // A market announcement is published through a regulatory news service rather
            // than mailed, so a completed market obligation also counts as the market told.
            None => {
                sent_audiences.iter().any(|s| s == &rule.before)
                    || (rule.before == "market"
                        && record.obligations.iter().any(|o| {
                            (o.id.starts_with("uk-mar-art17/") || o.id.starts_with("aim-rule-11/"))
                                && matches!(o.state, ObligationState::Sent | ObligationState::Filed)
                        }))
            }
        };
        if !done {
            return Some(match rule.before.strip_prefix("obligation:") {
                Some(o) => format!("{o} to be completed"),
                None => format!("a message to the {} to be sent", rule.before),
            });
        }
    }
    None
}

/// How a delivery attempt ended, as the mail layer reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted; the server's reply.
    Accepted(String),
    /// Refused for good (5xx); the server's words.
    Refused(String),
    /// Not accepted, safe to try again (4xx, connection refused before any mail was sent).
    Transient(String),
    /// Broke off where the server may have taken the message.
    Unknown(String),
}

/// The state an attempt leaves a message in, given how many attempts remain.
pub fn after_attempt(outcome: &Outcome, retries_left: bool) -> MessageState {
    match outcome {
        Outcome::Accepted(_) => MessageState::Sent,
        Outcome::Refused(_) => MessageState::Failed,
        Outcome::Transient(_) if retries_left => MessageState::Queued,
        // Out of retries: the server never took it, so it stays safe to send later.
        Outcome::Transient(_) => MessageState::Queued,
        Outcome::Unknown(_) => MessageState::Uncertain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_proof_of_non_delivery_allows_another_try() {
        assert_eq!(
            after_attempt(&Outcome::Accepted("250 OK".into()), true),
            MessageState::Sent
        );
        assert_eq!(
            after_attempt(&Outcome::Refused("550 no".into()), true),
            MessageState::Failed
        );
        assert_eq!(
            after_attempt(&Outcome::Transient("451".into()), false),
            MessageState::Queued
        );
        assert_eq!(
            after_attempt(&Outcome::Unknown("reset".into()), true),
            MessageState::Uncertain
        );
    }
}
