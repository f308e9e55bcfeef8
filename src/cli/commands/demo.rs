//! `breachflow demo`: the workflow on a built-in example, modelled on a listed veterinary group's
//! April 2024 ransomware incident (names are fictional).
//!
//! It runs the same code as the commands, at fixed instants, into a new store, and keeps the
//! store so a new user can explore it with `--data-dir`. The awareness instant sits on the
//! Saturday evening before the clocks went forward (31 March 2024) and the Easter bank holidays,
//! which the 72-hour clock does not stop for.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::app;
use crate::app::incident::TriggerRequest;
use crate::app::input;
use crate::app::ports::Store;
use crate::cli::output::{self, Format, instant};
use crate::cli::{CliError, Ctx};
use crate::domain::incident::{IncidentFacts, IncidentUpdate};
use crate::domain::lifecycle::Step;
use crate::domain::organisation::Organisation;
use crate::domain::regime::Anchor;
use crate::domain::workflow::DecideRequest;

const ORGANISATION: &str = include_str!("../../../examples/organisation.json");
const INCIDENT: &str = include_str!("../../../examples/incident-ransomware.json");
const UPDATE: &str = include_str!("../../../examples/incident-update-containment.json");
const ASSESSMENT: &str = include_str!("../../../examples/assessment-ransomware.json");
const ANSWERS: &str = include_str!("../../../examples/incident-update-report-answers.json");

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// A fresh directory under the system temp dir that no earlier demo used.
fn fresh_dir() -> PathBuf {
    let base = std::env::temp_dir();
    let pid = std::process::id();
    let mut n = 0u32;
    loop {
        let dir = base.join(format!("breachflow-demo-{pid}-{n}"));
        if !dir.exists() {
            return dir;
        }
        n += 1;
    }
}

