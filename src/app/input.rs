//! Reading input files: JSON syntax (with line and column), then the JSON Schema generated from
//! the Rust type (every violation, each with its JSON path, formats included), then the type.
//!
//! Semantic rules a schema cannot express (awareness before detection, a time zone that exists)
//! are the domain's; the CLI reports them through the same `InputError::Invalid` so a user sees
//! one list of problems per file.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// One problem with an input: where (a JSON pointer, empty for the whole document) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pointer: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(document)"
        } else {
            &self.pointer
        };
        write!(f, "at {at}: {}", self.message)
    }
}

/// Why an input file was refused.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: invalid JSON: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {} problem{}:\n{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, list(problems))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl InputError {
    /// Domain problems found after the schema passed, reported against the file they came from.
    pub fn invalid(file: &str, problems: Vec<(String, String)>) -> InputError {
        InputError::Invalid {
            file: file.to_string(),
            problems: problems
                .into_iter()
                .map(|(pointer, message)| Problem { pointer, message })
                .collect(),
        }
    }
}

/// The JSON Schema of an input type, as `serde_json::Value`.
pub fn schema_of<T: JsonSchema>() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
}

/// Validates JSON text as `T`; `file` names the source in errors.
pub fn parse<T: DeserializeOwned + JsonSchema>(file: &str, text: &str) -> Result<T, InputError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| InputError::Syntax {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })?;
    check_bounds(file, &value)?;
    validate::<T>(file, &value)?;
    serde_json::from_value(value).map_err(|e| InputError::Invalid {
        file: file.to_string(),
        problems: vec![Problem {
            pointer: String::new(),
            message: e.to_string(),
        }],
    })
}

/// Every string within its bounds (`domain::bounds`): each one that is not, by JSON path, with
/// the limit. Checked before the schema, so a huge value is refused before anything copies it.
pub fn check_bounds(file: &str, value: &serde_json::Value) -> Result<(), InputError> {
    let problems = crate::domain::bounds::check_value(value);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InputError::invalid(file, problems))
    }
}

/// Input text of at most `limit` bytes, or the error that names the file and the limit.
pub fn check_size(file: &str, len: u64, limit: u64) -> Result<(), InputError> {
    if len > limit {
        return Err(InputError::invalid(
            file,
            vec![(
                String::new(),
                format!(
                    "the file is {len} bytes; the limit is {limit} bytes ({} KiB)",
                    limit / 1024
                ),
            )],
        ));
    }
    Ok(())
}

/// The compiled validator for `T`'s schema, built once per process: a command that reads
/// eighteen regime files compiles the regime schema once, not eighteen times.
fn validator_for<T: JsonSchema>() -> Result<Arc<jsonschema::Validator>, String> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Arc<jsonschema::Validator>>>> =
        OnceLock::new();
    let key = std::any::type_name::<T>();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().ok().and_then(|c| c.get(key).cloned()) {
        return Ok(v);
    }
    let schema = schema_of::<T>();
    let built = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| e.to_string())?;
    let built = Arc::new(built);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, built.clone());
    }
    Ok(built)
}

/// Checks `value` against `T`'s schema and lists every violation.
pub fn validate<T: JsonSchema>(file: &str, value: &serde_json::Value) -> Result<(), InputError> {
    let validator = validator_for::<T>().map_err(|e| InputError::Invalid {
        file: file.to_string(),
        problems: vec![Problem {
            pointer: String::new(),
            message: format!("internal schema error: {e}"),
        }],
    })?;
    let mut problems = Vec::new();
    for error in validator.iter_errors(value) {
        explain(&error, &mut problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InputError::Invalid {
            file: file.to_string(),
            problems,
        })
    }
}

/// Problems of one value against one field's schema, `$ref`s resolved in `root`'s `$defs`:
/// an interactive intake checks each answer as it is given, with the messages (and the "did
/// you mean") a file would get.
pub fn check_field(
    root: &serde_json::Value,
    field: &serde_json::Value,
    value: &serde_json::Value,
) -> Vec<String> {
    let mut schema = field.clone();
    if let (Some(s), Some(defs)) = (schema.as_object_mut(), root.get("$defs")) {
        s.insert("$defs".into(), defs.clone());
    }
    let validator = match jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
    {
        Ok(v) => v,
        Err(e) => return vec![format!("internal schema error: {e}")],
    };
    let mut problems = Vec::new();
    for error in validator.iter_errors(value) {
        explain(&error, &mut problems);
    }
    let mut messages: Vec<String> = problems.into_iter().map(|p| p.message).collect();
    messages.extend(
        crate::domain::bounds::check_value(value)
            .into_iter()
            .map(|(_, m)| m),
    );
    messages
}

