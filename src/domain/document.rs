//! Documents: each rendered version of a report or notice, its hashes, and its approval.
//!
//! A version's text and HTML and the case file it was rendered from are kept whole in the store
//! (the `documents` tree); the incident record and the event log hold this module's
//! `DocumentVersion`, which carries their SHA-256, so the log proves what was approved and filed.
//! Pure: the caller renders and stores; these functions only decide.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::event::{Event, EventKind};
use crate::domain::lifecycle::Step;
use crate::domain::record::IncidentRecord;
use crate::domain::workflow::WorkflowError;

/// The layout every HTML document is wrapped in (letterhead, print stylesheet).
pub const LAYOUT: &str = "_layout";

/// Whether `name` is a template name: lower-case letters, digits and hyphens (or the layout's
/// name). Document names are template names, so a bundle's are checked with this too.
pub fn is_template_name(name: &str) -> bool {
    name == LAYOUT
        || (!name.is_empty()
            && name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
}

/// One rendered version of one document of one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentVersion {
    /// The document's name: the template's name, e.g. `ico-report`.
    pub document: String,
    /// From 1 per document.
    pub version: u32,
    pub rendered_at: DateTime<Utc>,
    pub rendered_by: String,
    /// The template's title when rendered.
    pub title: String,
    /// Where the template came from (built in, or the override file's path).
    pub template_origin: String,
    /// SHA-256 of the template source.
    pub template_sha256: String,
    /// SHA-256 of the plain-text rendering.
    pub sha256: String,
    /// SHA-256 of the HTML rendering.
    pub html_sha256: String,
    /// SHA-256 of the case file (JSON) it was rendered from.
    pub facts_sha256: String,
    /// The obligations it discharges.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub serves: Vec<String>,
    /// The obligation whose clock the rendering was measured against, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligation: Option<String>,
    /// Facts still missing, shown as `[MISSING: ...]` markers: a draft for review, which cannot
    /// be approved.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub missing: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// Facts deferred in a phased report (UK GDPR Art 33(4)): each rendered as a statement
    /// that the information will follow. Unlike `missing`, a phased version can be approved.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub deferred: Vec<String>,
    /// Set when a person edited the text rather than it being rendered from the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<Edit>,
}

/// A version whose text a person edited: what it was edited from, the change from the generated
/// text, and the required content no longer present in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Edit {
    /// The version the edit started from.
    pub from_version: u32,
    /// SHA-256 of that version's text.
    pub from_sha256: String,
    /// The version generated from the template that the edits (one or several) started from.
    pub generated_version: u32,
    /// A unified diff from the generated text to the edited text.
    pub diff: String,
    /// Required content (by its label) that the edited text no longer contains.
    #[serde(default, skip_serializing_if = "crate::domain::serial::skip_empty")]
    pub omitted: Vec<String>,
    /// Why required content was removed, if it was; without a reason such a version cannot be
    /// approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Who approved a version, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Approval {
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A version as it is kept in the store, with its renderings and case file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentBody {
    pub text: String,
    pub html: String,
    pub facts: serde_json::Value,
    /// The template source it was rendered from, so a personalised notice is rendered from
    /// exactly what was approved even if the template file changes later.
    #[serde(default)]
    pub template_source: String,
}

/// The SHA-256s of a body's parts (hex), as a version's event records them.
#[derive(Debug, Clone, Eq)]
pub struct BodyHashes {
    pub text: String,
    pub html: String,
    /// Of the case file's compact JSON, as rendering hashed it.
    pub facts: String,
    /// Of the template source bulk notices are rendered from; none for a body stored before
    /// bodies kept their template (nothing is rendered from such a body).
    pub template: Option<String>,
}

impl BodyHashes {
    /// The parts whose hashes differ, as a person names them. A template hash that is absent
    /// on either side is not compared.
    pub fn differing(&self, other: &BodyHashes) -> Vec<&'static str> {
        let mut parts = Vec::new();
        if self.text != other.text {
            parts.push("text");
        }
        if self.html != other.html {
            parts.push("HTML");
        }
        if self.facts != other.facts {
            parts.push("case file");
        }
        if let (Some(a), Some(b)) = (&self.template, &other.template)
            && a != b
        {
            parts.push("template");
        }
        parts
    }
}

/// Equal when no part differs (see [`BodyHashes::differing`]).
impl PartialEq for BodyHashes {
    fn eq(&self, other: &Self) -> bool {
        self.differing(other).is_empty()
    }
}

