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
//!
//! Longer than our ~600-line guide: the message record, its transition table, the bulk
//! recipient state and the shortfall a run reports are one state machine, read together.

use std::time::Duration;

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

/// What happens to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageEvent {
    /// Recorded as queued, when it is created (or a reminder is written).
    Queue,
    /// The disclosure order holds it back.
    Hold,
    /// The hold ends: the earlier disclosure happened, or a person lifted it.
    Release,
    /// An attempt starts: marked, durably, before the first byte goes out.
    Attempt,
    /// The server accepted it.
    Accepted,
    /// The server refused it for good.
    Refused,
    /// The server proved it did not take it (4xx, refused connection): safe to try again.
    Transient,
    /// The attempt broke off where the server may have taken it.
    Unknown,
    /// A process died between the `sending` mark and the reply.
    Interrupted,
    /// A person confirms an uncertain or failed message was delivered.
    Confirm,
    /// A person decides an uncertain or failed message goes again.
    Resend,
}

impl MessageEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageEvent::Queue => "be queued",
            MessageEvent::Hold => "be held",
            MessageEvent::Release => "be released",
            MessageEvent::Attempt => "be sent",
            MessageEvent::Accepted => "be accepted",
            MessageEvent::Refused => "be refused",
            MessageEvent::Transient => "be deferred",
            MessageEvent::Unknown => "become uncertain",
            MessageEvent::Interrupted => "be interrupted",
            MessageEvent::Confirm => "be confirmed sent",
            MessageEvent::Resend => "be resent",
        }
    }
}

/// The legal moves of a message, and the only ones: (from, event) -> to. The at-most-once
/// promise lives here: nothing leaves `sent`, and only a person moves `uncertain`.
pub const TRANSITIONS: &[(MessageState, MessageEvent, MessageState)] = {
    use MessageEvent as E;
    use MessageState as S;
    &[
        (S::Queued, E::Queue, S::Queued),
        (S::Queued, E::Hold, S::Held),
        (S::Held, E::Release, S::Queued),
        (S::Queued, E::Attempt, S::Sending),
        (S::Sending, E::Accepted, S::Sent),
        (S::Sending, E::Refused, S::Failed),
        (S::Sending, E::Transient, S::Queued),
        (S::Sending, E::Unknown, S::Uncertain),
        (S::Sending, E::Interrupted, S::Uncertain),
        (S::Uncertain, E::Confirm, S::Sent),
        (S::Failed, E::Confirm, S::Sent),
        (S::Uncertain, E::Resend, S::Queued),
        (S::Failed, E::Resend, S::Queued),
    ]
};

/// Where `event` takes a message in state `from`, if the table allows it.
pub fn next(from: MessageState, event: MessageEvent) -> Option<MessageState> {
    TRANSITIONS
        .iter()
        .find(|(f, e, _)| *f == from && *e == event)
        .map(|(_, _, to)| *to)
}

/// An illegal move, refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} is {from}; it cannot {}", event.as_str())]
pub struct MoveRefused {
    pub key: String,
    pub from: MessageState,
    pub event: MessageEvent,
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

    /// Takes `event`, as the transition table allows, keeping the step in the history. An
    /// illegal move (a sent message marked `sending` again, say) is refused and changes nothing.
    pub fn take(
        &mut self,
        event: MessageEvent,
        at: DateTime<Utc>,
        by: &str,
        note: Option<String>,
    ) -> Result<(), MoveRefused> {
        let to = next(self.state, event).ok_or_else(|| MoveRefused {
            key: self.key.clone(),
            from: self.state,
            event,
        })?;
        self.state = to;
        // The server's last word (or the person's, when they settle it) is kept apart from the
        // history so listings can show it; a transient reply is kept too, as the reason the
        // message is queued again.
        if note.is_some()
            && (matches!(to, MessageState::Sent | MessageState::Failed)
                || event == MessageEvent::Transient)
        {
            self.reply = note.clone();
        }
        self.history.push(Step {
            at,
            state: to,
            by: by.to_string(),
            note,
        });
        Ok(())
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
    /// The version of the notice this state is about (the one last marked `sending`). Absent
    /// on states written before 0.3; their Message-ID names the version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

impl RecipientState {
    /// The version of the notice this state is about: recorded, or read from the Message-ID
    /// (`<ID.DOC.vN.HEX@DOMAIN>`) of a state written before 0.3.
    pub fn notice_version(&self) -> Option<u32> {
        self.version.or_else(|| {
            self.message_id
                .split('.')
                .find_map(|part| part.strip_prefix('v').and_then(|n| n.parse().ok()))
        })
    }
}

/// Why a batch of bulk recipients changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkStep {
    /// Marked `sending`, durably, before the batch's first byte goes out.
    Sending,
    /// The server's replies.
    Outcome,
    /// A batch a dead process left `sending`: now `uncertain`.
    Interrupted,
    /// A person confirmed uncertain recipients have the notice.
    Confirmed,
    /// A person decided uncertain recipients get it again (queued for the next run).
    Resend,
    /// States stored by a release before 0.3, taken into the log as they were.
    Adopted,
}

/// One bulk recipient's change, inside a [`crate::domain::event::EventKind::BulkRecipients`]
/// event. Only what changes is carried: a `sending` mark names the line, Message-ID and
/// version; a reply only the state and the server's words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecipientChange {
    pub address: String,
    pub state: MessageState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// The server's reply, or why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When, if not the event's effective time: an adopted state keeps its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

impl RecipientChange {
    /// A change to `state`, with the server's words or the reason.
    pub fn to(address: &str, state: MessageState, note: Option<String>) -> RecipientChange {
        RecipientChange {
            address: address.to_string(),
            state,
            line: None,
            message_id: None,
            version: None,
            note,
            at: None,
        }
    }

