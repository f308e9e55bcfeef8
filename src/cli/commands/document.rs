//! `render`, `check`, `documents`, `approve` and `templates`: reports and notices from the
//! templates, their versions, and who approved them.

use std::path::Path;

use serde_json::json;

use super::open_store;
use crate::app;
use crate::cli::output::{self, Format, instant, table};
use crate::cli::{CliError, Ctx};
use crate::domain::incident::IncidentId;

/// `breachflow render ID TEMPLATE`.
#[allow(clippy::too_many_arguments)]
pub fn render(
    ctx: &Ctx,
    id: IncidentId,
    name: &str,
    obligation: Option<&str>,
    out: Option<&Path>,
    html: bool,
    mode: app::documents::Mode,
) -> Result<(), CliError> {
    if let Some(out) = out {
        super::check_output(ctx, out)?;
        // A document is written where it is named, never through `..`.
        if out
            .components()
            .any(|c| c == std::path::Component::ParentDir)
        {
            return Err(CliError::InvalidArgs(format!(
                "--out {}: a path through `..` is refused; name the file directly",
                out.display()
            )));
        }
    }
    let templates = super::templates(ctx)?;
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let (stored, body, is_new) = app::documents::produce(
        &store,
        &ctx.app(),
        &org,
        &templates,
        id,
        name,
        obligation,
        mode,
    )?;
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
        crate::render::format::short(&stored.sha256, 12),
        out.map(|o| format!("; written to {}", o.display()))
            .unwrap_or_default()
    );
    let note = if stored.deferred.is_empty() {
        note
    } else {
        format!(
            "{note}\nA phased report: {} stated to follow in a later report: {}",
            stored.deferred.len(),
            stored.deferred.join(", ")
        )
    };
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
            output::note(&note);
        }
    }
    Ok(())
}

/// Where the edited text of a document comes from.
pub enum EditedText<'a> {
    /// `render ID DOC --text-file F`: the file's text.
    File(&'a Path),
    /// `documents edit ID DOC`: the latest version's text, changed in the person's editor.
    Editor,
}

/// Stores a person's text as an edit of the latest version of `doc`.
pub fn edit(
    ctx: &Ctx,
    id: IncidentId,
    doc: &str,
    source: EditedText<'_>,
    reason: Option<&str>,
    html: bool,
) -> Result<(), CliError> {
    let text = match source {
        EditedText::File(file) => {
            crate::adapters::files::read_bounded(file, crate::domain::bounds::MAX_TEXT_FILE_BYTES)?
        }
        EditedText::Editor => {
            let current = {
                let store = open_store(ctx)?;
                app::documents::body_of(&store, id, doc, None)?.1.text
            };
            // The store is closed while the person edits, so other commands are not locked out.
            crate::adapters::files::edit_in_editor(&current, doc).map_err(CliError::Failed)?
        }
    };
    store_edit(ctx, id, doc, &text, reason, html)
}

fn store_edit(
    ctx: &Ctx,
    id: IncidentId,
    doc: &str,
    text: &str,
    reason: Option<&str>,
    html: bool,
) -> Result<(), CliError> {
    let templates = super::templates(ctx)?;
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let (v, body, is_new) = app::documents::edit(
        &store,
        &ctx.app(),
        &org,
        &templates,
        id,
        doc,
        text,
        reason,
        None,
    )?;
    match ctx.format {
        Format::Json => output::print_json(&json!({ "id": id, "document": v, "stored": is_new })),
        Format::Table | Format::Csv | Format::Html => {
            if !is_new {
                output::print(&format!(
                    "{id}: {doc} unchanged: the text is that of version {}",
                    v.version
                ));
                return Ok(());
            }
            let mut s = format!(
                "{id}: {doc} version {} stored, edited by {} from version {} (sha256 {}).",
                v.version,
                v.rendered_by,
                v.edit.as_ref().map_or(0, |e| e.from_version),
                crate::render::format::short(&v.sha256, 12)
            );
            if html {
                s = format!(
                    "{}
{s}",
                    body.html
                );
            }
            if let Some(e) = &v.edit
                && !e.omitted.is_empty()
            {
                s.push_str(&format!(
                    "
Required content no longer present: {}.",
                    e.omitted.join("; ")
                ));
                match &e.reason {
                    Some(r) => s.push_str(&format!(" Reason given: {r}")),
                    None => s.push_str(
                        " It cannot be approved until that is put back or a reason is given (--reason).",
                    ),
                }
            }
            output::print(&s);
        }
    }
    Ok(())
}

