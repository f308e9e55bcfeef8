//! Fuzzing every parser of outside input with proptest: organisation, incident, update and
//! assessment files, regime files, templates, `--now` and durations through the library (no
//! panic, ever); recipient CSVs and bundles through the binary (no panic, a clear exit code,
//! and nothing stored from a rejected input).
//!
//! Bounded for CI; `PROPTEST_CASES=20000 BREACHFLOW_FUZZ_PROCESS_CASES=500 cargo test fuzz`
//! runs longer.

use proptest::prelude::*;
use serde_json::json;

use breachflow::domain::assessment::AssessmentInput;
use breachflow::domain::incident::{IncidentFacts, IncidentUpdate};
use breachflow::domain::organisation::Organisation;
use breachflow::domain::regime::Regime;

use crate::support::*;

/// A valid file with a few random edits: bytes replaced, inserted or cut.
fn mutated(base: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6).prop_map(
        move |edits| {
            let mut bytes = base.as_bytes().to_vec();
            for (at, byte, op) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        },
    )
}

const ORG: &str = include_str!("../../examples/organisation.json");
const INCIDENT: &str = include_str!("../../examples/incident-ransomware.json");
const UPDATE: &str = include_str!("../../examples/incident-update-report-answers.json");
const ASSESSMENT: &str = include_str!("../../examples/assessment-ransomware.json");
const REGIME: &str = include_str!("../../regimes/uk-gdpr-art33.toml");
const TEMPLATE: &str = include_str!("../../templates/ico-report.hbs");

fn cases(n: u32) -> ProptestConfig {
    cases_from("PROPTEST_CASES", n)
}

/// Cases that each start processes are counted apart, so a long library run stays affordable.
fn cases_from(var: &str, n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(n),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn json_inputs_never_panic(org in mutated(ORG), inc in mutated(INCIDENT), upd in mutated(UPDATE), ass in mutated(ASSESSMENT), junk in ".{0,200}") {
        for text in [&org, &junk] {
            if let Ok(o) = breachflow::app::input::parse::<Organisation>("org.json", text) {
                let _ = o.check();
            }
        }
        for text in [&inc, &junk] {
            if let Ok(f) = breachflow::app::input::parse::<IncidentFacts>("incident.json", text) {
                let _ = f.check(chrono::Utc::now());
            }
        }
        let _ = breachflow::app::input::parse::<IncidentUpdate>("update.json", &upd);
        if let Ok(a) = breachflow::app::input::parse::<AssessmentInput>("assessment.json", &ass)
            && breachflow::domain::assessment::check(&a).is_empty()
        {
            let _ = breachflow::domain::assessment::assess(&a);
        }
    }

    #[test]
    fn regime_files_never_panic(text in mutated(REGIME), junk in ".{0,200}") {
        let _ = breachflow::app::input::parse_toml::<Regime>("r.toml", &text);
        let _ = breachflow::app::input::parse_toml::<Regime>("r.toml", &junk);
    }

    #[test]
    fn templates_never_panic(text in mutated(TEMPLATE), junk in "[{}#/a-z. !-]{0,80}") {
        let set = breachflow::render::template::TemplateSet::builtin().unwrap();
        let facts = json!({"org": {"name": "x"}, "incident": {"aware_at": "2024-01-01T00:00:00Z"}, "report": {"late": true}});
        for src in [text, format!("{{{{!--\ntitle = \"t\"\naudience = \"a\"\n--}}}}\n{junk}")] {
            if let Ok(t) = breachflow::render::template::from_source("fuzz", &src) {
                let (draft, _) = breachflow::render::template::draft(&t, &facts);
                let _ = breachflow::render::template::render(&set, &t, &draft, chrono_tz::Europe::London, breachflow::render::template::Kind::Html);
                let _ = breachflow::render::template::render(&set, &t, &draft, chrono_tz::Europe::London, breachflow::render::template::Kind::Text);
            }
        }
    }

    #[test]
    fn clocks_and_durations_never_panic(s in ".{0,40}", n in any::<i64>()) {
        use clap::Parser;
        let _ = breachflow::cli::parse_duration(&s);
        let _ = breachflow::cli::parse_duration(&format!("{n}h"));
        let _ = breachflow::cli::Cli::try_parse_from(["breachflow", "--now", &s, "org"]);
        let _ = breachflow::cli::Cli::try_parse_from(["breachflow", "deadlines", "--within", &s]);
        let _ = breachflow::cli::Cli::try_parse_from(["breachflow", "incident", "show", &s]);
    }
}

/// Exit codes a rejected input may give; never 70 (internal error) or 101 (a panic).
fn clean_exit(code: Option<i32>) -> bool {
    matches!(code, Some(0 | 1 | 2 | 4 | 5 | 6 | 8 | 9))
}

proptest! {
    #![proptest_config(cases_from("BREACHFLOW_FUZZ_PROCESS_CASES", 12))]

    #[test]
    fn rejected_updates_change_nothing(text in mutated(UPDATE)) {
        let env = TestEnv::with_incident();
        let before = env.version("BR-2024-0001");
        let path = env.tmp.path().join("u.json");
        std::fs::write(&path, &text).unwrap();
        let out = env.cmd().args(["incident", "update", "BR-2024-0001", "--file", path.to_str().unwrap()]).output().unwrap();
        prop_assert!(clean_exit(out.status.code()), "{:?}", out);
        if !out.status.success() {
            prop_assert_eq!(env.version("BR-2024-0001"), before);
        }
        env.run(&["audit", "verify"]).success();
    }

    #[test]
    fn recipient_files_never_panic(rows in prop::collection::vec("[a-z@.,\" \\r\\n\\u{e9}]{0,30}", 0..8)) {
        let env = TestEnv::with_incident();
        env.assess("BR-2024-0001");
        env.run(&["decide", "BR-2024-0001", "--accept"]).success();
        env.answer("BR-2024-0001");
        env.render_and_approve(NOW, "BR-2024-0001", "subject-notice");
        let path = env.tmp.path().join("r.csv");
        std::fs::write(&path, format!("email,name\n{}", rows.join("\n"))).unwrap();
        let out = env.cmd().args(["notify-subjects", "BR-2024-0001", "--recipients", path.to_str().unwrap(), "--dry-run"]).output().unwrap();
        prop_assert!(clean_exit(out.status.code()), "{:?}", out);
    }

    #[test]
    fn damaged_bundles_are_refused_and_store_nothing(edit in any::<prop::sample::Index>(), byte in 32u8..127) {
        let env = TestEnv::with_incident();
        let file = env.tmp.path().join("b.json");
        env.run(&["bundle", "export", "BR-2024-0001", file.to_str().unwrap()]).success();
        let mut bytes = std::fs::read(&file).unwrap();
        let i = edit.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        std::fs::write(&file, &bytes).unwrap();
        let fresh = TestEnv::new();
        let out = fresh.cmd().args(["bundle", "import", file.to_str().unwrap(), "--accept-organisation"]).output().unwrap();
        prop_assert!(clean_exit(out.status.code()), "{:?}", out);
        // Whitespace outside strings leaves the content, and its checksum, as they were.
        if !out.status.success() {
            let listed = fresh.cmd().args(["--format", "json", "incident", "list"]).output().unwrap();
            let text = String::from_utf8_lossy(&listed.stdout);
            prop_assert!(!text.contains("BR-2024-0001"), "{}", text);
        }
    }
}
