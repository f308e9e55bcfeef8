//! The decision page (the DPO): the recommendation and its basis; take it or decide
//! otherwise with reasoning.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::{Shared, SignedIn, Wrote, page, read, refused, see_other, who, write};
use crate::app;
use crate::domain::incident::IncidentId;

/// The decision form as it was posted.
#[derive(Deserialize, Default)]
struct DecisionForm {
    /// `accept` (take the recommendation) or `override`.
    #[serde(default)]
    choice: String,
    #[serde(default)]
    ico: String,
    #[serde(default)]
    subjects: String,
    #[serde(default)]
    reason: String,
}

/// `GET /incidents/{id}/decision`: the recommendation that follows from the current
/// assessment, and the form to take it or decide otherwise (the DPO).
pub async fn decision_form(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
) -> Response {
    decision_page(shared, signed, id, DecisionForm::default(), None).await
}

/// `POST /incidents/{id}/decision`: records the decision (`decide`), then shows the incident;
/// on a refusal, the form again with the reason beside it, and nothing stored.
pub async fn decide(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(incident) = id.parse::<IncidentId>() else {
        return refused(
            &shared,
            StatusCode::NOT_FOUND,
            "that is not an incident id",
            Some(&signed),
        );
    };
    let form: DecisionForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let yes = |v: &str| match v {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let request = match form.choice.as_str() {
        "accept" => Ok(crate::domain::workflow::DecideRequest {
            accept: true,
            notify_ico: None,
            tell_subjects: None,
            reason: Some(form.reason.clone()).filter(|r| !r.trim().is_empty()),
        }),
        "override" => match (yes(&form.ico), yes(&form.subjects)) {
            (Some(ico), Some(subjects)) => Ok(crate::domain::workflow::DecideRequest {
                accept: false,
                notify_ico: Some(ico),
                tell_subjects: Some(subjects),
                reason: Some(form.reason.clone()),
            }),
            _ => Err("say whether to notify the ICO and whether to tell data subjects".to_string()),
        },
        _ => Err("choose: take the recommendation, or decide otherwise".to_string()),
    };
    let request = match request {
        Ok(r) => r,
        Err(e) => return decision_page(shared, signed, id, form, Some(e)).await,
    };
    let rules = shared.rulebook.clone();
    let done = write(
        &shared,
        &signed,
        crate::domain::permission::Action::RecordFacts,
        "Recording a decision",
        move |store, ctx| app::incident::decide(store, ctx, &rules, incident, &request),
    )
    .await;
    match done {
        Wrote::Done(_) => see_other(&format!("/incidents/{incident}"), &signed),
        Wrote::Refused(e) => decision_page(shared, signed, id, form, Some(super::said(&e))).await,
        Wrote::Page(r) => r,
    }
}

async fn decision_page(
    shared: Arc<Shared>,
    signed: SignedIn,
    id: String,
    form: DecisionForm,
    error: Option<String>,
) -> Response {
    let Ok(incident) = id.parse::<IncidentId>() else {
        return refused(
            &shared,
            StatusCode::NOT_FOUND,
            "that is not an incident id",
            Some(&signed),
        );
    };
    let found = read(&shared, &signed, move |store| {
        let org = store.require_organisation()?;
        Ok((org.zone(), org.role, store.incident(incident)?))
    })
    .await;
    let (zone, role, record) = match found {
        Ok(x) => x,
        Err(r) => return r,
    };
    let yn = |b: bool| if b { "yes" } else { "no" };
    let assessment = record.current_assessment();
    let recommendation = assessment.map(|a| {
        let r = crate::domain::decision::recommend(a.severity.level, role);
        json!({
            "ico": yn(r.notify_ico),
            "subjects": yn(r.tell_subjects),
            "basis": r.basis,
        })
    });
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        &shared,
        status,
        "decision",
        json!({
            "title": format!("Decision on {incident}"),
            "zone": zone.name(),
            "id": incident.to_string(),
            "incident_title": record.facts.title,
            "state": record.state.to_string(),
            "assessment": assessment.map(|a| crate::render::words::assessment(a, zone)),
            "recommendation": recommendation,
            "current": record.current_decision().map(|d| crate::render::words::decision(d, zone)),
            "error": error,
            "form": {
                "accept": form.choice != "override",
                "ico_yes": form.ico == "yes",
                "ico_no": form.ico == "no",
                "subjects_yes": form.subjects == "yes",
                "subjects_no": form.subjects == "no",
                "reason": form.reason,
            },
            "who": who(&signed),
        }),
    )
}
