//! The workspace's forms, made from an input type's JSON Schema like the starting files and
//! the terminal's questions (`render::intake`), so a form cannot offer a field the type does not
//! take or miss one it does: each field with its label, the schema's description as help, what
//! it takes (a line, a paragraph, a number, yes or no, one of a vocabulary, several of one, a
//! list of lines, a time), whether it is required, and the JSON pointer it fills.
//!
//! Pure: what was posted in, JSON out (checked afterwards exactly as a file is); problems by
//! JSON pointer in, each beside its field. Times come from a browser's `datetime-local`, which
//! has no offset: they are read in the organisation's zone, and a local time a clock change
//! skips or repeats is refused rather than guessed.

use std::collections::BTreeMap;

use chrono::{DateTime, LocalResult, NaiveDateTime, SecondsFormat, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use crate::render::intake::{self, Answer, Question};

/// What a field takes, as a form shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One line of text.
    Text,
    /// A paragraph.
    LongText,
    Integer,
    Number,
    /// Yes or no, as two radio buttons.
    YesNo,
    /// A tick box: a yes-or-no that is no unless ticked (the type defaults it to false).
    Tick,
    /// One of a vocabulary, as radio buttons.
    Choice,
    /// Several of a vocabulary, as tick boxes.
    Choices,
    /// A list of free text, one per line.
    Lines,
    /// A time: the organisation's local time, or RFC 3339 with an offset.
    Time,
}

/// One value of a vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub value: String,
    pub label: String,
    /// The value's description, where the schema has one.
    pub about: Option<String>,
}

/// One field of a form.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The JSON pointer it fills (`/reporter/name`, `/context_adjustments/0/delta`); also the
    /// form control's name.
    pub pointer: String,
    pub label: String,
    /// The schema's description.
    pub help: String,
    pub kind: Kind,
    pub required: bool,
    pub choices: Vec<Choice>,
    /// The pointer of the table it belongs to (`` at the top).
    pub group: String,
    /// The group's description, for its heading.
    pub group_help: Option<String>,
    /// Whether the type requires the group (the form shows it open).
    pub group_required: bool,
    pub question: Question,
}

/// What a person typed, by field pointer (a tick-box list posts several values).
pub type Typed = BTreeMap<String, Vec<String>>;

/// What a form posted, by name (the CSRF token and other non-fields included; fields read only
/// theirs).
pub fn typed(posted: Vec<(String, String)>) -> Typed {
    let mut out = Typed::new();
    for (name, value) in posted {
        out.entry(name).or_default().push(value);
    }
    out
}

/// What was posted with the rows of each list numbered from 0 without gaps, leaving out the
/// rows left empty: a row cleared to remove it must not shift the rows after it away from
/// the problems found in them.
pub fn compact(root: &Value, typed: Typed) -> Typed {
    let lists: Vec<String> = intake::every_question(root)
        .iter()
        .filter_map(row_list)
        .collect();
    let mut out = Typed::new();
    let mut renumbered: BTreeMap<(String, usize), usize> = BTreeMap::new();
    for list in &lists {
        let prefix = format!("{list}/");
        let mut used: Vec<usize> = typed
            .iter()
            .filter(|(_, v)| v.iter().any(|v| !v.trim().is_empty()))
            .filter_map(|(k, _)| k.strip_prefix(&prefix)?.split('/').next()?.parse().ok())
            .collect();
        used.sort_unstable();
        used.dedup();
        for (new, old) in used.into_iter().enumerate() {
            renumbered.insert((list.clone(), old), new);
        }
    }
    for (name, values) in typed {
        let row = lists.iter().find_map(|list| {
            let rest = name.strip_prefix(&format!("{list}/"))?;
            let (n, tail) = rest.split_once('/').unwrap_or((rest, ""));
            Some((list, n.parse::<usize>().ok()?, tail.to_string()))
        });
        match row {
            Some((list, n, tail)) => {
                if let Some(new) = renumbered.get(&(list.clone(), n)) {
                    out.insert(format!("{list}/{new}/{tail}"), values);
                }
            }
            None => {
                out.insert(name, values);
            }
        }
    }
    out
}

