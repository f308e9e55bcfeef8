//! The Handlebars registry and its helpers (dates in the organisation's zone, counts, lists,
//! plurals, `known`, hours). Each helper escapes its own output with the registry's escape
//! function, so nothing a fact contains bypasses escaping.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, JsonTruthy, Output, RenderContext,
    RenderError, RenderErrorReason,
};
use serde_json::Value;

use crate::domain::assessment::thousands;

pub(super) fn registry(zone: Tz) -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_helper("date", Text::boxed(move |h| date_text(h, zone, true)));
    hb.register_helper("day", Text::boxed(move |h| date_text(h, zone, false)));
    hb.register_helper("count", Text::boxed(|h| Ok(count_text(arg(h, 0)?))));
    hb.register_helper("number", Text::boxed(number_text));
    hb.register_helper("list", Text::boxed(list_helper_text));
    hb.register_helper("plural", Text::boxed(plural_text));
    hb.register_helper("known", Text::boxed(known_text));
    hb.register_helper("hours", Text::boxed(hours_text));
    hb
}

fn arg<'a>(h: &'a Helper<'_>, i: usize) -> Result<&'a Value, RenderError> {
    h.param(i)
        .map(|p| p.value())
        .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex("helper", i).into())
}

/// A helper that computes text from its arguments. The registry's escape function is applied
/// here, once, so no helper can forget it.
struct Text<F>(F);

impl<F> Text<F>
where
    F: Fn(&Helper<'_>) -> Result<String, RenderError> + Send + Sync + 'static,
{
    fn boxed(f: F) -> Box<Self> {
        Box::new(Text(f))
    }
}

impl<F> HelperDef for Text<F>
where
    F: Fn(&Helper<'_>) -> Result<String, RenderError> + Send + Sync,
{
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        hb: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        out.write(&hb.get_escape_fn()(&(self.0)(h)?))?;
        Ok(())
    }
}

fn date_text(h: &Helper<'_>, zone: Tz, time: bool) -> Result<String, RenderError> {
    let s = arg(h, 0)?.as_str().unwrap_or_default();
    // A marker or any text that is not an instant passes through, so a draft still renders.
    Ok(match s.parse::<DateTime<Utc>>() {
        Ok(at) => format_instant(at, zone, time),
        Err(_) => s.to_string(),
    })
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

pub(super) fn count_text(v: &Value) -> String {
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

fn number_text(h: &Helper<'_>) -> Result<String, RenderError> {
    let v = arg(h, 0)?;
    let text = match v.as_u64() {
        Some(n) => thousands(n),
        None => v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string()),
    };
    Ok(text)
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

fn list_helper_text(h: &Helper<'_>) -> Result<String, RenderError> {
    let text = list_text(arg(h, 0)?);
    let lower = h
        .hash_get("lower")
        .is_some_and(|v| v.value().is_truthy(false));
    Ok(if lower { lowercase_items(&text) } else { text })
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
fn plural_text(h: &Helper<'_>) -> Result<String, RenderError> {
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
    Ok(word.as_str().unwrap_or_default().to_string())
}

fn known_text(h: &Helper<'_>) -> Result<String, RenderError> {
    let known = h.param(0).is_some_and(|p| {
        !p.value().is_null()
            && !p
                .value()
                .as_str()
                .is_some_and(|s| s.starts_with("[MISSING"))
    });
    Ok(if known { "true" } else { "" }.to_string())
}

fn hours_text(h: &Helper<'_>) -> Result<String, RenderError> {
    let v = arg(h, 0)?.as_f64().unwrap_or_default();
    let minutes = (v * 60.0).round() as i64;
    let (h, m) = (minutes / 60, minutes % 60);
    let text = match (h, m) {
        (h, 0) => format!("{h} hours"),
        (0, m) => format!("{m} minutes"),
        (h, m) => format!("{h} hours {m} minutes"),
    };
    Ok(text)
}
