//! `render`, `check`, `documents`, `approve` and `templates`: reports and notices from the
//! templates, their versions, and who approved them.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path};

use serde_json::json;

use super::{apply_step, open_store};
use crate::app::ports::{Store, Subject, Writes};
use crate::cli::output::{self, Format, instant, table};
use crate::cli::{CliError, Ctx};
use crate::domain::casefile;
use crate::domain::document::{self, DocumentBody, DocumentVersion};
use crate::domain::incident::IncidentId;
use crate::domain::obligation::Obligation;
use crate::domain::record::IncidentRecord;
use crate::domain::workflow;
use crate::render::template::{self, Kind, Template, TemplateSet};

/// The obligation a rendering is measured against: the one named, else the first still owed
/// among those the template serves, else the last of them.
fn obligation_for<'r>(
    record: &'r IncidentRecord,
    t: &Template,
    named: Option<&str>,
) -> Result<Option<&'r Obligation>, CliError> {
    if let Some(n) = named {
        return workflow::find_obligation(record, n)
            .map(Some)
            .map_err(|e| CliError::from_workflow(e, None));
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

/// `breachflow render ID TEMPLATE`.
#[allow(clippy::too_many_arguments)]
pub fn render(
    ctx: &Ctx,
    id: IncidentId,
    name: &str,
    obligation: Option<&str>,
    out: Option<&Path>,
    html: bool,
    draft: bool,
) -> Result<(), CliError> {
    if let Some(out) = out {
        check_out_path(out)?;
    }
    let templates = super::templates(ctx)?;
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let (stored, body, is_new) =
        produce(&store, ctx, &org, &templates, id, name, obligation, draft)?;
    let missing = stored.missing.clone();
    let chosen = if html || out.is_some_and(|o| o.extension().is_some_and(|e| e == "html")) {
        &body.html
    } else {
        &body.text
    };
    if let Some(out) = out {
        write_private(out, chosen)?;
    }
    let note = format!(
        "{id}: {} version {}{}{} (sha256 {}){}",
        stored.document,
        stored.version,
        if is_new { " stored" } else { " unchanged" },
        if missing.is_empty() {
            String::new()
        } else {
            format!(
                " as a DRAFT with {} missing {}",
                missing.len(),
                if missing.len() == 1 { "fact" } else { "facts" }
            )
        },
        &stored.sha256[..12],
        out.map(|o| format!("; written to {}", o.display()))
            .unwrap_or_default()
    );
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": id,
            "document": stored,
            "stored": is_new,
            "text": if out.is_none() { Some(&body.text) } else { None },
        })),
        Format::Table | Format::Csv | Format::Html => {
            if out.is_none() {
                output::print(chosen.trim_end());
            }
            eprintln!("{note}");
        }
    }
    Ok(())
}

