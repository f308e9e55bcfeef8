//! What the workspace's forms share (the intake, the assessment, the facts): reading a
//! posting, checking it exactly as a file of the same type is checked (`app::input::parse`,
//! then the type's own rules), and showing the form with each problem beside its field, what
//! was typed kept, and nothing stored. The fields themselves come from the type's schema
//! (`render::form`).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{Shared, SignedIn, page, who};
use crate::app;
use crate::app::input::InputError;
use crate::render::form::{self, Placed, Typed};

/// The parts of a form page that are the page's own.
pub(super) struct Spec {
    /// `intake`, `assessment` or `facts`: which explanation the page shows.
    pub kind: &'static str,
    pub title: String,
    pub heading: String,
    /// The last step of the breadcrumbs.
    pub crumb: &'static str,
    /// The incident, when the form is about one.
    pub id: Option<String>,
    pub lead: Option<String>,
    pub action: String,
    pub submit: &'static str,
    /// Where to go after storing (kept through a refused posting).
    pub back: Option<String>,
    /// The fields to show first (JSON pointers), kept through a refused posting.
    pub focus: Vec<String>,
    /// Another schema to take help from, for fields this one leaves undescribed.
    pub help_from: Option<Value>,
}

/// What a form for the schema `root` posted, by field name (malformed bodies post nothing),
/// its lists' rows renumbered without the ones left empty.
pub(super) fn posted(body: &[u8], root: &Value) -> Typed {
    form::compact(
        root,
        form::typed(serde_urlencoded::from_bytes(body).unwrap_or_default()),
    )
}

/// The answers as a `T`, checked as a file of `T` would be: read from the form (a time the
/// clocks skip, a number that is not one), the schema and the type, then `rules` (the type's
/// own rules across fields). Or every problem found, by JSON pointer.
pub(super) fn checked<T: DeserializeOwned + JsonSchema>(
    root: &Value,
    typed: &Typed,
    zone: Tz,
    rules: impl Fn(&T) -> Vec<(String, String)>,
) -> Result<T, Vec<(String, String)>> {
    let fields = form::fields(root, typed);
    let (value, read) = form::read(&fields, typed, zone);
    let parsed = app::input::parse::<T>("the form", &value.to_string());
    // A field that could not be read is missing from the JSON: its own problem says why, not
    // the schema's "required".
    let unread = form::place(&fields, &read).by_field;
    let mut problems = read;
    match parsed {
        Ok(t) if problems.is_empty() => {
            let more = rules(&t);
            if more.is_empty() {
                return Ok(t);
            }
            problems.extend(more);
        }
        Ok(_) => {}
        Err(e) => {
            for p in problems_of(&app::AppError::Input(e)) {
                let placed = form::place(&fields, std::slice::from_ref(&p)).by_field;
                if !placed.keys().any(|k| unread.contains_key(k)) {
                    problems.push(p);
                }
            }
        }
    }
    Err(problems)
}

/// An app refusal as problems: an input's by pointer, anything else the form's own.
pub(super) fn problems_of(e: &app::AppError) -> Vec<(String, String)> {
    match e {
        app::AppError::Input(InputError::Invalid { problems, .. }) => problems
            .iter()
            .map(|p| (p.pointer.clone(), p.message.clone()))
            .collect(),
        other => vec![(String::new(), other.to_string())],
    }
}

/// The form page: 200 when first shown, 422 with the problems beside their fields.
pub(super) fn show(
    shared: &Arc<Shared>,
    signed: &SignedIn,
    spec: Spec,
    root: &Value,
    typed: &Typed,
    problems: &[(String, String)],
    zone: Tz,
) -> Response {
    let mut fields = form::fields(root, typed);
    if let Some(other) = &spec.help_from {
        form::borrow_help(&mut fields, other);
    }
    let placed: Placed = form::place(&fields, problems);
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let count = problems.len();
    page(
        shared,
        status,
        "form",
        json!({
            "title": spec.title,
            "heading": spec.heading,
            "crumb": spec.crumb,
            "id": spec.id,
            "lead": spec.lead,
            "intake": spec.kind == "intake",
            "assessment": spec.kind == "assessment",
            "facts": spec.kind == "facts",
            "action": spec.action,
            "submit": spec.submit,
            "back": spec.back,
            "focus": if spec.focus.is_empty() { Value::Null } else { json!(spec.focus.join(",")) },
            "zone": zone.name(),
            "problem_count": if count == 1 { "1 problem".to_string() } else { format!("{count} problems") },
            "form": form::view(&fields, typed, &placed, &spec.focus),
            "who": who(signed),
        }),
    )
}

