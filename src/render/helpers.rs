//! The Handlebars registry and its helpers (dates in the organisation's zone, counts, lists,
//! plurals, `known`, hours). Each helper escapes its own output with the registry's escape
//! function, so nothing a fact contains bypasses escaping.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use handlebars::{
    Context, Handlebars, Helper, HelperResult, JsonTruthy, Output, RenderContext, RenderError,
    RenderErrorReason,
};
use serde_json::Value;

use crate::domain::assessment::thousands;

pub(super) fn registry(zone: Tz) -> Handlebars<'static> {
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
