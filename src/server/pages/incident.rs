//! The incident page: facts, assessment, decision, obligations with how each due time was
//! worked out, documents, the incident's outbox and the timeline.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::{Shared, SignedIn, iso, page, read, refused, who, zone};
use crate::app;
use crate::domain::incident::IncidentId;
use crate::domain::record::IncidentRecord;
use crate::render::format::{instant, recorded_later, who as event_who};
use crate::render::words::{due_words, event_line, remaining};

/// `GET /incidents/{id}`: everything about one incident.
pub async fn incident(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<IncidentId>() else {
        return refused(
            &shared,
            StatusCode::NOT_FOUND,
            "that is not an incident id (they look like BR-2024-0001)",
            Some(&signed),
        );
    };
    let now = crate::adapters::clock::now_or(None);
    let found = read(&shared, &signed, move |store| {
        let shown = app::incident::show(store, id)?;
        // As stored: reading a page never records a recovery (the outbox page does, as
        // `breachflow outbox` does).
        let messages = app::outbox::as_stored(store, Some(id))?;
        Ok((zone(store)?, shown, messages))
    })
    .await;
    let (zone, (record, events), messages) = match found {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut data = incident_data(&record, &events, &shared.templates, now, zone);
    if let Some(map) = data.as_object_mut() {
        map.insert("who".into(), who(&signed));
        let outbox: Vec<Value> = messages
            .iter()
            .map(|m| super::outbox::message_row(m, zone))
            .collect();
        map.insert("outbox".into(), Value::Array(outbox));
    }
    page(&shared, StatusCode::OK, "incident", data)
}

/// The incident page's data: pure.
pub fn incident_data(
    r: &IncidentRecord,
    events: &[crate::domain::event::Event],
    templates: &crate::render::template::TemplateSet,
    now: DateTime<Utc>,
    zone: Tz,
) -> Value {
    let f = &r.facts;
    let when = |t: Option<DateTime<Utc>>| t.map(|t| instant(t, zone)).unwrap_or("unknown".into());
    let obligations: Vec<Value> = r
        .obligations
        .iter()
        .map(|o| {
            let at = o.due.instant();
            let open = o.state.is_open();
            json!({
                "id": o.id,
                "regime_name": o.regime_name,
                "citation": o.citation,
                "recipient": o.recipient,
                "due": due_words(&o.due, zone),
                "due_iso": at.map(iso),
                "statutory": o.due.is_statutory(),
                "left": remaining(&o.due, now),
                "open": open,
                "overdue": open && o.due.is_statutory() && at.is_some_and(|at| now > at),
                "state": o.state.to_string(),
                "explain": o.due.explain(),
            })
        })
        .collect();
    // One row per document, its latest version; then what could still be prepared, those
    // serving an obligation of this incident first.
    let mut documents = Vec::new();
    let mut not_yet: Vec<(bool, Value)> = Vec::new();
    for t in templates.documents() {
        let owed: Vec<&str> = r
            .obligations
            .iter()
            .filter(|o| t.manifest.serves.contains(&o.id))
            .map(|o| o.id.as_str())
            .collect();
        match r.versions(&t.name).last() {
            Some(d) => documents.push(json!({
                "document": d.document,
                "title": d.title,
                "version": d.version,
                "rendered": instant(d.rendered_at, zone),
                "by": d.rendered_by,
                "status": super::documents::status(d, zone),
                "href": format!("/incidents/{}/documents/{}", r.id, d.document),
            })),
            None => not_yet.push((
                owed.is_empty(),
                json!({
                    "document": t.name,
                    "title": t.manifest.title,
                    "audience": t.manifest.audience,
                    "owed": owed.join(", "),
                    "href": format!("/incidents/{}/documents/{}", r.id, t.name),
                }),
            )),
        }
    }
    not_yet.sort_by_key(|(unowed, _)| *unowed);
    let not_yet: Vec<Value> = not_yet.into_iter().map(|(_, v)| v).collect();
    let timeline: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "at": instant(e.at, zone),
                "at_iso": iso(e.at),
                "who": event_who(e),
                "what": event_line(&e.what, zone),
                "later": recorded_later(e, zone),
            })
        })
        .collect();
    json!({
        "title": format!("{} {}", r.id, f.title),
        "now_iso": iso(now),
        "zone": zone.name(),
        "id": r.id.to_string(),
        "state": r.state.to_string(),
        "opened": instant(r.opened_at, zone),
        "opened_by": r.opened_by,
        "facts": {
            "title": f.title,
            "detected": instant(f.detected_at, zone),
            "aware": instant(f.aware_at, zone),
            "awareness_why": f.awareness_justification,
            "occurred": format!("from {} to {}", when(f.occurred.from), when(f.occurred.to)),
            "discovery": f.discovery,
            "impact": f.impact.labels().join(", "),
            "systems": f.systems_affected.join(", "),
            "containment": f.containment,
            "reporter": match &f.reporter.role {
                Some(role) => format!("{} ({role})", f.reporter.name),
                None => f.reporter.name.clone(),
            },
            "summary": f.summary,
        },
        "assessment": r.current_assessment().map(|a| crate::render::words::assessment(a, zone)),
        "decision": r.current_decision().map(|d| crate::render::words::decision(d, zone)),
        "obligations": obligations,
        "documents": documents,
        "not_yet": not_yet,
        "timeline": timeline,
    })
}