/// Renders a document and stores the version unless it equals the latest. Returns the version,
/// its body, and whether it is new.
#[allow(clippy::too_many_arguments)]
pub fn produce(
    store: &crate::adapters::store::SledStore,
    ctx: &Ctx,
    org: &crate::domain::organisation::Organisation,
    templates: &TemplateSet,
    id: IncidentId,
    name: &str,
    obligation: Option<&str>,
    draft: bool,
) -> Result<(DocumentVersion, DocumentBody, bool), CliError> {
    let t = templates.get(name)?;
    let record = store.incident(id)?;
    let serving = obligation_for(&record, t, obligation)?;
    let facts = casefile::build(&record, org, serving, ctx.now);
    let (facts, missing) = template::draft(t, &facts);
    if !missing.is_empty() && !draft {
        return Err(CliError::Incomplete(format!(
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
        missing,
        approval: None,
    };
    let (kinds, stored) =
        document::record_version(&record, version).map_err(|e| CliError::from_workflow(e, None))?;
    let is_new = !kinds.is_empty();
    if is_new {
        store.commit(
            Subject::Incident(&record),
            &kinds,
            ctx.now,
            &ctx.actor,
            &Writes {
                documents: &[(id, &stored.document, stored.version, &body)],
                ..Writes::default()
            },
        )?;
    }
    Ok((stored, body, is_new))
}

/// Renders both kinds from the same facts.
pub fn render_body(
    templates: &TemplateSet,
    t: &Template,
    facts: &serde_json::Value,
    zone: chrono_tz::Tz,
) -> Result<DocumentBody, CliError> {
    Ok(DocumentBody {
        text: template::render(templates, t, facts, zone, Kind::Text)?,
        html: template::render(templates, t, facts, zone, Kind::Html)?,
        facts: facts.clone(),
        template_source: t.source.clone(),
    })
}

/// `--out` names a new or existing plain file, never through `..`.
fn check_out_path(out: &Path) -> Result<(), CliError> {
    if out.components().any(|c| c == Component::ParentDir) {
        return Err(CliError::InvalidArgs(format!(
            "--out {}: a path through `..` is refused; name the file directly",
            out.display()
        )));
    }
    if let Ok(meta) = std::fs::symlink_metadata(out)
        && !meta.is_file()
    {
        return Err(CliError::InvalidArgs(format!(
            "--out {}: exists and is not a plain file",
            out.display()
        )));
    }
    Ok(())
}

/// Writes `text` to `path` readable by the owner only, via a temporary file and a rename, so a
/// crash never leaves half a document.
pub fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::Failed(format!("{}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default()
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(fail)?;
    f.write_all(text.as_bytes()).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)?;
    Ok(())
}

/// `breachflow check ID TEMPLATE`: what the document still lacks, and what may follow later.
pub fn check(
    ctx: &Ctx,
    id: IncidentId,
    name: &str,
    obligation: Option<&str>,
) -> Result<(), CliError> {
    let templates = super::templates(ctx)?;
    let t = templates.get(name)?;
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let record = store.incident(id)?;
    let serving = obligation_for(&record, t, obligation)?;
    let facts = casefile::build(&record, &org, serving, ctx.now);
    let missing = template::needed(t, &facts);
    let rows: Vec<serde_json::Value> = missing
        .iter()
        .map(|p| {
            let info = casefile::info(p);
            let label = info
                .filter(|i| i.path == p)
                .map(|i| i.label.to_string())
                .unwrap_or_else(|| p.clone());
            let (may_follow, basis) = classify(
                info.and_then(|i| i.content),
                serving,
                !t.manifest.serves.is_empty(),
            );
            json!({ "fact": label, "path": p, "may_follow": may_follow, "basis": basis })
        })
        .collect();
    let now_needed = rows.iter().filter(|r| r["may_follow"] == false).count();
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "id": id,
            "document": t.name,
            "obligation": serving.map(|o| &o.id),
            "due": serving.and_then(|o| o.due.instant()),
            "complete": missing.is_empty(),
            "missing": rows,
        })),
        Format::Table | Format::Csv | Format::Html => {
            let mut s = format!("{id}: {} ({})\n", t.manifest.title, t.name);
            if let Some((o, at)) = serving.and_then(|o| o.due.instant().map(|at| (o, at))) {
                {
                    let left = (at - ctx.now).num_minutes();
                    s.push_str(&format!(
                        "For {}: due {} ({}).\n",
                        o.id,
                        instant(at, org.zone()),
                        if left >= 0 {
                            format!("{} left", output::minutes(left))
                        } else {
                            format!("overdue by {}", output::minutes(-left))
                        }
                    ));
                }
            }
            if missing.is_empty() {
                s.push_str("Complete: every fact the document uses is recorded.");
            } else {
                let mut tbl = table(&["Missing fact", "Path", "Needed", "Why"]);
                for r in &rows {
                    tbl.add_row(vec![
                        r["fact"].as_str().unwrap_or_default().to_string(),
                        r["path"].as_str().unwrap_or_default().to_string(),
                        if r["may_follow"] == true {
                            "may follow".into()
                        } else {
                            "now".to_string()
                        },
                        r["basis"].as_str().unwrap_or_default().to_string(),
                    ]);
                }
                s.push_str(&format!(
                    "{} missing: {} needed now, {} may follow in a later report.\n{tbl}",
                    missing.len(),
                    now_needed,
                    missing.len() - now_needed
                ));
            }
            output::print(&s);
        }
    }
    if now_needed > 0 {
        return Err(CliError::Incomplete(format!(
            "{} lacks {now_needed} {} needed in this report",
            t.name,
            if now_needed == 1 { "fact" } else { "facts" }
        )));
    }
    Ok(())
}

/// Whether a missing fact may follow in a later phase, and why, from the obligation's own
/// required content (copied from the regime when the obligation arose).
fn classify(
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

/// `breachflow documents ID`: every version, with its hash and approval.
pub fn list(ctx: &Ctx, id: IncidentId) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let record = store.incident(id)?;
    match ctx.format {
        Format::Json => output::print_json(&json!({ "id": id, "documents": record.documents })),
        Format::Table | Format::Csv | Format::Html => {
            if record.documents.is_empty() {
                output::print(&format!(
                    "{id} has no documents yet; `breachflow templates` lists what can be rendered"
                ));
                return Ok(());
            }
            let mut t = table(&["Document", "Version", "Rendered", "By", "Status", "SHA-256"]);
            for d in &record.documents {
                let status = match (&d.approval, d.missing.len()) {
                    (Some(a), _) => format!("approved by {} {}", a.by, instant(a.at, org.zone())),
                    (None, 0) => "awaiting approval".into(),
                    (None, n) => format!("draft: {n} missing"),
                };
                t.add_row(vec![
                    d.document.clone(),
                    d.version.to_string(),
                    instant(d.rendered_at, org.zone()),
                    d.rendered_by.clone(),
                    status,
                    d.sha256[..16].to_string(),
                ]);
            }
            output::print(&t.to_string());
        }
    }
    Ok(())
}

