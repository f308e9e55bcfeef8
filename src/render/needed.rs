//! The missing-fact walk: which facts a template would use that the case file leaves `null`,
//! branch by branch (Handlebars' strict mode misses a fact used only in `{{#if}}`), and drafts
//! with visible markers in their place.

use std::collections::BTreeSet;

use handlebars::JsonTruthy;
use handlebars::template::{Parameter, TemplateElement};
use serde_json::Value;

use super::template::*;

pub(super) const HELPERS: &[&str] = &[
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
    filled_with(template, facts, &marker)
}

/// The case file with every missing fact the template uses replaced by `text(fact)`: the
/// draft's marker, or a phased report's statement that the information will follow.
pub fn filled_with(
    template: &Template,
    facts: &Value,
    text: &dyn Fn(&str) -> String,
) -> (Value, Vec<String>) {
    let w = walk(template, facts);
    let mut filled = facts.clone();
    for (path, named, list) in &w.fills {
        let segs: Vec<&str> = path.split('.').collect();
        let m = Value::String(text(named));
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
