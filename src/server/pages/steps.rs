//! The incident's steps and clocks (the DPO): move it along its lifecycle, record an instant
//! that starts a clock (inside information, a classification, ...), delay disclosing inside
//! information, and complete or waive an obligation that no document of ours carries. The same
//! use-cases as `incident transition`, `incident trigger`, `incident delay-disclosure`,
//! `obligation complete` and `obligation waive`; a refusal is shown beside its form, nothing
//! stored.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shared, SignedIn, Wrote, fields, page, read, refused, see_other, who, write};
use crate::app;
use crate::domain::incident::IncidentId;
use crate::domain::lifecycle::{self, Step};
use crate::domain::permission::Action;
use crate::domain::regime::Anchor;
use crate::render::words::{due_words, remaining};

fn given(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A name as forms and files give it (`inside_information`, `close`) read as its type.
fn named<T: for<'de> Deserialize<'de>>(s: &str) -> Option<T> {
    serde_json::from_value(Value::String(s.to_string())).ok()
}

/// What went wrong with one of the page's forms.
struct Problem {
    form: &'static str,
    message: String,
    /// What was posted, shown again in the form so nothing typed is lost.
    typed: Vec<(String, String)>,
}

/// Each form of the page and its fields: what the page shows in them (empty, or as posted when
/// that form was refused).
const FORMS: [(&str, &[&str]); 5] = [
    ("transition", &["step", "reason"]),
    ("trigger", &["anchor", "at", "by", "note"]),
    (
        "delay",
        &[
            "at",
            "by",
            "legitimate_interests",
            "not_misleading",
            "confidentiality",
            "evidence",
        ],
    ),
    (
        "complete",
        &["obligation", "at", "reference", "how", "late_reason"],
    ),
    ("waive", &["obligation", "reason"]),
];

/// The `typed` data of the page: every form's fields, empty but for the refused form's.
fn typed(problem: Option<&Problem>) -> Value {
    let mut all = serde_json::Map::new();
    for (form, fields) in FORMS {
        let mut values = serde_json::Map::new();
        for field in fields {
            let posted = problem
                .filter(|p| p.form == form)
                .and_then(|p| p.typed.iter().find(|(k, _)| k == field))
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            values.insert(field.to_string(), Value::String(posted));
        }
        all.insert(form.to_string(), Value::Object(values));
    }
    Value::Object(all)
}

/// A time as a form gave it.
enum TypedTime {
    /// Left empty: now.
    Empty,
    At(chrono::DateTime<chrono::Utc>),
    /// Not a time, or one the organisation's clocks skip or repeat: why.
    Refused(String),
    /// The zone could not be read: the page that says so.
    Page(Response),
}

/// A time as a form gives it, read in the organisation's zone.
async fn time_typed(shared: &Arc<Shared>, signed: &SignedIn, typed: &str) -> TypedTime {
    let Some(text) = given(typed) else {
        return TypedTime::Empty;
    };
    let zone = match zone_of(shared, signed).await {
        Ok(z) => z,
        Err(page) => return TypedTime::Page(page),
    };
    match crate::render::form::read_time(&text, zone)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).map_err(|e| e.to_string()))
    {
        Ok(t) => TypedTime::At(t.with_timezone(&chrono::Utc)),
        Err(why) => TypedTime::Refused(why),
    }
}

/// `GET /incidents/{id}/steps`.
pub async fn steps(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
) -> Response {
    steps_page(shared, signed, id, None).await
}