fn version_of<'r>(
    record: &'r IncidentRecord,
    doc: &'r str,
    version: Option<u32>,
) -> Result<&'r DocumentVersion, CliError> {
    let found = match version {
        Some(n) => record.versions(doc).find(|d| d.version == n),
        None => record.versions(doc).last(),
    };
    found.ok_or_else(|| {
        let have: Vec<String> = record
            .versions(doc)
            .map(|d| d.version.to_string())
            .collect();
        CliError::InvalidArgs(if have.is_empty() {
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

/// `breachflow documents show ID DOC [--version N] [--html]`.
pub fn show(
    ctx: &Ctx,
    id: IncidentId,
    doc: &str,
    version: Option<u32>,
    html: bool,
) -> Result<(), CliError> {
    template::check_name(doc)?;
    let store = open_store(ctx)?;
    let record = store.incident(id)?;
    let v = version_of(&record, doc, version)?;
    let body = store.document_body(id, doc, v.version)?;
    // What is shown is what was hashed: a mismatch means the store was altered.
    if template::sha256_hex(body.text.as_bytes()) != v.sha256 {
        return Err(CliError::Store(crate::app::ports::StoreError::Damaged {
            dir: ctx.data_dir.clone(),
            detail: format!(
                "{doc} version {} does not match its recorded SHA-256",
                v.version
            ),
        }));
    }
    match ctx.format {
        Format::Json => output::print_json(
            &json!({ "document": v, "text": body.text, "html": body.html, "facts": body.facts }),
        ),
        Format::Table | Format::Csv | Format::Html => output::print(if html {
            &body.html
        } else {
            body.text.trim_end()
        }),
    }
    Ok(())
}

/// `breachflow documents diff ID DOC V1 V2`.
pub fn diff(ctx: &Ctx, id: IncidentId, doc: &str, a: u32, b: u32) -> Result<(), CliError> {
    template::check_name(doc)?;
    let store = open_store(ctx)?;
    let record = store.incident(id)?;
    let va = version_of(&record, doc, Some(a))?;
    let vb = version_of(&record, doc, Some(b))?;
    let ba = store.document_body(id, doc, va.version)?;
    let bb = store.document_body(id, doc, vb.version)?;
    let d = document::diff(doc, (a, &ba.text), (b, &bb.text));
    match ctx.format {
        Format::Json => {
            output::print_json(&json!({ "document": doc, "from": a, "to": b, "diff": d }))
        }
        Format::Table | Format::Csv | Format::Html => {
            if d.is_empty() {
                output::print(&format!("{doc}: versions {a} and {b} have the same text"));
            } else {
                output::print(d.trim_end());
            }
        }
    }
    Ok(())
}

/// `breachflow approve ID DOC [--version N]`.
pub fn approve(
    ctx: &Ctx,
    id: IncidentId,
    doc: &str,
    version: Option<u32>,
    note: Option<&str>,
) -> Result<(), CliError> {
    template::check_name(doc)?;
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let (_, committed) = apply_step(&store, ctx, id, None, |r| {
        document::approve(r, doc, version, note, &ctx.actor, ctx.now)
    })?;
    let record = committed
        .record
        .ok_or_else(|| CliError::Failed("not recorded".into()))?;
    let v = version_of(&record, doc, version)?;
    match ctx.format {
        Format::Json => output::print_json(&json!({ "id": id, "document": v })),
        Format::Table | Format::Csv | Format::Html => {
            let serves: Vec<String> = record
                .obligations
                .iter()
                .filter(|o| v.serves.contains(&o.id))
                .map(|o| format!("{} is {}", o.id, o.state))
                .collect();
            output::print(&format!(
                "{id}: {doc} version {} approved by {} at {} (sha256 {}).{}",
                v.version,
                ctx.actor,
                instant(ctx.now, org.zone()),
                &v.sha256[..12],
                if serves.is_empty() {
                    String::new()
                } else {
                    format!(" {}.", serves.join("; "))
                }
            ));
        }
    }
    Ok(())
}

/// `breachflow templates`: what can be rendered, and what each discharges.
pub fn templates(ctx: &Ctx) -> Result<(), CliError> {
    let set = super::templates(ctx)?;
    match ctx.format {
        Format::Json => output::print_json(
            &set.documents()
                .map(|t| {
                    json!({
                        "name": t.name, "title": t.manifest.title, "audience": t.manifest.audience,
                        "serves": t.manifest.serves, "origin": t.origin, "sha256": t.sha256,
                    })
                })
                .collect::<Vec<_>>(),
        ),
        Format::Table | Format::Csv | Format::Html => {
            let mut tbl = table(&["Template", "Document", "For", "Discharges", "Source"]);
            for t in set.documents() {
                tbl.add_row(vec![
                    t.name.clone(),
                    t.manifest.title.clone(),
                    t.manifest.audience.clone(),
                    t.manifest.serves.join("\n"),
                    t.origin.clone(),
                ]);
            }
            output::print(&tbl.to_string());
        }
    }
    Ok(())
}