impl DocumentBody {
    /// The SHA-256s of the text, the HTML, the case file and the template: what `audit verify`
    /// and a bundle import compare with the hashes the version's event recorded.
    pub fn hashes(&self) -> BodyHashes {
        use sha2::{Digest, Sha256};
        let hex = |bytes: &[u8]| hex::encode(Sha256::digest(bytes));
        BodyHashes {
            text: hex(self.text.as_bytes()),
            html: hex(self.html.as_bytes()),
            facts: hex(serde_json::to_string(&self.facts)
                .unwrap_or_default()
                .as_bytes()),
            template: (!self.template_source.is_empty())
                .then(|| hex(self.template_source.as_bytes())),
        }
    }
}

impl DocumentVersion {
    /// The SHA-256s this version's event recorded for its body.
    pub fn hashes(&self) -> BodyHashes {
        BodyHashes {
            text: self.sha256.clone(),
            html: self.html_sha256.clone(),
            facts: self.facts_sha256.clone(),
            template: Some(self.template_sha256.clone()),
        }
    }
}

/// A reference to the version filed or sent with an obligation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentRef {
    pub document: String,
    pub version: u32,
    pub sha256: String,
}

impl IncidentRecord {
    /// The versions of `document`, oldest first.
    pub fn versions<'a>(&'a self, document: &'a str) -> impl Iterator<Item = &'a DocumentVersion> {
        self.documents
            .iter()
            .filter(move |d| d.document == document)
    }

    /// The latest approved version of any document that discharges `obligation`.
    pub fn approved_for(&self, obligation: &str) -> Option<&DocumentVersion> {
        self.documents
            .iter()
            .rev()
            .find(|d| d.approval.is_some() && d.serves.iter().any(|s| s == obligation))
    }
}

/// Records a new version, unless it is identical to the latest (same text, HTML and facts), in
/// which case nothing changes and that version is returned.
pub fn record_version(
    record: &IncidentRecord,
    mut version: DocumentVersion,
) -> Result<(Vec<EventKind>, DocumentVersion), WorkflowError> {
    crate::domain::workflow::refuse_if_closed(record, Step::Notify)?;
    let latest = record.versions(&version.document).last();
    if let Some(l) = latest
        && l.sha256 == version.sha256
        && l.html_sha256 == version.html_sha256
        && l.facts_sha256 == version.facts_sha256
        && l.template_sha256 == version.template_sha256
    {
        return Ok((Vec::new(), l.clone()));
    }
    version.version = latest.map_or(1, |l| l.version + 1);
    version.approval = None;
    Ok((
        vec![EventKind::DocumentRendered {
            document: Box::new(version.clone()),
        }],
        version,
    ))
}

/// A person as four-eyes approval tells people apart: the name they acted under and, when the
/// team server signed them in, their user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    /// The authenticated user's id; none for a name declared on the command line.
    pub user: Option<String>,
}

impl Actor {
    /// A person known only by the name they gave.
    pub fn named(name: impl Into<String>) -> Actor {
        Actor {
            name: name.into(),
            user: None,
        }
    }

    /// Who recorded an event, as four-eyes approval compares them. When events carry the
    /// signed-in user (the team server), its id goes into `user` here, and only here.
    pub fn of_event(event: &Event) -> Actor {
        Actor {
            name: event.actor.clone(),
            user: event.user.as_ref().map(|u| u.id.to_string()),
        }
    }

    /// Whether two actors are the same person: by user id when both were signed in, else by
    /// name, ignoring case and surrounding blanks ("dana " and "Dana" are one person: a name
    /// typed differently must not count as a second pair of eyes).
    pub fn same_person(&self, other: &Actor) -> bool {
        match (&self.user, &other.user) {
            (Some(a), Some(b)) => a == b,
            _ => self.name.trim().to_lowercase() == other.name.trim().to_lowercase(),
        }
    }
}

/// Four-eyes approval as it applies to one approval.
pub struct FourEyes<'a> {
    /// Whether the document must be approved by someone other than the version's author
    /// (`Organisation::needs_four_eyes`).
    pub required: bool,
    /// Who stored a version: the actor of the event that rendered or edited it.
    pub author: &'a dyn Fn(&DocumentVersion) -> Actor,
}

impl FourEyes<'_> {
    /// No second person required.
    pub const OFF: FourEyes<'static> = FourEyes {
        required: false,
        author: &named_author,
    };
}

/// The author a version names itself (`rendered_by`): the same context stamps the version and
/// the event that stores it, so this is that event's actor, by name.
pub fn named_author(v: &DocumentVersion) -> Actor {
    Actor::named(v.rendered_by.clone())
}