    /// The state as it was stored (adoption of a state written before 0.3).
    pub fn adopt(s: &RecipientState) -> RecipientChange {
        RecipientChange {
            address: s.address.clone(),
            state: s.state,
            line: Some(s.line),
            message_id: Some(s.message_id.clone()),
            version: s.version,
            note: s.note.clone(),
            at: Some(s.at),
        }
    }
}

/// The parts of an outbox record a `MessageChanged` event carries besides its state, so the
/// record can be rebuilt from the log: everything but the history, which is the events
/// themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageDetail {
    pub audience: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_on: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_lifted_by: Option<String>,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
}

impl MessageDetail {
    /// The detail of `m` as it stands.
    pub fn of(m: &OutMessage) -> MessageDetail {
        MessageDetail {
            audience: m.audience.clone(),
            subject: m.subject.clone(),
            role: m.to.role.clone(),
            name: m.to.name.clone(),
            waiting_on: m.waiting_on.clone(),
            hold_lifted_by: m.hold_lifted_by.clone(),
            attempts: m.attempts,
            bytes_sha256: m.bytes_sha256.clone(),
            reply: m.reply.clone(),
        }
    }
}

/// How a sending command left what it tried to deliver, when not everyone has it: each has its
/// own exit code, so scripts and cron see it. The order is the order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    /// Some may or may not have been delivered: a person must decide.
    SomeUncertain,
    /// Nothing was delivered, and something was refused or deferred.
    NoneDelivered,
    /// Some were delivered; others were refused or deferred.
    SomeFailed,
}

