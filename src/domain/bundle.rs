//! The evidence bundle (`breachflow-bundle/1`): one incident with its events, document bodies,
//! outbox and organisation, as one self-checking JSON file, and every check a bundle must pass
//! before any of it is stored. Pure: text in, a verified bundle or the first reason out.
//!
//! The checksum is SHA-256 over the compact JSON of the bundle without its `sha256` key, with
//! every object's keys in order (serde_json's default map). It is computed over the JSON as
//! read, not over the typed values re-encoded: a field added to a type since a bundle was
//! written (with `#[serde(default)]`) would otherwise change the checksum of every old bundle.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::audit::{Break, verify_incident};
use crate::domain::document::{DocumentBody, is_template_name};
use crate::domain::event::{Event, EventKind};
use crate::domain::incident::IncidentId;
use crate::domain::organisation::Organisation;
use crate::domain::outbox::OutMessage;
use crate::domain::record::{IncidentRecord, ReplayError};

/// The format this module reads and writes.
pub const FORMAT: &str = "breachflow-bundle/1";

/// One stored document version and its body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleDocument {
    pub document: String,
    pub version: u32,
    pub body: DocumentBody,
}

/// A bundle as written by `bundle export`. Its keys are written in order, whatever the field
/// order here: it is always encoded through `serde_json::Value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bundle {
    pub format: String,
    /// Absent only in a bundle not written by breachflow; never checked.
    pub exported_at: Option<DateTime<Utc>>,
    pub exported_by: Option<String>,
    pub organisation: Organisation,
    pub incident: IncidentRecord,
    pub events: Vec<Event>,
    pub documents: Vec<BundleDocument>,
    pub messages: Vec<OutMessage>,
    /// The incident chain's head as the bundle states it (a JSON value, so a bundle that
    /// states something else is refused rather than unreadable).
    pub chain_head: Value,
    /// The checksum the bundle claims.
    pub sha256: String,
    /// The checksum of the content as read (or as built).
    #[serde(skip)]
    content_sha256: String,
}

/// Why a bundle is refused. Each reads after the bundle's name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BundleError {
    #[error("line {line} column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("not a breachflow bundle (format {0})")]
    Format(String),
    #[error("its SHA-256 does not match its content: it was changed or damaged")]
    Checksum,
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("{what} cannot be read: {detail}")]
    Unreadable { what: String, detail: String },
    #[error("it holds events of incidents other than {0}")]
    OtherIncident(IncidentId),
    #[error(transparent)]
    Chain(#[from] Break),
    #[error("its chain head does not match its events")]
    ChainHead,
    /// Accounts stay in the store they were made in: an evidence bundle never carries them.
    #[error("event {seq} is an account event ({kind}); a bundle never carries accounts")]
    AccountEvent { seq: u64, kind: &'static str },
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("the incident is not the replay of its events")]
    NotReplay,
    #[error(
        "{name:?} is not a template name: expected lower-case letters, digits and hyphens, e.g. ico-report"
    )]
    BadName { name: String },
    #[error(
        "documents: {name} v{version} is recorded by its events but is not in the bundle (a version was dropped)"
    )]
    MissingBody { name: String, version: u32 },
    #[error(
        "documents: the {part} of {name} v{version} does not match the SHA-256 its event recorded"
    )]
    Body {
        name: String,
        version: u32,
        /// `text`, `HTML`, `case file` or `template`.
        part: &'static str,
    },
    #[error("documents: {name} v{version} is in the bundle but no event records it")]
    UnrecordedBody { name: String, version: u32 },
    #[error("documents: {name} v{version} is in the bundle twice")]
    DuplicateBody { name: String, version: u32 },
    #[error("messages: {key}: {detail}")]
    Message { key: String, detail: String },
    #[error("the bundle cannot be encoded: {0}")]
    Encode(String),
}

/// A bundle that passed every check: what an import stores.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    pub organisation: Organisation,
    pub record: IncidentRecord,
    pub events: Vec<Event>,
    pub documents: Vec<(String, u32, DocumentBody)>,
    pub messages: Vec<OutMessage>,
    /// The incident chain's head.
    pub head: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The checksum of `value` without its `sha256` key.
fn checksum(mut value: Value) -> Result<String, BundleError> {
    if let Some(m) = value.as_object_mut() {
        m.remove("sha256");
    }
    let bytes = serde_json::to_vec(&value).map_err(|e| BundleError::Encode(e.to_string()))?;
    Ok(sha256_hex(&bytes))
}

fn field<T: DeserializeOwned>(
    value: &Value,
    key: &str,
    what: &'static str,
) -> Result<T, BundleError> {
    let v = &value[key];
    if v.is_null() {
        return Err(BundleError::Missing(what));
    }
    serde_json::from_value(v.clone()).map_err(|e| BundleError::Unreadable {
        what: what.to_string(),
        detail: e.to_string(),
    })
}

