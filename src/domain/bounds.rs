//! The sizes breachflow accepts, and the characters it refuses, in one table.
//!
//! Every outside input is bounded before it is stored or formatted: a 50 MB summary would be
//! copied into every event, document and bundle, and a 400,000-character word made table
//! formatting and mail headers blow up. A line field (a title, a name, an address, a role)
//! goes into mail headers, subjects and file names, so it is short, has no control characters
//! and no bidirectional controls (U+202E can make `gpj.exe` read as `exe.jpg`). Free text may
//! be long and may hold line breaks, but no word longer than a mail header line can carry, and
//! no bidirectional embedding, override or isolate. The README's "Limits" table repeats these
//! numbers; `tests/cli/bounds.rs` checks them through the binary.

/// An input file (organisation, incident, update, assessment, regime, calendar): bytes.
pub const MAX_INPUT_FILE_BYTES: u64 = 1024 * 1024;
/// A template file in the override folder, or a `render --text-file` edit: bytes.
pub const MAX_TEXT_FILE_BYTES: u64 = 1024 * 1024;
/// An evidence bundle file: bytes.
pub const MAX_BUNDLE_BYTES: u64 = 256 * 1024 * 1024;
/// The most one file sent with a command to the team server may hold (a recipients file of
/// about a million rows); larger files are read by a command run at the server's machine.
pub const MAX_REQUEST_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// The most a request to the team server may carry: the files base64-encoded, and the words.
pub const MAX_REQUEST_BYTES: usize = 96 * 1024 * 1024;
/// A line field (title, name, headline, role, address, phone, id): characters.
pub const MAX_LINE_CHARS: usize = 200;
/// Any other text field in an input file, a command-line value, a recipients-file cell:
/// characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// The longest run of characters without a space in any text: characters. Mail headers fold
/// only at spaces (RFC 5322 allows 998 characters a line) and tables wrap only between words.
pub const MAX_WORD_CHARS: usize = 300;
/// A command-line argument: bytes (a document `--reason`, a `--note`).
pub const MAX_ARGUMENT_BYTES: usize = 20_000;

/// Keys whose values are line fields.
const LINE_KEYS: &[&str] = &[
    "title",
    "name",
    "headline",
    "role",
    "email",
    "phone",
    "from",
    "to",
    "reply_to",
    "host",
    "id",
    "key",
    "released_by",
    "time_zone",
    "ico_registration",
    "lei",
];

/// Whether values under `key` are line fields.
pub fn is_line_key(key: &str) -> bool {
    LINE_KEYS.contains(&key) || key.ends_with("_name")
}

/// Bidirectional embeddings, overrides and isolates: refused in every text.
fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Left-to-right and right-to-left marks: refused in line fields too.
fn is_bidi_mark(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The first bidirectional override or mark in `value`, if any.
fn bidi_control(value: &str) -> Option<char> {
    value
        .chars()
        .find(|c| is_bidi_override(*c) || is_bidi_mark(*c))
}

/// What is wrong with a line field's value, if anything.
pub fn check_line(value: &str) -> Option<String> {
    let n = value.chars().count();
    if n > MAX_LINE_CHARS {
        return Some(format!(
            "is {n} characters long; the limit for a title, name or address is {MAX_LINE_CHARS}"
        ));
    }
    if let Some(c) = bidi_control(value) {
        return Some(format!(
            "contains the bidirectional control character U+{:04X}, which can make a subject or file name read differently from what it is; remove it",
            c as u32
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Some(format!(
            "contains the control character U+{:04X} (a line break or tab, say); a title, name or address is one line",
            c as u32
        ));
    }
    None
}

/// A mail subject: built from a template and line fields, so up to [`MAX_SUBJECT_CHARS`].
pub const MAX_SUBJECT_CHARS: usize = 900;

/// What is wrong with a mail subject, if anything.
pub fn check_subject(value: &str) -> Option<String> {
    let n = value.chars().count();
    if n > MAX_SUBJECT_CHARS {
        return Some(format!(
            "is {n} characters long; the limit for a subject is {MAX_SUBJECT_CHARS}"
        ));
    }
    if let Some(c) = bidi_control(value) {
        return Some(format!(
            "contains the bidirectional control character U+{:04X}",
            c as u32
        ));
    }
    let longest = longest_word(value);
    (longest > MAX_WORD_CHARS)
        .then(|| format!("has a word of {longest} characters; the limit is {MAX_WORD_CHARS}"))
}

/// What is wrong with a free-text value, if anything.
pub fn check_text(value: &str) -> Option<String> {
    let n = value.chars().count();
    if n > MAX_TEXT_CHARS {
        return Some(format!(
            "is {n} characters long; the limit for a text field is {MAX_TEXT_CHARS}"
        ));
    }
    if let Some(c) = value.chars().find(|c| is_bidi_override(*c)) {
        return Some(format!(
            "contains the bidirectional control character U+{:04X}, which can make text read differently from what it is; remove it",
            c as u32
        ));
    }
    let longest = longest_word(value);
    if longest > MAX_WORD_CHARS {
        return Some(format!(
            "has a word of {longest} characters without a space; the limit is {MAX_WORD_CHARS} (break it with spaces, or shorten a link)"
        ));
    }
    None
}

/// The longest run of characters without white space.
pub fn longest_word(value: &str) -> usize {
    value
        .split(char::is_whitespace)
        .map(|w| w.chars().count())
        .max()
        .unwrap_or(0)
}

/// Every string in `value` checked against its bounds, as (JSON pointer, problem). The key a
/// string sits under decides whether it is a line field; strings in arrays take their array's
/// key. Object keys are bounded as line fields too (`details` takes any key).
pub fn check_value(value: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(value, "", None, &mut out);
    out
}

fn walk(
    value: &serde_json::Value,
    pointer: &str,
    key: Option<&str>,
    out: &mut Vec<(String, String)>,
) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            let line = key.is_some_and(is_line_key);
            let problem = if line { check_line(s) } else { check_text(s) };
            if let Some(p) = problem {
                out.push((pointer.to_string(), p));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{pointer}/{i}"), key, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
                if let Some(p) = check_line(k) {
                    out.push((here.clone(), format!("the key {p}")));
                    continue;
                }
                walk(v, &here, Some(k), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_bound_names_the_path_and_the_limit() {
        let long = "a".repeat(MAX_LINE_CHARS + 1);
        let word = "b".repeat(MAX_WORD_CHARS + 1);
        let value = json!({
            "title": long,
            "summary": format!("fine words then {word}"),
            "details": { "answer": "ok \u{202E}gpj.exe" },
            "contacts": [{ "name": "Ann\u{200F}" }],
            "notes": "Ann\u{200F} may appear in free text",
        });
        let problems = check_value(&value);
        let at = |p: &str| {
            problems
                .iter()
                .find(|(ptr, _)| ptr == p)
                .map(|(_, m)| m.clone())
                .unwrap_or_else(|| panic!("no problem at {p}: {problems:?}"))
        };
        assert!(at("/title").contains("limit for a title, name or address is 200"));
        assert!(at("/summary").contains("the limit is 300"));
        assert!(at("/details/answer").contains("U+202E"));
        assert!(at("/contacts/0/name").contains("U+200F"));
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn text_at_the_limits_passes() {
        let words = format!("{} ", "w".repeat(MAX_WORD_CHARS)).repeat(10);
        assert_eq!(check_text(&words), None);
        assert_eq!(check_line(&"n".repeat(MAX_LINE_CHARS)), None);
        assert!(check_text(&"x ".repeat(MAX_TEXT_CHARS / 2 + 1)).is_some());
    }
}
