//! Documents through the binary: every template rendered on an example, the ICO form's sections,
//! escaping, missing facts, versions and diffs, approval before filing, the override folder.

use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::*;

const ID: &str = "BR-2024-0001";

/// The example incident, decided and answered: every fact the ICO report needs is recorded.
fn answered() -> TestEnv {
    TestEnv::prepared(&example_json("organisation.json"))
}

fn render_text(env: &TestEnv, now: &str, doc: &str) -> String {
    stdout_of(&env.run_at(now, &["render", ID, doc]).success())
}

fn render_html(env: &TestEnv, now: &str, doc: &str) -> String {
    stdout_of(&env.run_at(now, &["render", ID, doc, "--html"]).success())
}

/// An organisation every shipped regime with a template applies to, and an incident in 2025 when
/// NIS2 and DORA are in force, with the clock-starting decisions recorded.
fn every_regime() -> TestEnv {
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org["flags"]["nis"] = json!("operator_of_essential_services");
    org["flags"]["nis2"] = json!("essential");
    org["flags"]["financial_entity"] = json!(true);
    org["flags"]["sec_registrant"] = json!(true);
    let org = env.file("org.json", &org);
    let mut incident = example_json("incident-ransomware.json");
    incident["occurred"]["from"] = json!("2025-09-04T23:00:00Z");
    incident["detected_at"] = json!("2025-09-05T19:40:00Z");
    incident["aware_at"] = json!("2025-09-05T21:10:00Z");
    let incident = env.file("incident.json", &incident);
    let at = "2025-09-06T08:00:00Z";
    env.run_at(at, &["init", "--org", &org]).success();
    env.run_at(at, &["incident", "open", "--file", &incident])
        .success();
    env.run_at(
        at,
        &[
            "assess",
            "BR-2025-0001",
            "--file",
            &example("assessment-ransomware.json"),
        ],
    )
    .success();
    env.run_at(at, &["decide", "BR-2025-0001", "--accept"])
        .success();
    env.run_at(
        at,
        &[
            "incident",
            "update",
            "BR-2025-0001",
            "--file",
            &example("incident-update-report-answers.json"),
        ],
    )
    .success();
    let more = env.file(
        "more.json",
        &json!({ "details": {
            "cross_border_impact": "None known: all affected practices and customers are in the UK",
            "indicators_of_compromise": "Sign-ins to the remote-access gateway from 203.0.113.45; ransom note file README-RESTORE.txt",
            "material_impact": "The Company cannot yet estimate the impact on its results; it has cyber insurance."
        }}),
    );
    env.run_at(at, &["incident", "update", "BR-2025-0001", "--file", &more])
        .success();
    for (anchor, when) in [
        ("significant_impact", "2025-09-06T07:00:00Z"),
        ("classified_major", "2025-09-06T07:00:00Z"),
        ("classified_significant", "2025-09-06T07:00:00Z"),
        ("materiality_determined", "2025-09-06T07:30:00Z"),
        ("inside_information", "2025-09-06T07:30:00Z"),
    ] {
        env.run_at(
            at,
            &[
                "incident",
                "trigger",
                "BR-2025-0001",
                anchor,
                "--at",
                when,
                "--by",
                "Margaret Ellis (Chair)",
                "--note",
                "Test: the board's finding",
            ],
        )
        .success();
    }
    env
}

#[test]
fn every_template_renders_on_the_example() {
    let env = every_regime();
    let at = "2025-09-06T09:00:00Z";
    let templates = env.json(&["templates"]);
    let names: Vec<String> = templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        if name == "ico-follow-up" {
            continue; // needs the initial report filed first, below
        }
        let text = stdout_of(&env.run_at(at, &["render", "BR-2025-0001", name]).success());
        assert!(!text.contains("[MISSING"), "{name}: {text}");
        insta::assert_snapshot!(format!("template_{name}"), text);
    }
    // The follow-up quotes the ICO's reference from the filed initial report.
    env.run_as(APPROVER, at, &["approve", "BR-2025-0001", "ico-report"])
        .success();
    env.run_at(
        "2025-09-06T10:00:00Z",
        &[
            "obligation",
            "complete",
            "BR-2025-0001",
            "uk-gdpr-art33/initial",
            "--reference",
            "IC-445566-A1B2",
        ],
    )
    .success();
    let text = stdout_of(
        &env.run_at(
            "2025-09-10T09:00:00Z",
            &["render", "BR-2025-0001", "ico-follow-up"],
        )
        .success(),
    );
    assert!(text.contains("IC-445566-A1B2"), "{text}");
    insta::assert_snapshot!("template_ico-follow-up", text);
    let html = stdout_of(
        &env.run_at(
            "2025-09-10T09:00:00Z",
            &["render", "BR-2025-0001", "ico-follow-up", "--html"],
        )
        .success(),
    );
    insta::assert_snapshot!("template_ico-follow-up_html", html);
}

