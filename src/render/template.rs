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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use handlebars::template::{Parameter, TemplateElement};
use handlebars::{
    Context, Handlebars, Helper, HelperResult, JsonTruthy, Output, RenderContext, RenderError,
    RenderErrorReason,
};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::assessment::thousands;
use crate::embedded;

/// The layout every HTML document is wrapped in (letterhead, print stylesheet).
pub use crate::domain::document::LAYOUT;

/// What went wrong with templates or rendering.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("no template named {name:?}; templates: {known}")]
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
    compiled: handlebars::Template,
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
    /// The built-in templates, with those in `overrides` (`NAME.hbs`) replacing or adding.
    pub fn load(overrides: Option<&Path>) -> Result<TemplateSet, TemplateError> {
        let mut templates = BTreeMap::new();
        for (path, text) in embedded::TEMPLATES {
            let t = parse(path, text)?;
            templates.insert(t.name.clone(), t);
        }
        if let Some(dir) = overrides {
            let folder = |message: String| TemplateError::Folder {
                dir: dir.to_path_buf(),
                message,
            };
            let entries = std::fs::read_dir(dir).map_err(|e| folder(e.to_string()))?;
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "hbs"))
                .collect();
            paths.sort();
            for path in paths {
                // Symbolic links could point anywhere; only plain files in the folder count.
                let meta = std::fs::symlink_metadata(&path).map_err(|e| folder(e.to_string()))?;
                if !meta.is_file() {
                    continue;
                }
                let text = std::fs::read_to_string(&path).map_err(|e| TemplateError::Syntax {
                    file: path.display().to_string(),
                    message: e.to_string(),
                })?;
                let t = parse(&path.display().to_string(), &text)?;
                templates.insert(t.name.clone(), t);
            }
        }
        if !templates.contains_key(LAYOUT) {
            return Err(TemplateError::Unknown {
                name: LAYOUT.into(),
                known: "(the built-in set lacks its layout)".into(),
            });
        }
        Ok(TemplateSet { templates })
    }

    /// A document template by name (never the layout).
    pub fn get(&self, name: &str) -> Result<&Template, TemplateError> {
        check_name(name)?;
        match self.templates.get(name) {
            Some(t) if name != LAYOUT => Ok(t),
            _ => Err(TemplateError::Unknown {
                name: name.to_string(),
                known: self
                    .documents()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

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

fn parse(path: &str, text: &str) -> Result<Template, TemplateError> {
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

// ---------------------------------------------------------------------------------------------
// The facts a template needs.

const HELPERS: &[&str] = &[
    "date", "day", "count", "number", "list", "plural", "known", "hours", "eq", "ne", "gt", "gte",
    "lt", "lte", "and", "or", "not", "len", "lookup",
];

/// Every fact `template` would use that is `null` or absent in `facts`, by path (`a.b`, with
/// `[]` for the items of a list), in the order of first use.
pub fn needed(template: &Template, facts: &Value) -> Vec<String> {
    walk(template, facts).missing
}

/// The case file for a draft: every missing fact the template uses replaced by a visible
/// `[MISSING: ...]` marker. Returns it with the missing facts.
pub fn draft(template: &Template, facts: &Value) -> (Value, Vec<String>) {
    let w = walk(template, facts);
    let mut filled = facts.clone();
    for (path, named, list) in &w.fills {
        let segs: Vec<&str> = path.split('.').collect();
        let m = Value::String(marker(named));
        let value = if *list { Value::Array(vec![m]) } else { m };
        fill(&mut filled, &segs, &value);
    }
    (filled, w.missing)
}

fn walk(template: &Template, facts: &Value) -> Walk {
    let mut walk = Walk {
        scopes: vec![(facts.clone(), String::new())],
        guarded: Vec::new(),
        missing: Vec::new(),
        seen: BTreeSet::new(),
        fills: Vec::new(),
        listing: false,
    };
    walk.elements(&template.compiled.elements);
    walk
}

struct Walk {
    /// The context stack: value and its path from the root.
    scopes: Vec<(Value, String)>,
    /// Paths tested with `known` in the branch being walked.
    guarded: Vec<String>,
    missing: Vec<String>,
    seen: BTreeSet<String>,
    /// For a draft: each path used that is missing, the missing fact it belongs to, and
    /// whether it is iterated (so the marker must be a list).
    fills: Vec<(String, String, bool)>,
    /// The path being resolved is iterated by `each`.
    listing: bool,
}

/// A template path in its scope: how many levels up, and the dotted path.
fn split_raw(raw: &str) -> Option<(usize, bool, String)> {
    if raw.starts_with('@') && !raw.starts_with("@root") {
        return None; // @index, @key, @first: the engine's own
    }
    let (root, mut rest) = match raw.strip_prefix("@root") {
        Some(r) => (true, r.trim_start_matches('.').to_string()),
        None => (false, raw.to_string()),
    };
    let mut up = 0;
    while let Some(r) = rest.strip_prefix("../") {
        up += 1;
        rest = r.to_string();
    }
    let rest = rest
        .strip_prefix("this.")
        .or_else(|| rest.strip_prefix("./"))
        .map(str::to_string)
        .unwrap_or(rest.clone());
    let rest = if rest == "this" || rest == "." {
        String::new()
    } else {
        rest
    };
    Some((up, root, rest))
}

impl Walk {
    fn resolve(&self, raw: &str) -> Option<(Option<Value>, String, String)> {
        let (up, root, rel) = split_raw(raw)?;
        let index = if root {
            0
        } else {
            self.scopes.len().checked_sub(1 + up)?
        };
        let (base, prefix) = &self.scopes[index];
        let full = match (prefix.is_empty(), rel.is_empty()) {
            (true, _) => rel.clone(),
            (false, true) => prefix.clone(),
            (false, false) => format!("{prefix}.{rel}"),
        };
        // A missing fact is named by the first absent step: an assessment not yet made is one
        // missing fact, not one per field of it.
        let mut v = Some(base).filter(|x| !x.is_null());
        let mut reached = prefix.clone();
        if !rel.is_empty() {
            for seg in rel.split('.') {
                let Some(x) = v else { break };
                reached = if reached.is_empty() {
                    seg.to_string()
                } else {
                    format!("{reached}.{seg}")
                };
                v = x.get(seg).filter(|x| !x.is_null());
            }
        }
        let named = if v.is_none() { reached } else { full.clone() };
        Some((v.cloned(), named, full))
    }

    fn need(&mut self, raw: &str) -> Option<Value> {
        let (v, named, full) = self.resolve(raw)?;
        if v.is_none()
            && !self
                .guarded
                .iter()
                .any(|g| named == *g || named.starts_with(&format!("{g}.")))
        {
            if !full.contains("[]") {
                self.fills.push((full, named.clone(), self.listing));
            }
            if self.seen.insert(named.clone()) {
                self.missing.push(named);
            }
        }
        v
    }

    fn param(&mut self, p: &Parameter) -> Option<Value> {
        match p {
            Parameter::Path(path) => self.need(path_raw(path)),
            Parameter::Name(n) if !HELPERS.contains(&n.as_str()) => self.need(n),
            Parameter::Name(_) => None,
            Parameter::Literal(v) => Some(v.clone()),
            Parameter::Subexpression(s) => {
                if s.name() == "known" {
                    return None;
                }
                let values: Vec<Option<Value>> = s
                    .params()
                    .into_iter()
                    .flatten()
                    .map(|p| self.param(p))
                    .collect();
                // The comparisons templates branch on are worked out here, so only the branch
                // the facts choose is walked.
                let all: Option<Vec<Value>> = values.into_iter().collect();
                let all = all?;
                let truthy = |v: &Value| v.is_truthy(false);
                let b = match (s.name(), all.as_slice()) {
                    ("eq", [a, b]) => a == b,
                    ("ne", [a, b]) => a != b,
                    ("not", [a]) => !truthy(a),
                    ("and", xs) => xs.iter().all(truthy),
                    ("or", xs) => xs.iter().any(truthy),
                    _ => return None,
                };
                Some(Value::Bool(b))
            }
            _ => None,
        }
    }

    fn elements(&mut self, elements: &[TemplateElement]) {
        for e in elements {
            match e {
                TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                    let name = match &h.name {
                        Parameter::Name(n) => Some(n.as_str()),
                        _ => None,
                    };
                    if h.params.is_empty() && !name.is_some_and(|n| HELPERS.contains(&n)) {
                        self.param(&h.name);
                    }
                    for p in h.params.iter().chain(h.hash.values()) {
                        self.param(p);
                    }
                }
                TemplateElement::HelperBlock(h) => self.block(h),
                _ => {}
            }
        }
    }

    fn block(&mut self, h: &handlebars::template::HelperTemplate) {
        let name = match &h.name {
            Parameter::Name(n) => n.as_str(),
            _ => "",
        };
        let then = h
            .template
            .as_ref()
            .map(|t| t.elements.as_slice())
            .unwrap_or(&[]);
        let otherwise = h
            .inverse
            .as_ref()
            .map(|t| t.elements.as_slice())
            .unwrap_or(&[]);
        match name {
            "if" | "unless" => {
                let Some(cond) = h.params.first() else {
                    return;
                };
                // `known x`: the template handles both answers; x is needed in neither branch.
                if let Parameter::Subexpression(s) = cond
                    && s.name() == "known"
                {
                    let raw = s.params().and_then(|p| p.first()).and_then(|p| match p {
                        Parameter::Path(path) => Some(path_raw(path).to_string()),
                        Parameter::Name(n) => Some(n.clone()),
                        _ => None,
                    });
                    let resolved = raw.as_deref().and_then(|r| self.resolve(r));
                    let present = resolved.as_ref().is_some_and(|(v, _, _)| v.is_some());
                    let (taken, full) = match resolved {
                        Some((_, named, _)) => (present == (name == "if"), Some(named)),
                        None => (true, None),
                    };
                    let pushed = full.is_some();
                    if let Some(full) = full {
                        self.guarded.push(full);
                    }
                    self.elements(if taken { then } else { otherwise });
                    if pushed {
                        self.guarded.pop();
                    }
                    return;
                }
                // A comparison or other helper decides at render time: walk both branches.
                let value = self.param(cond);
                match value {
                    Some(v) => {
                        let truthy = v.is_truthy(false) == (name == "if");
                        self.elements(if truthy { then } else { otherwise });
                    }
                    None => {
                        self.elements(then);
                        self.elements(otherwise);
                    }
                }
            }
            "each" | "with" => {
                let Some(p) = h.params.first() else {
                    return;
                };
                let raw = match p {
                    Parameter::Path(path) => Some(path_raw(path).to_string()),
                    Parameter::Name(n) => Some(n.clone()),
                    _ => None,
                };
                self.listing = name == "each";
                let value = self.param(p);
                self.listing = false;
                let full = raw
                    .as_deref()
                    .and_then(|r| self.resolve(r))
                    .map(|(_, _, f)| f)
                    .unwrap_or_default();
                match (name, value) {
                    ("each", Some(Value::Array(items))) if !items.is_empty() => {
                        for item in items {
                            self.scopes.push((item, format!("{full}[]")));
                            self.elements(then);
                            self.scopes.pop();
                        }
                    }
                    ("each", Some(Value::Object(map))) if !map.is_empty() => {
                        for (_, item) in map {
                            self.scopes.push((item, format!("{full}[]")));
                            self.elements(then);
                            self.scopes.pop();
                        }
                    }
                    ("with", Some(v)) => {
                        self.scopes.push((v, full));
                        self.elements(then);
                        self.scopes.pop();
                    }
                    _ => self.elements(otherwise),
                }
            }
            _ => {
                for p in h.params.iter().chain(h.hash.values()) {
                    self.param(p);
                }
                self.elements(then);
                self.elements(otherwise);
            }
        }
    }
}

fn path_raw(path: &handlebars::Path) -> &str {
    match path {
        handlebars::Path::Relative((_, raw)) => raw,
        handlebars::Path::Local((_, _, raw)) => raw,
    }
}

/// The marker a draft shows where a fact is missing.
pub fn marker(path: &str) -> String {
    let label = crate::domain::casefile::info(path)
        .filter(|i| i.path == path)
        .map(|i| i.label)
        .unwrap_or(path);
    format!("[MISSING: {label}]")
}

fn fill(v: &mut Value, segs: &[&str], value: &Value) {
    let Some((first, rest)) = segs.split_first() else {
        return;
    };
    if !v.is_object() {
        *v = Value::Object(Default::default());
    }
    let Some(map) = v.as_object_mut() else {
        return;
    };
    let slot = map.entry(first.to_string()).or_insert(Value::Null);
    if rest.is_empty() {
        if slot.is_null() {
            *slot = value.clone();
        }
    } else {
        fill(slot, rest, value);
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering.

/// Renders `template` on `facts` (already complete, or filled with markers) in `zone`.
pub fn render(
    set: &TemplateSet,
    template: &Template,
    facts: &Value,
    zone: Tz,
    kind: Kind,
) -> Result<String, TemplateError> {
    let mut hb = registry(zone);
    match kind {
        Kind::Text => hb.register_escape_fn(handlebars::no_escape),
        Kind::Html => hb.register_escape_fn(markdown_escape),
    }
    let fail = |e: RenderError| TemplateError::Render {
        template: template.name.clone(),
        message: e.to_string(),
    };
    hb.register_template(&template.name, template.compiled.clone());
    let body = hb.render(&template.name, facts).map_err(fail)?;
    match kind {
        Kind::Text => Ok(body),
        Kind::Html => {
            let mut html = String::new();
            let options = pulldown_cmark::Options::ENABLE_TABLES
                | pulldown_cmark::Options::ENABLE_STRIKETHROUGH;
            pulldown_cmark::html::push_html(
                &mut html,
                pulldown_cmark::Parser::new_ext(&body, options),
            );
            let mut page = registry(zone);
            page.register_escape_fn(handlebars::html_escape);
            let layout = set.layout();
            page.register_template(LAYOUT, layout.compiled.clone());
            let mut wrapper = facts.clone();
            if let Some(m) = wrapper.as_object_mut() {
                m.insert("body".into(), Value::String(html));
                m.insert(
                    "title".into(),
                    Value::String(template.manifest.title.clone()),
                );
            }
            page.render(LAYOUT, &wrapper)
                .map_err(|e| TemplateError::Render {
                    template: LAYOUT.into(),
                    message: e.to_string(),
                })
        }
    }
}

/// Renders a one-line template (an email subject) over `facts`, with no escaping.
pub fn render_line(source: &str, facts: &Value, zone: Tz) -> Result<String, TemplateError> {
    let mut hb = registry(zone);
    hb.register_escape_fn(handlebars::no_escape);
    hb.set_strict_mode(false);
    hb.render_template(source, facts)
        .map(|s| s.replace(['\r', '\n'], " "))
        .map_err(|e| TemplateError::Render {
            template: "subject".into(),
            message: e.to_string(),
        })
}

/// Compiles a stored template source (an approved version's), for personalised rendering.
pub fn from_source(name: &str, source: &str) -> Result<Template, TemplateError> {
    parse(&format!("{name}.hbs"), source)
}

/// Escapes a fact for Markdown that becomes HTML: HTML's specials as entities, every other ASCII
/// punctuation character backslash-escaped, so a fact can neither inject markup nor Markdown.
pub fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn registry(zone: Tz) -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_helper("date", Box::new(DateHelper { zone, time: true }));
    hb.register_helper("day", Box::new(DateHelper { zone, time: false }));
    hb.register_helper("count", Box::new(count_helper));
    hb.register_helper("number", Box::new(number_helper));
    hb.register_helper("list", Box::new(list_helper));
    hb.register_helper("plural", Box::new(plural_helper));
    hb.register_helper("known", Box::new(known_helper));
    hb.register_helper("hours", Box::new(hours_helper));
    hb
}

fn arg<'a>(h: &'a Helper<'_>, i: usize) -> Result<&'a Value, RenderError> {
    h.param(i)
        .map(|p| p.value())
        .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex("helper", i).into())
}

struct DateHelper {
    zone: Tz,
    time: bool,
}

impl handlebars::HelperDef for DateHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        hb: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let v = arg(h, 0)?;
        let s = v.as_str().unwrap_or_default();
        // A marker or any text that is not an instant passes through, so a draft still renders.
        let text = match s.parse::<DateTime<Utc>>() {
            Ok(at) => format_instant(at, self.zone, self.time),
            Err(_) => s.to_string(),
        };
        out.write(&hb.get_escape_fn()(&text))?;
        Ok(())
    }
}

/// "3 April 2024, 07:00 BST", in the organisation's zone.
pub fn format_instant(at: DateTime<Utc>, zone: Tz, time: bool) -> String {
    let local = at.with_timezone(&zone);
    if time {
        local.format("%-d %B %Y, %H:%M %Z").to_string()
    } else {
        local.format("%-d %B %Y").to_string()
    }
}

fn count_text(v: &Value) -> String {
    if let Some(n) = v.as_u64() {
        return thousands(n);
    }
    match (
        v.get("estimate").and_then(Value::as_u64),
        v.get("min").and_then(Value::as_u64),
        v.get("max").and_then(Value::as_u64),
    ) {
        (Some(e), _, _) => format!("approximately {}", thousands(e)),
        (None, Some(a), Some(b)) if a == b => format!("approximately {}", thousands(a)),
        (None, Some(a), Some(b)) => format!("approximately {} to {}", thousands(a), thousands(b)),
        _ => v.as_str().unwrap_or_default().to_string(),
    }
}

fn count_helper(
    h: &Helper<'_>,
    hb: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    out.write(&hb.get_escape_fn()(&count_text(arg(h, 0)?)))?;
    Ok(())
}

fn number_helper(
    h: &Helper<'_>,
    hb: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let v = arg(h, 0)?;
    let text = match v.as_u64() {
        Some(n) => thousands(n),
        None => v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string()),
    };
    out.write(&hb.get_escape_fn()(&text))?;
    Ok(())
}

/// "a, b and c"; a marker passes through.
pub fn list_text(v: &Value) -> String {
    let items: Vec<String> = match v {
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect(),
        Value::String(s) => return s.clone(),
        _ => return String::new(),
    };
    match items.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}

fn list_helper(
    h: &Helper<'_>,
    hb: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let text = list_text(arg(h, 0)?);
    let lower = h
        .hash_get("lower")
        .is_some_and(|v| v.value().is_truthy(false));
    out.write(&hb.get_escape_fn()(&if lower {
        lowercase_items(&text)
    } else {
        text
    }))?;
    Ok(())
}

/// Lower-cases the first letter of each item of a joined list, for use mid-sentence.
fn lowercase_items(text: &str) -> String {
    text.split(", ")
        .map(|part| {
            part.split(" and ")
                .map(|w| {
                    let mut c = w.chars();
                    match c.next() {
                        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
                        None => String::new(),
                    }
                })
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `plural n "record" "records"`: n may be a number, a count or a list.
fn plural_helper(
    h: &Helper<'_>,
    hb: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let v = arg(h, 0)?;
    let n = match v {
        Value::Array(a) => a.len() as u64,
        v => v
            .as_u64()
            .or_else(|| v.get("estimate").and_then(Value::as_u64))
            .or_else(|| v.get("max").and_then(Value::as_u64))
            .unwrap_or(2),
    };
    let word = if n == 1 { arg(h, 1)? } else { arg(h, 2)? };
    out.write(&hb.get_escape_fn()(word.as_str().unwrap_or_default()))?;
    Ok(())
}

fn known_helper(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let known = h.param(0).is_some_and(|p| {
        !p.value().is_null()
            && !p
                .value()
                .as_str()
                .is_some_and(|s| s.starts_with("[MISSING"))
    });
    out.write(if known { "true" } else { "" })?;
    Ok(())
}

fn hours_helper(
    h: &Helper<'_>,
    hb: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let v = arg(h, 0)?.as_f64().unwrap_or_default();
    let minutes = (v * 60.0).round() as i64;
    let (h, m) = (minutes / 60, minutes % 60);
    let text = match (h, m) {
        (h, 0) => format!("{h} hours"),
        (0, m) => format!("{m} minutes"),
        (h, m) => format!("{h} hours {m} minutes"),
    };
    out.write(&hb.get_escape_fn()(&text))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let set = TemplateSet::load(None).unwrap();
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
        let set = TemplateSet::load(None).unwrap();
        assert!(set.documents().count() >= 10);
        for t in set.documents() {
            assert!(!t.manifest.title.is_empty(), "{}", t.name);
        }
        for bad in ["../x", "a/b", "", "A", "x.hbs", "-x"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