async fn steps_page(
    shared: Arc<Shared>,
    signed: SignedIn,
    id: String,
    problem: Option<Problem>,
) -> Response {
    let Ok(incident) = id.parse::<IncidentId>() else {
        return refused(
            &shared,
            StatusCode::NOT_FOUND,
            "that is not an incident id (they look like BR-2024-0001)",
            Some(&signed),
        );
    };
    let now = crate::adapters::clock::now_or(None);
    let found = read(&shared, &signed, move |store| {
        Ok((
            store.require_organisation()?.zone(),
            store.incident(incident)?,
        ))
    })
    .await;
    let (zone, r) = match found {
        Ok(x) => x,
        Err(r) => return r,
    };
    // Assessing and deciding have their own forms; the rest of the lifecycle is here.
    let steps: Vec<Value> = lifecycle::allowed(r.state)
        .into_iter()
        .filter(|s| !matches!(s, Step::Assess | Step::Decide))
        .map(|s| {
            let to = lifecycle::next(r.state, s)
                .map(|t| t.to_string())
                .unwrap_or_default();
            json!({"step": s.as_str(), "to": to, "reopen": s == Step::Reopen})
        })
        .collect();
    let anchors: Vec<Value> = Anchor::TRIGGERED
        .iter()
        .map(|a| {
            json!({
                "anchor": a.as_str(),
                "words": crate::domain::deadline::anchor_words(*a),
                "classification": a.is_classification(),
                "recorded": r.triggers.iter().any(|t| t.anchor == *a),
            })
        })
        .collect();
    let obligations: Vec<Value> = r
        .open_obligations()
        .map(|o| {
            json!({
                "id": o.id,
                "regime_name": o.regime_name,
                "recipient": o.recipient,
                "due": due_words(&o.due, zone),
                "left": remaining(&o.due, now),
            })
        })
        .collect();
    let mut data = json!({
        "title": format!("Steps and clocks – {}", r.id),
        "zone": zone.name(),
        "now_local": crate::render::form::local_value(now, zone),
        "id": r.id.to_string(),
        "incident_title": r.facts.title,
        "state": r.state.to_string(),
        "steps": steps,
        "anchors": anchors,
        "obligations": obligations,
        "who": who(&signed),
        "transition_error": null,
        "trigger_error": null,
        "complete_error": null,
        "waive_error": null,
        "delay_error": null,
        "inside": r.triggers.iter().any(|t| t.anchor == Anchor::InsideInformation),
    });
    data["typed"] = typed(problem.as_ref());
    if let Some(p) = &problem {
        data[format!("{}_error", p.form)] = json!(p.message);
    }
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(&shared, status, "steps", data)
}

/// What a form of this page came to: back to the incident when stored, else this page with the
/// refusal beside the form.
async fn after<T>(
    shared: Arc<Shared>,
    signed: SignedIn,
    id: String,
    form: &'static str,
    body: &[u8],
    done: Wrote<T>,
) -> Response {
    match done {
        Wrote::Done(_) => see_other(&format!("/incidents/{id}"), &signed),
        Wrote::Refused(e) => {
            let problem = Problem {
                form,
                message: super::said(&e),
                typed: super::fields(body),
            };
            steps_page(shared, signed, id, Some(problem)).await
        }
        Wrote::Page(r) => r,
    }
}

/// The page again with a refusal of the form's own making (nothing was tried).
async fn refuse(
    shared: Arc<Shared>,
    signed: SignedIn,
    id: String,
    form: &'static str,
    body: &[u8],
    message: String,
) -> Response {
    let problem = Problem {
        form,
        message,
        typed: super::fields(body),
    };
    steps_page(shared, signed, id, Some(problem)).await
}

#[derive(Deserialize, Default)]
struct TransitionForm {
    #[serde(default)]
    step: String,
    #[serde(default)]
    reason: String,
}

/// `POST /incidents/{id}/transition`: a lifecycle step (`incident transition`).
pub async fn transition(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(incident) = id.parse::<IncidentId>() else {
        return steps_page(shared, signed, id, None).await;
    };
    let f: TransitionForm = fields(&body);
    let Some(step) = named::<Step>(&f.step) else {
        return refuse(
            shared,
            signed,
            id,
            "transition",
            &body,
            "choose a step".into(),
        )
        .await;
    };
    let reason = given(&f.reason);
    let done = write(
        &shared,
        &signed,
        Action::RecordFacts,
        "Moving the incident along",
        move |store, ctx| app::incident::transition(store, ctx, incident, step, reason.as_deref()),
    )
    .await;
    after(shared, signed, id, "transition", &body, done).await
}

#[derive(Deserialize, Default)]
struct TriggerForm {
    #[serde(default)]
    anchor: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    by: String,
    #[serde(default)]
    note: String,
}

/// `POST /incidents/{id}/trigger`: an instant that starts a clock, who decided it and why
/// (`incident trigger`); the time typed is read in the organisation's zone.
pub async fn trigger(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(incident) = id.parse::<IncidentId>() else {
        return steps_page(shared, signed, id, None).await;
    };
    let f: TriggerForm = fields(&body);
    let Some(anchor) = named::<Anchor>(&f.anchor) else {
        return refuse(
            shared,
            signed,
            id,
            "trigger",
            &body,
            "choose what happened".into(),
        )
        .await;
    };
    let at = match time_typed(&shared, &signed, &f.at).await {
        TypedTime::Empty => None,
        TypedTime::At(t) => Some(t),
        TypedTime::Refused(why) => return refuse(shared, signed, id, "trigger", &body, why).await,
        TypedTime::Page(page) => return page,
    };
    let request = app::incident::TriggerRequest {
        anchor,
        at,
        by: given(&f.by),
        note: given(&f.note),
    };
    let rules = shared.rulebook.clone();
    let done = write(
        &shared,
        &signed,
        Action::RecordFacts,
        "Recording when a clock starts",
        move |store, ctx| app::incident::trigger(store, ctx, &rules, incident, request),
    )
    .await;
    after(shared, signed, id, "trigger", &body, done).await
}