#[test]
fn the_ico_report_covers_every_section_of_the_form() {
    let env = answered();
    // Late, and with a member of staff involved, so the conditional sections appear too.
    let extra = env.file(
        "staff.json",
        &json!({ "details": {
            "staff_involved": "yes",
            "staff_training": "Annual data protection training, last completed January 2024",
            "delay_reasons": "The ICO's online form was unavailable to us while our network was isolated",
            "ico_staff_contacted": "Duty officer on the ICO helpline"
        }}),
    );
    env.run(&["incident", "update", ID, "--file", &extra])
        .success();
    let text = render_text(&env, "2024-04-03T09:00:00Z", "ico-report");
    // The form's parts and questions (reference: regimes.md section 2).
    for question in [
        "About your report",
        "ICO staff already spoken to",
        "Initial or follow-up report",
        "About the breach",
        "What happened",
        "caused by a cyber incident",
        "How did you find out",
        "When did you discover",
        "When did the breach happen",
        "Categories of personal data",
        "Special category",
        "Number of personal data records",
        "Number of data subjects",
        "Categories of data subjects",
        "Children or vulnerable adults",
        "Potential consequences",
        "Likelihood of significant consequences",
        "confidentiality, integrity and availability",
        "Impact on the organisation",
        "Estimated recovery time",
        "specific member of staff",
        "data protection training",
        "Reasons for late reporting",
        "Measures in place before the breach",
        "Actions taken or proposed",
        "prevent a recurrence",
        "Have you told data subjects",
        "Other organisations told",
        "About you",
        "ICO registration (fee) reference",
        "Data protection officer",
        "Person making this report",
        "controller",
        "Cross-border",
        "other countries",
        "Sector:** Veterinary services",
        "Size of the organisation:** 250 or more staff",
        "Reported internally by Tom Okafor, Head of IT Security",
    ] {
        assert!(text.contains(question), "missing {question:?}:\n{text}");
    }
    // Nothing internal: no reasoning, no method scores, no answer that contradicts the
    // recorded decision (not to tell data subjects).
    for internal in [
        "Our decision not to tell",
        "ENISA",
        "We have not decided yet",
        "breachflow",
    ] {
        assert!(!text.contains(internal), "{internal:?}:\n{text}");
    }
    assert!(text.contains("Have you told data subjects?** We have decided not to tell them."));
    assert!(text.contains("None known: all affected practices"));
    // The facts appear, not only the questions.
    assert!(text.contains("The ICO's online form was unavailable"));
    assert!(text.contains("Duty officer on the ICO helpline"));
    assert!(text.contains("approximately 80,000 to 120,000"));
    assert!(text.contains("30 March 2024, 21:10 GMT"));
    assert!(text.contains("2 April 2024, 22:10 BST"), "{text}");
}

#[test]
fn facts_are_escaped_in_html_and_verbatim_in_text() {
    let env = answered();
    let hostile = "<script>alert(1)</script> {{org.name}} *not bold* [link](http://x.example) & co";
    let update = env.file("u.json", &json!({ "details": { "cause": hostile } }));
    env.run(&["incident", "update", ID, "--file", &update])
        .success();
    let text = render_text(&env, NOW, "ico-report");
    assert!(text.contains(hostile), "{text}");
    let html = render_html(&env, NOW, "ico-report");
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("{{org.name}}"), "a fact is never a template");
    assert!(
        html.contains("*not bold*"),
        "Markdown in a fact stays literal"
    );
    assert!(!html.contains("<a href"), "{html}");
    assert!(html.contains("&amp; co"));
    // Well-formed enough to print: one html element, the print stylesheet.
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("@page { size: A4"));
    assert_eq!(html.matches("<html").count(), 1);
}

#[test]
fn every_missing_fact_is_listed_including_those_in_conditions() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    let out = env.run(&["render", ID, "ico-report"]).code(8);
    let err = stderr_of(&out);
    for path in [
        "details.cause",
        "details.organisation_impact",
        "details.recovery_time",
        "details.staff_involved",
        "details.measures_before",
        "details.remedial_actions",
        "details.prevention",
        "details.subjects_told",
        "details.others_told",
        // Used only as an {{#if}} condition: strict mode alone would miss it.
        "(decision)",
    ] {
        assert!(err.contains(path), "{path} not listed:\n{err}");
    }
    // Nothing was stored.
    assert_eq!(env.json(&["documents", ID])["documents"], json!([]));
    // The reasons for delay are needed only once the 72 hours have passed.
    env.run(&["decide", ID, "--accept"]).success();
    env.answer(ID);
    env.run(&["check", ID, "ico-report"]).success();
    let out = env
        .run_at("2024-04-03T09:00:00Z", &["check", ID, "ico-report"])
        .code(8);
    let text = stdout_of(&out);
    assert!(text.contains("details.delay_reasons"), "{text}");
    assert!(text.contains("overdue by"), "{text}");
}

