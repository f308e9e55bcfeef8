//! The facts page (the DPO): change or fill in an incident's facts from a form made from the
//! update's schema, prefilled with the facts as they are, checked as an update file is
//! (`incident update --file`), stored by the same use-case. `?focus=/pointer,...` shows the
//! fields a document still needs first, highlighted; `return` names the page to go back to.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono_tz::Tz;

use super::form::{Spec, checked, focus, one, posted, problems_of, return_to, show};
use super::{Shared, SignedIn, Wrote, read, refused, see_other, write};
use crate::app;
use crate::domain::incident::{IncidentFacts, IncidentId, IncidentUpdate};
use crate::domain::record::IncidentRecord;
use crate::render::form::{Typed, prefill};

fn spec(id: IncidentId, record: &IncidentRecord, asked: &Typed) -> Spec {
    Spec {
        kind: "facts",
        title: format!("Update the facts of {id}"),
        heading: format!("Update the facts of {id}"),
        crumb: "Facts",
        id: Some(id.to_string()),
        lead: Some(format!("{}.", record.facts.title)),
        action: format!("/incidents/{id}/facts"),
        submit: "Save the facts",
        back: return_to(one(asked, "return")),
        focus: focus(one(asked, "focus")),
        help_from: Some(app::input::schema_of::<IncidentFacts>()),
    }
}

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

/// The facts as the form shows them: as they are now.
fn current(root: &serde_json::Value, record: &IncidentRecord, zone: Tz) -> Typed {
    prefill(
        root,
        &serde_json::to_value(&record.facts).unwrap_or_default(),
        zone,
    )
}

/// `GET /incidents/{id}/facts[?focus=/details/cause,...&return=/incidents/...]`: the form.
pub async fn facts_form(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (id, zone, record) = match found(&shared, &signed, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let asked = crate::render::form::typed(
        serde_urlencoded::from_bytes(query.unwrap_or_default().as_bytes()).unwrap_or_default(),
    );
    let root = app::input::schema_of::<IncidentUpdate>();
    let typed = current(&root, &record, zone);
    show(
        &shared,
        &signed,
        spec(id, &record, &asked),
        &root,
        &typed,
        &[],
        zone,
    )
}

/// `POST /incidents/{id}/facts`: records the changes (`incident update`), then goes to the
/// `return` page or the incident; on a problem, the form again with each beside its field,
/// and nothing stored.
pub async fn update_facts(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (id, zone, record) = match found(&shared, &signed, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let root = app::input::schema_of::<IncidentUpdate>();
    let typed = posted(&body, &root);
    let update = match checked::<IncidentUpdate>(&root, &typed, zone, |_| Vec::new()) {
        Ok(u) => u,
        Err(problems) => {
            return show(
                &shared,
                &signed,
                spec(id, &record, &typed),
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
        "Updating the facts",
        move |store, ctx| app::incident::update(store, ctx, &rules, id, "(facts form)", &update),
    )
    .await;
    match done {
        Wrote::Done(_) => {
            let to = return_to(one(&typed, "return")).unwrap_or(format!("/incidents/{id}"));
            see_other(&to, &signed)
        }
        Wrote::Refused(e) => show(
            &shared,
            &signed,
            spec(id, &record, &typed),
            &root,
            &typed,
            &problems_of(&e),
            zone,
        ),
        Wrote::Page(r) => r,
    }
}