async fn zone_of(shared: &Arc<Shared>, signed: &SignedIn) -> Result<chrono_tz::Tz, Response> {
    read(shared, signed, |store| {
        Ok(store.require_organisation()?.zone())
    })
    .await
}

#[derive(Deserialize, Default)]
struct ObligationForm {
    #[serde(default)]
    obligation: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    how: String,
    #[serde(default)]
    late_reason: String,
    #[serde(default)]
    reason: String,
}

/// `POST /incidents/{id}/obligations/complete`: an obligation met outside breachflow's
/// documents (a phone call to the regulator, a portal form), when and with what reference
/// (`obligation complete`). One a template carries is met only with an approved version.
pub async fn complete(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(incident) = id.parse::<IncidentId>() else {
        return steps_page(shared, signed, id, None).await;
    };
    let f: ObligationForm = fields(&body);
    let at = match time_typed(&shared, &signed, &f.at).await {
        TypedTime::Empty => None,
        TypedTime::At(t) => Some(crate::domain::deadline::Known::At(t)),
        TypedTime::Refused(why) => return refuse(shared, signed, id, "complete", &body, why).await,
        TypedTime::Page(page) => return page,
    };
    let completion = app::incident::Completion {
        obligation: f.obligation.trim().to_string(),
        at,
        reference: given(&f.reference),
        late_reason: given(&f.late_reason),
        sent: f.how == "sent",
    };
    let (rules, templates) = (shared.rulebook.clone(), shared.templates.clone());
    let done = write(
        &shared,
        &signed,
        Action::RecordFacts,
        "Recording an obligation met",
        move |store, ctx| {
            app::incident::complete(store, ctx, &rules, &templates, incident, completion)
        },
    )
    .await;
    after(shared, signed, id, "complete", &body, done).await
}

/// `POST /incidents/{id}/obligations/waive`: an obligation that does not apply, and why
/// (`obligation waive`; the reason is required and kept).
pub async fn waive(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(incident) = id.parse::<IncidentId>() else {
        return steps_page(shared, signed, id, None).await;
    };
    let f: ObligationForm = fields(&body);
    let obligation = f.obligation.trim().to_string();
    let reason = given(&f.reason);
    let done = write(
        &shared,
        &signed,
        Action::RecordFacts,
        "Waiving an obligation",
        move |store, ctx| {
            app::incident::waive(store, ctx, incident, &obligation, reason.as_deref(), None)
        },
    )
    .await;
    after(shared, signed, id, "waive", &body, done).await
}

#[derive(Deserialize, Default)]
struct DelayForm {
    #[serde(default)]
    at: String,
    #[serde(default)]
    by: String,
    #[serde(default)]
    legitimate_interests: String,
    #[serde(default)]
    not_misleading: String,
    #[serde(default)]
    confidentiality: String,
    #[serde(default)]
    evidence: String,
}

/// `POST /incidents/{id}/delay-disclosure`: the decision to delay disclosing inside
/// information, with how each condition of UK MAR Art 17(4) is met (`incident
/// delay-disclosure`). The announcement's clock is suspended until confidentiality is lost.
pub async fn delay_disclosure(
    State(shared): State<Arc<Shared>>,
    axum::Extension(signed): axum::Extension<SignedIn>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(incident) = id.parse::<IncidentId>() else {
        return steps_page(shared, signed, id, None).await;
    };
    let f: DelayForm = fields(&body);
    let at = match time_typed(&shared, &signed, &f.at).await {
        TypedTime::Empty => None,
        TypedTime::At(t) => Some(t),
        TypedTime::Refused(why) => return refuse(shared, signed, id, "delay", &body, why).await,
        TypedTime::Page(page) => return page,
    };
    let rules = shared.rulebook.clone();
    let done = write(
        &shared,
        &signed,
        Action::RecordFacts,
        "Delaying disclosure",
        move |store, ctx| {
            let delay = crate::domain::decision::DisclosureDelay {
                at: at.unwrap_or(ctx.now),
                decided_by: given(&f.by).unwrap_or_else(|| ctx.actor.clone()),
                legitimate_interests: f.legitimate_interests.trim().to_string(),
                not_misleading: f.not_misleading.trim().to_string(),
                confidentiality: f.confidentiality.trim().to_string(),
                evidence: given(&f.evidence),
            };
            app::incident::delay_disclosure(store, ctx, &rules, incident, delay)
        },
    )
    .await;
    after(shared, signed, id, "delay", &body, done).await
}