#[test]
fn check_says_which_answers_may_follow_in_a_later_report() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    env.run(&["decide", ID, "--accept"]).success();
    let checked = env
        .cmd()
        .args(["--format", "json", "check", ID, "ico-report"])
        .assert()
        .code(8);
    let v: Value = serde_json::from_slice(&checked.get_output().stdout).unwrap();
    let missing = v["missing"].as_array().unwrap();
    let row = |p: &str| missing.iter().find(|r| r["path"] == p).unwrap().clone();
    // Art 33(3)(d) measures may follow (Art 33(4)); the nature of the breach may not.
    assert_eq!(row("details.prevention")["may_follow"], true);
    assert_eq!(row("details.cause")["may_follow"], false);
    // Asked by the form but not a statutory minimum.
    assert_eq!(row("details.staff_involved")["may_follow"], true);
    assert_eq!(v["obligation"], "uk-gdpr-art33/initial");
    // Only the cause and the cross-border answer (part of the nature of the breach) are needed
    // now: recording them makes the check pass, with the rest to follow.
    assert_eq!(row("details.cross_border_impact")["may_follow"], false);
    let cause = env.file(
        "c.json",
        &json!({ "details": { "cause": "A stolen password", "cross_border_impact": "None known" } }),
    );
    env.run(&["incident", "update", ID, "--file", &cause])
        .success();
    let out = env.run(&["check", ID, "ico-report"]).success();
    assert!(stdout_of(&out).contains("may follow"));
    // A draft shows every gap with a marker, and cannot be approved.
    let draft = stdout_of(&env.run(&["render", ID, "ico-report", "--draft"]).success());
    assert!(
        draft.contains("[MISSING: Steps to prevent a recurrence]"),
        "{draft}"
    );
    let out = env.run(&["approve", ID, "ico-report"]).code(4);
    assert!(stderr_of(&out).contains("draft"), "{}", stderr_of(&out));
}