/// Turns one validation error into problems. `anyOf`/`oneOf` errors ("not valid under any of the
/// schemas") say nothing useful, and schemars emits them for every optional struct and untagged
/// enum; so report the errors of the branch the input came closest to matching instead.
fn explain(error: &jsonschema::ValidationError<'_>, out: &mut Vec<Problem>) {
    use jsonschema::error::ValidationErrorKind;
    let branches = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            Some(context)
        }
        _ => None,
    };
    if let Some(branches) = branches {
        let here = error.instance_path().to_string();
        // A branch that fails only on the type of the value itself (the `null` of an Option, the
        // wrong shape altogether) was not what the user meant.
        let candidates: Vec<&Vec<jsonschema::ValidationError<'static>>> = branches
            .iter()
            .filter(|errors| {
                !errors.iter().all(|e| {
                    matches!(e.kind(), ValidationErrorKind::Type { .. })
                        && e.instance_path().to_string() == here
                })
            })
            .collect();
        let fewest = candidates.iter().map(|b| b.len()).min();
        let closest: Vec<_> = candidates
            .iter()
            .filter(|b| Some(b.len()) == fewest)
            .collect();
        if let [only] = closest.as_slice() {
            for e in only.iter() {
                explain(e, out);
            }
            return;
        }
        if closest.len() > 1
            && let Some(problem) = vocabulary(error, &closest)
        {
            out.push(problem);
            return;
        }
        if closest.len() > 1 {
            let alternatives: Vec<String> = closest
                .iter()
                .map(|b| {
                    b.iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .collect();
            out.push(Problem {
                pointer: here,
                message: format!(
                    "matches none of the accepted shapes: {}",
                    alternatives.join("; or ")
                ),
            });
            return;
        }
    }
    if let ValidationErrorKind::Enum { options } = error.kind()
        && let Some(allowed) = options.as_array()
    {
        let allowed: Vec<&str> = allowed.iter().filter_map(|v| v.as_str()).collect();
        out.push(not_one_of(error, &allowed));
        return;
    }
    out.push(Problem {
        pointer: error.instance_path().to_string(),
        message: error.to_string(),
    });
}

/// A value outside a vocabulary that schemars wrote as one `const` per value (so each value
/// keeps its description): the allowed values, and the closest, when every branch failed only
/// on its constant. `None` when the branches are not such a vocabulary.
fn vocabulary(
    error: &jsonschema::ValidationError<'_>,
    branches: &[&&Vec<jsonschema::ValidationError<'static>>],
) -> Option<Problem> {
    use jsonschema::error::ValidationErrorKind;
    let here = error.instance_path().to_string();
    let mut allowed = Vec::new();
    for branch in branches {
        let [only] = branch.as_slice() else {
            return None;
        };
        match only.kind() {
            ValidationErrorKind::Constant { expected_value }
                if only.instance_path().to_string() == here =>
            {
                allowed.push(expected_value.as_str()?)
            }
            _ => return None,
        }
    }
    Some(not_one_of(error, &allowed))
}

/// "`x` is not one of: a, b, c; did you mean "b"?"
fn not_one_of(error: &jsonschema::ValidationError<'_>, allowed: &[&str]) -> Problem {
    let given = error.instance();
    let guess = given
        .as_str()
        .and_then(|g| crate::domain::spelling::closest(g, allowed.iter().copied()))
        .map(|g| format!("; did you mean {g:?}?"))
        .unwrap_or_default();
    Problem {
        pointer: error.instance_path().to_string(),
        message: format!(
            "{given} is not one of the accepted values: {}{guess}",
            allowed.join(", ")
        ),
    }
}

/// serde_json appends " at line L column C"; we report those separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// TOML -> JSON -> schema -> type, with TOML syntax errors at their line and column.
pub fn parse_toml<T: DeserializeOwned + JsonSchema>(
    file: &str,
    text: &str,
) -> Result<T, InputError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_col(text, span.start))
            .unwrap_or((0, 0));
        InputError::Syntax {
            file: file.to_string(),
            line,
            column,
            message: e.message().to_string(),
        }
    })?;
    let value = to_json(toml::Value::Table(table));
    check_bounds(file, &value)?;
    crate::app::input::validate::<T>(file, &value)?;
    serde_json::from_value(value).map_err(|e| InputError::Invalid {
        file: file.to_string(),
        problems: vec![Problem {
            pointer: String::new(),
            message: e.to_string(),
        }],
    })
}

/// TOML's own date and time literals (`effective_from = 2024-01-01`) become the strings the
/// schema expects, so a user may write dates either way.
fn to_json(value: toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => J::from(f),
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.into_iter().map(to_json).collect()),
        toml::Value::Table(t) => J::Object(t.into_iter().map(|(k, v)| (k, to_json(v))).collect()),
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}
