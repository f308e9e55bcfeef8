//! Documents: rendering a version from the case file, what it still lacks (and what may follow
//! in a later report), versions, approval.
//!
//! Rendering is `render::template`'s; deciding what a version is measured against, storing it
//! with its body in the same commit as its event, and approval are here.

use chrono_tz::Tz;

use crate::app::incident::{apply_step, retry_on_conflict};
use crate::app::ports::{Change, Store, Subject, Writes};
use crate::app::{AppError, Context};
use crate::domain::casefile;
use crate::domain::document::{self, Actor, DocumentBody, DocumentVersion, FourEyes};
use crate::domain::event::{Event, EventKind};
use crate::domain::incident::IncidentId;
use crate::domain::obligation::Obligation;
use crate::domain::organisation::{DEFAULT_FOUR_EYES, Organisation};
use crate::domain::record::IncidentRecord;
use crate::domain::workflow;
use crate::render::template::{self, Kind, Template, TemplateSet};

/// The obligation a rendering is measured against: the one named, else the first still owed
/// among those the template serves, else the last of them.
pub fn obligation_for<'r>(
    record: &'r IncidentRecord,
    t: &Template,
    named: Option<&str>,
) -> Result<Option<&'r Obligation>, AppError> {
    if let Some(n) = named {
        return workflow::find_obligation(record, n)
            .map(Some)
            .map_err(|e| AppError::from_workflow(e, None));
    }
    let serving: Vec<&Obligation> = record
        .obligations
        .iter()
        .filter(|o| t.manifest.serves.contains(&o.id))
        .collect();
    Ok(serving
        .iter()
        .find(|o| o.state.is_open())
        .or(serving.last())
        .copied())
}

