//! Document templates: the built-in set and a user's override folder, the facts a template
//! needs, and rendering to plain text (Markdown) and to HTML for print.
//!
//! Handlebars' strict mode misses a fact used only as an `{{#if}}` condition, and stops at the
//! first missing one. So before rendering, `needed` walks the template's syntax tree against the
//! case file and lists every fact the render would use that is `null`. It follows the branch the
//! facts choose: a reason for delay is needed only when the report is late. A template marks an
//! optional fact by testing it with `known` (`{{#if (known incident.occurred_to)}}`).
//!
//! A template cannot read files or run code: it is parsed from text we hand the registry, no
//! directory source or script helper is enabled, and partials are not resolved from disk.
//! Template names are checked against a fixed pattern and only ever looked up in a map, so a
//! name cannot reach outside the override folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use handlebars::template::TemplateElement;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::embedded;

pub use super::helpers::{format_instant, list_text};
pub use super::needed::{draft, filled_with, marker, needed};
pub use super::rendering::{from_source, html_of_edited, markdown_escape, render, render_line};

/// The layout every HTML document is wrapped in (letterhead, print stylesheet).
pub use crate::domain::document::LAYOUT;

/// What went wrong with templates or rendering.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("no template named {name:?}; {known}")]
    Unknown { name: String, known: String },
    #[error(
        "{name:?} is not a template name: expected lower-case letters, digits and hyphens, e.g. ico-report"
    )]
    BadName { name: String },
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    #[error(
        "{file}: the manifest (the first {{{{!-- ... --}}}} comment, TOML) is invalid: {message}"
    )]
    Manifest { file: String, message: String },
    #[error("{dir}: {message}")]
    Folder { dir: PathBuf, message: String },
    #[error("{template}: rendering failed: {message}")]
    Render { template: String, message: String },
}

/// A template's manifest: the TOML in its first comment.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// What the document is, e.g. "ICO personal data breach report (initial)".
    pub title: String,
    /// Who reads it, e.g. "ICO", "data subjects", "the market".
    pub audience: String,
    /// Obligations (`regime/phase`) the document discharges.
    #[serde(default)]
    pub serves: Vec<String>,
    /// The audience for the disclosure order: market, regulator, board, staff, customers,
    /// press, insurer or other.
    #[serde(default = "other")]
    pub group: String,
    /// The email subject, itself a template over the same facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

fn other() -> String {
    "other".into()
}

/// One template, with where it came from and its hash.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub source: String,
    /// `templates/NAME.hbs` for a built-in one, the file's path for an override.
    pub origin: String,
    pub manifest: Manifest,
    /// SHA-256 of the source, hex.
    pub sha256: String,
    pub(super) compiled: handlebars::Template,
}

/// Every template available to this run.
#[derive(Debug, Clone)]
pub struct TemplateSet {
    templates: BTreeMap<String, Template>,
}

/// The output kinds of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Plain text that is also Markdown; facts are written verbatim.
    Text,
    /// A self-contained HTML page; facts are escaped.
    Html,
}

/// Checks a template name: lower-case letters, digits and hyphens (and the layout's name).
pub fn check_name(name: &str) -> Result<(), TemplateError> {
    let ok = crate::domain::document::is_template_name(name);
    if ok {
        Ok(())
    } else {
        Err(TemplateError::BadName {
            name: name.to_string(),
        })
    }
}

impl TemplateSet {
    /// The built-in templates.
    pub fn builtin() -> Result<TemplateSet, TemplateError> {
        TemplateSet::with_overrides(&[])
    }

    /// The built-in templates, with `overrides` (file name, text; read from the override
    /// folder by `adapters::files::templates`) replacing or adding.
    pub fn with_overrides(overrides: &[(String, String)]) -> Result<TemplateSet, TemplateError> {
        let mut templates = BTreeMap::new();
        for (path, text) in embedded::TEMPLATES
            .iter()
            .map(|(p, t)| (*p, *t))
            .chain(overrides.iter().map(|(p, t)| (p.as_str(), t.as_str())))
        {
            let t = parse(path, text)?;
            templates.insert(t.name.clone(), t);
        }
        if !templates.contains_key(LAYOUT) {
            return Err(TemplateError::Unknown {
                name: LAYOUT.into(),
                known: "the built-in set lacks its layout".into(),
            });
        }
        Ok(TemplateSet { templates })
    }

    /// A document template by name (never the layout).
    pub fn get(&self, name: &str) -> Result<&Template, TemplateError> {
        check_name(name)?;
        match self.templates.get(name) {
            Some(t) if name != LAYOUT => Ok(t),
            _ => {
                let names: Vec<&str> = self.documents().map(|t| t.name.as_str()).collect();
                let guess = crate::domain::spelling::closest(name, names.iter().copied());
                Err(TemplateError::Unknown {
                    name: name.to_string(),
                    known: format!(
                        "{}templates: {}",
                        guess
                            .map(|n| format!("did you mean {n}? "))
                            .unwrap_or_default(),
                        names.join(", ")
                    ),
                })
            }
        }
    }

    /// Document templates, by name.
    /// Document templates, by name.
    pub fn documents(&self) -> impl Iterator<Item = &Template> {
        self.templates.values().filter(|t| t.name != LAYOUT)
    }

    /// The templates that discharge `obligation`.
    pub fn serving<'a>(&'a self, obligation: &'a str) -> impl Iterator<Item = &'a Template> + 'a {
        self.documents()
            .filter(move |t| t.manifest.serves.iter().any(|s| s == obligation))
    }

    pub fn layout(&self) -> &Template {
        &self.templates[LAYOUT]
    }
}

