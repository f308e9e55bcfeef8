//! The document workspace: one document of one incident, its versions, the chosen version as
//! it will print, the facts it still lacks, and the acts on it: render a new version, edit its
//! text (stored as a new version with its author, hashes and diff), approve (four-eyes; the
//! button says why it is disabled), send by mail or record it filed; and any two versions side
//! by side.
//!
//! Every act is the app use-case the command line runs (`render`, `documents edit`, `approve`,
//! `send`, `obligation complete`), under the permission table's role for this document's class.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shared, SignedIn, Wrote, fields, page, read, refused, see_other, who, write};
use crate::app;
use crate::domain::document::{DocumentBody, DocumentVersion};
use crate::domain::incident::IncidentId;
use crate::domain::permission::{Action, DocumentClass, permits};
use crate::domain::record::IncidentRecord;
use crate::render::format::{instant, short};

/// The workspace's address for one document of one incident.
fn home(id: IncidentId, doc: &str) -> String {
    format!("/incidents/{id}/documents/{doc}")
}

/// The incident and the document a path names (a document is a template's name), or the
/// "not found" page.
// The error is the page itself, answered at once; boxing it would buy nothing.
#[allow(clippy::result_large_err)]
fn named(
    shared: &Shared,
    signed: &SignedIn,
    id: &str,
    doc: &str,
) -> Result<(IncidentId, String), Response> {
    let not_found = |m: &str| refused(shared, StatusCode::NOT_FOUND, m, Some(signed));
    let Ok(id) = id.parse::<IncidentId>() else {
        return Err(not_found(
            "that is not an incident id (they look like BR-2024-0001)",
        ));
    };
    match shared.templates.get(doc) {
        Ok(t) => Ok((id, t.name.clone())),
        Err(e) => Err(not_found(&e.to_string())),
    }
}

/// A query string's fields, leniently: anything unreadable is as if absent.
fn query<T: for<'de> Deserialize<'de> + Default>(raw: Option<String>) -> T {
    raw.and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default()
}