fn describe_missing(missing: &[String]) -> String {
    missing
        .iter()
        .map(|p| match casefile::info(p).filter(|i| i.path == p) {
            Some(i) => format!("  - {} ({p})", i.label),
            None => format!("  - {p}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// How a rendering treats facts not yet recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every fact must be recorded.
    Complete,
    /// Missing facts shown as `[MISSING: ...]` markers; the version cannot be approved.
    Draft,
    /// A report in phases (UK GDPR Art 33(4)): a fact that may follow is stated to follow and
    /// recorded as deferred; a fact needed now still blocks. The version can be approved.
    Phased,
}

/// What a phased report says in place of a fact that will follow.
pub fn will_follow(o: &Obligation) -> String {
    let cite = if o.id.starts_with("uk-gdpr-art33/") {
        " (UK GDPR Article 33(4))"
    } else {
        ""
    };
    format!(
        "Not yet known. We will provide this information in a follow-up report, without undue further delay{cite}."
    )
}

/// Whether the obligation's regime lets this report leave some content to a later phase.
pub fn allows_phases(o: Option<&Obligation>) -> bool {
    o.is_some_and(|o| o.phase.content.iter().any(|c| c.may_follow))
}

/// Renders a document and stores the version unless it equals the latest. Returns the version,
/// its body, and whether it is new. Rendering is pure, so when another writer changed the
/// incident meanwhile, it is rendered again from what the incident now is.
#[allow(clippy::too_many_arguments)]
pub fn produce(
    store: &dyn Store,
    ctx: &Context,
    org: &Organisation,
    templates: &TemplateSet,
    id: IncidentId,
    name: &str,
    obligation: Option<&str>,
    mode: Mode,
) -> Result<(DocumentVersion, DocumentBody, bool), AppError> {
    retry_on_conflict(|| produce_once(store, ctx, org, templates, id, name, obligation, mode))
}

/// One try of [`produce`]: load, render, commit.
#[allow(clippy::too_many_arguments)]
fn produce_once(
    store: &dyn Store,
    ctx: &Context,
    org: &Organisation,
    templates: &TemplateSet,
    id: IncidentId,
    name: &str,
    obligation: Option<&str>,
    mode: Mode,
) -> Result<(DocumentVersion, DocumentBody, bool), AppError> {
    let t = templates.get(name)?;
    let record = store.incident(id)?;
    let serving = obligation_for(&record, t, obligation)?;
    let facts = casefile::build(&record, org, serving, ctx.now);
    let mut deferred = Vec::new();
    let (facts, mut missing) = if mode == Mode::Phased {
        let Some(o) = serving.filter(|o| allows_phases(Some(o))) else {
            return Err(AppError::InvalidArgs(format!(
                "{name} for {id} cannot be made in phases: {}",
                match serving {
                    Some(o) => format!("{} does not provide for information to follow later", o.id),
                    None => "it serves no obligation that provides for it".to_string(),
                }
            )));
        };
        let lacking = missing_facts(t, &facts, serving);
        let now: Vec<String> = lacking
            .iter()
            .filter(|m| !deferrable(m))
            .map(|m| m.path.clone())
            .collect();
        if !now.is_empty() {
            return Err(AppError::Incomplete(format!(
                "{name} for {id} cannot be filed in phases: {} {} needed now, not later:\n{}",
                now.len(),
                if now.len() == 1 {
                    "fact is"
                } else {
                    "facts are"
                },
                describe_missing(&now)
            )));
        }
        deferred = lacking.into_iter().map(|m| m.path).collect();
        let statement = will_follow(o);
        let (filled, _) = template::filled_with(t, &facts, &|_| statement.clone());
        (filled, Vec::new())
    } else {
        template::draft(t, &facts)
    };
    if !missing.is_empty() && mode == Mode::Complete {
        return Err(AppError::Incomplete(format!(
            "{name} for {id} lacks {} {}:\n{}",
            missing.len(),
            if missing.len() == 1 { "fact" } else { "facts" },
            describe_missing(&missing)
        )));
    }
    let body = render_body(templates, t, &facts, org.zone())?;
    let version = DocumentVersion {
        document: t.name.clone(),
        version: 0,
        rendered_at: ctx.now,
        rendered_by: ctx.actor.clone(),
        title: t.manifest.title.clone(),
        template_origin: t.origin.clone(),
        template_sha256: t.sha256.clone(),
        sha256: template::sha256_hex(body.text.as_bytes()),
        html_sha256: template::sha256_hex(body.html.as_bytes()),
        facts_sha256: template::sha256_hex(
            serde_json::to_string(&body.facts)
                .unwrap_or_default()
                .as_bytes(),
        ),
        serves: t.manifest.serves.clone(),
        obligation: serving.map(|o| o.id.clone()),
        missing: std::mem::take(&mut missing),
        approval: None,
        deferred,
        edit: None,
    };
    store_version(store, ctx, &record, version, body)
}

/// Stores a version with its body in one commit, unless it equals the latest. Returns the
/// version, its body, and whether it is new.
fn store_version(
    store: &dyn Store,
    ctx: &Context,
    record: &IncidentRecord,
    version: DocumentVersion,
    body: DocumentBody,
) -> Result<(DocumentVersion, DocumentBody, bool), AppError> {
    let (kinds, stored) =
        document::record_version(record, version).map_err(|e| AppError::from_workflow(e, None))?;
    let is_new = !kinds.is_empty();
    if is_new {
        store.commit(
            Change::new(Subject::Incident(record), &kinds, ctx.stamp()).with(Writes {
                documents: &[(record.id, &stored.document, stored.version, &body)],
                ..Writes::default()
            }),
        )?;
    }
    Ok((stored, body, is_new))
}

/// Renders both kinds from the same facts.
pub fn render_body(
    templates: &TemplateSet,
    t: &Template,
    facts: &serde_json::Value,
    zone: Tz,
) -> Result<DocumentBody, AppError> {
    Ok(DocumentBody {
        text: template::render(templates, t, facts, zone, Kind::Text)?,
        html: template::render(templates, t, facts, zone, Kind::Html)?,
        facts: facts.clone(),
        template_source: t.source.clone(),
    })
}

/// Whether a missing fact may follow in a later phase, and why, from the obligation's own
/// required content (copied from the regime when the obligation arose).
pub fn classify(
    content: Option<&str>,
    serving: Option<&Obligation>,
    serves_any: bool,
) -> (bool, String) {
    let Some(o) = serving else {
        return (
            false,
            if serves_any {
                "no obligation has arisen yet (assess and decide first)".into()
            } else {
                "used by this document".into()
            },
        );
    };
    let Some(key) = content else {
        return (
            true,
            format!("asked by the form; not in the required content of {}", o.id),
        );
    };
    match o.phase.content.iter().find(|c| c.key == key) {
        Some(c) if c.may_follow => (
            true,
            format!(
                "may be provided in phases ({})",
                c.citation.clone().unwrap_or_else(|| o.citation.clone())
            ),
        ),
        Some(c) => (
            false,
            format!(
                "required in this report ({})",
                c.citation.clone().unwrap_or_else(|| o.citation.clone())
            ),
        ),
        None => (true, format!("not in the required content of {}", o.id)),
    }
}

pub fn version_of<'r>(
    record: &'r IncidentRecord,
    doc: &'r str,
    version: Option<u32>,
) -> Result<&'r DocumentVersion, AppError> {
    let found = match version {
        Some(n) => record.versions(doc).find(|d| d.version == n),
        None => record.versions(doc).last(),
    };
    found.ok_or_else(|| {
        let have: Vec<String> = record
            .versions(doc)
            .map(|d| d.version.to_string())
            .collect();
        AppError::InvalidArgs(if have.is_empty() {
            format!("{} has no version of {doc}", record.id)
        } else {
            format!(
                "{doc} has no version {}; versions: {}",
                version.unwrap_or_default(),
                have.join(", ")
            )
        })
    })
}

/// A stored version's body, checked against every hash its event recorded (text, HTML, case
/// file, template): what is shown, sent, or rendered into bulk notices is what was approved,
/// and a mismatch means the store was altered, so nothing is used.
pub fn checked_body(
    store: &dyn Store,
    id: IncidentId,
    v: &DocumentVersion,
) -> Result<DocumentBody, AppError> {
    let body = store.document_body((id, &v.document, v.version))?;
    let parts = v.hashes().differing(&body.hashes());
    if parts.is_empty() {
        return Ok(body);
    }
    Err(AppError::Tampered(format!(
        "documents tree, {id} {} v{}: the stored {} no longer {} the SHA-256 its event recorded; nothing was used (`breachflow audit verify` lists every difference)",
        v.document,
        v.version,
        parts.join(", "),
        if parts.len() == 1 { "matches" } else { "match" }
    )))
}

/// The stored body of version `version` of `doc`, checked as
/// [`checked_body`] does.
pub fn checked_body_of(
    store: &dyn Store,
    id: IncidentId,
    doc: &str,
    version: u32,
) -> Result<DocumentBody, AppError> {
    let record = store.incident(id)?;
    let v = version_of(&record, doc, Some(version))?;
    checked_body(store, id, v)
}

/// A stored version's body, checked against the hashes its event recorded: what is shown is
/// what was hashed, and a mismatch means the store was altered.
pub fn body_of(
    store: &dyn Store,
    id: IncidentId,
    doc: &str,
    version: Option<u32>,
) -> Result<(DocumentVersion, DocumentBody), AppError> {
    template::check_name(doc)?;
    let record = store.incident(id)?;
    let v = version_of(&record, doc, version)?.clone();
    let body = checked_body(store, id, &v)?;
    Ok((v, body))
}

/// The unified diff between two versions' texts.
pub fn diff(
    store: &dyn Store,
    id: IncidentId,
    doc: &str,
    a: u32,
    b: u32,
) -> Result<String, AppError> {
    template::check_name(doc)?;
    let record = store.incident(id)?;
    let va = version_of(&record, doc, Some(a))?;
    let vb = version_of(&record, doc, Some(b))?;
    let ba = checked_body(store, id, va)?;
    let bb = checked_body(store, id, vb)?;
    Ok(document::diff(doc, (a, &ba.text), (b, &bb.text)))
}

/// Approves a version (the latest if none is named): the record after, and whether this call
/// approved it (false: it already was, by the approval the version carries, and nothing was
/// recorded).
pub fn approve(
    store: &dyn Store,
    ctx: &Context,
    id: IncidentId,
    doc: &str,
    version: Option<u32>,
    note: Option<&str>,
) -> Result<(IncidentRecord, bool), AppError> {
    template::check_name(doc)?;
    let authors = authors_if_needed(store, id, doc)?;
    let author = |v: &DocumentVersion| author_of(&authors, v);
    let four_eyes = FourEyes {
        required: authors.is_some(),
        author: &author,
    };
    let by = approver(ctx);
    let (before, committed) = apply_step(store, ctx, id, None, |r| {
        document::approve(r, doc, version, note, &by, ctx.now, &four_eyes)
    })?;
    let newly = !committed.events.is_empty();
    Ok((committed.record.unwrap_or(before), newly))
}

/// Why the person in `ctx` could not approve this version now, in the words the refusal
/// would use, or `None` when they could (or it is approved already). Nothing is stored: the
/// same rules as [`approve`] run on the record as it is, so a page can say why its button is
/// disabled before anyone presses it.
pub fn approval_blocked(
    store: &dyn Store,
    ctx: &Context,
    id: IncidentId,
    doc: &str,
    version: u32,
) -> Result<Option<String>, AppError> {
    template::check_name(doc)?;
    let record = store.incident(id)?;
    let authors = authors_if_needed(store, id, doc)?;
    let author = |v: &DocumentVersion| author_of(&authors, v);
    let four_eyes = FourEyes {
        required: authors.is_some(),
        author: &author,
    };
    let by = approver(ctx);
    Ok(
        document::approve(&record, doc, Some(version), None, &by, ctx.now, &four_eyes)
            .err()
            .map(|e| AppError::from_workflow(e, None).to_string()),
    )
}

/// Who stored each version of `doc` (from the log), when the organisation requires four-eyes
/// approval of it; `None` when it does not (the log is then not read).
fn authors_if_needed(
    store: &dyn Store,
    id: IncidentId,
    doc: &str,
) -> Result<Option<Vec<(u32, Actor)>>, AppError> {
    let required = match store.organisation()? {
        Some(org) => org.needs_four_eyes(doc),
        None => DEFAULT_FOUR_EYES.contains(&doc),
    };
    Ok(if required {
        Some(version_authors(&store.events_for(id)?, doc))
    } else {
        None
    })
}

fn author_of(authors: &Option<Vec<(u32, Actor)>>, v: &DocumentVersion) -> Actor {
    authors
        .iter()
        .flatten()
        .find(|(n, _)| *n == v.version)
        .map_or_else(|| document::named_author(v), |(_, a)| a.clone())
}

/// The person approving, as four-eyes approval compares them with a version's author. When the
/// context carries the signed-in user (the team server), its id goes into `user` here.
fn approver(ctx: &Context) -> Actor {
    Actor {
        name: ctx.actor.clone(),
        user: ctx.user.as_ref().map(|u| u.id.to_string()),
    }
}

/// The author of each version of `doc` (by version number): the actor of the event that
/// rendered or edited it.
fn version_authors(events: &[Event], doc: &str) -> Vec<(u32, Actor)> {
    events
        .iter()
        .filter_map(|e| match &e.what {
            EventKind::DocumentRendered { document } if document.document == doc => {
                Some((document.version, Actor::of_event(e)))
            }
            _ => None,
        })
        .collect()
}

/// One missing fact, with whether it may follow in a later report and why.
pub struct Missing {
    pub label: String,
    pub path: String,
    pub may_follow: bool,
    pub basis: String,
}

/// What `check` finds.
pub struct Check {
    pub obligation: Option<Obligation>,
    pub missing: Vec<Missing>,
}

/// Whether a phased report may say that a fact will follow.
pub fn deferrable(m: &Missing) -> bool {
    m.may_follow
}

/// Each fact `t` uses that `facts` lacks, with whether it may follow and why.
fn missing_facts(
    t: &Template,
    facts: &serde_json::Value,
    serving: Option<&Obligation>,
) -> Vec<Missing> {
    template::needed(t, facts)
        .into_iter()
        .map(|p| {
            let info = casefile::info(&p);
            let label = info
                .filter(|i| i.path == p)
                .map(|i| i.label.to_string())
                .unwrap_or_else(|| p.clone());
            let (may_follow, basis) = classify(
                info.and_then(|i| i.content),
                serving,
                !t.manifest.serves.is_empty(),
            );
            // A whole assessment or decision still to be made never follows later.
            let whole = !p.contains('.');
            Missing {
                label,
                may_follow: may_follow && !whole,
                basis: if may_follow && whole {
                    "needed before any report".into()
                } else {
                    basis
                },
                path: p,
            }
        })
        .collect()
}

/// What a document still lacks for the obligation it serves, and what of that may follow.
pub fn check(
    store: &dyn Store,
    ctx: &Context,
    templates: &TemplateSet,
    id: IncidentId,
    name: &str,
    obligation: Option<&str>,
) -> Result<Check, AppError> {
    let t = templates.get(name)?;
    let org = store.require_organisation()?;
    let record = store.incident(id)?;
    let serving = obligation_for(&record, t, obligation)?;
    let facts = casefile::build(&record, &org, serving, ctx.now);
    let missing = missing_facts(t, &facts, serving);
    Ok(Check {
        obligation: serving.cloned(),
        missing,
    })
}

/// Stores a person's edit of a document as a new version: the text as edited, its HTML, the
/// version it was edited from with that text's hash, and the diff from it. Required content
/// (of the obligation the version serves) that the edit removed is listed, and such a version
/// cannot be approved unless `reason` says why it is not needed. Returns the version, its body,
/// and whether it is new (an unchanged text stores nothing). Tried again when another writer
/// changed the incident meanwhile, unless the change was a new version of this document.
/// `seen`, when given, is the version the person edited: if a newer one is stored, nothing is.
#[allow(clippy::too_many_arguments)]
pub fn edit(
    store: &dyn Store,
    ctx: &Context,
    org: &Organisation,
    templates: &TemplateSet,
    id: IncidentId,
    doc: &str,
    text: &str,
    reason: Option<&str>,
    seen: Option<u32>,
) -> Result<(DocumentVersion, DocumentBody, bool), AppError> {
    // The text was edited from the latest version as the first try found it (or, when the
    // caller says, as the person saw it: a form shown before another version was stored): a try after
    // another writer stored a newer version of this document would store it as an edit of
    // text the person never saw, so only the other changes of the incident are tried past.
    let mut base = seen.map(Some);
    retry_on_conflict(|| {
        let latest = store.incident(id)?.versions(doc).last().map(|v| v.version);
        if *base.get_or_insert(latest) != latest {
            return Err(AppError::Failed(format!(
                "{id}: a new version of {doc} was stored while this edit was being saved; nothing was stored: edit the latest version again"
            )));
        }
        edit_once(store, ctx, org, templates, id, doc, text, reason)
    })
}

/// One try of [`edit`]: load, compare, commit.
#[allow(clippy::too_many_arguments)]
fn edit_once(
    store: &dyn Store,
    ctx: &Context,
    org: &Organisation,
    templates: &TemplateSet,
    id: IncidentId,
    doc: &str,
    text: &str,
    reason: Option<&str>,
) -> Result<(DocumentVersion, DocumentBody, bool), AppError> {
    template::check_name(doc)?;
    let record = store.incident(id)?;
    let (from, from_body) = body_of(store, id, doc, None)?;
    if text == from_body.text {
        return Ok((from, from_body, false));
    }
    let required: Vec<&str> = from
        .obligation
        .as_deref()
        .and_then(|o| record.obligations.iter().find(|x| x.id == o))
        .map(|o| o.phase.content.iter().map(|c| c.key.as_str()).collect())
        .unwrap_or_default();
    // Measured against the text the template generated, however many edits ago.
    let generated = from
        .edit
        .as_ref()
        .map_or(from.version, |e| e.generated_version);
    let generated_text = if generated == from.version {
        from_body.text.clone()
    } else {
        body_of(store, id, doc, Some(generated))?.1.text
    };
    let omitted = document::omitted_content(&from_body.facts, &required, &generated_text, text);
    let html =
        template::html_of_edited(templates, &from.title, text, &from_body.facts, org.zone())?;
    let body = DocumentBody {
        text: text.to_string(),
        html,
        facts: from_body.facts.clone(),
        template_source: from_body.template_source.clone(),
    };
    let next = from.version + 1;
    let version = DocumentVersion {
        version: 0,
        rendered_at: ctx.now,
        rendered_by: ctx.actor.clone(),
        sha256: template::sha256_hex(body.text.as_bytes()),
        html_sha256: template::sha256_hex(body.html.as_bytes()),
        // Markers the person left in are still missing facts.
        missing: from
            .missing
            .iter()
            .filter(|m| text.contains(&template::marker(m)))
            .cloned()
            .collect(),
        approval: None,
        edit: Some(document::Edit {
            from_version: from.version,
            from_sha256: from.sha256.clone(),
            generated_version: generated,
            diff: document::diff(doc, (generated, &generated_text), (next, text)),
            omitted,
            reason: reason
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string),
        }),
        ..from.clone()
    };
    store_version(store, ctx, &record, version, body)
}