impl Shortfall {
    /// From the counts of a run: delivered (now or before), refused or deferred, uncertain.
    pub fn of(delivered: u64, not_delivered: u64, uncertain: u64) -> Option<Shortfall> {
        if uncertain > 0 {
            Some(Shortfall::SomeUncertain)
        } else if not_delivered > 0 && delivered == 0 {
            Some(Shortfall::NoneDelivered)
        } else if not_delivered > 0 {
            Some(Shortfall::SomeFailed)
        } else {
            None
        }
    }
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
    /// The `Date:` header; none for "when it is composed for the wire", which the mailer reads
    /// from the system clock, so a message never carries an effective (`--now`) time and each
    /// batch of a long bulk run carries its own.
    pub date: Option<DateTime<Utc>>,
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
/// this incident. `market_regimes` are the ids of regimes whose obligation is itself the market
/// disclosure (`market_disclosure = true` in the regime file).
pub fn hold_for(
    audience: &str,
    rules: &[OrderRule],
    record: &IncidentRecord,
    sent_audiences: &[String],
    market_regimes: &[String],
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
                            market_regimes.contains(&o.regime)
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

impl Outcome {
    /// The event this outcome is, for the transition table: the one place an attempt's outcome
    /// decides a message's state.
    pub fn event(&self) -> MessageEvent {
        match self {
            Outcome::Accepted(_) => MessageEvent::Accepted,
            Outcome::Refused(_) => MessageEvent::Refused,
            Outcome::Transient(_) => MessageEvent::Transient,
            Outcome::Unknown(_) => MessageEvent::Unknown,
        }
    }

    /// The server's words, or why.
    pub fn words(&self) -> &str {
        match self {
            Outcome::Accepted(w)
            | Outcome::Refused(w)
            | Outcome::Transient(w)
            | Outcome::Unknown(w) => w,
        }
    }
}

/// The state an attempt leaves a message in (`sending` plus the outcome, by the table).
pub fn after_attempt(outcome: &Outcome) -> MessageState {
    // Every outcome has a row from `sending`; the fallback is never taken.
    next(MessageState::Sending, outcome.event()).unwrap_or(MessageState::Uncertain)
}

/// How often a message is tried when the server proves it did not take it (a 4xx, a refused
/// connection), and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per message, the first included.
    pub attempts: u32,
    /// The wait after the first failed attempt; it doubles after each one.
    pub backoff_base: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            // Short, so a run over a flaky link finishes.
            backoff_base: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// Whether another attempt follows `attempts_made` that ended with `outcome`. Only proof
    /// of non-delivery allows one: an unknown outcome is never retried by itself.
    pub fn again(&self, attempts_made: u32, outcome: &Outcome) -> bool {
        matches!(outcome, Outcome::Transient(_)) && attempts_made < self.attempts
    }

    /// The wait after attempt number `attempt` failed.
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.backoff_base * (1u32 << attempt.min(6))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_proof_of_non_delivery_allows_another_try() {
        assert_eq!(
            after_attempt(&Outcome::Accepted("250 OK".into())),
            MessageState::Sent
        );
        assert_eq!(
            after_attempt(&Outcome::Refused("550 no".into())),
            MessageState::Failed
        );
        assert_eq!(
            after_attempt(&Outcome::Transient("451".into())),
            MessageState::Queued
        );
        assert_eq!(
            after_attempt(&Outcome::Unknown("reset".into())),
            MessageState::Uncertain
        );
        let policy = RetryPolicy::default();
        assert!(policy.again(1, &Outcome::Transient("451".into())));
        assert!(!policy.again(3, &Outcome::Transient("451".into())));
        assert!(!policy.again(1, &Outcome::Unknown("reset".into())));
    }

    fn message() -> OutMessage {
        OutMessage::new(
            "BR-2024-0001".parse().unwrap(),
            1,
            None,
            "board",
            Recipient {
                role: None,
                name: None,
                address: "a@example.com".into(),
            },
            "s".into(),
            "<id@example.com>".into(),
        )
    }

    #[test]
    fn a_shortfall_names_what_is_left_uncertain_first_then_nothing_delivered() {
        assert_eq!(Shortfall::of(5, 0, 0), None);
        assert_eq!(Shortfall::of(0, 0, 0), None);
        assert_eq!(Shortfall::of(4, 1, 0), Some(Shortfall::SomeFailed));
        assert_eq!(Shortfall::of(0, 3, 0), Some(Shortfall::NoneDelivered));
        assert_eq!(Shortfall::of(0, 3, 1), Some(Shortfall::SomeUncertain));
        assert_eq!(Shortfall::of(2, 0, 1), Some(Shortfall::SomeUncertain));
    }

    #[test]
    fn a_state_before_0_3_knows_its_version_from_its_message_id() {
        let s = RecipientState {
            line: 2,
            address: "a@example.com".into(),
            message_id: "<BR-2024-0001.subject-notice.v3.0a1b2c@larkfield-vets.example>".into(),
            state: MessageState::Sent,
            note: None,
            at: DateTime::parse_from_rfc3339("2024-03-30T21:10:00Z")
                .unwrap()
                .with_timezone(&Utc),
            version: None,
        };
        assert_eq!(s.notice_version(), Some(3));
        assert_eq!(
            RecipientState {
                version: Some(4),
                ..s
            }
            .notice_version(),
            Some(4)
        );
    }

    #[test]
    fn the_table_refuses_an_illegal_move() {
        let at = DateTime::parse_from_rfc3339("2024-03-30T21:10:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut m = message();
        m.take(MessageEvent::Attempt, at, "t", None).unwrap();
        m.take(MessageEvent::Accepted, at, "t", Some("250 OK".into()))
            .unwrap();
        assert_eq!(m.state, MessageState::Sent);
        let before = m.clone();
        let refused = m.take(MessageEvent::Attempt, at, "t", None).unwrap_err();
        assert_eq!(refused.from, MessageState::Sent);
        assert_eq!(m, before, "a refused move changes nothing");
        assert_eq!(
            refused.to_string(),
            "BR-2024-0001/1 is sent; it cannot be sent"
        );
        // Nothing leaves `sent`; only a person moves `uncertain`.
        for (from, _, _) in TRANSITIONS {
            assert_ne!(*from, MessageState::Sent);
        }
        assert_eq!(next(MessageState::Uncertain, MessageEvent::Attempt), None);
    }
}