/// A version number as a form or query gives it.
fn number(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

#[derive(Deserialize, Default)]
struct View {
    #[serde(default)]
    version: String,
}

/// What the person may do with this document, from the permission table.
struct Allowed {
    render: bool,
    approve: bool,
    send: bool,
    file: bool,
}

fn allowed(signed: &SignedIn, doc: &str) -> Allowed {
    let roles = &signed.principal.roles;
    let class = DocumentClass::of(doc);
    Allowed {
        render: permits(roles, &Action::Render(class)).is_some(),
        approve: permits(roles, &Action::Approve).is_some(),
        send: permits(roles, &Action::Send(class)).is_some(),
        file: permits(roles, &Action::RecordFacts).is_some(),
    }
}

/// The role a sentence of refusal names, for an action this person lacks.
fn needs(action: &Action) -> String {
    format!(
        "needs the {} role",
        crate::domain::account::Role::list(crate::domain::permission::allowed(action), " or ")
    )
}

/// `GET /incidents/{id}/documents/{doc}`: the workspace (`?version=N` for an older version).
pub async fn workspace(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path((id, doc)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let view: View = query(raw);
    workspace_page(shared, signed, id, doc, number(&view.version), None).await
}

/// What went wrong with a form on the workspace, shown beside that form.
struct Problem {
    /// Which form: `render`, `approve`, `send` or `file`.
    form: &'static str,
    message: String,
}

/// Everything the workspace shows, read in one go.
struct Seen {
    zone: chrono_tz::Tz,
    record: IncidentRecord,
    check: app::documents::Check,
    chosen: Option<(DocumentVersion, DocumentBody)>,
    blocked: Option<String>,
    contacts: Vec<(String, String, String)>,
}

async fn workspace_page(
    shared: Arc<Shared>,
    signed: SignedIn,
    id: String,
    doc: String,
    version: Option<u32>,
    problem: Option<Problem>,
) -> Response {
    let (id, doc) = match named(&shared, &signed, &id, &doc) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let may = allowed(&signed, &doc);
    let now = crate::adapters::clock::now_or(None);
    let principal = signed.principal.clone();
    let templates = shared.templates.clone();
    let name = doc.clone();
    let found = read(&shared, &signed, move |store| {
        let org = store.require_organisation()?;
        let record = store.incident(id)?;
        // Reading needs no role; the context only carries the time and the person.
        let role = permits(&principal.roles, &Action::Approve)
            .or(principal.roles.first().copied())
            .unwrap_or(crate::domain::account::Role::Auditor);
        let ctx = app::Context::authenticated(now, &principal, role);
        let check = app::documents::check(store, &ctx, &templates, id, &name, None)?;
        let chosen = match record.versions(&name).last() {
            None => None,
            Some(_) => Some(app::documents::body_of(store, id, &name, version)?),
        };
        let blocked = match (&chosen, permits(&principal.roles, &Action::Approve)) {
            (Some((v, _)), Some(_)) => {
                app::documents::approval_blocked(store, &ctx, id, &name, v.version)?
            }
            _ => None,
        };
        let contacts = org
            .contacts
            .iter()
            .map(|c| (c.role.clone(), c.name.clone(), c.email.clone()))
            .collect();
        Ok(Seen {
            zone: org.zone(),
            record,
            check,
            chosen,
            blocked,
            contacts,
        })
    })
    .await;
    let seen = match found {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(t) = shared.templates.get(&doc) else {
        return refused(
            &shared,
            StatusCode::NOT_FOUND,
            "no such document",
            Some(&signed),
        );
    };
    let mut data = workspace_data(&seen, t, &may, id, &doc);
    if let Some(map) = data.as_object_mut() {
        map.insert("who".into(), who(&signed));
        for form in ["render", "approve", "send", "file"] {
            map.insert(format!("{form}_error"), Value::Null);
        }
        if let Some(p) = &problem {
            map.insert(format!("{}_error", p.form), json!(p.message));
        }
    }
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(&shared, status, "document", data)
}

/// The workspace's data: pure, from what was read.
fn workspace_data(
    seen: &Seen,
    t: &crate::render::template::Template,
    may: &Allowed,
    id: IncidentId,
    doc: &str,
) -> Value {
    let zone = seen.zone;
    let r = &seen.record;
    let at = |t| instant(t, zone);
    let chosen_no = seen.chosen.as_ref().map(|(v, _)| v.version);
    let latest = r.versions(doc).last().map(|v| v.version);
    let before_latest = latest.and_then(|l| l.checked_sub(1)).filter(|p| *p >= 1);
    let versions: Vec<Value> = r
        .versions(doc)
        .map(|v| {
            json!({
                "version": v.version,
                "at": at(v.rendered_at),
                "by": v.rendered_by,
                "how": match &v.edit {
                    Some(e) => format!("edited from version {}", e.from_version),
                    None => "generated from the template".into(),
                },
                "status": status(v, zone),
                "sha": short(&v.sha256, 12),
                "chosen": Some(v.version) == chosen_no,
                "sel_a": Some(v.version) == before_latest,
                "sel_b": Some(v.version) == latest,
            })
        })
        .collect();
    let chosen = seen.chosen.as_ref().map(|(v, body)| {
        let edit = v.edit.as_ref().map(|e| {
            json!({
                "from": e.from_version,
                "generated": e.generated_version,
                "omitted": e.omitted,
                "reason": e.reason,
                "compare_generated": format!("{}/compare?a={}&b={}", home(id, doc), e.generated_version, v.version),
                "compare_previous": format!("{}/compare?a={}&b={}", home(id, doc), e.from_version, v.version),
                "differs_from_previous": e.from_version != e.generated_version,
            })
        });
        json!({
            "version": v.version,
            "latest": Some(v.version) == latest,
            "at": at(v.rendered_at),
            "by": v.rendered_by,
            "status": status(v, zone),
            "approved": v.approval.is_some(),
            "missing": v.missing,
            "deferred": v.deferred,
            "obligation": v.obligation,
            "sha256": v.sha256,
            "html_sha256": v.html_sha256,
            "template_sha256": v.template_sha256,
            "facts_sha256": v.facts_sha256,
            "edit": edit,
            "text": body.text,
            "print": format!("{}/versions/{}/print", home(id, doc), v.version),
            "previous": v.version.checked_sub(1).filter(|p| *p >= 1),
        })
    });
    let missing: Vec<Value> = seen
        .check
        .missing
        .iter()
        .map(|m| {
            json!({
                "label": m.label,
                "path": m.path,
                "may_follow": m.may_follow,
                "basis": m.basis,
            })
        })
        .collect();
    let focus: Vec<String> = seen
        .check
        .missing
        .iter()
        .filter_map(|m| update_pointer(&m.path))
        .collect();
    let back = home(id, doc);
    let fill = (!focus.is_empty()).then(|| {
        let q = serde_urlencoded::to_string([("focus", focus.join(",")), ("return", back.clone())])
            .unwrap_or_default();
        format!("/incidents/{id}/facts?{q}")
    });
    let phased = app::documents::allows_phases(seen.check.obligation.as_ref());
    let approve_why = if !may.approve {
        Some(format!(
            "You cannot approve: approving {}.",
            needs(&Action::Approve)
        ))
    } else if seen
        .chosen
        .as_ref()
        .is_some_and(|(v, _)| v.approval.is_some())
    {
        None
    } else {
        seen.blocked.as_deref().map(super::in_words)
    };
    let contacts: Vec<Value> = seen
        .contacts
        .iter()
        .map(|(role, name, email)| json!({"role": role, "name": name, "email": email}))
        .collect();
    let open_serving: Vec<Value> = r
        .obligations
        .iter()
        .filter(|o| o.state.is_open() && t.manifest.serves.contains(&o.id))
        .map(|o| json!({"id": o.id, "regime_name": o.regime_name, "recipient": o.recipient}))
        .collect();
    let class = DocumentClass::of(doc);
    json!({
        "title": format!("{} – {}", t.manifest.title, r.id),
        "zone": zone.name(),
        "id": id.to_string(),
        "incident_title": r.facts.title,
        "doc": doc,
        "doc_title": t.manifest.title,
        "audience": t.manifest.audience,
        "serves": t.manifest.serves,
        "home": back,
        "versions": versions,
        "has_versions": !versions.is_empty(),
        "two_or_more": versions.len() >= 2,
        "chosen": chosen,
        "missing": missing,
        "missing_any": !missing.is_empty(),
        "fill": fill,
        "obligation": seen.check.obligation.as_ref().map(|o| o.id.clone()),
        "phased": phased,
        "may": {
            "render": may.render,
            "approve": may.approve,
            "send": may.send,
            "file": may.file,
        },
        "render_why": (!may.render).then(|| format!("Rendering or editing this document {}.", needs(&Action::Render(class)))),
        "approve_why": approve_why,
        "send_why": (!may.send).then(|| format!("Sending this document {}.", needs(&Action::Send(class)))),
        "contacts": contacts,
        "open_serving": open_serving,
        "can_file": !open_serving.is_empty(),
    })
}

/// Where a missing fact of the case file (`details.cause`, `incident.containment`) is given on
/// the facts form: a JSON pointer into an incident update (`/details/cause`, `/containment`).
/// `None` for a fact the update does not carry (an assessment's, a decision's, the
/// organisation's): those have their own forms.
fn update_pointer(path: &str) -> Option<String> {
    if let Some(field) = path.strip_prefix("incident.") {
        return (!field.contains('.')).then(|| format!("/{field}"));
    }
    path.strip_prefix("details.")
        .map(|rest| format!("/details/{}", rest.replace('.', "/")))
}

/// A version's standing, in words.
pub(super) fn status(v: &DocumentVersion, zone: chrono_tz::Tz) -> String {
    match (&v.approval, v.missing.len()) {
        (Some(a), _) => format!("approved by {} {}", a.by, instant(a.at, zone)),
        (None, 0) => "awaiting approval".into(),
        (None, 1) => "draft: 1 fact missing".into(),
        (None, n) => format!("draft: {n} facts missing"),
    }
}

/// `GET /incidents/{id}/documents/{doc}/versions/{version}/print`: the stored HTML of a
/// version as it prints (checked against its recorded hash first), for the workspace's preview
/// frame and for printing. It carries its own style, so it gets its own, narrower policy: no
/// script at all, inline style only, framed only by the workspace.
pub async fn print(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path((id, doc, version)): Path<(String, String, String)>,
) -> Response {
    let (id, doc) = match named(&shared, &signed, &id, &doc) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(version) = number(&version) else {
        return refused(
            &shared,
            StatusCode::NOT_FOUND,
            "that is not a version number",
            Some(&signed),
        );
    };
    let found = read(&shared, &signed, move |store| {
        app::documents::body_of(store, id, &doc, Some(version))
    })
    .await;
    match found {
        Ok((_, body)) => {
            let mut r = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                body.html,
            )
                .into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(crate::server::http::DOCUMENT_CSP),
            );
            h.insert(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("SAMEORIGIN"),
            );
            r
        }
        Err(r) => r,
    }
}

#[derive(Deserialize, Default)]
struct RenderForm {
    #[serde(default)]
    mode: String,
}

/// `POST /incidents/{id}/documents/{doc}/render`: a new version from the facts as they are
/// now (`render`): complete, a draft with markers, or a report in phases.
pub async fn render(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path((id, doc)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let (incident, name) = match named(&shared, &signed, &id, &doc) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f: RenderForm = fields(&body);
    let mode = match f.mode.as_str() {
        "draft" => app::documents::Mode::Draft,
        "phased" => app::documents::Mode::Phased,
        _ => app::documents::Mode::Complete,
    };
    let templates = shared.templates.clone();
    let n = name.clone();
    let done = write(
        &shared,
        &signed,
        Action::Render(DocumentClass::of(&name)),
        "Rendering this document",
        move |store, ctx| {
            let org = store.require_organisation()?;
            app::documents::produce(store, ctx, &org, &templates, incident, &n, None, mode)
        },
    )
    .await;
    match done {
        Wrote::Done((v, _, _)) => see_other(
            &format!("{}?version={}", home(incident, &name), v.version),
            &signed,
        ),
        Wrote::Refused(e) => {
            let problem = Problem {
                form: "render",
                message: super::said(&e),
            };
            workspace_page(shared, signed, id, doc, None, Some(problem)).await
        }
        Wrote::Page(r) => r,
    }
}

#[derive(Deserialize, Default)]
struct ApproveForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    note: String,
}

/// `POST /incidents/{id}/documents/{doc}/approve`: approves the version shown (`approve`);
/// four-eyes and the other rules refuse beside the button, storing nothing.
pub async fn approve(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path((id, doc)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let (incident, name) = match named(&shared, &signed, &id, &doc) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f: ApproveForm = fields(&body);
    let Some(version) = number(&f.version) else {
        let problem = Problem {
            form: "approve",
            message: "say which version to approve".into(),
        };
        return workspace_page(shared, signed, id, doc, None, Some(problem)).await;
    };
    let note = Some(f.note.trim().to_string()).filter(|n| !n.is_empty());
    let n = name.clone();
    let done = write(
        &shared,
        &signed,
        Action::Approve,
        "Approving a document",
        move |store, ctx| {
            app::documents::approve(store, ctx, incident, &n, Some(version), note.as_deref())
        },
    )
    .await;
    match done {
        Wrote::Done(_) => see_other(
            &format!("{}?version={version}", home(incident, &name)),
            &signed,
        ),
        Wrote::Refused(e) => {
            let problem = Problem {
                form: "approve",
                message: super::said(&e),
            };
            workspace_page(shared, signed, id, doc, Some(version), Some(problem)).await
        }
        Wrote::Page(r) => r,
    }
}

#[derive(Deserialize, Default)]
struct EditForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    reason: String,
    /// The version the text was edited from, as the form showed it.
    #[serde(default)]
    from: String,
}

/// `GET /incidents/{id}/documents/{doc}/edit`: the latest version's text to change.
pub async fn edit_form(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path((id, doc)): Path<(String, String)>,
) -> Response {
    edit_page(shared, signed, id, doc, None, None).await
}

/// `POST /incidents/{id}/documents/{doc}/edit`: stores the text as a new version (`documents
/// edit`), with its author, hashes and its diff from the generated text; then the workspace
/// shows it. A text unchanged stores nothing; a newer version stored meanwhile refuses.
pub async fn edit(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path((id, doc)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let (incident, name) = match named(&shared, &signed, &id, &doc) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f: EditForm = fields(&body);
    // A browser sends a textarea's lines with CRLF; the stored text keeps the template's LF.
    let text = f.text.replace("\r\n", "\n");
    if text.trim().is_empty() {
        let e = "the text is empty: a document needs its words; nothing was stored".to_string();
        return edit_page(shared, signed, id, doc, Some(f), Some(e)).await;
    }
    let reason = Some(f.reason.clone()).filter(|r| !r.trim().is_empty());
    let seen = number(&f.from);
    let templates = shared.templates.clone();
    let n = name.clone();
    let done = write(
        &shared,
        &signed,
        Action::Render(DocumentClass::of(&name)),
        "Editing this document",
        move |store, ctx| {
            let org = store.require_organisation()?;
            app::documents::edit(
                store,
                ctx,
                &org,
                &templates,
                incident,
                &n,
                &text,
                reason.as_deref(),
                seen,
            )
        },
    )
    .await;
    match done {
        Wrote::Done((v, _, _)) => see_other(
            &format!("{}?version={}", home(incident, &name), v.version),
            &signed,
        ),
        Wrote::Refused(e) => {
            edit_page(shared, signed, id, doc, Some(f), Some(super::said(&e))).await
        }
        Wrote::Page(r) => r,
    }
}

async fn edit_page(
    shared: Arc<Shared>,
    signed: SignedIn,
    id: String,
    doc: String,
    typed: Option<EditForm>,
    error: Option<String>,
) -> Response {
    let (incident, name) = match named(&shared, &signed, &id, &doc) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let may = allowed(&signed, &name);
    if !may.render {
        let class = DocumentClass::of(&name);
        return refused(
            &shared,
            StatusCode::FORBIDDEN,
            &format!("Editing this document {}.", needs(&Action::Render(class))),
            Some(&signed),
        );
    }
    let n = name.clone();
    let found = read(&shared, &signed, move |store| {
        let org = store.require_organisation()?;
        let record = store.incident(incident)?;
        let latest = app::documents::body_of(store, incident, &n, None)?;
        Ok((org.zone(), record.facts.title, latest))
    })
    .await;
    let (zone, title, (v, body)) = match found {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (text, reason, from) = match typed {
        Some(t) => (t.text, t.reason, number(&t.from).unwrap_or(v.version)),
        None => (body.text, String::new(), v.version),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let doc_title = shared
        .templates
        .get(&name)
        .map(|t| t.manifest.title.clone())
        .unwrap_or_default();
    page(
        &shared,
        status,
        "document-edit",
        json!({
            "title": format!("Edit {doc_title} – {incident}"),
            "zone": zone.name(),
            "id": incident.to_string(),
            "incident_title": title,
            "doc": name,
            "doc_title": doc_title,
            "home": home(incident, &name),
            "from": from,
            "from_status": status_line(&v, zone),
            "text": text,
            "reason": reason,
            "error": error,
            "who": who(&signed),
        }),
    )
}

fn status_line(v: &DocumentVersion, zone: chrono_tz::Tz) -> String {
    format!(
        "stored {} by {}; {}",
        instant(v.rendered_at, zone),
        v.rendered_by,
        status(v, zone)
    )
}

#[derive(Deserialize, Default)]
struct Pair {
    #[serde(default)]
    a: String,
    #[serde(default)]
    b: String,
}

/// `GET /incidents/{id}/documents/{doc}/compare?a=N&b=M`: two versions side by side.
pub async fn compare(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path((id, doc)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (incident, name) = match named(&shared, &signed, &id, &doc) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let pair: Pair = query(raw);
    let n = name.clone();
    let found = read(&shared, &signed, move |store| {
        let org = store.require_organisation()?;
        let record = store.incident(incident)?;
        let latest = record.versions(&n).last().map(|v| v.version).unwrap_or(0);
        let b = number(&pair.b).unwrap_or(latest);
        let a = number(&pair.a).unwrap_or(b.saturating_sub(1).max(1));
        let left = app::documents::body_of(store, incident, &n, Some(a))?;
        let right = app::documents::body_of(store, incident, &n, Some(b))?;
        let all: Vec<u32> = record.versions(&n).map(|v| v.version).collect();
        Ok((org.zone(), record.facts.title, left, right, all))
    })
    .await;
    let (zone, title, (va, ba), (vb, bb), all) = match found {
        Ok(x) => x,
        Err(r) => return r,
    };
    let rows: Vec<Value> = crate::render::compare::side_by_side(&ba.text, &bb.text, 3)
        .into_iter()
        .map(|row| match row {
            Some(r) => {
                let mut v = json!(r);
                v["cut"] = json!(false);
                v
            }
            None => json!({"cut": true, "change": "cut", "left": null, "right": null, "left_no": null, "right_no": null}),
        })
        .collect();
    let changed = rows
        .iter()
        .filter(|r| r["change"].as_str().is_some_and(|c| c != "same"))
        .count();
    let choices = |chosen: u32| -> Vec<Value> {
        all.iter()
            .map(|n| json!({"version": n, "selected": *n == chosen}))
            .collect()
    };
    let doc_title = shared
        .templates
        .get(&name)
        .map(|t| t.manifest.title.clone())
        .unwrap_or_default();
    page(
        &shared,
        StatusCode::OK,
        "compare",
        json!({
            "title": format!("{doc_title}: version {} and {} – {incident}", va.version, vb.version),
            "zone": zone.name(),
            "id": incident.to_string(),
            "incident_title": title,
            "doc": name,
            "doc_title": doc_title,
            "home": home(incident, &name),
            "a": va.version,
            "b": vb.version,
            "a_status": status_line(&va, zone),
            "b_status": status_line(&vb, zone),
            "a_choices": choices(va.version),
            "b_choices": choices(vb.version),
            "rows": rows,
            "changed": changed,
            "who": who(&signed),
        }),
    )
}

#[derive(Default)]
struct SendForm {
    version: String,
    /// The address book's roles ticked (a form repeats the field once per box).
    to: Vec<String>,
    address: String,
}

/// Reads the send form: `to` is repeated once per ticked role.
fn send_form(body: &[u8]) -> SendForm {
    let mut f = SendForm::default();
    for (k, v) in super::fields::<Vec<(String, String)>>(body) {
        match k.as_str() {
            "version" => f.version = v,
            "to" => f.to.push(v),
            "address" => f.address = v,
            _ => {}
        }
    }
    f
}

/// `POST /incidents/{id}/documents/{doc}/send`: mails the approved version to the roles ticked
/// (and an address typed), through the outbox: at most once per address and version, held when
/// the disclosure order says another audience must hear first (`send`).
pub async fn send(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path((id, doc)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let (incident, name) = match named(&shared, &signed, &id, &doc) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = send_form(&body);
    let mut to: Vec<String> =
        f.to.iter()
            .filter(|t| !t.trim().is_empty())
            .cloned()
            .collect();
    if !f.address.trim().is_empty() {
        to.push(f.address.trim().to_string());
    }
    let version = number(&f.version);
    if to.is_empty() {
        let problem = Problem {
            form: "send",
            message: "choose at least one recipient (a role from the address book, or an address)"
                .into(),
        };
        return workspace_page(shared, signed, id, doc, version, Some(problem)).await;
    }
    let templates = shared.templates.clone();
    let n = name.clone();
    let done = super::sending(
        &shared,
        &signed,
        Action::Send(DocumentClass::of(&name)),
        "Sending this document",
        move |post| {
            let request = app::send::SendRequest {
                id: incident,
                document: &n,
                version,
                to: &to,
                audience: None,
            };
            app::send::send(post, &templates, &request)
        },
    )
    .await;
    match done {
        Wrote::Done(_) => see_other(&format!("/incidents/{incident}#outbox-heading"), &signed),
        Wrote::Refused(e) => {
            let problem = Problem {
                form: "send",
                message: super::said(&e),
            };
            workspace_page(shared, signed, id, doc, version, Some(problem)).await
        }
        Wrote::Page(r) => r,
    }
}

#[derive(Deserialize, Default)]
struct FileForm {
    #[serde(default)]
    obligation: String,
    #[serde(default)]
    reference: String,
    /// `filed` (a regulator's portal) or `sent` (published or sent outside breachflow).
    #[serde(default)]
    how: String,
    #[serde(default)]
    late_reason: String,
}

/// `POST /incidents/{id}/documents/{doc}/file`: records that the approved document was filed
/// (a regulator's portal) or published, now, with the reference given (`obligation
/// complete`); the obligation is met only with an approved version, as on the command line.
pub async fn file(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path((id, doc)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let (incident, _) = match named(&shared, &signed, &id, &doc) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f: FileForm = fields(&body);
    let rules = shared.rulebook.clone();
    let templates = shared.templates.clone();
    let completion = app::incident::Completion {
        obligation: f.obligation.trim().to_string(),
        at: None,
        reference: Some(f.reference.trim().to_string()).filter(|r| !r.is_empty()),
        late_reason: Some(f.late_reason.trim().to_string()).filter(|r| !r.is_empty()),
        sent: f.how == "sent",
    };
    let done = write(
        &shared,
        &signed,
        Action::RecordFacts,
        "Recording a filing",
        move |store, ctx| {
            app::incident::complete(store, ctx, &rules, &templates, incident, completion)
        },
    )
    .await;
    match done {
        Wrote::Done(_) => see_other(&format!("/incidents/{incident}"), &signed),
        Wrote::Refused(e) => {
            let problem = Problem {
                form: "file",
                message: super::said(&e),
            };
            workspace_page(shared, signed, id, doc, None, Some(problem)).await
        }
        Wrote::Page(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::update_pointer;

    #[test]
    fn a_missing_fact_is_asked_for_where_the_facts_form_takes_it() {
        assert_eq!(
            update_pointer("details.cause").as_deref(),
            Some("/details/cause")
        );
        assert_eq!(
            update_pointer("details.announcement.headline").as_deref(),
            Some("/details/announcement/headline")
        );
        assert_eq!(
            update_pointer("incident.containment").as_deref(),
            Some("/containment")
        );
        // Not facts of an update: the assessment's and the organisation's have their forms.
        assert_eq!(update_pointer("assessment.likelihood"), None);
        assert_eq!(update_pointer("org.address"), None);
        assert_eq!(update_pointer("incident.reporter.name"), None);
    }
}