/// Writes `text` to `path` readable by the owner only, via a new temporary file (never through
/// a link) and a rename, so a crash never leaves half a document. A path the person chose is
/// checked first with [`super::check_output`].
pub fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    crate::adapters::files::write_private(path, text.as_bytes())
        .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))
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
    let found = app::documents::check(&store, &ctx.app(), &templates, id, name, obligation)?;
    let serving = found.obligation.as_ref();
    let missing = &found.missing;
    let rows: Vec<serde_json::Value> = missing
        .iter()
        .map(|m| json!({ "fact": m.label, "path": m.path, "may_follow": m.may_follow, "basis": m.basis }))
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
                crate::cli::output::fit(&mut tbl);
                s.push_str(&format!(
                    "{} missing: {} needed now, {} may follow in a later report.\n{tbl}",
                    missing.len(),
                    now_needed,
                    missing.len() - now_needed
                ));
                if now_needed == 0 && app::documents::allows_phases(serving) {
                    s.push_str(&format!(
                        "\nA phased report can be filed now: `breachflow render {id} {} --phased` states that the {} will follow.",
                        t.name,
                        if missing.len() == 1 { "fact" } else { "facts" }
                    ));
                }
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
                let mut status = match (&d.approval, d.missing.len()) {
                    (Some(a), _) => format!("approved by {} {}", a.by, instant(a.at, org.zone())),
                    (None, 0) => "awaiting approval".into(),
                    (None, n) => format!("draft: {n} missing"),
                };
                if !d.deferred.is_empty() {
                    status.push_str(&format!("; phased: {} to follow", d.deferred.len()));
                }
                if let Some(e) = &d.edit {
                    status.push_str(&format!("; edited from version {}", e.from_version));
                    if !e.omitted.is_empty() {
                        status.push_str(&format!("; omits {} required", e.omitted.len()));
                    }
                }
                t.add_row(vec![
                    d.document.clone(),
                    d.version.to_string(),
                    instant(d.rendered_at, org.zone()),
                    d.rendered_by.clone(),
                    status,
                    crate::render::format::short(&d.sha256, 16).to_string(),
                ]);
            }
            crate::cli::output::fit(&mut t);
            output::print(&t.to_string());
        }
    }
    Ok(())
}

/// `breachflow documents show ID DOC [--version N] [--html]`.
pub fn show(
    ctx: &Ctx,
    id: IncidentId,
    doc: &str,
    version: Option<u32>,
    html: bool,
) -> Result<(), CliError> {
    let store = open_store(ctx)?;
    let (v, body) = app::documents::body_of(&store, id, doc, version)?;
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
    let store = open_store(ctx)?;
    let d = app::documents::diff(&store, id, doc, a, b)?;
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
    let store = open_store(ctx)?;
    let org = store.require_organisation()?;
    let (record, newly) = app::documents::approve(&store, &ctx.app(), id, doc, version, note)?;
    let v = app::documents::version_of(&record, doc, version)?;
    match ctx.format {
        Format::Json => {
            output::print_json(&json!({ "id": id, "document": v, "already_approved": !newly }))
        }
        Format::Table | Format::Csv | Format::Html if !newly => {
            let (by, at) = v
                .approval
                .as_ref()
                .map(|a| (a.by.clone(), instant(a.at, org.zone())))
                .unwrap_or_default();
            output::print(&format!(
                "{id}: {doc} version {} is already approved (by {by} at {at}); nothing changed.",
                v.version
            ));
        }
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
                crate::render::format::short(&v.sha256, 12),
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
            crate::cli::output::fit(&mut tbl);
            output::print(&tbl.to_string());
        }
    }
    Ok(())
}
