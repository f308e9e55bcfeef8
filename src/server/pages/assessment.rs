//! The assessment page (the DPO): a new version of the exposure assessment from a form made
//! from its schema, prefilled from the current one, checked as an assessment file is
//! (`assess --file`), stored by the same use-case.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono_tz::Tz;

use super::form::{Spec, checked, posted, problems_of, show};
use super::{Shared, SignedIn, Wrote, read, refused, see_other, write};
use crate::app;
use crate::domain::assessment::AssessmentInput;
use crate::domain::incident::IncidentId;
use crate::domain::record::IncidentRecord;
use crate::render::form::{Typed, prefill};

fn spec(id: IncidentId, record: &IncidentRecord) -> Spec {
    let again = record.current_assessment().is_some();
    Spec {
        kind: "assessment",
        title: format!("Assess {id}"),
        heading: if again {
            format!("Assess {id} again")
        } else {
            format!("Assess {id}")
        },
        crumb: "Assessment",
        id: Some(id.to_string()),
        lead: Some(if again {
            format!(
                "{}. The form starts from the current assessment.",
                record.facts.title
            )
        } else {
            format!("{}.", record.facts.title)
        }),
        action: format!("/incidents/{id}/assessment"),
        submit: "Record the assessment",
        back: None,
        focus: Vec::new(),
        help_from: None,
    }
}

/// The incident and the organisation's zone, or the page that says why not.
async fn found(
    shared: &Arc<Shared>,
    signed: &SignedIn,
    id: &str,
) -> Result<(IncidentId, Tz, IncidentRecord), Response> {
    let Ok(incident) = id.parse::<IncidentId>() else {
        return Err(refused(
            shared,
            StatusCode::NOT_FOUND,
            "that is not an incident id (they look like BR-2024-0001)",
            Some(signed),
        ));
    };
    let (zone, record) = read(shared, signed, move |store| {
        Ok((super::zone(store)?, store.incident(incident)?))
    })
    .await?;
    Ok((incident, zone, record))
}

/// `GET /incidents/{id}/assessment`: the assessment form, starting from the current one.
pub async fn assessment_form(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
) -> Response {
    let (id, zone, record) = match found(&shared, &signed, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let root = app::input::schema_of::<AssessmentInput>();
    let typed = match record.current_assessment() {
        Some(a) => prefill(
            &root,
            &serde_json::to_value(&a.input).unwrap_or_default(),
            zone,
        ),
        None => Typed::new(),
    };
    show(
        &shared,
        &signed,
        spec(id, &record),
        &root,
        &typed,
        &[],
        zone,
    )
}

/// `POST /incidents/{id}/assessment`: records the assessment (`assess`), then shows the
/// incident; on a problem, the form again with each beside its field, and nothing stored.
pub async fn assess(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (id, zone, record) = match found(&shared, &signed, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let root = app::input::schema_of::<AssessmentInput>();
    let typed = posted(&body, &root);
    let input =
        match checked::<AssessmentInput>(&root, &typed, zone, crate::domain::assessment::check) {
            Ok(i) => i,
            Err(problems) => {
                return show(
                    &shared,
                    &signed,
                    spec(id, &record),
                    &root,
                    &typed,
                    &problems,
                    zone,
                );
            }
        };
    let rules = shared.rulebook.clone();
    let done = write(
        &shared,
        &signed,
        crate::domain::permission::Action::RecordFacts,
        "Recording an assessment",
        move |store, ctx| {
            app::incident::assess(store, ctx, &rules, id, "(assessment form)", &input)
        },
    )
    .await;
    match done {
        Wrote::Done(_) => see_other(&format!("/incidents/{id}"), &signed),
        Wrote::Refused(e) => show(
            &shared,
            &signed,
            spec(id, &record),
            &root,
            &typed,
            &problems_of(&e),
            zone,
        ),
        Wrote::Page(r) => r,
    }
}