#[test]
fn versions_are_stored_with_hashes_and_compared() {
    let env = answered();
    env.run(&["render", ID, "ico-report"]).success();
    // Rendering the same facts again stores nothing new.
    let out = env.run(&["render", ID, "ico-report"]).success();
    assert!(stderr_of(&out).contains("unchanged"), "{}", stderr_of(&out));
    let update = env.file(
        "u.json",
        &json!({ "details": { "prevention": "Multi-factor authentication everywhere by 15 April 2024." } }),
    );
    env.run(&["incident", "update", ID, "--file", &update])
        .success();
    env.run(&["render", ID, "ico-report"]).success();
    let docs = env.json(&["documents", ID]);
    let versions = docs["documents"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["version"], 2);
    // The stored text is what was hashed.
    let shown = env.json(&["documents", "show", ID, "ico-report", "--version", "1"]);
    let text = shown["text"].as_str().unwrap();
    assert_eq!(
        hex(&Sha256::digest(text.as_bytes())),
        versions[0]["sha256"].as_str().unwrap()
    );
    assert_eq!(shown["facts"]["incident"]["id"], ID);
    let diff = stdout_of(
        &env.run(&["documents", "diff", ID, "ico-report", "1", "2"])
            .success(),
    );
    assert!(diff.contains("+- **Steps to prevent a recurrence, and when they will be complete:** Multi-factor authentication everywhere by 15 April 2024."), "{diff}");
    assert!(
        diff.contains("-- **Steps to prevent a recurrence"),
        "{diff}"
    );
    env.run(&["documents", "diff", ID, "ico-report", "1", "9"])
        .code(4);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn only_an_approved_version_can_be_filed() {
    let env = answered();
    let file = [
        "obligation",
        "complete",
        ID,
        "uk-gdpr-art33/initial",
        "--reference",
        "IC-1",
    ];
    let out = env.run(&file).code(5);
    assert!(
        stderr_of(&out).contains("no approved document"),
        "{}",
        stderr_of(&out)
    );
    env.run(&["render", ID, "ico-report"]).success();
    let state = |env: &TestEnv| {
        env.json(&["obligation", "list", ID])["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == "uk-gdpr-art33/initial")
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state(&env), "drafted");
    env.run(&file).code(5);
    env.cmd()
        .env("BREACHFLOW_ACTOR", "Priya Raman (DPO)")
        .args([
            "approve",
            ID,
            "ico-report",
            "--note",
            "Checked against the forensic call notes",
        ])
        .assert()
        .success();
    assert_eq!(state(&env), "approved");
    // Approving it again says it is approved and changes nothing (issue 17).
    env.run(&["approve", ID, "ico-report"]).success();
    env.run(&file).success();
    let docs = env.json(&["documents", ID]);
    assert_eq!(docs["documents"][0]["approval"]["by"], "Priya Raman (DPO)");
    assert_eq!(
        docs["documents"][0]["approval"]["note"],
        "Checked against the forensic call notes"
    );
    let list = env.json(&["obligation", "list", ID]);
    let filed = list["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "uk-gdpr-art33/initial")
        .unwrap()
        .clone();
    assert_eq!(filed["state"], "filed");
    assert_eq!(
        filed["completion"]["document"]["sha256"],
        docs["documents"][0]["sha256"]
    );
}

#[test]
fn the_override_folder_wins_and_bad_templates_are_named() {
    let env = answered();
    let dir = env.tmp.path().join("templates");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("ico-report.hbs"),
        "{{!--\ntitle = \"Our ICO report\"\naudience = \"ICO\"\nserves = [\"uk-gdpr-art33/initial\"]\n--}}\nOUR WORDING for {{org.name}}: {{details.cause}}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("_layout.hbs"),
        "<html><body class=\"letterhead-of-our-own\">{{{body}}}</body></html>",
    )
    .unwrap();
    let dir_s = dir.to_str().unwrap();
    let text = stdout_of(
        &env.run(&["--templates-dir", dir_s, "render", ID, "ico-report"])
            .success(),
    );
    assert!(
        text.starts_with("OUR WORDING for Larkfield Veterinary Group plc: An attacker"),
        "{text}"
    );
    let html = stdout_of(
        &env.run(&[
            "--templates-dir",
            dir_s,
            "render",
            ID,
            "ico-report",
            "--html",
        ])
        .success(),
    );
    assert!(html.contains("letterhead-of-our-own"), "{html}");
    let docs = env.json(&["documents", ID]);
    assert!(
        docs["documents"][0]["template_origin"]
            .as_str()
            .unwrap()
            .contains("templates/ico-report.hbs")
    );
    // A broken template is refused with its file named; nothing is stored.
    std::fs::write(
        dir.join("broken.hbs"),
        "{{!--\ntitle = \"x\"\naudience = \"y\"\n--}}\n{{#if}}",
    )
    .unwrap();
    let out = env
        .run(&["--templates-dir", dir_s, "render", ID, "ico-report"])
        .code(4);
    assert!(
        stderr_of(&out).contains("broken.hbs"),
        "{}",
        stderr_of(&out)
    );
    std::fs::remove_file(dir.join("broken.hbs")).unwrap();
    std::fs::write(dir.join("nomanifest.hbs"), "Hello {{org.name}}").unwrap();
    let out = env.run(&["--templates-dir", dir_s, "templates"]).code(4);
    assert!(
        stderr_of(&out).contains("nomanifest.hbs"),
        "{}",
        stderr_of(&out)
    );
    // A template name cannot reach outside the folder.
    let out = env.run(&["render", ID, "../../etc/passwd"]).code(4);
    assert!(
        stderr_of(&out).contains("not a template name"),
        "{}",
        stderr_of(&out)
    );
    env.run(&["render", ID, "no-such-template"]).code(6);
}

#[test]
fn out_writes_a_private_file_and_refuses_parent_paths() {
    let env = answered();
    let out = env.tmp.path().join("ico.html");
    env.run(&["render", ID, "ico-report", "--out", out.to_str().unwrap()])
        .success();
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let err = env
        .run(&["render", ID, "ico-report", "--out", "../ico.md"])
        .code(4);
    assert!(stderr_of(&err).contains(".."), "{}", stderr_of(&err));
}

#[test]
fn the_market_announcement_reads_like_an_rns_in_its_own_words() {
    let env = answered();
    let text = render_text(&env, "2024-03-31T20:00:00Z", "market-announcement");
    // Its own answers, in the company's voice, not the intake summary.
    assert!(!text.contains("An attacker gained access"), "{text}");
    assert!(text.contains("# Notice of Cyber Incident"), "{text}");
    for part in [
        "announces that on 30 March 2024",
        "isolated",
        "specialists",
        "Information Commissioner's Office",
        "remain open",
        "operating normally",
        "material effect on its results",
        "further update",
        "would like to thank",
        "inside information for the purposes of Article 7",
        "responsible for arranging the release of this announcement on behalf of the Company is Daniel Hughes",
        "LEI: 213800LRKFLDVG4Q7N24",
        "**ENDS**",
        "**Nominated adviser**: Oliver Grant, Hartwell Capital, tel. +44 20 7946 0321",
        "**Broker**: Rachel Moss, Pennant Securities, tel. +44 20 7946 0544",
        // Each contact with a job title (issue 16: contacts have titles).
        "Sophie Turner, Head of Communications, tel. +44 113 496 0150",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    for first_person in [" we ", "We ", " our ", "Our "] {
        assert!(!text.contains(first_person), "{first_person}: {text}");
    }

    // One answer corrected: the others are kept (answers merge one by one), and a non-cyber
    // incident is not headed as a cyber incident.
    let update = env.file(
        "u.json",
        &json!({ "cyber_incident": "no", "details": { "announcement": { "outlook": "The Group expects no effect on its results." } } }),
    );
    env.run(&["incident", "update", ID, "--file", &update])
        .success();
    let text = render_text(&env, "2024-03-31T21:00:00Z", "market-announcement");
    assert!(
        text.contains("# Notice of Data Security Incident"),
        "{text}"
    );
    assert!(!text.contains("Cyber Incident"), "{text}");
    assert!(text.contains("The Group expects no effect"), "{text}");
    assert!(text.contains("Daniel Hughes"), "{text}");
}

#[test]
fn the_market_announcement_asks_for_its_own_answers() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    env.run(&["decide", ID, "--accept"]).success();
    let checked = env
        .cmd()
        .args(["--format", "json", "check", ID, "market-announcement"])
        .assert();
    let v: Value = serde_json::from_slice(&checked.get_output().stdout).unwrap();
    let paths: Vec<&str> = v["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    for p in [
        "announcement.what_happened",
        "announcement.response",
        "announcement.operational_impact",
        "announcement.outlook",
        "announcement.released_by",
    ] {
        assert!(paths.contains(&p), "{p}: {paths:?}");
    }
    assert!(
        !paths.iter().any(|p| p.starts_with("incident.")),
        "{paths:?}"
    );
    // And rendering refuses until they are recorded.
    env.run(&["render", ID, "market-announcement"]).code(8);
    // The market's rules provide for no phases: no "will follow" announcement.
    assert!(!stdout_of(&env.run(&["check", ID, "market-announcement"])).contains("--phased"));
    let out = env
        .run(&["render", ID, "market-announcement", "--phased"])
        .failure();
    assert!(
        stderr_of(&out).contains("cannot be made in phases"),
        "{}",
        stderr_of(&out)
    );
}

/// Flesch reading ease: 206.835 - 1.015 (words per sentence) - 84.6 (syllables per word).
/// A sentence ends at `.`, `!`, `?` or `:`, or at the end of a line (a heading, a list item, a
/// signature); syllables are groups of vowels, less a silent final "e".
fn flesch_reading_ease(text: &str) -> f64 {
    let mut words = 0usize;
    let mut syllables = 0usize;
    let mut sentences = 0usize;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.chars().all(|c| c == '-') {
            continue;
        }
        let mut open = false;
        for token in line.split_whitespace() {
            let word: String = token
                .chars()
                .filter(|c| c.is_ascii_alphabetic())
                .collect::<String>()
                .to_lowercase();
            if word.is_empty() {
                continue;
            }
            words += 1;
            open = true;
            syllables += syllables_in(&word);
            if token.ends_with(['.', '!', '?', ':']) {
                sentences += 1;
                open = false;
            }
        }
        if open {
            sentences += 1;
        }
    }
    let (w, s, y) = (words as f64, sentences.max(1) as f64, syllables as f64);
    206.835 - 1.015 * (w / s) - 84.6 * (y / w)
}

fn syllables_in(word: &str) -> usize {
    let vowel = |c: char| "aeiouy".contains(c);
    let mut groups = 0;
    let mut previous = false;
    for c in word.chars() {
        let v = vowel(c);
        if v && !previous {
            groups += 1;
        }
        previous = v;
    }
    if word.len() > 2 && word.ends_with('e') && !word.ends_with("le") && groups > 1 {
        groups -= 1;
    }
    groups.max(1)
}

#[test]
fn flesch_reading_ease_agrees_with_known_scores() {
    // Very easy prose scores high, legal prose low.
    assert!(flesch_reading_ease("The cat sat on the mat. We are sorry.") > 100.0);
    assert!(
        flesch_reading_ease(
            "Notwithstanding the aforementioned considerations, the organisation's determination \
             regarding notification obligations necessitates comprehensive evaluation."
        ) < 0.0
    );
}

#[test]
fn the_subject_notice_is_plain_language_to_one_person() {
    let env = answered();
    let text = render_text(&env, "2024-04-02T12:00:00Z", "subject-notice");
    for part in [
        "Dear customer,",
        "Date: 2 April 2024",
        "Our reference: BR-2024-0001",
        "What happened",
        "What we are doing",
        "What you can do",
        "you may get emails",
        "your name, your contact details (address, email and phone number) and details of your job",
        "our Data Protection Officer, Priya Raman, at dpo@larkfield-vets.example or call +44 113 496 0100",
        "0800 046 0100",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    // Readable as plain text (it is the mail's text part): no Markdown emphasis or hashes.
    for markup in ["**", "# ", "{{", "[", "<"] {
        assert!(!text.contains(markup), "{markup}: {text}");
    }
    // No jargon.
    for jargon in [
        "data subject",
        "controller",
        "Article",
        "personal data",
        "identifiers",
        "phishing",
        "ransomware",
        "remedial",
        "exfiltrat",
    ] {
        assert!(
            !text.to_lowercase().contains(&jargon.to_lowercase()),
            "{jargon}: {text}"
        );
    }
    let score = flesch_reading_ease(&text);
    assert!(
        score >= 60.0,
        "Flesch reading ease {score:.1} < 60:\n{text}"
    );
    // The HTML still has headings.
    let html = render_html(&env, "2024-04-02T12:00:00Z", "subject-notice");
    assert!(html.contains("<h2>What happened</h2>"), "{html}");
}

#[test]
fn the_briefings_say_where_things_stand_without_internal_names() {
    let env = answered();
    // Before the announcement: staff are told it has not been announced.
    let staff = render_text(&env, "2024-03-31T20:00:00Z", "staff-briefing");
    assert!(
        staff.contains("has not yet been announced to the stock market"),
        "{staff}"
    );
    // The market announcement goes out; the briefings sent after it say so, with its reference.
    env.run_at(
        "2024-03-31T20:00:00Z",
        &[
            "incident",
            "trigger",
            ID,
            "inside_information",
            "--at",
            "2024-03-31T15:30:00Z",
            "--by",
            "Margaret Ellis (Chair)",
        ],
    )
    .success();
    env.render_and_approve("2024-03-31T20:10:00Z", ID, "market-announcement");
    env.run_at(
        "2024-04-01T07:00:00Z",
        &[
            "obligation",
            "complete",
            ID,
            "uk-mar-art17/announcement",
            "--reference",
            "RNS 1234X",
            "--sent",
        ],
    )
    .success();
    let staff = render_text(&env, "2024-04-01T07:10:00Z", "staff-briefing");
    for part in [
        "We announced the incident to the stock market on 1 April 2024, 08:00 BST (RNS 1234X)",
        "## Is your own information affected?",
        "It may be. Staff records are among the information involved",
        "## What to tell clients",
        "All our practices are open",
        "IT security: Tom Okafor, Head of IT Security, security@larkfield-vets.example, +44 113 496 0199",
    ] {
        assert!(staff.contains(part), "{part}: {staff}");
    }
    assert!(!staff.contains("not yet been announced"), "{staff}");

    let board = render_text(&env, "2024-04-01T09:45:00Z", "board-briefing");
    for part in [
        "| Duty | To | Due | Status |",
        "| Initial report to the ICO | Information Commissioner's Office (ICO) | 2 April 2024, 22:10 BST | open |",
        "| Market announcement | The market, via a Regulatory Information Service |",
        "| sent (ref. RNS 1234X) |",
        "Announced to the market on 1 April 2024, 08:00 BST, reference RNS 1234X.",
        "## Insurer",
        "cover under the cyber policy is confirmed",
        "## Decisions needed from the board",
        "- Approve spending of up to £250,000",
    ] {
        assert!(board.contains(part), "{part}: {board}");
    }
    // No commands, obligation ids or state names meant for the tool.
    for internal in [
        "breachflow",
        "`",
        "uk-gdpr-art33/",
        "uk-mar-art17/",
        "notifying",
        "ENISA",
    ] {
        assert!(!board.contains(internal), "{internal}: {board}");
    }
}

#[test]
fn a_phased_ico_report_states_what_will_follow_and_can_be_approved() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    env.run(&["decide", ID, "--accept"]).success();
    // What is needed now still blocks a phased report.
    let out = env.run(&["render", ID, "ico-report", "--phased"]).code(8);
    let err = stderr_of(&out);
    assert!(err.contains("needed now"), "{err}");
    assert!(err.contains("details.cause"), "{err}");
    assert!(!err.contains("details.prevention"), "{err}");
    let now = env.file(
        "now.json",
        &json!({ "details": { "cause": "A stolen password", "cross_border_impact": "None known" } }),
    );
    env.run(&["incident", "update", ID, "--file", &now])
        .success();
    // check agrees: nothing needed now, and says a phased report can be filed.
    let checked = stdout_of(&env.run(&["check", ID, "ico-report"]).success());
    assert!(checked.contains("0 needed now"), "{checked}");
    assert!(checked.contains("--phased"), "{checked}");
    // A complete rendering still refuses; the phased one states what will follow.
    env.run(&["render", ID, "ico-report"]).code(8);
    let out = env.run(&["render", ID, "ico-report", "--phased"]).success();
    let text = stdout_of(&out);
    assert!(stderr_of(&out).contains("phased"), "{}", stderr_of(&out));
    assert!(
        text.contains("**Steps to prevent a recurrence, and when they will be complete:** Not yet known. We will provide this information in a follow-up report, without undue further delay (UK GDPR Article 33(4))."),
        "{text}"
    );
    assert!(!text.contains("[MISSING"), "{text}");
    let docs = env.json(&["documents", ID]);
    let v = &docs["documents"][0];
    assert!(
        v["deferred"]
            .as_array()
            .unwrap()
            .contains(&json!("details.prevention")),
        "{v}"
    );
    assert_eq!(v["missing"], Value::Null);
    // Approved and filed as the initial report.
    env.run_as(APPROVER, NOW, &["approve", ID, "ico-report"])
        .success();
    env.run(&[
        "obligation",
        "complete",
        ID,
        "uk-gdpr-art33/initial",
        "--reference",
        "IC-1",
    ])
    .success();
    let listed = stdout_of(&env.run(&["documents", ID]).success());
    assert!(listed.contains("phased: 8"), "{listed}");
}

/// An "editor": a script that applies `sed_expr` to the file it is given.
fn editor_script(env: &TestEnv, name: &str, sed_expr: &str) -> String {
    let path = env.tmp.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\nsed -i '{sed_expr}' \"$1\"\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn an_edit_before_approval_is_a_version_with_its_author_origin_and_diff() {
    let env = answered();
    env.run(&["render", ID, "ico-report"]).success();
    // A wording change through $EDITOR: a new version, edited from version 1.
    let editor = editor_script(
        &env,
        "reword.sh",
        "s/It contains no breached personal data./It contains no breached personal data. Please call the DPO with any question./",
    );
    let out = env
        .cmd()
        .env("EDITOR", &editor)
        .env_remove("VISUAL")
        .args(["documents", "edit", ID, "ico-report"])
        .assert()
        .success();
    let said = stdout_of(&out);
    assert!(
        said.contains("version 2 stored, edited by tester from version 1"),
        "{said}"
    );
    let docs = env.json(&["documents", ID]);
    let v2 = &docs["documents"][1];
    assert_eq!(v2["edit"]["from_version"], 1);
    assert_eq!(v2["edit"]["from_sha256"], docs["documents"][0]["sha256"]);
    assert_eq!(v2["rendered_by"], "tester");
    assert!(
        v2["edit"]["diff"]
            .as_str()
            .unwrap()
            .contains("+This report follows"),
        "{v2}"
    );
    let diff = stdout_of(
        &env.run(&["documents", "diff", ID, "ico-report", "1", "2"])
            .success(),
    );
    assert!(
        diff.contains("Please call the DPO with any question."),
        "{diff}"
    );
    let html = env.json(&["documents", "show", ID, "ico-report"])["html"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(html.contains("Please call the DPO"), "{html}");

    // An edit that drops required content (the nature of the breach) cannot be approved...
    let editor = editor_script(&env, "cut.sh", "/What went wrong and how/d");
    let out = env
        .cmd()
        .env("EDITOR", &editor)
        .env_remove("VISUAL")
        .args(["documents", "edit", ID, "ico-report"])
        .assert()
        .success();
    let said = stdout_of(&out);
    assert!(
        said.contains("Required content no longer present: What went wrong and how"),
        "{said}"
    );
    let out = env.run(&["approve", ID, "ico-report"]).code(4);
    assert!(
        stderr_of(&out).contains("required content"),
        "{}",
        stderr_of(&out)
    );

    // ...unless a reason is given (here with --text-file).
    let v3 = env.json(&["documents", "show", ID, "ico-report"])["text"]
        .as_str()
        .unwrap()
        .to_string();
    let file = env.text_file(
        "edited.md",
        &format!("{v3}\nThe cause is described in the attached forensic summary.\n"),
    );
    let out = env
        .run(&[
            "render",
            ID,
            "ico-report",
            "--text-file",
            &file,
            "--reason",
            "The cause is in the forensic summary attached to the report",
        ])
        .success();
    assert!(
        stdout_of(&out).contains("Reason given"),
        "{}",
        stdout_of(&out)
    );
    env.run_as(APPROVER, NOW, &["approve", ID, "ico-report"])
        .success();
    let docs = env.json(&["documents", ID]);
    assert_eq!(docs["documents"][3]["edit"]["from_version"], 3);
    // Omissions and the diff are measured from the generated text, however many edits ago.
    assert_eq!(docs["documents"][3]["edit"]["generated_version"], 1);
    assert!(
        docs["documents"][3]["edit"]["diff"]
            .as_str()
            .unwrap()
            .contains("-- **What went wrong and how:**"),
        "{}",
        docs["documents"][3]
    );
    assert!(docs["documents"][3]["approval"].is_object());
    // An editor that fails stores nothing.
    let out = env
        .cmd()
        .env("EDITOR", "false")
        .env_remove("VISUAL")
        .args(["documents", "edit", ID, "ico-report"])
        .assert()
        .failure();
    assert!(stderr_of(&out).contains("editor"), "{}", stderr_of(&out));
    assert_eq!(
        env.json(&["documents", ID])["documents"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn a_mistyped_template_name_gets_a_suggestion() {
    let env = answered();
    let out = env.run(&["render", ID, "ico-reprot"]).failure();
    let err = stderr_of(&out);
    assert!(err.contains("did you mean ico-report?"), "{err}");
    let out = env.run(&["check", ID, "board-breifing"]).failure();
    assert!(stderr_of(&out).contains("did you mean board-briefing?"));
    // Nothing close: no guess, the list.
    let out = env.run(&["render", ID, "zzzz"]).failure();
    let err = stderr_of(&out);
    assert!(!err.contains("did you mean"), "{err}");
    assert!(err.contains("templates: board-briefing"), "{err}");
}

#[test]
fn tables_fit_columns_without_breaking_an_id() {
    let env = TestEnv::with_incident();
    env.assess(ID);
    env.run(&["decide", ID, "--accept"]).success();
    let out = env
        .cmd()
        .env("COLUMNS", "70")
        .args(["check", ID, "ico-report"])
        .assert()
        .code(8);
    let text = stdout_of(&out);
    for path in [
        "details.organisation_impact",
        "details.measures_before",
        "details.remedial_actions",
        "details.cross_border_impact",
    ] {
        assert!(text.contains(path), "{path} broken:\n{text}");
    }
    // Wrapped to about the width asked (a little wider when every word must fit), not to the
    // 110 used for a pipe.
    let widest = text
        .lines()
        .filter(|l| l.starts_with(['│', '┌', '└']))
        .map(|l| l.chars().count())
        .max()
        .unwrap();
    assert!(widest <= 80, "{widest}:\n{text}");
}

/// Contacts and the DPO have job titles, shown where a document names them (the snapshots show
/// the example's); a profile without them signs as "Data Protection Officer" and shows no
/// empty title, and an empty title is refused.
#[test]
fn a_person_named_in_a_document_is_shown_with_their_job_title_when_the_profile_has_one() {
    let with = answered();
    let text = render_text(&with, "2024-04-02T12:00:00Z", "subject-notice");
    assert!(
        text.contains("Priya Raman\nGroup Data Protection Officer, Larkfield Veterinary Group plc"),
        "{text}"
    );
    let mut org = example_json("organisation.json");
    org["dpo"].as_object_mut().unwrap().remove("title");
    for c in org["contacts"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("title");
    }
    let without = TestEnv::prepared(&org);
    let text = render_text(&without, "2024-04-02T12:00:00Z", "subject-notice");
    assert!(
        text.contains("Priya Raman\nData Protection Officer, Larkfield Veterinary Group plc"),
        "{text}"
    );
    let report = render_text(&without, "2024-04-02T12:00:00Z", "ico-report");
    assert!(
        report.contains("- **Data protection officer:** Priya Raman, dpo@larkfield-vets.example"),
        "{report}"
    );
    org["dpo"]["title"] = serde_json::json!("");
    let env = TestEnv::new();
    let file = env.file("org.json", &org);
    let out = env.run(&["init", "--org", &file]).code(4);
    assert!(
        stderr_of(&out).contains("/dpo/title"),
        "{}",
        stderr_of(&out)
    );
}

/// The documents list of the example incident, as JSON.
fn versions(env: &TestEnv) -> Vec<Value> {
    env.json(&["documents", ID])["documents"]
        .as_array()
        .unwrap()
        .clone()
}

/// Four-eyes approval (issue 14): the ICO report is approved by someone other than the person
/// who rendered it; the refusal names the document, the version, the author and what to do.
#[test]
fn four_eyes_the_author_of_an_ico_report_cannot_approve_it() {
    let env = answered();
    env.run_as("Dana", NOW, &["render", ID, "ico-report"])
        .success();
    // The same person, however the name is typed.
    for name in ["Dana", " dana "] {
        let out = env
            .run_as(name, NOW, &["approve", ID, "ico-report"])
            .code(5);
        let said = stderr_of(&out);
        assert!(
            said.contains("ico-report version 1 was rendered by Dana, who cannot also approve it")
                && said.contains("four-eyes")
                && said.contains("another person must approve it")
                && said.contains("nothing was changed"),
            "{said}"
        );
    }
    let out = env
        .cmd()
        .env("BREACHFLOW_ACTOR", "Dana")
        .args(["--format", "json", "approve", ID, "ico-report"])
        .assert()
        .code(5);
    let error: Value = serde_json::from_slice(&out.get_output().stderr).unwrap();
    assert_eq!(error["error"]["code"], "refused");
    assert!(versions(&env)[0]["approval"].is_null());

    env.run_as("Walter", NOW, &["approve", ID, "ico-report"])
        .success();
    assert_eq!(versions(&env)[0]["approval"]["by"], "Walter");
}

/// The author is whoever stored the version: the editor of an edited one.
#[test]
fn four_eyes_the_editor_of_a_version_is_its_author() {
    let env = answered();
    env.run_as("Dana", NOW, &["render", ID, "ico-report"])
        .success();
    let text = env.json(&["documents", "show", ID, "ico-report"])["text"]
        .as_str()
        .unwrap()
        .to_string();
    let file = env.text_file("edited.md", &format!("{text}\nReviewed by Walter.\n"));
    env.run_as(
        "Walter",
        NOW,
        &["render", ID, "ico-report", "--text-file", &file],
    )
    .success();
    let out = env
        .run_as("Walter", NOW, &["approve", ID, "ico-report"])
        .code(5);
    assert!(
        stderr_of(&out).contains("ico-report version 2 was edited by Walter"),
        "{}",
        stderr_of(&out)
    );
    env.run_as("Dana", NOW, &["approve", ID, "ico-report"])
        .success();
    assert_eq!(versions(&env)[1]["approval"]["by"], "Dana");
}

#[test]
fn four_eyes_a_document_not_in_the_list_can_be_approved_by_its_author() {
    let env = answered();
    env.run_as("Dana", NOW, &["render", ID, "board-briefing"])
        .success();
    env.run_as("Dana", NOW, &["approve", ID, "board-briefing"])
        .success();
    assert_eq!(versions(&env)[0]["approval"]["by"], "Dana");
    let shown = stdout_of(&env.run(&["org"]).success());
    assert!(
        shown.contains(
            "Four-eyes approval (approver other than the author): ico-report, market-announcement, subject-notice (the default)"
        ),
        "{shown}"
    );
}

/// `"four_eyes": []` in the profile turns the rule off; a list of its own replaces the default.
#[test]
fn four_eyes_an_empty_list_turns_it_off() {
    let mut org = example_json("organisation.json");
    org["four_eyes"] = json!([]);
    let env = TestEnv::prepared(&org);
    env.run_as("Dana", NOW, &["render", ID, "ico-report"])
        .success();
    env.run_as("Dana", NOW, &["approve", ID, "ico-report"])
        .success();
    assert_eq!(versions(&env)[0]["approval"]["by"], "Dana");
    let shown = stdout_of(&env.run(&["org"]).success());
    assert!(
        shown.contains("Four-eyes approval (approver other than the author): none\n"),
        "{shown}"
    );
    assert_eq!(env.json(&["org"])["four_eyes"], json!([]));
    env.run(&["audit", "verify"]).success();

    let mut org = example_json("organisation.json");
    org["four_eyes"] = json!(["board-briefing"]);
    let env = TestEnv::prepared(&org);
    env.run_as("Dana", NOW, &["render", ID, "board-briefing"])
        .success();
    env.run_as("Dana", NOW, &["approve", ID, "board-briefing"])
        .code(5);
    env.run_as("Dana", NOW, &["render", ID, "ico-report"])
        .success();
    env.run_as("Dana", NOW, &["approve", ID, "ico-report"])
        .success();
}

/// A name that is not a template name is refused when the profile is stored.
#[test]
fn four_eyes_names_documents() {
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org["four_eyes"] = json!(["ICO report"]);
    let file = env.file("org.json", &org);
    let out = env.run(&["init", "--org", &file]).code(4);
    assert!(
        stderr_of(&out).contains("/four_eyes/0"),
        "{}",
        stderr_of(&out)
    );
}
