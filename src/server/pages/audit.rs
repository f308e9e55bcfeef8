//! The auditor's view: adherence per regime, the log verified on request, and the reports
//! and each incident's evidence bundle as downloads identical to the command line's.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::download;
use super::{Shared, SignedIn, page, read, refused, who};
use crate::app;
use crate::domain::incident::IncidentId;
use crate::render::format::instant;

/// `GET /audit`: the auditor's view: deadline adherence per regime and phase, the downloads
/// (the adherence report and the breach register), and the log's verification on request.
pub async fn audit(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    audit_page(shared, signed, None).await
}

/// `POST /audit/verify`: walks the whole log and every stored tree (`audit verify`), then shows
/// the auditor's view with the result.
pub async fn audit_verify(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    let verified = read(&shared, &signed, |store| {
        Ok(crate::app::audit::verify(store)?)
    })
    .await;
    let result = match verified {
        Ok(Ok(events)) => json!({
            "ok": true,
            "text": format!("Verified: {events} events, every digest and link intact; every record, index, counter, reminder mark, document body, outbox record, bulk recipient state and the organisation profile match what the log implies."),
        }),
        Ok(Err(problem)) => json!({"ok": false, "text": problem.to_string()}),
        Err(r) => return r,
    };
    audit_page(shared, signed, Some(result)).await
}

async fn audit_page(shared: Arc<Shared>, signed: SignedIn, verified: Option<Value>) -> Response {
    let now = crate::adapters::clock::now_or(None);
    let found = read(&shared, &signed, move |store| {
        app::reports::adherence_report(store, &Default::default(), now)
    })
    .await;
    let report = match found {
        Ok(r) => r,
        Err(r) => return r,
    };
    let share = |s: Option<f64>| {
        s.map(|s| format!("{:.0}%", s * 100.0))
            .unwrap_or("–".into())
    };
    let summaries: Vec<Value> = report
        .summaries
        .iter()
        .map(|s| {
            json!({
                "regime_name": s.regime_name,
                "obligation": s.obligation,
                "phase": s.phase,
                "obligations": s.obligations,
                "on_time": s.on_time,
                "late": s.late,
                "indeterminate": s.indeterminate,
                "waived": s.waived,
                "open": s.open,
                "overdue": s.overdue,
                "share": share(s.share_on_time),
            })
        })
        .collect();
    let data = json!({
        "title": "Audit",
        "zone": report.zone.name(),
        "now": instant(now, report.zone),
        "organisation": report.organisation,
        "incidents": report.records.len(),
        "summaries": summaries,
        "bundles": report
            .records
            .iter()
            .map(|r| json!({"id": r.id.to_string(), "title": r.facts.title}))
            .collect::<Vec<_>>(),
        "verified": verified,
        "who": who(&signed),
    });
    page(&shared, StatusCode::OK, "audit", data)
}

/// `GET /audit/adherence.html`: the deadline-adherence report, as `audit adherence --format
/// html` writes it.
pub async fn adherence_file(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    let now = crate::adapters::clock::now_or(None);
    match read(&shared, &signed, move |store| {
        app::reports::adherence_report(store, &Default::default(), now)
    })
    .await
    {
        Ok(report) => download(
            "adherence.html",
            "text/html; charset=utf-8",
            crate::render::report::adherence_html(&report),
        ),
        Err(r) => r,
    }
}

/// `GET /audit/register.csv`: the breach register (UK GDPR Art 33(5)), every incident.
pub async fn register_file(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    let rules = shared.rulebook.clone();
    let made = read(&shared, &signed, move |store| {
        let entries = app::reports::register(store, &rules)?;
        crate::render::report::register_csv(&entries)
            .map_err(|e| app::AppError::InvalidArgs(e.to_string()))
    })
    .await;
    match made {
        Ok(csv) => download("register.csv", "text/csv; charset=utf-8", csv),
        Err(r) => r,
    }
}

/// `GET /audit/bundles/{id}`: the incident's evidence bundle, byte for byte what `bundle export
/// ID FILE` writes when the same person asks at the same time (it names who exported it and
/// when). Reading only: whoever may read may take it.
pub async fn bundle_file(
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
    let actor = signed.principal.name.clone();
    let made = read(&shared, &signed, move |store| {
        app::bundle::export(store, id, now, &actor)?
            .to_json()
            .map_err(|e| app::AppError::Failed(e.to_string()))
    })
    .await;
    match made {
        Ok(text) => download(&format!("{id}-bundle.json"), "application/json", text),
        Err(r) => r,
    }
}
