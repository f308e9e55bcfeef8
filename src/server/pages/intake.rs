//! The intake page (the DPO): a new incident from a form made from the intake's schema,
//! checked as an intake file is (`incident open --file`), stored by the same use-case.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use super::form::{Spec, checked, posted, problems_of, show};
use super::{Shared, SignedIn, Wrote, read, see_other, write, zone};
use crate::app;
use crate::domain::incident::IncidentFacts;
use crate::render::form::Typed;

fn spec() -> Spec {
    Spec {
        kind: "intake",
        title: "New incident".into(),
        heading: "New incident".into(),
        crumb: "New incident",
        id: None,
        lead: Some("What is known now. Facts can be corrected and added later.".into()),
        action: "/incidents/new".into(),
        submit: "Open the incident",
        back: None,
        focus: Vec::new(),
        help_from: None,
    }
}

/// `GET /incidents/new`: the intake form.
pub async fn intake_form(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    let zone = match read(&shared, &signed, |store| zone(store)).await {
        Ok(z) => z,
        Err(r) => return r,
    };
    let root = app::input::schema_of::<IncidentFacts>();
    show(&shared, &signed, spec(), &root, &Typed::new(), &[], zone)
}

/// `POST /incidents/new`: opens the incident (`incident open`), then shows it; on a problem,
/// the form again with each problem beside its field, and nothing stored.
pub async fn open_incident(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    body: axum::body::Bytes,
) -> Response {
    let zone = match read(&shared, &signed, |store| zone(store)).await {
        Ok(z) => z,
        Err(r) => return r,
    };
    let root = app::input::schema_of::<IncidentFacts>();
    let typed = posted(&body, &root);
    let now = crate::adapters::clock::now_or(None);
    let facts = match checked::<IncidentFacts>(&root, &typed, zone, |f| f.check(now)) {
        Ok(f) => f,
        Err(problems) => return show(&shared, &signed, spec(), &root, &typed, &problems, zone),
    };
    let done = write(
        &shared,
        &signed,
        crate::domain::permission::Action::RecordFacts,
        "Opening an incident",
        move |store, ctx| app::incident::open(store, ctx, "(intake form)", &facts),
    )
    .await;
    match done {
        Wrote::Done(record) => see_other(&format!("/incidents/{}", record.id), &signed),
        Wrote::Refused(e) => show(
            &shared,
            &signed,
            spec(),
            &root,
            &typed,
            &problems_of(&e),
            zone,
        ),
        Wrote::Page(r) => r,
    }
}