/// Approves a version (the latest when `version` is none). A draft with missing facts cannot be
/// approved: what is approved is what is filed. Under four-eyes approval, the version's author
/// cannot approve it.
pub fn approve(
    record: &IncidentRecord,
    document: &str,
    version: Option<u32>,
    note: Option<&str>,
    by: &Actor,
    now: DateTime<Utc>,
    four_eyes: &FourEyes<'_>,
) -> Result<Vec<EventKind>, WorkflowError> {
    crate::domain::workflow::refuse_if_closed(record, Step::Notify)?;
    let invalid = |m: String| WorkflowError::Invalid(vec![(String::new(), m)]);
    let found = match version {
        Some(n) => record.versions(document).find(|d| d.version == n),
        None => record.versions(document).last(),
    };
    let Some(v) = found else {
        let have: Vec<String> = record
            .versions(document)
            .map(|d| d.version.to_string())
            .collect();
        return Err(invalid(if have.is_empty() {
            format!(
                "{} has no version of {document}; render it first (`breachflow render {} {document}`)",
                record.id, record.id
            )
        } else {
            format!(
                "{document} has no version {}; versions: {}",
                version.unwrap_or_default(),
                have.join(", ")
            )
        }));
    };
    // An approval cannot predate what it approves.
    if now < v.rendered_at {
        return Err(invalid(format!(
            "{document} version {} was rendered at {}; it cannot be approved at {}, before it existed (check --now)",
            v.version,
            v.rendered_at.to_rfc3339(),
            now.to_rfc3339()
        )));
    }
    if !v.missing.is_empty() {
        return Err(invalid(format!(
            "{document} version {} is a draft with {} missing {}: {}; record them and render again",
            v.version,
            v.missing.len(),
            if v.missing.len() == 1 {
                "fact"
            } else {
                "facts"
            },
            v.missing.join(", ")
        )));
    }
    if let Some(e) = &v.edit
        && !e.omitted.is_empty()
        && e.reason.as_deref().is_none_or(|r| r.trim().is_empty())
    {
        return Err(invalid(format!(
            "{document} version {} was edited and no longer contains required content: {}; put it back (edit again) or give the reason it is not needed (`--reason`)",
            v.version,
            e.omitted.join("; ")
        )));
    }
    // Approving twice is not an error: the version is approved, which is what was asked. The
    // first approval stands (who and when); nothing is recorded again.
    if v.approval.is_some() {
        return Ok(Vec::new());
    }
    if by.name.trim().is_empty() {
        return Err(WorkflowError::ReasonRequired(
            "approval needs a named person (--actor)".into(),
        ));
    }
    if four_eyes.required {
        let author = (four_eyes.author)(v);
        if author.same_person(by) {
            return Err(WorkflowError::SameAuthor(format!(
                "{}: {document} version {} was {} by {}, who cannot also approve it: the organisation profile requires four-eyes approval of {document} (`four_eyes`); another person must approve it",
                record.id,
                v.version,
                if v.edit.is_some() {
                    "edited"
                } else {
                    "rendered"
                },
                author.name.trim()
            )));
        }
    }
    Ok(vec![EventKind::DocumentApproved {
        document: document.to_string(),
        version: v.version,
        approval: Approval {
            by: by.name.clone(),
            at: now,
            note: note
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
        },
    }])
}

/// A unified diff of two texts, labelled with their versions.
pub fn diff(document: &str, a: (u32, &str), b: (u32, &str)) -> String {
    similar::TextDiff::from_lines(a.1, b.1)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{document} version {}", a.0),
            &format!("{document} version {}", b.0),
        )
        .to_string()
}