/// A `return` address to go to after storing, if it is one of this site's incident pages (a
/// path, never another site: `//evil.example` and `/\evil.example` are refused).
pub(super) fn return_to(given: Option<&str>) -> Option<String> {
    let path = given?.trim();
    let safe = path.starts_with("/incidents/")
        && !path.contains("//")
        && !path.contains('\\')
        && !path.chars().any(|c| c.is_control() || c.is_whitespace());
    safe.then(|| path.to_string())
}

/// The `focus` list (`/details/cause,/details/notice`): JSON pointers only.
pub(super) fn focus(given: Option<&str>) -> Vec<String> {
    given
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| p.starts_with('/'))
        .map(str::to_string)
        .collect()
}

/// One value a form or query gave.
pub(super) fn one<'a>(typed: &'a Typed, name: &str) -> Option<&'a str> {
    typed.get(name).and_then(|v| v.first()).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_incident_page_of_this_site_is_a_return_address() {
        for good in [
            "/incidents/BR-2024-0001",
            "/incidents/BR-2024-0001/documents/x",
        ] {
            assert_eq!(return_to(Some(good)).as_deref(), Some(good));
        }
        for bad in [
            "https://evil.example/incidents/",
            "//evil.example/incidents/",
            "/incidents//evil.example",
            "/\\evil.example",
            "/incidents/\\evil",
            "/dashboard",
            "/incidents/x\r\nSet-Cookie: a=b",
            "",
        ] {
            assert_eq!(return_to(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(return_to(None), None);
    }

    /// A time that could not be read is reported as such, not also as missing; the rest of
    /// the form is checked as a file is, then by the type's own rules.
    #[test]
    fn a_posting_is_checked_as_a_file_and_an_unread_field_is_not_also_missing() {
        use crate::domain::incident::IncidentFacts;
        let root = app::input::schema_of::<IncidentFacts>();
        let zone: Tz = "Europe/London".parse().unwrap();
        let posted = |pairs: &[(&str, &str)]| {
            form::typed(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let typed = posted(&[
            ("/title", "Laptop stolen"),
            ("/detected_at", "2024-03-30T20:00"),
            ("/aware_at", "2024-03-31T01:30"),
        ]);
        let problems = checked::<IncidentFacts>(&root, &typed, zone, |_| Vec::new()).unwrap_err();
        let at = |p: &str| -> Vec<&str> {
            problems
                .iter()
                .filter(|(q, m)| q == p || m.starts_with(&format!("\"{}\"", &p[1..])))
                .map(|(_, m)| m.as_str())
                .collect()
        };
        let aware = at("/aware_at");
        assert_eq!(aware.len(), 1, "{problems:?}");
        assert!(aware[0].contains("does not exist"), "{problems:?}");
        // The schema's own messages, as the command line gives them for a file.
        assert!(
            problems
                .iter()
                .any(|(_, m)| m == "\"summary\" is a required property"),
            "{problems:?}"
        );
        // Readable and whole: then the type's own rules.
        let typed = posted(&[
            ("/title", "Laptop stolen"),
            ("/summary", "A laptop was stolen."),
            ("/detected_at", "2024-03-30T20:00"),
            ("/aware_at", "2024-03-30T19:00"),
            ("/discovery", "Staff report"),
            ("/impact/confidentiality", "yes"),
            ("/reporter/name", "Tom"),
        ]);
        let now = "2024-04-05T12:00:00Z".parse().unwrap();
        let problems = checked::<IncidentFacts>(&root, &typed, zone, |f| f.check(now)).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, "/aware_at");
        assert!(problems[0].1.contains("cannot be before detection"));
    }

    #[test]
    fn focus_takes_pointers_only() {
        assert_eq!(
            focus(Some("/details/cause, /details/notice,javascript:x,")),
            ["/details/cause", "/details/notice"]
        );
    }
}
