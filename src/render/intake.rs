//! A commented starting file for an input (`incident new`, `assess --template`), written from
//! the input type's JSON Schema so it can never list a field the binary does not accept or
//! miss one it does.
//!
//! `questions` lists the same schema's required fields for `incident open --interactive`, and
//! `every_question` all of them for the workspace's forms (`render::form`); `read_answer` turns
//! what a person typed into the JSON value a field takes, for both.
//!
//! The file is TOML, because TOML has comments: every field is preceded by its description and
//! what it accepts. Required fields are present with an empty value, so `incident open` refuses
//! the file, naming each one, until a person has filled them in; a plausible-looking placeholder
//! time could be filed unnoticed. Optional fields are commented out.

use serde_json::{Map, Value};

/// What kind of answer a question takes, as a person types it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A line of text (a time is text the schema checks as RFC 3339).
    Text,
    /// A whole number.
    Integer,
    /// A number.
    Number,
    /// Yes or no.
    Boolean,
    /// One of `choices`.
    Choice,
    /// Several, comma-separated (of `choices`, when there are any).
    List,
}

/// One question of an interactive intake (`incident open --interactive`): a required field of
/// the schema, where its answer goes, what it is and what it accepts. Derived from the same
/// schema as the starting file, so the questions cannot drift from what the binary accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Where the answer goes, e.g. `["reporter", "name"]`.
    pub path: Vec<String>,
    /// The field's description.
    pub about: String,
    /// What it accepts, in words (the starting file's comment lines).
    pub accepts: Vec<String>,
    /// The allowed values of an enumeration (or of a list's items).
    pub choices: Vec<String>,
    /// Each choice's description, where the schema gives one (in the order of `choices`).
    pub choice_about: Vec<Option<String>>,
    /// Whether the type requires it (a field of an optional table or of a list's row never is).
    pub required: bool,
    /// Whether the table holding it is required (`impact`, whose answers each default to no),
    /// so a form shows the table open.
    pub table_required: bool,
    pub answer: Answer,
    /// Given when the answer is left empty.
    pub default: Option<Value>,
    /// The field's schema, to check an answer against (`$ref`s point into the root's `$defs`).
    pub schema: Value,
}

/// The questions for the schema `root`: each required field, in the order the type declares
/// them; a required table's required fields (all its one-line fields when it requires none:
/// `impact`'s three yes-or-no answers).
pub fn questions(root: &Value) -> Vec<Question> {
    let defs = root.get("$defs").cloned().unwrap_or(Value::Null);
    let walker = Walker { defs: &defs };
    let mut out = Vec::new();
    walker.ask(&mut out, root, &[]);
    out
}

/// The starting file for the schema `root`, headed by `title` (a comment).
pub fn starting_file(root: &Value, title: &str) -> String {
    let mut out = String::new();
    for line in title.lines() {
        out.push_str(&format!("# {line}\n"));
    }
    out.push_str(
        "#\n# Fill in every field that is not commented out; uncomment an optional one to give it.\n# Times are RFC 3339 with an offset, in quotes: \"2024-03-30T20:00:00Z\".\n",
    );
    let defs = root.get("$defs").cloned().unwrap_or(Value::Null);
    let walker = Walker { defs: &defs };
    walker.table(&mut out, root, &[], true);
    out
}

/// A typed answer (a line at a terminal, a form's field) as the JSON value the question
/// takes, or why it cannot be one.
pub fn read_answer(q: &Question, text: &str) -> Result<Value, String> {
    if text.is_empty()
        && let Some(d) = &q.default
    {
        return Ok(d.clone());
    }
    // A choice may be given by its number in the list.
    let choice = |t: &str| -> Value {
        match t.parse::<usize>() {
            Ok(n) if n >= 1 && n <= q.choices.len() => Value::String(q.choices[n - 1].clone()),
            _ => Value::String(t.to_string()),
        }
    };
    match q.answer {
        Answer::Text => Ok(Value::String(text.to_string())),
        Answer::Choice => Ok(choice(text)),
        Answer::List => Ok(Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(choice)
                .collect(),
        )),
        Answer::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("{text:?} is not a whole number")),
        Answer::Number => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("{text:?} is not a number")),
        Answer::Boolean => match text.to_lowercase().as_str() {
            "y" | "yes" | "true" => Ok(Value::Bool(true)),
            "n" | "no" | "false" => Ok(Value::Bool(false)),
            _ => Err(format!("{text:?}: answer yes or no")),
        },
    }
}