pub fn run(ctx: &Ctx) -> Result<(), CliError> {
    let dir = if ctx.data_dir_given {
        ctx.data_dir.clone()
    } else {
        fresh_dir()
    };
    let base = Ctx {
        data_dir: dir.clone(),
        ..ctx.clone()
    };
    // The demo depicts a week in 2024: its store is recorded on the scenario's clock (set by
    // `step`), not the system clock, so its log reads as that week. Any other store records
    // the real time.
    let scenario = std::sync::Arc::new(std::sync::Mutex::new(at("2024-03-30T21:20:00Z")));
    let reading = scenario.clone();
    let store = crate::adapters::store::SledStore::open_simulated(
        &dir,
        Box::new(move || match reading.lock() {
            Ok(t) => *t,
            Err(poisoned) => *poisoned.into_inner(),
        }),
    )?;
    if store.organisation()?.is_some() {
        return Err(CliError::Failed(format!(
            "the demo needs an empty store, and {} already holds one; omit --data-dir to use a temporary directory",
            dir.display()
        )));
    }
    // One step of the scenario: who acts, and when; the scenario's clock moves to that time.
    let recorded_at = |when: &str| {
        if let Ok(mut t) = scenario.lock() {
            *t = at(when);
        }
    };
    let step = |when: &str, actor: &str| {
        recorded_at(when);
        Ctx {
            now: at(when),
            actor: actor.to_string(),
            ..base.clone()
        }
    };
    let dpo = "Priya Raman (DPO)";
    let security = "Tom Okafor (Head of IT Security)";
    let mut log: Vec<String> = Vec::new();

    let org: Organisation = input::parse("examples/organisation.json", ORGANISATION)?;
    let zone = org.zone();
    app::incident::record_organisation(
        &store,
        &step("2024-03-30T21:20:00Z", dpo).app(),
        "examples/organisation.json",
        org.clone(),
        false,
    )?;
    log.push(format!(
        "Stored the organisation profile of {} (AIM-listed).",
        org.name
    ));

    let facts: IncidentFacts = input::parse("examples/incident-ransomware.json", INCIDENT)?;
    let record = app::incident::open(
        &store,
        &step("2024-03-30T21:45:00Z", security).app(),
        "examples/incident-ransomware.json",
        &facts,
    )?;
    let id = record.id;
    log.push(format!(
        "Opened {id}; aware at {} (detected {}).",
        instant(facts.aware_at, zone),
        instant(facts.detected_at, zone)
    ));

    let book = super::rulebook(&base)?;
    let update: IncidentUpdate = input::parse("examples/incident-update-containment.json", UPDATE)?;
    // Written up the next morning: the servers were isolated at 23:40 on Saturday, but the
    // security lead records it at 08:30 on Sunday, so the log marks it "recorded later".
    let mut isolated = step("2024-03-30T23:40:00Z", security);
    recorded_at("2024-03-31T08:30:00Z");
    isolated.now = at("2024-03-30T23:40:00Z");
    app::incident::update(
        &store,
        &isolated.app(),
        &book,
        id,
        "examples/incident-update-containment.json",
        &update,
    )?;
    log.push(
        "Recorded on Sun 08:30 the containment done on Sat 23:40 (the log marks it recorded later); systems affected updated after forensic triage."
            .into(),
    );

    let assessment = input::parse("examples/assessment-ransomware.json", ASSESSMENT)?;
    let record = app::incident::assess(
        &store,
        &step("2024-03-31T11:00:00Z", dpo).app(),
        &book,
        id,
        "examples/assessment-ransomware.json",
        &assessment,
    )?
    .record;
    let severity = recorded(record.current_assessment(), "assessment")?
        .severity
        .clone();
    log.push(format!(
        "Assessed: ENISA severity {:.2} ({}), risk level {}.",
        severity.score,
        crate::render::format::band(severity.band),
        severity.level
    ));

    let record = app::incident::decide(
        &store,
        &step("2024-03-31T14:00:00Z", dpo).app(),
        &book,
        id,
        &DecideRequest {
            accept: true,
            reason: Some("Malicious access to client and staff contact details cannot be ruled out; notify the ICO. No evidence of exfiltration or of sensitive data, so data subjects are not told at this stage; review when forensics report.".into()),
            ..DecideRequest::default()
        },
    )?;
    let decision = recorded(record.current_decision(), "decision")?
        .decision
        .clone();
    log.push(format!(
        "Decided (accepting the recommendation): notify the ICO: {}; tell data subjects: {}.",
        if decision.notify_ico { "yes" } else { "no" },
        if decision.tell_subjects { "yes" } else { "no" }
    ));

    let (_, state) = app::incident::transition(
        &store,
        &step("2024-03-31T14:05:00Z", dpo).app(),
        id,
        Step::Notify,
        None,
    )?;
    log.push(format!("Moved {id} to {state}."));
    // The board confirms the incident is inside information; the clock for the market
    // announcement starts, and the announcement goes out the next morning.
    let comms = "Sophie Turner (Head of Communications)";
    app::incident::trigger(
        &store,
        &step("2024-03-31T16:00:00Z", "Margaret Ellis (Chair)").app(),
        &book,
        id,
        TriggerRequest {
            anchor: Anchor::InsideInformation,
            at: Some(at("2024-03-31T15:30:00Z")),
            by: Some("Margaret Ellis (Chair), on the nominated adviser's advice".into()),
            note: Some("Board call: disruption to practices is price-sensitive.".into()),
        },
    )?;
    log.push("Recorded that the incident became inside information (Sun 31 Mar 16:30 BST).".into());

    // The DPO's completeness check on Easter Sunday evening: what the ICO report still lacks.
    let templates = super::templates(&base)?;
    let check_ctx = step("2024-03-31T18:00:00Z", dpo);
    let lacking = {
        let r = store.incident(id)?;
        let t = templates.get("ico-report")?;
        let o = r
            .obligations
            .iter()
            .find(|o| o.id == "uk-gdpr-art33/initial");
        crate::render::template::needed(
            t,
            &crate::domain::casefile::build(&r, &org, o, check_ctx.now),
        )
    };
    log.push(format!(
        "Checked the ICO report at {}: {} answers missing ({}).",
        instant(check_ctx.now, zone),
        lacking.len(),
        lacking.join(", ")
    ));
    let answers: IncidentUpdate =
        input::parse("examples/incident-update-report-answers.json", ANSWERS)?;
    app::incident::update(
        &store,
        &step("2024-03-31T19:30:00Z", dpo).app(),
        &book,
        id,
        "examples/incident-update-report-answers.json",
        &answers,
    )?;
    log.push(
        "Recorded the answers the ICO form asks for (cause, measures, prevention, ...).".into(),
    );

    let out_dir = dir.join("documents");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| CliError::Failed(format!("{}: {e}", out_dir.display())))?;
    let mut written = Vec::new();
    // Each document: rendered by its author, approved, written out, then sent or filed.
    // The briefings go by mail. The example profile names no SMTP server, so they are written
    // to the outbox folder as .eml files, as they would be with the company's mail down.
    let carrier =
        crate::adapters::mail::Carrier::for_organisation(&org, &super::send::outbox_dir(&base))?;
    let policy = super::send::policy(&base)?;
    for (rendered, author, approved, approver, name, mail, completes) in [
        (
            "2024-03-31T20:00:00Z",
            comms,
            "2024-04-01T06:30:00Z",
            "Margaret Ellis (Chair)",
            "market-announcement",
            None,
            vec![
                (
                    "2024-04-01T07:00:00Z",
                    "uk-mar-art17/announcement",
                    "RNS 1234X",
                    true,
                ),
                (
                    "2024-04-01T07:00:00Z",
                    "aim-rule-11/announcement",
                    "RNS 1234X",
                    true,
                ),
            ],
        ),
        (
            "2024-04-01T07:10:00Z",
            comms,
            "2024-04-01T07:20:00Z",
            dpo,
            "staff-briefing",
            Some(("2024-04-01T07:30:00Z", comms, "staff")),
            vec![],
        ),
        (
            "2024-04-01T09:45:00Z",
            dpo,
            "2024-04-02T09:00:00Z",
            "Margaret Ellis (Chair)",
            "board-briefing",
            Some(("2024-04-02T09:05:00Z", dpo, "board")),
            vec![],
        ),
        (
            "2024-04-02T09:30:00Z",
            dpo,
            "2024-04-02T10:15:00Z",
            // Four-eyes approval: the report to the regulator is approved by someone other
            // than the DPO who prepared it.
            "Daniel Hughes (General Counsel)",
            "ico-report",
            None,
            vec![(
                "2024-04-02T10:30:00Z",
                "uk-gdpr-art33/initial",
                "IC-301234-X9Y8",
                false,
            )],
        ),
    ] {
        let c = step(rendered, author);
        let (v, body, _) = app::documents::produce(
            &store,
            &c.app(),
            &org,
            &templates,
            id,
            name,
            None,
            app::documents::Mode::Complete,
        )?;
        let a = step(approved, approver);
        app::documents::approve(&store, &a.app(), id, name, Some(v.version), None)?;
        for (ext, text) in [("md", &body.text), ("html", &body.html)] {
            let path = out_dir.join(format!("{name}-v{}.{ext}", v.version));
            super::document::write_private(&path, text)?;
            written.push(path);
        }
        log.push(format!(
            "Rendered {name} version {} ({}), approved by {approver} at {}.",
            v.version,
            v.title,
            instant(a.now, zone)
        ));
        if let Some((when, who, to)) = mail {
            let c = step(when, who);
            crate::app::send::send(
                &crate::app::send::Post {
                    store: &store,
                    mailer: &carrier,
                    ctx: &c.app(),
                    org: &org,
                    policy: &policy,
                },
                &templates,
                &crate::app::send::SendRequest {
                    id,
                    document: name,
                    version: None,
                    to: &[to.to_string()],
                    audience: None,
                },
            )?;
            let state = store
                .messages_for(id)?
                .last()
                .map(|m| m.state.to_string())
                .unwrap_or_default();
            log.push(format!(
                "Mailed the approved {name} to the {to} role at {}: {state}{}.",
                instant(c.now, zone),
                if to == "staff" {
                    " (staff hear only after the market announcement)"
                } else {
                    ""
                }
            ));
        }
        for (when, obligation, reference, sent) in completes {
            let c = step(when, author);
            app::incident::complete(
                &store,
                &c.app(),
                &book,
                &templates,
                id,
                app::incident::Completion {
                    obligation: obligation.into(),
                    at: Some(crate::domain::deadline::Known::At(c.now)),
                    reference: Some(reference.into()),
                    late_reason: None,
                    sent,
                },
            )?;
            log.push(format!(
                "{} {obligation} at {} with {name} version {} (reference {reference}).",
                if sent { "Sent" } else { "Filed" },
                instant(c.now, zone),
                v.version
            ));
        }
    }
    // The ICO's follow-up, a week later, quoting the ICO's case reference.
    let follow = step("2024-04-08T09:00:00Z", dpo);
    let (v, body, _) = app::documents::produce(
        &store,
        &follow.app(),
        &org,
        &templates,
        id,
        "ico-follow-up",
        None,
        app::documents::Mode::Complete,
    )?;
    let approve = step("2024-04-08T09:30:00Z", dpo);
    app::documents::approve(
        &store,
        &approve.app(),
        id,
        "ico-follow-up",
        Some(v.version),
        None,
    )?;
    for (ext, text) in [("md", &body.text), ("html", &body.html)] {
        let path = out_dir.join(format!("ico-follow-up-v{}.{ext}", v.version));
        super::document::write_private(&path, text)?;
        written.push(path);
    }
    let filed = step("2024-04-08T10:00:00Z", dpo);
    app::incident::complete(
        &store,
        &filed.app(),
        &book,
        &templates,
        id,
        app::incident::Completion {
            obligation: "uk-gdpr-art33/follow-up".into(),
            at: Some(crate::domain::deadline::Known::At(filed.now)),
            reference: Some("IC-301234-X9Y8".into()),
            late_reason: None,
            sent: false,
        },
    )?;
    log.push(format!(
        "Filed the ICO follow-up report (ico-follow-up version {}) at {}, quoting the ICO's reference.",
        v.version,
        instant(filed.now, zone)
    ));

    // What compliance opens later: the adherence report, and the log's hash chain checked.
    let report_ctx = step("2024-04-08T12:00:00Z", dpo);
    let report_path = dir.join("adherence.html");
    let report = crate::app::reports::adherence_report(
        &store,
        &crate::domain::adherence::Filter::default(),
        report_ctx.now,
    )?;
    let html = crate::render::report::adherence_html(&report);
    super::document::write_private(&report_path, &html)?;
    written.push(report_path.clone());
    let verified = match crate::app::audit::verify(&store)? {
        Ok(n) => n,
        Err(p) => return Err(CliError::Tampered(p.to_string())),
    };
    log.push(format!(
        "Wrote the deadline-adherence report and verified the event log: {verified} events, every hash intact."
    ));

    let messages = store.messages_for(id)?;
    let record = store.incident(id)?;
    let shown_at = at("2024-04-02T12:00:00Z");

    let events = store.events_for(id)?;
    let explore = format!("breachflow --data-dir {} incident show {id}", dir.display());
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "data_dir": dir,
            "steps": log,
            "documents": written,
            "adherence_report": report_path,
            "verified_events": verified,
            "messages": messages,
            "incident": record,
            "events": events,
        })),
        Format::Table | Format::Csv | Format::Html => {
            let mut text = String::from(
                "breachflow demo: a fictional AIM-listed veterinary group hit by ransomware over Easter 2024\n\n",
            );
            for (i, line) in log.iter().enumerate() {
                text.push_str(&format!("{}. {line}\n", i + 1));
            }
            text.push('\n');
            text.push_str(&super::incident::describe(&record, &events, zone, shown_at));
            if let Some(ico) = record
                .obligations
                .iter()
                .find(|o| o.id == "uk-gdpr-art33/initial")
            {
                text.push_str("\nHow the ICO deadline was worked out:\n");
                for line in ico.due.explain() {
                    text.push_str(&format!("  {line}\n"));
                }
            }
            text.push_str(&format!(
                "\nDeadline-adherence report (open in a browser): {}\nDocuments written to {} (text and HTML; open the .html in a browser or print it).\nMessages ({}) written to {} as .eml files.\nThe demo store is kept at {}.\nExplore it: {explore}\n",
                report_path.display(),
                out_dir.display(),
                messages.len(),
                super::send::outbox_dir(&base).display(),
                dir.display()
            ));
            output::print(&text);
        }
    }
    Ok(())
}

/// What a step of the demo just recorded, or why the demo cannot go on.
fn recorded<T>(what: Option<T>, name: &str) -> Result<T, CliError> {
    what.ok_or_else(|| CliError::Failed(format!("no {name} recorded")))
}
