//! Questions at a terminal for `incident open --interactive`: each required field of the
//! intake asked with its description and choices, each answer checked as it is given (asked
//! again until it passes), the result shown and confirmed. Reads any `BufRead` and writes any
//! `Write`, so it is tested in-process; the command refuses a stdin that is not a terminal.
//!
//! No rule of the intake lives here: the questions come from the schema
//! (`render::intake::questions`, which also turns a typed line into JSON), the checks from
//! `app::input::check_field`, and storing goes
//! through `app::incident::open` like a file would.

use std::io::{self, BufRead, Write};

use serde_json::{Map, Value};

use crate::render::intake::{Question, put, read_answer};

/// Why the questions stopped without a confirmed answer.
#[derive(Debug)]
pub enum Stopped {
    /// The input ended before every question was answered.
    Ended,
    /// The person did not confirm.
    NotConfirmed,
    Io(io::Error),
}

impl From<io::Error> for Stopped {
    fn from(e: io::Error) -> Self {
        Stopped::Io(e)
    }
}

/// The checks an answer passes: each answer alone (`field`), then all of them together
/// (`whole`: rules across fields, such as awareness not before detection, as problems by JSON
/// pointer). Each returns the problems, empty when accepted.
pub struct Checks<'a> {
    pub field: &'a dyn Fn(&Question, &Value) -> Vec<String>,
    pub whole: &'a dyn Fn(&Value) -> Vec<(String, String)>,
    /// The question for a field a `whole` problem names that was not asked (an optional one
    /// a rule makes needed, such as the reason awareness came after detection).
    pub more: &'a dyn Fn(&str) -> Option<Question>,
}

/// Asks every question, checking each answer as it is given; then checks the answers
/// together and asks again those a problem names; then shows the answers and asks to confirm
/// them. Returns the answers as one JSON object, by path.
pub fn ask(
    questions: &[Question],
    checks: &Checks<'_>,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<Value, Stopped> {
    writeln!(
        out,
        "{} question(s); an empty answer takes the default where there is one.",
        questions.len()
    )?;
    let mut answers = Value::Object(Map::new());
    let mut questions: Vec<Question> = questions.to_vec();
    let mut asking: Vec<usize> = (0..questions.len()).collect();
    loop {
        for &i in &asking {
            let q = &questions[i];
            let value = ask_one(q, checks.field, input, out)?;
            put(&mut answers, &q.path, value);
        }
        let problems = (checks.whole)(&answers);
        if problems.is_empty() {
            break;
        }
        writeln!(out, "\nThe answers do not fit together:")?;
        for (pointer, message) in &problems {
            writeln!(out, "  at {pointer}: {message}")?;
        }
        let at = |q: &Question| format!("/{}", q.path.join("/"));
        let mut named = Vec::new();
        for (pointer, _) in &problems {
            match questions.iter().position(|q| at(q) == *pointer) {
                Some(i) => named.push(i),
                None => {
                    if let Some(q) = (checks.more)(pointer) {
                        questions.push(q);
                        named.push(questions.len() - 1);
                    }
                }
            }
        }
        named.sort_unstable();
        named.dedup();
        // A problem no single answer is named for: ask everything again.
        asking = if named.is_empty() {
            (0..questions.len()).collect()
        } else {
            named
        };
        writeln!(out, "Asking again:")?;
    }
    writeln!(out, "\nYour answers:")?;
    for q in &questions {
        let value = q
            .path
            .iter()
            .try_fold(&answers, |v, k| v.get(k))
            .cloned()
            .unwrap_or(Value::Null);
        let text = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        writeln!(out, "  {}: {text}", q.path.join("."))?;
    }
    write!(out, "Store this incident? [y/N] ")?;
    out.flush()?;
    let mut line = String::new();
    input.read_line(&mut line)?;
    if matches!(line.trim(), "y" | "Y" | "yes" | "Yes" | "YES") {
        Ok(answers)
    } else {
        Err(Stopped::NotConfirmed)
    }
}

