//! The browser workspace's pages: Handlebars templates from `web/pages/` (compiled into the
//! binary) filled with a page's data, inside one layout, and the stylesheet and script from
//! `web/assets/`. Pure: data in, HTML out.
//!
//! Handlebars because it is already in the build for the documents (no second template
//! language, no proc-macro crate lengthening the build), escapes every `{{value}}` for HTML,
//! and keeps the pages as files a reviewer can read beside the document templates. Strict
//! mode: a page that names a value its data lacks is an error, not a blank.

use handlebars::Handlebars;
use serde_json::Value;

use crate::embedded;

/// The layout every page is shown inside; it gets the page's HTML as `body`.
const LAYOUT: &str = "layout";

/// The page templates, parsed once.
pub struct Pages {
    registry: Handlebars<'static>,
}

/// Why a page could not be made (a fault of ours, never of the request).
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("page template {name}: {detail}")]
    Template { name: String, detail: String },
    #[error("page {name}: {detail}")]
    Render { name: String, detail: String },
}

impl Pages {
    /// The built-in pages.
    pub fn builtin() -> Result<Pages, PageError> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        for (path, text) in embedded::PAGES {
            let name = page_name(path);
            registry
                .register_template_string(name, *text)
                .map_err(|e| PageError::Template {
                    name: name.to_string(),
                    detail: e.to_string(),
                })?;
        }
        if !registry.has_template(LAYOUT) {
            return Err(PageError::Template {
                name: LAYOUT.into(),
                detail: "the built-in pages lack their layout".into(),
            });
        }
        Ok(Pages { registry })
    }

    /// `page` filled with `data`, inside the layout. The layout reads `title` from `data`, and
    /// `who` (the person signed in), `zone` (the zone of the times shown) and `now_iso` (the
    /// server's now, for the countdown) when they are there.
    pub fn render(&self, page: &str, data: &Value) -> Result<String, PageError> {
        let failed = |e: handlebars::RenderError| PageError::Render {
            name: page.to_string(),
            detail: e.to_string(),
        };
        let body = self.registry.render(page, data).map_err(failed)?;
        let mut outer = data.clone();
        if let Some(map) = outer.as_object_mut() {
            map.insert("body".into(), Value::String(body));
            map.insert("version".into(), Value::from(env!("CARGO_PKG_VERSION")));
            map.entry("who").or_insert(Value::Null);
            map.entry("zone").or_insert(Value::Null);
            map.entry("now_iso").or_insert(Value::Null);
        }
        self.registry.render(LAYOUT, &outer).map_err(failed)
    }

    /// The names of the pages (the layout excepted).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .registry
            .get_templates()
            .keys()
            .filter(|n| n.as_str() != LAYOUT)
            .cloned()
            .collect();
        names.sort();
        names
    }
}

/// `web/pages/dashboard.hbs` -> `dashboard`.
fn page_name(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.strip_suffix(".hbs").unwrap_or(file)
}

/// A stylesheet or script by file name, with its content type.
pub fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    let find = |list: &'static [(&'static str, &'static str)], kind: &'static str| {
        list.iter()
            .find(|(path, _)| path.rsplit('/').next() == Some(name))
            .map(|(_, text)| (kind, *text))
    };
    find(embedded::STYLES, "text/css; charset=utf-8")
        .or_else(|| find(embedded::SCRIPTS, "text/javascript; charset=utf-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_page_parses_and_values_are_escaped() {
        let pages = Pages::builtin().unwrap();
        assert!(pages.names().contains(&"dashboard".to_string()));
        let html = pages
            .render(
                "refused",
                &json!({
                    "title": "Not allowed",
                    "who": null,
                    "status": 403,
                    "heading": "Not allowed",
                    "message": "<script>alert(1)</script>",
                }),
            )
            .unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    }

    #[test]
    fn a_value_the_data_lacks_is_an_error_not_a_blank() {
        let pages = Pages::builtin().unwrap();
        let e = pages.render("refused", &json!({"title": "x", "who": null}));
        assert!(e.is_err());
    }

    #[test]
    fn assets_are_found_by_name_with_their_type() {
        assert_eq!(
            asset("app.css").map(|a| a.0),
            Some("text/css; charset=utf-8")
        );
        assert_eq!(
            asset("app.js").map(|a| a.0),
            Some("text/javascript; charset=utf-8")
        );
        assert!(asset("../Cargo.toml").is_none());
        assert!(asset("nothing.css").is_none());
    }

    #[test]
    fn the_side_by_side_comparison_renders_as_it_always_has() {
        let rows: Vec<serde_json::Value> = crate::render::compare::side_by_side(
            "# Notice\n\nWe found out on Saturday.\n\nContact us.\n",
            "# Notice\n\nWe found out on Sunday.\n\nContact us.\n\nWe are sorry.\n",
            1,
        )
        .into_iter()
        .map(|r| match r {
            Some(r) => {
                let mut v = json!(r);
                v["cut"] = json!(false);
                v
            }
            None => json!({"cut": true, "change": "cut", "left": null, "right": null, "left_no": null, "right_no": null}),
        })
        .collect();
        let html = Pages::builtin()
            .unwrap()
            .render(
                "compare",
                &json!({
                    "title": "Compare", "zone": "Europe/London", "who": null,
                    "id": "BR-2024-0001", "incident_title": "Ransomware", "doc": "subject-notice",
                    "doc_title": "Notice to data subjects",
                    "home": "/incidents/BR-2024-0001/documents/subject-notice",
                    "a": 1, "b": 2, "a_status": "stored by dana", "b_status": "stored by carol",
                    "a_choices": [{"version": 1, "selected": true}, {"version": 2, "selected": false}],
                    "b_choices": [{"version": 1, "selected": false}, {"version": 2, "selected": true}],
                    "rows": rows, "changed": 3,
                }),
            )
            .unwrap();
        let main = html
            .split("<main id=\"main\">")
            .nth(1)
            .and_then(|m| m.split("</main>").next())
            .unwrap();
        insta::assert_snapshot!(main);
    }
}
