//! The dashboard: every open obligation soonest (so overdue) first, and incidents by state.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::{Shared, SignedIn, iso, page, read, who, zone};
use crate::app;
use crate::render::format::instant;
use crate::render::words::{due_words, remaining};

/// `GET /dashboard`: every open obligation with a due time, soonest (so overdue) first, and
/// the newest incidents by state.
pub async fn dashboard(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    let now = crate::adapters::clock::now_or(None);
    let found = read(&shared, &signed, move |store| {
        Ok((zone(store)?, app::deadlines::dashboard(store, now)?))
    })
    .await;
    let (zone, board) = match found {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut data = dashboard_data(&board, now, zone);
    if let Some(map) = data.as_object_mut() {
        map.insert("who".into(), who(&signed));
    }
    page(&shared, StatusCode::OK, "dashboard", data)
}

/// The dashboard's data: pure, from what the app layer read.
pub fn dashboard_data(board: &app::deadlines::Dashboard, now: DateTime<Utc>, zone: Tz) -> Value {
    let due: Vec<Value> = board
        .due
        .iter()
        .map(|row| {
            let (r, o) = (row.record.as_ref(), row.obligation());
            let at = o.due.instant();
            let overdue = o.due.is_statutory() && at.is_some_and(|at| now > at);
            json!({
                "incident": r.id.to_string(),
                "incident_title": r.facts.title,
                "obligation": o.id,
                "regime_name": o.regime_name,
                "citation": o.citation,
                "recipient": o.recipient,
                "owner": o.owner_role,
                "due": due_words(&o.due, zone),
                "due_iso": at.map(iso),
                "statutory": o.due.is_statutory(),
                "left": remaining(&o.due, now),
                "overdue": overdue,
                "warning": crate::domain::obligation::warning(&o.due, now).is_some(),
            })
        })
        .collect();
    let overdue = due.iter().filter(|d| d["overdue"] == true).count();
    // Newest first within each state; states in the lifecycle's order.
    let mut states: Vec<(crate::domain::lifecycle::State, Vec<Value>)> = Vec::new();
    for r in &board.recent {
        let entry = json!({"id": r.id.to_string(), "title": r.facts.title, "opened": instant(r.opened_at, zone)});
        match states.iter_mut().find(|(s, _)| *s == r.state) {
            Some((_, list)) => list.push(entry),
            None => states.push((r.state, vec![entry])),
        }
    }
    states.sort_by_key(|(s, _)| *s as u8);
    let states: Vec<Value> = states
        .into_iter()
        .map(|(s, list)| json!({"state": s.to_string(), "count": list.len(), "incidents": list}))
        .collect();
    json!({
        "title": "Dashboard",
        "now": instant(now, zone),
        "now_iso": iso(now),
        "zone": zone.name(),
        "due_count": due.len(),
        "due_plural": due.len() != 1,
        "overdue_count": overdue,
        "due": due,
        "states": states,
        "recent_limit": app::deadlines::DASHBOARD_RECENT,
    })
}