pub(super) fn parse(path: &str, text: &str) -> Result<Template, TemplateError> {
    let file_name = Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let name = file_name
        .strip_suffix(".hbs")
        .unwrap_or(&file_name)
        .to_string();
    check_name(&name).map_err(|e| TemplateError::Syntax {
        file: path.to_string(),
        message: e.to_string(),
    })?;
    let compiled = handlebars::Template::compile(text).map_err(|e| TemplateError::Syntax {
        file: path.to_string(),
        message: e.to_string(),
    })?;
    let manifest_text = compiled
        .elements
        .iter()
        .find_map(|e| match e {
            TemplateElement::Comment(c) => Some(c.clone()),
            TemplateElement::RawString(s) if s.trim().is_empty() => None,
            _ => Some(String::new()),
        })
        .unwrap_or_default();
    let manifest: Manifest = if name == LAYOUT {
        Manifest {
            title: "HTML layout".into(),
            audience: "every HTML document".into(),
            serves: Vec::new(),
            group: other(),
            subject: None,
        }
    } else {
        toml::from_str(&manifest_text).map_err(|e| TemplateError::Manifest {
            file: path.to_string(),
            message: e.message().to_string(),
        })?
    };
    if !crate::domain::outbox::AUDIENCES.contains(&manifest.group.as_str()) {
        return Err(TemplateError::Manifest {
            file: path.to_string(),
            message: format!(
                "group {:?} is not an audience; expected one of {}",
                manifest.group,
                crate::domain::outbox::AUDIENCES.join(", ")
            ),
        });
    }
    Ok(Template {
        name,
        source: text.to_string(),
        origin: path.to_string(),
        manifest,
        sha256: sha256_hex(text.as_bytes()),
        compiled,
    })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::super::helpers::count_text;
    use super::*;
    use chrono::{DateTime, Utc};
    use serde_json::json;

    fn template(body: &str) -> Template {
        let src = format!("{{{{!--\ntitle = \"t\"\naudience = \"a\"\n--}}}}\n{body}");
        parse("templates/test.hbs", &src).unwrap()
    }

    #[test]
    fn only_the_branch_the_facts_choose_is_needed() {
        let t = template("{{#if a}}{{b}}{{else}}{{c}}{{/if}}");
        assert_eq!(needed(&t, &json!({"a": true, "b": null})), vec!["b"]);
        assert_eq!(needed(&t, &json!({"a": false, "b": null})), vec!["c"]);
        // A condition that is itself unknown is missing, and both branches may be needed.
        assert_eq!(needed(&t, &json!({"a": null})), vec!["a", "b", "c"]);
    }

    #[test]
    fn known_marks_a_fact_optional() {
        let t = template("{{#if (known x.y)}}{{x.y}}{{else}}none{{/if}} {{z}}");
        assert_eq!(
            needed(&t, &json!({"x": {"y": null}, "z": 1})),
            Vec::<String>::new()
        );
        assert_eq!(needed(&t, &json!({"x": {"y": 2}})), vec!["z"]);
    }

    #[test]
    fn comparisons_choose_the_branch() {
        let t = template("{{#if (eq s \"Yes\")}}{{training}}{{/if}}");
        assert!(needed(&t, &json!({"s": "No"})).is_empty());
        assert_eq!(needed(&t, &json!({"s": "Yes"})), vec!["training"]);
        assert_eq!(needed(&t, &json!({})), vec!["s", "training"]);
    }

    #[test]
    fn list_items_and_absent_parents() {
        let t = template("{{#each items}}{{name}} {{../org.name}}{{/each}}{{a.b.c}} {{a.d}}");
        let facts =
            json!({"items": [{"name": "x"}, {"name": null}], "org": {"name": "o"}, "a": null});
        // An absent parent is one missing fact, however many of its fields are used.
        assert_eq!(needed(&t, &facts), vec!["items[].name", "a"]);
    }

    #[test]
    fn a_draft_marks_every_gap_and_still_renders() {
        let t = template("{{a.b}} / {{#each l}}{{this}}{{/each}} / {{date d}}");
        let set = TemplateSet::builtin().unwrap();
        let (facts, missing) = draft(&t, &json!({"a": null, "l": null, "d": null}));
        assert_eq!(missing, vec!["a", "l", "d"]);
        let text = render(&set, &t, &facts, chrono_tz::Europe::London, Kind::Text).unwrap();
        assert_eq!(text.matches("[MISSING: ").count(), 3, "{text}");
    }

    #[test]
    fn dates_counts_and_lists_read_as_prose() {
        let at: DateTime<Utc> = "2024-04-03T06:00:00Z".parse().unwrap();
        assert_eq!(
            format_instant(at, chrono_tz::Europe::London, true),
            "3 April 2024, 07:00 BST"
        );
        assert_eq!(
            count_text(&json!({"min": 1200, "max": 1500})),
            "approximately 1,200 to 1,500"
        );
        assert_eq!(
            count_text(&json!({"estimate": 450000})),
            "approximately 450,000"
        );
        assert_eq!(list_text(&json!(["a", "b", "c"])), "a, b and c");
        assert_eq!(
            markdown_escape("<b>*x*</b> & [y]"),
            "&lt;b&gt;\\*x\\*&lt;\\/b&gt; &amp; \\[y\\]"
        );
    }

    #[test]
    fn every_built_in_template_has_a_manifest_and_a_layout() {
        let set = TemplateSet::builtin().unwrap();
        assert!(set.documents().count() >= 10);
        for t in set.documents() {
            assert!(!t.manifest.title.is_empty(), "{}", t.name);
        }
        for bad in ["../x", "a/b", "", "A", "x.hbs", "-x"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
