//! Rendering a template to plain text (facts verbatim) or to HTML (facts escaped for Markdown
//! and HTML, then Markdown to HTML with pulldown-cmark, inside the print layout).

use chrono_tz::Tz;
use handlebars::RenderError;
use serde_json::Value;

use super::helpers::*;
use super::template::*;

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
        Kind::Html => page(set, &template.manifest.title, &body, facts, zone),
    }
}

/// The HTML of a text a person edited: its Markdown, with any HTML in it made inert, inside the
/// print layout, over the facts of the version it was edited from.
pub fn html_of_edited(
    set: &TemplateSet,
    title: &str,
    text: &str,
    facts: &Value,
    zone: Tz,
) -> Result<String, TemplateError> {
    let inert = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    page(set, title, &inert, facts, zone)
}

/// Markdown to HTML, wrapped in the layout.
fn page(
    set: &TemplateSet,
    title: &str,
    markdown: &str,
    facts: &Value,
    zone: Tz,
) -> Result<String, TemplateError> {
    let mut html = String::new();
    let options =
        pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH;
    pulldown_cmark::html::push_html(
        &mut html,
        pulldown_cmark::Parser::new_ext(markdown, options),
    );
    let mut page = registry(zone);
    page.register_escape_fn(handlebars::html_escape);
    let layout = set.layout();
    page.register_template(LAYOUT, layout.compiled.clone());
    let mut wrapper = facts.clone();
    if let Some(m) = wrapper.as_object_mut() {
        m.insert("body".into(), Value::String(html));
        m.insert("title".into(), Value::String(title.to_string()));
    }
    page.render(LAYOUT, &wrapper)
        .map_err(|e| TemplateError::Render {
            template: LAYOUT.into(),
            message: e.to_string(),
        })
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