/// The fields of the form for the schema `root`. A list of tables shows the rows `typed` has,
/// and one empty row more for a new one.
pub fn fields(root: &Value, typed: &Typed) -> Vec<Field> {
    let questions = intake::every_question(root);
    let mut out = Vec::new();
    let mut i = 0;
    while i < questions.len() {
        let Some(list) = row_list(&questions[i]) else {
            out.push(field(root, questions[i].clone()));
            i += 1;
            continue;
        };
        // A row's fields together, row by row.
        let mut end = i;
        while end < questions.len() && row_list(&questions[end]).as_deref() == Some(&list) {
            end += 1;
        }
        for row in 0..rows(typed, &list) + 1 {
            for q in &questions[i..end] {
                let mut q = q.clone();
                for part in q.path.iter_mut().filter(|p| *p == "#") {
                    *part = row.to_string();
                }
                out.push(field(root, q));
            }
        }
        i = end;
    }
    out
}

/// The pointer of the list a row field belongs to (`/context_adjustments`), if it is one.
fn row_list(q: &Question) -> Option<String> {
    let at = q.path.iter().position(|p| p == "#")?;
    Some(pointer(&q.path[..at]))
}

/// How many rows of the list at `list` were typed (the highest row number given, plus one).
fn rows(typed: &Typed, list: &str) -> usize {
    let prefix = format!("{list}/");
    typed
        .iter()
        .filter(|(_, v)| v.iter().any(|v| !v.trim().is_empty()))
        .filter_map(|(k, _)| {
            k.strip_prefix(&prefix)?
                .split('/')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .map(|n| n + 1)
        .max()
        .unwrap_or(0)
}

fn pointer(path: &[String]) -> String {
    path.iter().map(|p| format!("/{p}")).collect()
}

/// A name as people say it: `aware_at` -> "Aware at"; a row number counts from one.
fn words(path: &[String]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|p| match p.parse::<usize>() {
            Ok(n) => format!("row {}", n + 1),
            Err(_) => p.replace('_', " "),
        })
        .collect();
    let text = parts.join(": ");
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// What a question takes, as a form shows it; `about` is its description (which tells a
/// name from a paragraph).
fn kind(q: &Question, about: &str) -> Kind {
    let schema = &q.schema;
    let format = schema.get("format").and_then(Value::as_str);
    match q.answer {
        Answer::Choice => Kind::Choice,
        Answer::List if q.choices.is_empty() => Kind::Lines,
        Answer::List => Kind::Choices,
        Answer::Integer => Kind::Integer,
        Answer::Number => Kind::Number,
        Answer::Boolean if q.default == Some(Value::Bool(false)) => Kind::Tick,
        Answer::Boolean => Kind::YesNo,
        Answer::Text if format == Some("date-time") => Kind::Time,
        Answer::Text => {
            // A short value (a name, a title) on one line; anything meant as sentences in a box.
            let bounded = schema
                .get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| m <= 200);
            if bounded || format == Some("email") || about.len() < 50 {
                Kind::Text
            } else {
                Kind::LongText
            }
        }
    }
}

fn field(root: &Value, q: Question) -> Field {
    let kind = kind(&q, &q.about);
    let choices = q
        .choices
        .iter()
        .zip(q.choice_about.iter())
        .map(|(value, about)| {
            let label = words(std::slice::from_ref(value));
            // A description that starts by naming the value is the better label.
            match about {
                Some(a) if a.to_lowercase().starts_with(&label.to_lowercase()) => Choice {
                    value: value.clone(),
                    label: a.clone(),
                    about: None,
                },
                _ => Choice {
                    value: value.clone(),
                    label,
                    about: about.clone(),
                },
            }
        })
        .collect();
    let (group_path, _) = q.path.split_at(q.path.len().saturating_sub(1));
    let group = pointer(group_path);
    let group_help = if group.is_empty() {
        None
    } else {
        // The description of a list's row is the list's.
        let generic: Vec<String> = group_path
            .iter()
            .map(|p| {
                if p.parse::<usize>().is_ok() {
                    "#".to_string()
                } else {
                    p.clone()
                }
            })
            .collect();
        let generic = pointer(&generic);
        intake::about_at(root, &generic)
            .or_else(|| intake::about_at(root, generic.trim_end_matches("/#")))
    };
    // A form takes a time in the organisation's zone as well; it says so itself.
    let help = match kind {
        Kind::Time => q.about.replace(" (RFC 3339 with offset)", ""),
        _ => q.about.clone(),
    };
    Field {
        pointer: pointer(&q.path),
        label: words(q.path.last().map(std::slice::from_ref).unwrap_or(&[])),
        help,
        kind,
        required: q.required,
        choices,
        group,
        group_help,
        group_required: q.table_required,
        question: q,
    }
}

/// Help for the fields `root`'s schema leaves undescribed, from another type's (a partial
/// update's fields are the facts' own, described there).
pub fn borrow_help(fields: &mut [Field], other: &Value) {
    for f in fields.iter_mut().filter(|f| f.help.is_empty()) {
        if let Some(about) = intake::about_at(other, &f.pointer) {
            if f.kind == Kind::Text {
                f.kind = kind(&f.question, &about);
            }
            f.help = match f.kind {
                Kind::Time => about.replace(" (RFC 3339 with offset)", ""),
                _ => about,
            };
        }
    }
}

/// The JSON the form's answers make, and the problems found reading them (a number that is
/// not one, a local time that does not exist), each by the pointer of its field. An empty
/// answer is left out, so the type's own default or "required" applies, as in a file.
pub fn read(fields: &[Field], typed: &Typed, zone: Tz) -> (Value, Vec<(String, String)>) {
    let mut root = Value::Object(Map::new());
    let mut problems = Vec::new();
    let mut lists: Vec<Vec<String>> = Vec::new();
    for f in fields {
        let given: Vec<&str> = typed
            .get(&f.pointer)
            .map(|v| {
                v.iter()
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let first = given.first().copied().unwrap_or("");
        let value = match f.kind {
            Kind::Tick => Some(Value::Bool(given.contains(&"yes"))),
            Kind::Choices => Some(Value::Array(given.iter().map(|v| json!(v)).collect()))
                .filter(|_| !given.is_empty()),
            Kind::Lines => {
                let lines: Vec<Value> = given
                    .iter()
                    .flat_map(|v| v.lines())
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| json!(l))
                    .collect();
                Some(Value::Array(lines)).filter(|l| l.as_array().is_some_and(|l| !l.is_empty()))
            }
            _ if first.is_empty() => None,
            Kind::Time => match read_time(first, zone) {
                Ok(at) => Some(Value::String(at)),
                Err(e) => {
                    problems.push((f.pointer.clone(), e));
                    None
                }
            },
            _ => match intake::read_answer(&f.question, first) {
                Ok(v) => Some(v),
                Err(e) => {
                    problems.push((f.pointer.clone(), e));
                    None
                }
            },
        };
        if let Some(v) = value {
            intake::put(&mut root, &f.question.path, v);
            if let Some(at) = f
                .question
                .path
                .iter()
                .position(|p| p.parse::<usize>().is_ok())
            {
                lists.push(f.question.path[..at].to_vec());
            }
        }
    }
    // Rows were filled as tables keyed by their number; a list is those rows, in order.
    for list in lists {
        if let Some(at) = root.pointer_mut(&pointer(&list))
            && let Value::Object(rows) = at
        {
            let mut numbered: Vec<(usize, Value)> = rows
                .iter()
                .filter_map(|(k, v)| Some((k.parse::<usize>().ok()?, v.clone())))
                .collect();
            numbered.sort_by_key(|(n, _)| *n);
            *at = Value::Array(numbered.into_iter().map(|(_, v)| v).collect());
        }
    }
    (root, problems)
}

/// A time as typed: RFC 3339 with an offset as it stands; a local time (`2024-03-30T21:10`, as
/// `datetime-local` sends it) in `zone`, refused when the zone's clocks skip it or pass it
/// twice. RFC 3339 in UTC, or why not.
pub fn read_time(text: &str, zone: Tz) -> Result<String, String> {
    let utc = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(utc(at.with_timezone(&Utc)));
    }
    let local = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .ok_or_else(|| {
            format!(
                "{text:?} is not a date and time: give the day and the time in {zone} (e.g. 2024-03-30T21:10), or RFC 3339 with an offset (2024-03-30T21:10:00+01:00)"
            )
        })?;
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => Ok(utc(at.with_timezone(&Utc))),
        LocalResult::Ambiguous(a, b) => Err(format!(
            "{text} happens twice in {zone}: the clocks go back that night, so it is {} or {}; give it with its offset, e.g. {}",
            a.to_rfc3339_opts(SecondsFormat::Secs, false),
            b.to_rfc3339_opts(SecondsFormat::Secs, false),
            a.to_rfc3339_opts(SecondsFormat::Secs, false),
        )),
        LocalResult::None => Err(format!(
            "{text} does not exist in {zone}: the clocks go forward that night and skip it; give a time before or after the change"
        )),
    }
}