/// Sets `value` at `path` in `root`, making the tables on the way.
pub fn put(root: &mut Value, path: &[String], value: Value) {
    let mut at = root;
    for (i, key) in path.iter().enumerate() {
        let Some(map) = at.as_object_mut() else {
            return;
        };
        if i + 1 == path.len() {
            map.insert(key.clone(), value);
            return;
        }
        at = map
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// A table's properties and the names of the required ones, if it is a table.
fn fields(schema: &Value) -> Option<(&Map<String, Value>, Vec<&str>)> {
    let properties = schema.get("properties").and_then(Value::as_object)?;
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Some((properties, required))
}

struct Walker<'a> {
    defs: &'a Value,
}

/// One field, as the file shows it.
enum Shape<'a> {
    /// A value on one line.
    Scalar(String),
    /// A nested table: `[a.b]`.
    Table(&'a Value),
    /// An array of tables: `[[a.b]]`.
    Tables(&'a Value),
}

/// The question for the one-line field at a JSON pointer (`/awareness_justification`), when a
/// rule across fields names an optional field the questions left out.
pub fn question_at(root: &Value, pointer: &str) -> Option<Question> {
    let defs = root.get("$defs").cloned().unwrap_or(Value::Null);
    let walker = Walker { defs: &defs };
    let path: Vec<&str> = pointer.strip_prefix('/')?.split('/').collect();
    let field = walker.field_at(root, &path)?;
    match walker.shape(field) {
        Shape::Scalar(_) => {
            Some(walker.question(field, path.iter().map(|p| p.to_string()).collect()))
        }
        _ => None,
    }
}

/// Every field of the schema `root`, optional ones too, for a form: required fields first in
/// the order the type declares them, then the optional ones; a nested table's fields after its
/// parent's (`reporter/name`); a list of tables as one row's fields, with `#` where the row's
/// number goes (`context_adjustments/#/delta`); a value of one of several table shapes
/// (`{estimate}` or `{min, max}`) as the fields of every shape, none of them required alone.
pub fn every_question(root: &Value) -> Vec<Question> {
    let defs = root.get("$defs").cloned().unwrap_or(Value::Null);
    let walker = Walker { defs: &defs };
    let mut out = Vec::new();
    walker.every(&mut out, root, &[], true);
    out
}

/// The description of the field at a JSON pointer (a table's, for a form's heading); `#`
/// stands for any row of a list.
pub fn about_at(root: &Value, pointer: &str) -> Option<String> {
    let defs = root.get("$defs").cloned().unwrap_or(Value::Null);
    let walker = Walker { defs: &defs };
    let path: Vec<&str> = pointer.strip_prefix('/')?.split('/').collect();
    let field = walker.field_at(root, &path)?;
    field
        .get("description")
        .or_else(|| walker.resolve(field).get("description"))
        .and_then(Value::as_str)
        .map(|d| d.replace('\n', " "))
}

impl<'a> Walker<'a> {
    /// Follows `$ref` and drops the `null` alternative of an optional value.
    fn resolve(&self, schema: &'a Value) -> &'a Value {
        if let Some(name) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
            && let Some(def) = self.defs.get(name)
        {
            return self.resolve(def);
        }
        if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
            let real: Vec<&Value> = options
                .iter()
                .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [one] = real.as_slice() {
                return self.resolve(one);
            }
        }
        schema
    }

    fn types(schema: &Value) -> Vec<&str> {
        match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The allowed values of an enumeration, with their descriptions when the schema has them.
    fn choices(&self, schema: &Value) -> Vec<(String, Option<String>)> {
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            return values
                .iter()
                .filter_map(Value::as_str)
                .map(|v| (v.to_string(), None))
                .collect();
        }
        let mut out = Vec::new();
        for key in ["oneOf", "anyOf"] {
            for option in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let option = self.resolve(option);
                if let Some(c) = option.get("const").and_then(Value::as_str) {
                    let about = option
                        .get("description")
                        .and_then(Value::as_str)
                        .map(|d| d.replace('\n', " "));
                    out.push((c.to_string(), about));
                } else {
                    out.extend(self.choices(option));
                }
            }
        }
        out
    }

    fn shape(&self, schema: &'a Value) -> Shape<'a> {
        let schema = self.resolve(schema);
        let types = Self::types(schema);
        if types.contains(&"object") && schema.get("properties").is_some() {
            return Shape::Table(schema);
        }
        if types.contains(&"array") {
            let items = schema.get("items").map(|i| self.resolve(i));
            if let Some(items) = items
                && items.get("properties").is_some()
            {
                return Shape::Tables(items);
            }
            return Shape::Scalar("[]".into());
        }
        if !self.choices(schema).is_empty() {
            return Shape::Scalar("\"\"".into());
        }
        // One of several object forms (`{estimate = N}` or `{min = N, max = M}`): the first
        // form, inline, with its required keys; the description names the others.
        if let Some(first) = schema
            .get("anyOf")
            .and_then(Value::as_array)
            .and_then(|o| o.first())
            .map(|o| self.resolve(o))
            && let Some(keys) = first.get("required").and_then(Value::as_array)
        {
            let keys: Vec<String> = keys
                .iter()
                .filter_map(Value::as_str)
                .map(|k| format!("{k} = \"\""))
                .collect();
            return Shape::Scalar(format!("{{ {} }}", keys.join(", ")));
        }
        Shape::Scalar(
            match types.first().copied() {
                Some("integer") | Some("number") => "0",
                Some("boolean") => "false",
                _ => "\"\"",
            }
            .into(),
        )
    }

    /// What a field accepts, for its comment.
    fn accepts(&self, schema: &Value) -> Vec<String> {
        let resolved = self.resolve(schema);
        let mut lines = Vec::new();
        // "One of:" / "A list of:" and the allowed values, each with its description.
        let mut list = |heading: &str, choices: Vec<(String, Option<String>)>| {
            lines.push(heading.to_string());
            lines.extend(choices.into_iter().map(|(value, about)| match about {
                Some(a) => format!("  \"{value}\": {a}"),
                None => format!("  \"{value}\""),
            }));
        };
        let choices = self.choices(resolved);
        if !choices.is_empty() {
            list("One of:", choices);
        }
        let items = resolved.get("items").map(|i| self.resolve(i));
        if let Some(items) = items {
            let item_choices = self.choices(items);
            if item_choices.is_empty() {
                list("A list.", Vec::new());
            } else {
                list("A list of:", item_choices);
            }
        }
        if resolved.get("format").and_then(Value::as_str) == Some("date-time") {
            lines.push("A time, RFC 3339 with offset.".into());
        }
        if let Some(d) = schema.get("default")
            && !d.is_null()
            && d != &Value::Array(Vec::new())
            && d != &Value::Object(Map::new())
        {
            lines.push(format!("Default: {d}."));
        }
        lines
    }

    fn describe(&self, out: &mut String, field: &Value, required: bool) {
        let resolved = self.resolve(field);
        let about = field
            .get("description")
            .or_else(|| resolved.get("description"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        for line in about.lines() {
            out.push_str(&format!("# {line}\n"));
        }
        for line in self.accepts(field) {
            out.push_str(&format!("# {line}\n"));
        }
        if required {
            out.push_str("# Required.\n");
        }
    }

    /// The field at `path`, through nested tables.
    fn field_at(&self, schema: &'a Value, path: &[&str]) -> Option<&'a Value> {
        let (first, rest) = path.split_first()?;
        let resolved = self.resolve(schema);
        let field = if *first == "#" {
            resolved.get("items")?
        } else {
            resolved.get("properties")?.get(*first)?
        };
        if rest.is_empty() {
            Some(field)
        } else {
            self.field_at(field, rest)
        }
    }

    /// The questions of one table, for `questions`.
    fn ask(&self, out: &mut Vec<Question>, schema: &'a Value, path: &[String]) {
        let Some((properties, required)) = fields(schema) else {
            return;
        };
        let names: Vec<&str> = if required.is_empty() {
            properties.keys().map(String::as_str).collect()
        } else {
            required
        };
        for name in names {
            let Some(field) = properties.get(name) else {
                continue;
            };
            let mut sub = path.to_vec();
            sub.push(name.to_string());
            match self.shape(field) {
                Shape::Table(inner) => self.ask(out, inner, &sub),
                // A list of tables is never required of an intake; `incident update` adds them.
                Shape::Tables(_) => {}
                Shape::Scalar(_) => out.push(self.question(field, sub)),
            }
        }
    }

    /// The fields of one table, for `every_question`; `present` when the table itself is
    /// required (its required fields are then required too).
    fn every(&self, out: &mut Vec<Question>, schema: &'a Value, path: &[String], present: bool) {
        let Some((properties, required)) = fields(self.resolve(schema)) else {
            return;
        };
        let mut names: Vec<&str> = required
            .iter()
            .filter(|r| properties.contains_key(**r))
            .copied()
            .collect();
        names.extend(
            properties
                .keys()
                .map(String::as_str)
                .filter(|k| !required.contains(k)),
        );
        // A table's own fields first, then its sub-tables, so each table's fields stay together.
        let nested = |name: &&str| {
            properties
                .get(*name)
                .is_some_and(|f| !matches!(self.shape(f), Shape::Scalar(_)))
        };
        let (tables, own): (Vec<&str>, Vec<&str>) = names.into_iter().partition(nested);
        for name in own.into_iter().chain(tables) {
            let Some(field) = properties.get(name) else {
                continue;
            };
            let is_required = present && required.contains(&name);
            let mut sub = path.to_vec();
            sub.push(name.to_string());
            match self.shape(field) {
                Shape::Table(inner) => self.every(out, inner, &sub, is_required),
                Shape::Tables(items) => {
                    // A row's fields are required once the row is given, never before.
                    sub.push("#".into());
                    self.every(out, items, &sub, false);
                }
                Shape::Scalar(_) => {
                    let shapes = self.table_shapes(field);
                    if shapes.is_empty() {
                        let mut q = self.question(field, sub);
                        q.required = is_required;
                        q.table_required = present;
                        out.push(q);
                    } else {
                        // Every shape's keys once, in the order the shapes give them.
                        let mut seen: Vec<&str> = Vec::new();
                        for shape in shapes {
                            for (key, inner) in shape {
                                if seen.contains(&key.as_str()) {
                                    continue;
                                }
                                seen.push(key);
                                let mut at = sub.clone();
                                at.push(key.clone());
                                let mut q = self.question(inner, at);
                                q.required = false;
                                q.table_required = is_required;
                                out.push(q);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The properties of each table shape a value may take (`anyOf` of tables), in the order
    /// the type declares them (required keys first); empty when it is not such a value.
    fn table_shapes(&self, field: &'a Value) -> Vec<Vec<(&'a String, &'a Value)>> {
        let resolved = self.resolve(field);
        let Some(options) = resolved.get("anyOf").and_then(Value::as_array) else {
            return Vec::new();
        };
        let mut shapes = Vec::new();
        for option in options {
            let option = self.resolve(option);
            let Some((properties, required)) = fields(option) else {
                return Vec::new();
            };
            let mut keys: Vec<(&'a String, &'a Value)> = required
                .iter()
                .filter_map(|r| properties.get_key_value(*r))
                .collect();
            keys.extend(
                properties
                    .iter()
                    .filter(|(k, _)| !required.contains(&k.as_str())),
            );
            shapes.push(keys);
        }
        shapes
    }

    fn question(&self, field: &Value, path: Vec<String>) -> Question {
        let resolved = self.resolve(field);
        let about = field
            .get("description")
            .or_else(|| resolved.get("description"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .replace('\n', " ");
        let types = Self::types(resolved);
        let mut described = self.choices(resolved);
        let answer = if !described.is_empty() {
            Answer::Choice
        } else if types.contains(&"array") {
            if let Some(items) = resolved.get("items") {
                described = self.choices(self.resolve(items));
            }
            Answer::List
        } else if types.contains(&"integer") {
            Answer::Integer
        } else if types.contains(&"number") {
            Answer::Number
        } else if types.contains(&"boolean") {
            Answer::Boolean
        } else {
            Answer::Text
        };
        let (choices, choice_about) = described.into_iter().unzip();
        Question {
            path,
            about,
            accepts: self.accepts(field),
            choices,
            choice_about,
            required: true,
            table_required: true,
            answer,
            default: field.get("default").cloned().filter(|d| !d.is_null()),
            schema: field.clone(),
        }
    }

    /// Writes a table's fields: the one-line values first (TOML puts a table's own keys before
    /// its sub-tables), required ones in the order the type declares them, then the optional
    /// ones; then each sub-table.
    fn table(&self, out: &mut String, schema: &'a Value, path: &[&'a str], present: bool) {
        let Some((properties, required)) = fields(schema) else {
            return;
        };
        let mut names: Vec<&'a str> = required
            .iter()
            .filter_map(|r| properties.get_key_value(*r).map(|(k, _)| k.as_str()))
            .collect();
        names.extend(
            properties
                .keys()
                .map(String::as_str)
                .filter(|k| !required.contains(k)),
        );
        let mut nested = Vec::new();
        for name in names {
            let field = &properties[name];
            let is_required = present && required.contains(&name);
            match self.shape(field) {
                Shape::Scalar(value) => {
                    out.push('\n');
                    self.describe(out, field, is_required);
                    let hash = if is_required { "" } else { "# " };
                    // An optional field shows its default, where it has a simple one.
                    let value = match field.get("default") {
                        Some(d @ (Value::String(_) | Value::Bool(_) | Value::Number(_)))
                            if !is_required =>
                        {
                            d.to_string()
                        }
                        _ => value,
                    };
                    out.push_str(&format!("{hash}{name} = {value}\n"));
                }
                shape => nested.push((name, field, shape, is_required)),
            }
        }
        for (name, field, shape, is_required) in nested {
            let mut sub = path.to_vec();
            sub.push(name);
            let header = sub.join(".");
            out.push('\n');
            self.describe(out, field, is_required);
            match shape {
                Shape::Table(inner) => {
                    let hash = if is_required { "" } else { "# " };
                    out.push_str(&format!("{hash}[{header}]\n"));
                    self.table(out, inner, &sub, is_required);
                }
                Shape::Tables(items) => {
                    out.push_str(&format!("# [[{header}]]  (repeat for each)\n"));
                    self.table(out, items, &sub, false);
                }
                Shape::Scalar(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::assessment::AssessmentInput;
    use crate::domain::incident::IncidentFacts;

    fn schemas() -> Vec<(&'static str, Value)> {
        vec![
            (
                "incident",
                serde_json::to_value(schemars::schema_for!(IncidentFacts)).unwrap(),
            ),
            (
                "assessment",
                serde_json::to_value(schemars::schema_for!(AssessmentInput)).unwrap(),
            ),
        ]
    }

    /// Uncomments every optional field and table, as a person giving all of them would.
    fn uncommented(text: &str) -> String {
        text.lines()
            .map(|l| {
                let rest = l.strip_prefix("# ").unwrap_or(l);
                let key = rest.split(" = ").next().unwrap_or_default();
                let is_field = rest.contains(" = ")
                    && !key.is_empty()
                    && key.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                if is_field || rest.starts_with('[') {
                    rest.split("  (").next().unwrap_or(rest).to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The starting file, and its form with every optional line uncommented, are valid TOML:
    /// keys before sub-tables, every table header where it belongs.
    #[test]
    fn the_file_and_its_fully_uncommented_form_are_valid_toml() {
        for (name, schema) in schemas() {
            let text = starting_file(&schema, name);
            toml::from_str::<toml::Table>(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
            let all = uncommented(&text);
            assert_ne!(all, text);
            toml::from_str::<toml::Table>(&all).unwrap_or_else(|e| panic!("{name}: {e}\n{all}"));
        }
    }

    /// The questions are the required fields, nested ones by their path, with the kind of
    /// answer each takes.
    #[test]
    fn the_questions_are_the_required_fields_of_the_schema() {
        let (_, schema) = &schemas()[0];
        let asked = questions(schema);
        let paths: Vec<String> = asked.iter().map(|q| q.path.join(".")).collect();
        for required in schema["required"].as_array().unwrap() {
            let r = required.as_str().unwrap();
            assert!(
                paths
                    .iter()
                    .any(|p| p == r || p.starts_with(&format!("{r}."))),
                "{r} not asked: {paths:?}"
            );
        }
        assert!(paths.contains(&"reporter.name".to_string()), "{paths:?}");
        assert!(!paths.contains(&"reporter.email".to_string()), "{paths:?}");
        assert!(!paths.contains(&"containment".to_string()), "{paths:?}");
        let aware = asked.iter().find(|q| q.path == ["aware_at"]).unwrap();
        assert_eq!(aware.answer, Answer::Text);
        assert!(aware.about.contains("72-hour clock"), "{aware:?}");
        assert!(aware.accepts.iter().any(|a| a.contains("RFC 3339")));
        let confidentiality = asked
            .iter()
            .find(|q| q.path == ["impact", "confidentiality"])
            .unwrap();
        assert_eq!(confidentiality.answer, Answer::Boolean);
        assert_eq!(confidentiality.default, Some(Value::Bool(false)));
        // An enumeration's choices come with the question.
        let (_, assessment) = &schemas()[1];
        let asked = questions(assessment);
        for (path, answer, choice) in [
            ("identifiability", Answer::Choice, "maximum"),
            ("data_categories", Answer::List, "health"),
        ] {
            let q = asked.iter().find(|q| q.path == [path]).unwrap();
            assert_eq!(q.answer, answer, "{path}");
            assert!(q.choices.contains(&choice.to_string()), "{path}");
        }
    }

    #[test]
    fn every_field_of_the_schema_is_in_the_file_with_its_description() {
        let (_, schema) = &schemas()[0];
        let text = starting_file(schema, "incident");
        for (key, field) in schema["properties"].as_object().unwrap() {
            assert!(
                text.contains(&format!("\n{key} = "))
                    || text.contains(&format!("\n# {key} = "))
                    || text.contains(&format!("[{key}]")),
                "{key} missing"
            );
            let first = field["description"]
                .as_str()
                .unwrap()
                .lines()
                .next()
                .unwrap();
            assert!(text.contains(first), "{key}: description missing");
        }
        // Required fields are present and empty: the file is refused until filled in.
        assert!(text.contains("\ntitle = \"\"\n"));
        assert!(text.contains("\naware_at = \"\"\n"));
        // Optional ones are commented out.
        assert!(text.contains("\n# containment = \"\"\n"));
        if std::env::var_os("SHOW_INTAKE").is_some() {
            println!("{text}");
        }
    }
}