impl Bundle {
    /// A sealed bundle of one incident, as export writes it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        exported_at: DateTime<Utc>,
        exported_by: &str,
        organisation: Organisation,
        incident: IncidentRecord,
        events: Vec<Event>,
        documents: Vec<BundleDocument>,
        messages: Vec<OutMessage>,
    ) -> Result<Bundle, BundleError> {
        let chain_head = Value::String(incident.chain.clone());
        let mut b = Bundle {
            format: FORMAT.to_string(),
            exported_at: Some(exported_at),
            exported_by: Some(exported_by.to_string()),
            organisation,
            incident,
            events,
            documents,
            messages,
            chain_head,
            sha256: String::new(),
            content_sha256: String::new(),
        };
        b.seal()?;
        Ok(b)
    }

    /// Sets the checksum to the content's (export, and tests that change a bundle on purpose).
    pub fn seal(&mut self) -> Result<(), BundleError> {
        self.content_sha256 = checksum(self.to_value()?)?;
        self.sha256 = self.content_sha256.clone();
        Ok(())
    }

    /// As stored (empty lists left out, `serial::storing`), so the checksum and the file agree
    /// however the command was asked to print.
    fn to_value(&self) -> Result<Value, BundleError> {
        super::serial::storing(|| serde_json::to_value(self))
            .map_err(|e| BundleError::Encode(e.to_string()))
    }

    /// The file's text: pretty JSON with keys in order.
    pub fn to_json(&self) -> Result<String, BundleError> {
        serde_json::to_string_pretty(&self.to_value()?)
            .map_err(|e| BundleError::Encode(e.to_string()))
    }

    /// Reads a bundle's text. Refuses what is not a bundle; a checksum that does not match is
    /// reported before any part that cannot be read (a damaged file is most likely both), and
    /// otherwise by [`Bundle::verify`].
    pub fn read(text: &str) -> Result<Bundle, BundleError> {
        let value: Value = serde_json::from_str(text).map_err(|e| BundleError::Syntax {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if value["format"] != FORMAT {
            return Err(BundleError::Format(value["format"].to_string()));
        }
        let claimed = value["sha256"].as_str().unwrap_or_default().to_string();
        let content_sha256 = checksum(value.clone())?;
        let parts = Self::parts(&value);
        match parts {
            Err(_) if claimed != content_sha256 => Err(BundleError::Checksum),
            Err(e) => Err(e),
            Ok((organisation, incident, events, messages, documents)) => Ok(Bundle {
                format: FORMAT.to_string(),
                exported_at: serde_json::from_value(value["exported_at"].clone()).ok(),
                exported_by: value["exported_by"].as_str().map(str::to_string),
                organisation,
                incident,
                events,
                documents,
                messages,
                chain_head: value["chain_head"].clone(),
                sha256: claimed,
                content_sha256,
            }),
        }
    }

    #[allow(clippy::type_complexity)]
    fn parts(
        value: &Value,
    ) -> Result<
        (
            Organisation,
            IncidentRecord,
            Vec<Event>,
            Vec<OutMessage>,
            Vec<BundleDocument>,
        ),
        BundleError,
    > {
        let incident: IncidentRecord = field(value, "incident", "the incident")?;
        let events: Vec<Event> = field(value, "events", "the events")?;
        let organisation: Organisation = field(value, "organisation", "the organisation")?;
        let messages: Vec<OutMessage> =
            serde_json::from_value(value["messages"].clone()).map_err(|e| {
                BundleError::Unreadable {
                    what: "the messages".into(),
                    detail: e.to_string(),
                }
            })?;
        // Lenient as import always was: a missing list of documents is an empty one, and a
        // document's name and version are checked against the record in `verify`.
        let mut documents = Vec::new();
        for d in value["documents"].as_array().into_iter().flatten() {
            let document = d["document"].as_str().unwrap_or_default().to_string();
            let version = d["version"].as_u64().unwrap_or_default() as u32;
            let body: DocumentBody =
                serde_json::from_value(d["body"].clone()).map_err(|e| BundleError::Unreadable {
                    what: format!("{document} v{version}"),
                    detail: e.to_string(),
                })?;
            documents.push(BundleDocument {
                document,
                version,
                body,
            });
        }
        Ok((organisation, incident, events, messages, documents))
    }

    /// Every check an import makes: the checksum; every event of this one incident, with its
    /// digest and incident chain intact; the stated chain head; the record the replay of the
    /// events; every document name a template name, every body the one whose SHA-256 the record
    /// holds, and every version the record holds present.
    pub fn verify(&self) -> Result<VerifiedBundle, BundleError> {
        if self.sha256 != self.content_sha256 {
            return Err(BundleError::Checksum);
        }
        let record = &self.incident;
        if self.events.iter().any(|e| e.incident != Some(record.id)) {
            return Err(BundleError::OtherIncident(record.id));
        }
        if let Some(e) = self
            .events
            .iter()
            .find(|e| crate::domain::account::is_account_event(&e.what))
        {
            return Err(BundleError::AccountEvent {
                seq: e.seq,
                kind: e.what.name(),
            });
        }
        let head = verify_incident(&self.events)?;
        if head != record.chain || self.chain_head != Value::String(head.clone()) {
            return Err(BundleError::ChainHead);
        }
        let replayed = IncidentRecord::replay(&self.events)?;
        if replayed.as_ref() != Some(record) {
            return Err(BundleError::NotReplay);
        }
        let mut documents = Vec::with_capacity(self.documents.len());
        for d in &self.documents {
            // Names are only ever keys in the store, but a name that is not a template name is
            // not one we wrote.
            if !is_template_name(&d.document) {
                return Err(BundleError::BadName {
                    name: d.document.clone(),
                });
            }
            let Some(recorded) = record
                .versions(&d.document)
                .find(|v| v.version == d.version)
            else {
                return Err(BundleError::UnrecordedBody {
                    name: d.document.clone(),
                    version: d.version,
                });
            };
            // Every part is checked, not only the text: the HTML is what `documents show
            // --html` serves and the case file is what bulk notices are rendered from.
            if let Some(part) = recorded.hashes().differing(&d.body.hashes()).first() {
                return Err(BundleError::Body {
                    name: d.document.clone(),
                    version: d.version,
                    part,
                });
            }
            if documents
                .iter()
                .any(|(n, v, _): &(String, u32, DocumentBody)| *n == d.document && *v == d.version)
            {
                return Err(BundleError::DuplicateBody {
                    name: d.document.clone(),
                    version: d.version,
                });
            }
            documents.push((d.document.clone(), d.version, d.body.clone()));
        }
        // Export writes every recorded version; one missing was taken out.
        if let Some(v) = record.documents.iter().find(|v| {
            !self
                .documents
                .iter()
                .any(|d| d.document == v.document && d.version == v.version)
        }) {
            return Err(BundleError::MissingBody {
                name: v.document.clone(),
                version: v.version,
            });
        }
        check_messages(record.id, &self.events, &self.messages)?;
        Ok(VerifiedBundle {
            organisation: self.organisation.clone(),
            record: record.clone(),
            events: self.events.clone(),
            documents,
            messages: self.messages.clone(),
            head,
        })
    }
}

/// Each outbox record against the events that mention it: the message's key, incident, state,
/// address, document and Message-ID are those of its last `MessageChanged` event, and every
/// message the events mention is in the bundle. A message's record is not itself in the log, so
/// this is what makes a forged state ("sent") or address refused.
fn check_messages(
    id: IncidentId,
    events: &[Event],
    messages: &[OutMessage],
) -> Result<(), BundleError> {
    use std::collections::BTreeMap;
    let mut last = BTreeMap::new();
    for e in events {
        if let EventKind::MessageChanged { message, .. } = &e.what {
            last.insert(message.clone(), &e.what);
        }
    }
    let refuse = |key: &str, detail: String| BundleError::Message {
        key: key.to_string(),
        detail,
    };
    let mut seen = std::collections::BTreeSet::new();
    for m in messages {
        if m.incident != id || m.key != format!("{id}/{}", m.number) {
            return Err(refuse(
                &m.key,
                format!(
                    "its key, incident and number disagree ({}, number {})",
                    m.incident, m.number
                ),
            ));
        }
        if !seen.insert(m.number) {
            return Err(refuse(&m.key, "it is in the bundle twice".into()));
        }
        let Some(EventKind::MessageChanged {
            state,
            to,
            document,
            message_id,
            ..
        }) = last.get(&m.key)
        else {
            return Err(refuse(&m.key, "no event records this message".into()));
        };
        let mut differs = Vec::new();
        if *state != m.state {
            differs.push(format!(
                "state {} (its events say {})",
                m.state.as_str(),
                state.as_str()
            ));
        }
        if *to != m.to.address {
            differs.push(format!(
                "address {:?} (its events say {to:?})",
                m.to.address
            ));
        }
        if *document != m.document {
            differs.push("document (not the one its events name)".into());
        }
        if message_id.as_ref().is_some_and(|mid| *mid != m.message_id) {
            differs.push(format!("Message-ID {:?}", m.message_id));
        }
        if m.history.last().is_some_and(|h| h.state != m.state) {
            differs.push("history (its last step is not its state)".into());
        }
        if !differs.is_empty() {
            return Err(refuse(
                &m.key,
                format!(
                    "{} not what its events record",
                    differs.join(", ").to_string()
                        + if differs.len() == 1 { " is" } else { " are" }
                ),
            ));
        }
    }
    if let Some(key) = last.keys().find(|k| !messages.iter().any(|m| &m.key == *k)) {
        return Err(refuse(
            key,
            "its events record it but it is not in the bundle (a message was dropped)".into(),
        ));
    }
    Ok(())
}