/// An instant as a `datetime-local` value in `zone` (seconds only when it has them, so an
/// unchanged time posts back unchanged).
pub fn local_value(at: DateTime<Utc>, zone: Tz) -> String {
    let local = at.with_timezone(&zone);
    if local.second() == 0 && local.nanosecond() == 0 {
        local.format("%Y-%m-%dT%H:%M").to_string()
    } else {
        local.format("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

/// What a form shows for a value it is to edit (the current assessment, the facts now): each
/// answer as it would be typed, times in `zone`.
pub fn prefill(root: &Value, value: &Value, zone: Tz) -> Typed {
    let mut typed = Typed::new();
    flatten(value, String::new(), &mut typed);
    for f in fields(root, &typed) {
        if f.kind == Kind::Time
            && let Some(v) = typed.get_mut(&f.pointer)
        {
            for t in v.iter_mut() {
                if let Ok(at) = DateTime::parse_from_rfc3339(t) {
                    *t = local_value(at.with_timezone(&Utc), zone);
                }
            }
        }
    }
    typed
}

fn flatten(value: &Value, at: String, out: &mut Typed) {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        other => other.to_string(),
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(v, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (i, v) in items.iter().enumerate() {
                flatten(v, format!("{at}/{i}"), out);
            }
        }
        Value::Array(items) => {
            out.insert(at, items.iter().map(text).collect());
        }
        Value::Null => {}
        other => {
            out.insert(at, vec![text(other)]);
        }
    }
}

/// The problems of a posting, placed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placed {
    /// By the pointer of the field each is shown beside.
    pub by_field: BTreeMap<String, Vec<String>>,
    /// Every problem, with the field it went to (none: the form's own), for the summary.
    pub all: Vec<(Option<String>, String)>,
}

/// Where each problem goes: the field it names, by pointer (a missing table's first field, a
/// list item's list, a required key's field); those that name no field are the form's.
pub fn place(fields: &[Field], problems: &[(String, String)]) -> Placed {
    let mut by_field: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut all = Vec::new();
    for (at, message) in problems {
        // `"name" is a required property`, at the table that lacks it.
        let named = message
            .strip_prefix('"')
            .and_then(|m| m.split_once("\" is a required property"))
            .map(|(name, _)| format!("{at}/{name}"));
        let at = named.as_deref().unwrap_or(at);
        let found = fields
            .iter()
            .find(|f| f.pointer == at)
            .or_else(|| {
                fields
                    .iter()
                    .find(|f| !at.is_empty() && f.pointer.starts_with(&format!("{at}/")))
            })
            .or_else(|| {
                fields
                    .iter()
                    .find(|f| at.starts_with(&format!("{}/", f.pointer)))
            });
        match found {
            Some(f) => {
                by_field
                    .entry(f.pointer.clone())
                    .or_default()
                    .push(message.clone());
                all.push((Some(f.pointer.clone()), message.clone()));
            }
            None => all.push((None, message.clone())),
        }
    }
    Placed { by_field, all }
}

/// A field's element id: its pointer, `/` as `-` (`f-reporter-name`).
pub fn id(pointer: &str) -> String {
    format!("f{}", pointer.replace('/', "-"))
}

/// The form's data for the page: the fields in groups (a nested table's fields under its
/// heading), each with what was typed and its problems beside it, and every problem in a
/// summary; fields named in `focus` (pointers, or the tables holding them) first, marked.
pub fn view(fields: &[Field], typed: &Typed, placed: &Placed, focus: &[String]) -> Value {
    let errors = &placed.by_field;
    let focused = |f: &Field| {
        focus
            .iter()
            .any(|p| !p.is_empty() && (f.pointer == *p || f.pointer.starts_with(&format!("{p}/"))))
    };
    let label_of = |p: &str| {
        fields
            .iter()
            .find(|f| f.pointer == p)
            .map(|f| {
                let mut path = f.question.path.clone();
                path.retain(|s| s != "details");
                words(&path)
            })
            .unwrap_or_default()
    };
    let mut groups: Vec<Value> = Vec::new();
    let first: Vec<&Field> = fields.iter().filter(|f| focused(f)).collect();
    if !first.is_empty() {
        groups.push(json!({
            "heading": "Asked for",
            "help": "The facts you were sent here to give.",
            "focus": true,
            "open": true,
            "fields": first.iter().map(|f| one(f, typed, errors, true)).collect::<Vec<_>>(),
        }));
    }
    // A table the type does not require, with nothing typed and no problem, starts folded.
    let mut current: Option<(String, Vec<Value>, Option<String>, bool)> = None;
    for f in fields.iter().filter(|f| !focused(f)) {
        let same = current.as_ref().is_some_and(|(g, ..)| *g == f.group);
        if !same {
            if let Some((g, list, help, open)) = current.take() {
                groups.push(group(&g, list, help, open));
            }
            current = Some((f.group.clone(), Vec::new(), f.group_help.clone(), false));
        }
        if let Some((_, list, _, open)) = current.as_mut() {
            let typed_here = typed
                .get(&f.pointer)
                .is_some_and(|v| v.iter().any(|v| !v.trim().is_empty()));
            *open |= f.group_required || typed_here || errors.contains_key(&f.pointer);
            list.push(one(f, typed, errors, false));
        }
    }
    if let Some((g, list, help, open)) = current.take() {
        groups.push(group(&g, list, help, open));
    }
    let summary: Vec<Value> = placed
        .all
        .iter()
        .map(|(at, message)| match at {
            Some(p) => {
                json!({"href": format!("#{}", id(p)), "field": label_of(p), "message": message})
            }
            None => json!({"href": null, "field": null, "message": message}),
        })
        .collect();
    json!({ "groups": groups, "problems": summary })
}

fn group(pointer: &str, fields: Vec<Value>, help: Option<String>, open: bool) -> Value {
    let path: Vec<String> = pointer
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    json!({
        "heading": if path.is_empty() { Value::Null } else { json!(words(&path)) },
        "help": help,
        "focus": false,
        "open": open || path.is_empty(),
        "fields": fields,
    })
}

fn one(f: &Field, typed: &Typed, errors: &BTreeMap<String, Vec<String>>, focus: bool) -> Value {
    let id = id(&f.pointer);
    let given: Vec<String> = typed.get(&f.pointer).cloned().unwrap_or_default();
    let value = given.join("\n");
    let errors = errors.get(&f.pointer).cloned().unwrap_or_default();
    let error_id = format!("{id}-error");
    let help_id = format!("{id}-help");
    let described = if errors.is_empty() {
        help_id.clone()
    } else {
        format!("{error_id} {help_id}")
    };
    let options: Vec<Value> = f
        .choices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "id": format!("{id}-{i}"),
                "value": c.value,
                "label": c.label,
                "about": c.about,
                "checked": given.contains(&c.value),
            })
        })
        .collect();
    // A time refused, or given with its offset, goes in a text box: a `datetime-local` box
    // cannot take the offset that settles a time the clocks pass twice.
    let local_shape = errors.is_empty()
        && (value.is_empty()
            || ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
                .iter()
                .any(|fmt| NaiveDateTime::parse_from_str(&value, fmt).is_ok()));
    json!({
        "id": id,
        "name": f.pointer,
        "label": f.label,
        "help": f.help,
        "help_id": help_id,
        "required": f.required,
        "value": value,
        "errors": errors,
        "error_id": error_id,
        "described": described,
        "invalid": !errors.is_empty(),
        "focus": focus,
        "options": options,
        "ticked": given.iter().any(|v| v == "yes"),
        "yes": given.iter().any(|v| v == "yes"),
        "no": given.iter().any(|v| v == "no"),
        "text": f.kind == Kind::Text,
        "long": f.kind == Kind::LongText,
        "whole": f.kind == Kind::Integer,
        "number": f.kind == Kind::Number,
        "yesno": f.kind == Kind::YesNo,
        "tick": f.kind == Kind::Tick,
        "choice": f.kind == Kind::Choice,
        "choices": f.kind == Kind::Choices,
        "lines": f.kind == Kind::Lines,
        "time": f.kind == Kind::Time,
        "time_local": f.kind == Kind::Time && local_shape,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::assessment::AssessmentInput;
    use crate::domain::incident::{IncidentFacts, IncidentUpdate};

    fn schema<T: schemars::JsonSchema>() -> Value {
        serde_json::to_value(schemars::schema_for!(T)).unwrap()
    }

    fn find<'a>(fields: &'a [Field], p: &str) -> &'a Field {
        fields.iter().find(|f| f.pointer == p).unwrap_or_else(|| {
            panic!(
                "no field {p}: {:?}",
                fields.iter().map(|f| &f.pointer).collect::<Vec<_>>()
            )
        })
    }

    fn london() -> Tz {
        "Europe/London".parse().unwrap()
    }

    #[test]
    fn the_intake_has_every_field_with_its_kind_help_and_whether_it_is_required() {
        let root = schema::<IncidentFacts>();
        let fields = fields(&root, &Typed::new());
        let title = find(&fields, "/title");
        assert_eq!((title.kind, title.required), (Kind::Text, true));
        assert_eq!(title.label, "Title");
        assert!(title.help.contains("short title"), "{}", title.help);
        assert_eq!(find(&fields, "/summary").kind, Kind::LongText);
        let aware = find(&fields, "/aware_at");
        assert_eq!((aware.kind, aware.required), (Kind::Time, true));
        assert!(aware.help.contains("72-hour clock"));
        // Optional fields are there, marked optional.
        let why = find(&fields, "/awareness_justification");
        assert!(!why.required);
        // A nested table's fields, in its group.
        let name = find(&fields, "/reporter/name");
        assert!(name.required);
        assert_eq!(name.group, "/reporter");
        assert!(!find(&fields, "/reporter/email").required);
        assert_eq!(find(&fields, "/impact/confidentiality").kind, Kind::Tick);
        assert_eq!(find(&fields, "/occurred/from").kind, Kind::Time);
        assert!(!find(&fields, "/occurred/from").required);
        // A vocabulary with its values.
        let cyber = find(&fields, "/cyber_incident");
        assert_eq!(cyber.kind, Kind::Choice);
        let values: Vec<&str> = cyber.choices.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(values, ["yes", "no", "unknown"]);
        assert_eq!(find(&fields, "/systems_affected").kind, Kind::Lines);
        // Required fields come first, in the order the type declares them.
        let order: Vec<&str> = fields.iter().take(5).map(|f| f.pointer.as_str()).collect();
        assert_eq!(
            order,
            [
                "/title",
                "/summary",
                "/detected_at",
                "/aware_at",
                "/discovery"
            ]
        );
    }

    #[test]
    fn the_assessment_has_vocabularies_with_their_labels_lists_counts_and_rows() {
        let root = schema::<AssessmentInput>();
        let fields = fields(&root, &Typed::new());
        let ei = find(&fields, "/identifiability");
        assert_eq!((ei.kind, ei.required), (Kind::Choice, true));
        let max = ei.choices.iter().find(|c| c.value == "maximum").unwrap();
        assert_eq!(max.label, "Maximum");
        assert!(max.about.as_deref().unwrap().contains("EI 1"), "{max:?}");
        assert_eq!(find(&fields, "/data_categories").kind, Kind::Choices);
        assert!(find(&fields, "/data_categories").required);
        assert_eq!(find(&fields, "/circumstances/malicious").kind, Kind::YesNo);
        assert_eq!(
            find(&fields, "/circumstances/confidentiality").kind,
            Kind::Choice
        );
        // A count: an estimate, or a range.
        for p in ["/subjects/estimate", "/subjects/min", "/subjects/max"] {
            assert_eq!(find(&fields, p).kind, Kind::Integer, "{p}");
        }
        assert!(find(&fields, "/subjects/estimate").group_help.is_some());
        // A list of tables: one empty row, then as many as were typed and one more.
        assert_eq!(
            find(&fields, "/context_adjustments/0/delta").kind,
            Kind::Integer
        );
        assert!(
            !fields
                .iter()
                .any(|f| f.pointer.starts_with("/context_adjustments/1"))
        );
        let mut typed = Typed::new();
        typed.insert("/context_adjustments/1/delta".into(), vec!["1".into()]);
        let more = super::fields(&root, &typed);
        find(&more, "/context_adjustments/2/reason");
        assert!(
            find(&more, "/context_adjustments/0/reason")
                .group_help
                .is_some()
        );
    }

    fn posted(pairs: &[(&str, &str)]) -> Typed {
        typed(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_posted_intake_is_json_the_type_accepts_with_local_times_in_the_zone() {
        let root = schema::<IncidentFacts>();
        let typed = posted(&[
            ("csrf", "x"),
            ("/title", "Laptop stolen"),
            ("/summary", "A laptop was stolen from a car."),
            ("/detected_at", "2024-03-30T20:00"),
            // British Summer Time began at 01:00 GMT on 31 March 2024; 30 March is GMT.
            ("/aware_at", "2024-04-01T09:30"),
            (
                "/awareness_justification",
                "Reported to IT the next morning.",
            ),
            ("/discovery", "Staff report"),
            ("/impact/confidentiality", "yes"),
            ("/reporter/name", "Tom Okafor"),
            ("/reporter/email", ""),
            ("/systems_affected", "Laptop\r\n\r\nClient list "),
            ("/cyber_incident", "no"),
        ]);
        let fields = fields(&root, &typed);
        let (value, problems) = read(&fields, &typed, london());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(value["detected_at"], "2024-03-30T20:00:00Z");
        assert_eq!(value["aware_at"], "2024-04-01T08:30:00Z");
        assert_eq!(
            value["impact"],
            json!({"confidentiality": true, "integrity": false, "availability": false})
        );
        assert_eq!(value["systems_affected"], json!(["Laptop", "Client list"]));
        assert!(value["reporter"].get("email").is_none(), "{value}");
        assert!(value.get("csrf").is_none());
        let facts: IncidentFacts = serde_json::from_value(value).unwrap();
        assert_eq!(facts.reporter.name, "Tom Okafor");
    }

    #[test]
    fn a_local_time_the_clocks_skip_or_repeat_is_refused_and_rfc_3339_is_taken() {
        // 31 March 2024: the clocks go from 01:00 to 02:00; 01:30 never happens in London.
        let skipped = read_time("2024-03-31T01:30", london()).unwrap_err();
        assert!(
            skipped.contains("does not exist in Europe/London"),
            "{skipped}"
        );
        // 27 October 2024: 01:00 to 02:00 happens twice.
        let twice = read_time("2024-10-27T01:30", london()).unwrap_err();
        assert!(twice.contains("happens twice"), "{twice}");
        assert!(twice.contains("2024-10-27T01:30:00+01:00"), "{twice}");
        assert!(twice.contains("2024-10-27T01:30:00+00:00"), "{twice}");
        // With its offset, either is taken.
        assert_eq!(
            read_time("2024-10-27T01:30:00+00:00", london()).unwrap(),
            "2024-10-27T01:30:00Z"
        );
        assert_eq!(
            read_time("2024-07-01T12:00", london()).unwrap(),
            "2024-07-01T11:00:00Z"
        );
        assert!(
            read_time("yesterday", london())
                .unwrap_err()
                .contains("not a date and time")
        );
        // And a posted form says so beside the field.
        let root = schema::<IncidentFacts>();
        let typed = posted(&[("/aware_at", "2024-03-31T01:30")]);
        let fields = fields(&root, &typed);
        let (value, problems) = read(&fields, &typed, london());
        assert!(value.get("aware_at").is_none());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "/aware_at");
    }

    #[test]
    fn rows_and_choices_are_read_into_lists_and_a_bad_number_is_refused() {
        let root = schema::<AssessmentInput>();
        let typed = posted(&[
            ("/data_categories", "health"),
            ("/data_categories", "contact_details"),
            ("/subjects/estimate", "120"),
            ("/subjects/min", ""),
            ("/context_adjustments/0/delta", "1"),
            ("/context_adjustments/0/reason", "Large volume"),
            ("/records/estimate", "many"),
        ]);
        let fields = fields(&root, &typed);
        let (value, problems) = read(&fields, &typed, london());
        assert_eq!(
            value["data_categories"],
            json!(["health", "contact_details"])
        );
        assert_eq!(value["subjects"], json!({"estimate": 120}));
        assert_eq!(
            value["context_adjustments"],
            json!([{"delta": 1, "reason": "Large volume"}])
        );
        assert_eq!(
            problems,
            [(
                "/records/estimate".to_string(),
                "\"many\" is not a whole number".to_string()
            )]
        );
    }

    #[test]
    fn a_row_cleared_is_left_out_and_the_rows_after_it_move_up() {
        let root = schema::<AssessmentInput>();
        let typed = compact(
            &root,
            posted(&[
                ("/context_adjustments/0/delta", ""),
                ("/context_adjustments/0/reason", " "),
                ("/context_adjustments/1/delta", "-1"),
                ("/context_adjustments/1/reason", "Already public"),
                ("/identifiability", "maximum"),
            ]),
        );
        assert_eq!(typed["/context_adjustments/0/delta"], ["-1"]);
        assert_eq!(typed["/context_adjustments/0/reason"], ["Already public"]);
        assert!(!typed.contains_key("/context_adjustments/1/delta"));
        assert_eq!(typed["/identifiability"], ["maximum"]);
    }

    #[test]
    fn each_problem_goes_beside_its_field_and_the_rest_to_the_form() {
        let root = schema::<IncidentFacts>();
        let fields = fields(&root, &Typed::new());
        let problems = vec![
            (
                "/aware_at".to_string(),
                "awareness cannot be before detection".to_string(),
            ),
            (
                String::new(),
                "\"title\" is a required property".to_string(),
            ),
            (
                "/reporter".to_string(),
                "\"name\" is a required property".to_string(),
            ),
            ("/impact".to_string(), "set at least one".to_string()),
            ("/systems_affected/0".to_string(), "too long".to_string()),
            ("/nowhere".to_string(), "odd".to_string()),
        ];
        let placed = place(&fields, &problems);
        let (by_field, all) = (&placed.by_field, &placed.all);
        assert_eq!(
            by_field["/aware_at"],
            ["awareness cannot be before detection"]
        );
        assert!(by_field.contains_key("/title"));
        assert!(by_field.contains_key("/reporter/name"));
        assert!(by_field.keys().any(|k| k.starts_with("/impact/")));
        assert!(by_field.contains_key("/systems_affected"));
        assert_eq!(all.last().unwrap(), &(None, "odd".to_string()));
        let typed = posted(&[("/aware_at", "2024-03-29T21:10")]);
        let view = view(&fields, &typed, &placed, &[]);
        let aware = view["groups"][0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "/aware_at")
            .unwrap();
        assert_eq!(aware["value"], "2024-03-29T21:10");
        assert_eq!(aware["described"], "f-aware_at-error f-aware_at-help");
        // Refused, a time goes in a text box, where its offset can be given.
        assert_eq!(aware["time_local"], false);
        assert_eq!(aware["invalid"], true);
        assert_eq!(view["problems"][0]["href"], "#f-aware_at");
    }

    #[test]
    fn the_facts_form_is_prefilled_and_focus_puts_the_asked_for_fields_first() {
        let root = schema::<IncidentUpdate>();
        let current = json!({
            "title": "Laptop stolen",
            "aware_at": "2024-04-01T08:30:00Z",
            "detected_at": "2024-03-30T20:00:05Z",
            "impact": {"confidentiality": true, "integrity": false, "availability": false},
            "details": {"others_told": ["Police"]},
        });
        let typed = prefill(&root, &current, london());
        assert_eq!(typed["/aware_at"], ["2024-04-01T09:30"]);
        assert_eq!(typed["/detected_at"], ["2024-03-30T20:00:05"]);
        assert_eq!(typed["/impact/confidentiality"], ["yes"]);
        let mut fields = fields(&root, &typed);
        // The update's fields the update leaves undescribed are described as the facts are.
        assert!(find(&fields, "/awareness_justification").help.is_empty());
        borrow_help(&mut fields, &schema::<IncidentFacts>());
        let why = find(&fields, "/awareness_justification");
        assert!(why.help.contains("Why awareness is later"), "{}", why.help);
        assert_eq!(why.kind, Kind::LongText);
        assert_eq!(
            find(&fields, "/detected_at").help,
            "When the incident was first detected."
        );
        // Posting it back unchanged gives the same facts.
        let (value, problems) = read(&fields, &typed, london());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(value["aware_at"], "2024-04-01T08:30:00Z");
        assert_eq!(value["detected_at"], "2024-03-30T20:00:05Z");
        assert_eq!(value["details"]["others_told"], json!(["Police"]));
        let focus = vec![
            "/details/cause".to_string(),
            "/details/announcement".to_string(),
        ];
        let view = view(&fields, &typed, &Placed::default(), &focus);
        let first = &view["groups"][0];
        assert_eq!(first["focus"], true);
        let names: Vec<&str> = first["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"/details/cause"), "{names:?}");
        assert!(
            names.contains(&"/details/announcement/headline"),
            "{names:?}"
        );
        assert!(!names.contains(&"/title"));
        // A table the type does not require, with nothing in it, starts folded; one with
        // answers, open.
        let heading = |h: &str| {
            view["groups"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["heading"] == h)
                .unwrap_or_else(|| panic!("no group {h}: {view}"))
                .clone()
        };
        assert_eq!(heading("Occurred")["open"], false);
        assert_eq!(heading("Impact")["open"], true);
        assert_eq!(heading("Details")["open"], true);
    }

    #[test]
    fn a_required_table_starts_open_even_when_its_answers_default() {
        let root = schema::<IncidentFacts>();
        let fields = fields(&root, &Typed::new());
        let view = view(&fields, &Typed::new(), &Placed::default(), &[]);
        let open: Vec<(String, bool)> = view["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["heading"].as_str().unwrap_or("").to_string(),
                    g["open"] == true,
                )
            })
            .collect();
        assert!(open.contains(&("Impact".into(), true)), "{open:?}");
        assert!(open.contains(&("Reporter".into(), true)), "{open:?}");
        assert!(open.contains(&("Occurred".into(), false)), "{open:?}");
        assert!(open.contains(&("Details".into(), false)), "{open:?}");
    }
}