/// The required content an edit removed: each fact of the case file that answers one of
/// `required` (content keys of the obligation's phase), whose words are in the generated text
/// `before` but no longer in the edited text `after`. Labelled as the forms name them.
pub fn omitted_content(
    facts: &serde_json::Value,
    required: &[&str],
    before: &str,
    after: &str,
) -> Vec<String> {
    let mut omitted = Vec::new();
    for info in crate::domain::casefile::CATALOGUE {
        let Some(key) = info.content else { continue };
        if !required.contains(&key) {
            continue;
        }
        let mut v = facts;
        for seg in info.path.split('.') {
            v = &v[seg];
        }
        let words: Vec<&str> = match v {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_str()).collect(),
            _ => Vec::new(),
        };
        if words
            .iter()
            .any(|w| !w.trim().is_empty() && before.contains(w) && !after.contains(w))
            && !omitted.iter().any(|o| o == info.label)
        {
            omitted.push(info.label.to_string());
        }
    }
    omitted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::incident::{IncidentFacts, IncidentId};

    fn now() -> DateTime<Utc> {
        "2024-04-01T09:00:00Z".parse().unwrap()
    }

    /// The example incident with version 1 of the ICO report and of the board briefing,
    /// rendered by `author`.
    fn rendered_by(author: &str) -> IncidentRecord {
        let facts: IncidentFacts =
            serde_json::from_str(include_str!("../../examples/incident-ransomware.json")).unwrap();
        let mut kinds = crate::domain::workflow::open(&facts, now()).unwrap();
        for doc in ["ico-report", "board-briefing"] {
            kinds.push(EventKind::DocumentRendered {
                document: Box::new(DocumentVersion {
                    document: doc.into(),
                    version: 1,
                    rendered_at: now(),
                    rendered_by: author.into(),
                    title: doc.into(),
                    template_origin: "built in".into(),
                    template_sha256: "t".into(),
                    sha256: "s".into(),
                    html_sha256: "h".into(),
                    facts_sha256: "f".into(),
                    serves: Vec::new(),
                    obligation: None,
                    missing: Vec::new(),
                    approval: None,
                    deferred: Vec::new(),
                    edit: None,
                }),
            });
        }
        let mut record = None;
        for (i, what) in kinds.into_iter().enumerate() {
            let event = Event {
                seq: i as u64 + 1,
                incident: Some(IncidentId {
                    year: 2024,
                    number: 1,
                }),
                version: i as u64 + 1,
                at: now(),
                recorded_at: None,
                actor: author.into(),
                identity: None,
                user: None,
                what,
                seal: Default::default(),
            };
            record = Some(IncidentRecord::apply(record, &event).unwrap());
        }
        record.unwrap()
    }

    fn four_eyes() -> FourEyes<'static> {
        FourEyes {
            required: true,
            author: &named_author,
        }
    }

    #[test]
    fn the_author_cannot_approve_a_document_under_four_eyes() {
        let record = rendered_by("Dana");
        for name in ["Dana", "  DANA "] {
            let refused = approve(
                &record,
                "ico-report",
                None,
                None,
                &Actor::named(name),
                now(),
                &four_eyes(),
            );
            let Err(WorkflowError::SameAuthor(message)) = refused else {
                panic!("{refused:?}");
            };
            assert_eq!(
                message,
                "BR-2024-0001: ico-report version 1 was rendered by Dana, who cannot also approve it: the organisation profile requires four-eyes approval of ico-report (`four_eyes`); another person must approve it"
            );
        }
        let approved = approve(
            &record,
            "ico-report",
            Some(1),
            None,
            &Actor::named("Walter"),
            now(),
            &four_eyes(),
        )
        .unwrap();
        assert!(matches!(
            &approved[..],
            [EventKind::DocumentApproved { approval, .. }] if approval.by == "Walter"
        ));
    }

    #[test]
    fn signed_in_people_are_told_apart_by_user_id_and_a_declared_name_by_name() {
        let signed = |name: &str, id: &str| Actor {
            name: name.into(),
            user: Some(id.into()),
        };
        assert!(signed("Dana", "u2").same_person(&signed("Dana", "u2")));
        assert!(!signed("Dana", "u2").same_person(&signed("Dana", "u3")));
        assert!(signed("Dana", "u2").same_person(&signed("dana ", "u2")));
        // A name typed on the command line is the same person as the account of that name.
        assert!(signed("Dana", "u2").same_person(&Actor::named("DANA")));
        assert!(!signed("Dana", "u2").same_person(&Actor::named("Walter")));
    }

    #[test]
    fn without_four_eyes_the_author_may_approve() {
        let record = rendered_by("Dana");
        let approved = approve(
            &record,
            "board-briefing",
            None,
            None,
            &Actor::named("Dana"),
            now(),
            &FourEyes::OFF,
        )
        .unwrap();
        assert_eq!(approved.len(), 1);
    }

    /// Signed-in people are told apart by their user ids, whatever names they act under; a
    /// name alone is compared by name.
    #[test]
    fn people_are_the_same_by_user_id_when_both_have_one() {
        let signed_in = |name: &str, user: &str| Actor {
            name: name.into(),
            user: Some(user.into()),
        };
        assert!(signed_in("Dana", "u1").same_person(&signed_in("Dana Smith", "u1")));
        assert!(!signed_in("Dana", "u1").same_person(&signed_in("Dana", "u2")));
        assert!(signed_in("Dana", "u1").same_person(&Actor::named("dana")));
        assert!(!Actor::named("Dana").same_person(&Actor::named("Walter")));

        // The author as the store's log says, by user id.
        let record = rendered_by("Dana");
        let author = |_: &DocumentVersion| signed_in("Dana", "u1");
        let rule = FourEyes {
            required: true,
            author: &author,
        };
        let by_other = signed_in("Dana", "u2");
        assert!(approve(&record, "ico-report", None, None, &by_other, now(), &rule).is_ok());
        let by_same = signed_in("D. Smith", "u1");
        assert!(matches!(
            approve(&record, "ico-report", None, None, &by_same, now(), &rule),
            Err(WorkflowError::SameAuthor(_))
        ));
    }
}