/// One question, asked until its answer passes `check`.
fn ask_one(
    q: &Question,
    check: &dyn Fn(&Question, &Value) -> Vec<String>,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<Value, Stopped> {
    {
        writeln!(out, "\n{}: {}", q.path.join("."), q.about)?;
        for line in &q.accepts {
            writeln!(out, "  {line}")?;
        }
        let value = loop {
            write!(out, "{}> ", q.path.join("."))?;
            out.flush()?;
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                return Err(Stopped::Ended);
            }
            let value = match read_answer(q, line.trim()) {
                Ok(v) => v,
                Err(problem) => {
                    writeln!(out, "  not accepted: {problem}")?;
                    continue;
                }
            };
            let problems = check(q, &value);
            if problems.is_empty() {
                break value;
            }
            for p in problems {
                writeln!(out, "  not accepted: {p}")?;
            }
        };
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::input::{check_field, schema_of};
    use crate::domain::incident::IncidentFacts;
    use crate::render::intake::questions;

    /// Runs the questions of the incident intake over `typed`; returns the result and what
    /// the person saw.
    fn run(typed: &str) -> (Result<Value, Stopped>, String) {
        let root = schema_of::<IncidentFacts>();
        let qs = questions(&root);
        let field = |q: &Question, v: &Value| check_field(&root, &q.schema, v);
        let whole = |v: &Value| whole_check(v);
        let more = |p: &str| crate::render::intake::question_at(&root, p);
        let checks = Checks {
            field: &field,
            whole: &whole,
            more: &more,
        };
        let mut out = Vec::new();
        let result = ask(&qs, &checks, &mut typed.as_bytes(), &mut out);
        (result, String::from_utf8(out).unwrap())
    }

    /// The command's check of the answers together: the type, then the incident's own rules.
    fn whole_check(v: &Value) -> Vec<(String, String)> {
        match crate::app::input::parse::<IncidentFacts>("answers", &v.to_string()) {
            Ok(facts) => facts.check("2024-04-01T00:00:00Z".parse().unwrap()),
            Err(crate::app::input::InputError::Invalid { problems, .. }) => problems
                .into_iter()
                .map(|p| (p.pointer, p.message))
                .collect(),
            Err(e) => vec![(String::new(), e.to_string())],
        }
    }

    const GOOD: &[&str] = &[
        "Laptop stolen from a car",
        "A laptop with the client list was stolen; its disk was not encrypted.",
        "2024-03-30T20:00:00Z",
        "2024-03-30T21:10:00Z",
        "Staff report",
        // impact: availability, confidentiality, integrity
        "",
        "yes",
        "",
        "Tom Okafor",
        // Aware after detection: the rule asks why, a field the questions left out.
        "The theft was reported to IT the next hour.",
    ];

    fn typed(answers: &[&str], confirm: &str) -> String {
        format!("{}\n{confirm}\n", answers.join("\n"))
    }

    #[test]
    fn answers_make_an_intake_that_the_type_accepts() {
        let (result, shown) = run(&typed(GOOD, "y"));
        let value = result.unwrap_or_else(|e| panic!("{e:?}\n{shown}"));
        let facts: IncidentFacts = crate::app::input::parse("answers", &value.to_string())
            .unwrap_or_else(|e| panic!("{e}\n{shown}"));
        assert_eq!(facts.title, "Laptop stolen from a car");
        assert_eq!(facts.reporter.name, "Tom Okafor");
        assert_eq!(
            facts.awareness_justification.as_deref(),
            Some("The theft was reported to IT the next hour.")
        );
        assert!(shown.contains("at /awareness_justification:"), "{shown}");
        assert!(facts.impact.confidentiality && !facts.impact.integrity);
        // The person saw each field's description, and the result before confirming.
        assert!(shown.contains("72-hour clock"), "{shown}");
        assert!(shown.contains("  reporter.name: Tom Okafor\n"), "{shown}");
        assert!(shown.contains("Store this incident? [y/N]"), "{shown}");
    }

    #[test]
    fn a_bad_answer_is_refused_and_asked_again() {
        let mut answers = GOOD.to_vec();
        // An empty title, a time that is not RFC 3339 and a "maybe": each asked again.
        answers.insert(0, "");
        answers.insert(4, "yesterday at 8");
        answers.insert(8, "maybe");
        let (result, shown) = run(&typed(&answers, "yes"));
        let value = result.unwrap_or_else(|e| panic!("{e:?}\n{shown}"));
        assert_eq!(value["aware_at"], "2024-03-30T21:10:00Z", "{shown}");
        let refusals: Vec<&str> = shown
            .lines()
            .filter(|l| l.contains("not accepted:"))
            .collect();
        assert_eq!(refusals.len(), 3, "{shown}");
        assert!(refusals[1].contains("date-time"), "{shown}");
        assert!(refusals[2].contains("answer yes or no"), "{shown}");
    }

    /// Awareness before detection passes each answer's check but not the incident's rule:
    /// the answer the rule names is asked again, and nothing else.
    #[test]
    fn answers_that_do_not_fit_together_are_asked_again() {
        let mut answers = GOOD[..GOOD.len() - 1].to_vec();
        answers[3] = "2024-03-29T21:10:00Z";
        // Only awareness is asked again; then, now later than detection, the reason why.
        answers.push("2024-03-30T21:10:00Z");
        answers.push("The theft was reported to IT the next hour.");
        let (result, shown) = run(&typed(&answers, "y"));
        let value = result.unwrap_or_else(|e| panic!("{e:?}\n{shown}"));
        assert_eq!(value["aware_at"], "2024-03-30T21:10:00Z", "{shown}");
        assert!(
            shown.contains("The answers do not fit together:"),
            "{shown}"
        );
        assert!(shown.contains("at /aware_at: awareness"), "{shown}");
        let again = shown.split_once("Asking again:").unwrap().1;
        assert!(again.contains("\naware_at>"), "{shown}");
        assert!(!again.contains("title>"), "{shown}");
        assert!(!again.contains("detected_at>"), "{shown}");
        assert!(again.contains("awareness_justification>"), "{shown}");
    }

    #[test]
    fn nothing_is_returned_unless_confirmed_or_when_the_input_ends() {
        let (result, _) = run(&typed(GOOD, "n"));
        assert!(matches!(result, Err(Stopped::NotConfirmed)));
        let (result, _) = run(&typed(&GOOD[..3], ""));
        assert!(matches!(result, Err(Stopped::Ended)), "{result:?}");
    }

    #[test]
    fn a_choice_is_taken_by_name_or_number_and_a_typo_gets_the_closest() {
        let root = schema_of::<crate::domain::assessment::AssessmentInput>();
        let qs = questions(&root);
        let q = qs.iter().find(|q| q.path == ["identifiability"]).unwrap();
        let three = read_answer(q, "3").unwrap();
        assert_eq!(three, Value::String(q.choices[2].clone()));
        assert!(check_field(&root, &q.schema, &three).is_empty());
        let problems = check_field(&root, &q.schema, &read_answer(q, "maximun").unwrap());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("did you mean \"maximum\"?"),
            "{problems:?}"
        );
        // A list takes names or numbers, comma-separated, each checked.
        let q = qs.iter().find(|q| q.path == ["data_categories"]).unwrap();
        let list = read_answer(q, "1, helth").unwrap();
        assert_eq!(list[0], Value::String(q.choices[0].clone()));
        let problems = check_field(&root, &q.schema, &list);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("did you mean \"health\"?")),
            "{problems:?}"
        );
    }
}
