//! How an event, a deadline, an assessment and a decision are said in words: one wording for
//! the terminal and the browser workspace, so a DPO reads the same sentence in both.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::deadline::Due;
use crate::domain::event::EventKind;
use crate::domain::record::{AssessmentVersion, DecisionVersion};
use crate::render::format::{instant, minutes};

/// `text`, with the note or reason in brackets when there is one.
fn noted(text: String, note: &Option<String>) -> String {
    match note {
        Some(n) => format!("{text} ({n})"),
        None => text,
    }
}

pub fn event_line(what: &EventKind, zone: Tz) -> String {
    match what {
        EventKind::UserAdded {
            user,
            name,
            email,
            roles,
        } => format!(
            "account {user} added: {name} <{email}> ({})",
            roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        EventKind::UserRolesSet { user, roles } => format!(
            "roles of {user} set: {}",
            roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        EventKind::UserDisabled { user } => format!("account {user} disabled"),
        EventKind::PasswordSet { user, .. } => format!("password of {user} set"),
        EventKind::TokenCreated {
            token, user, label, ..
        } => format!("token {token} created for {user} ({label})"),
        EventKind::TokenRevoked { token } => format!("token {token} revoked"),
        EventKind::IncidentOpened { .. } => "opened".into(),
        EventKind::FactsUpdated { changes, note } => {
            let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
            match note {
                Some(n) => format!("facts updated ({}): {n}", fields.join(", ")),
                None => format!("facts updated ({})", fields.join(", ")),
            }
        }
        EventKind::Assessed {
            version, severity, ..
        } => format!("assessment v{version}: {}", severity.level),
        EventKind::Decided { decision } => format!(
            "decided: ICO {}, data subjects {}",
            if decision.notify_ico {
                "notified"
            } else {
                "not notified"
            },
            if decision.tell_subjects {
                "told"
            } else {
                "not told"
            }
        ),
        EventKind::Transitioned {
            step,
            from,
            to,
            reason,
        } => noted(format!("{step}: {from} -> {to}"), reason),
        EventKind::OrganisationRecorded { .. } => "organisation profile recorded".into(),
        EventKind::MessageChanged {
            message,
            state,
            to,
            note,
            ..
        } => noted(format!("message {message} to {to}: {state}"), note),
        EventKind::BulkNotices {
            document,
            finished,
            sent,
            already_sent,
            failed,
            uncertain,
            bad_rows,
            ..
        } => format!(
            "bulk {} of {} v{}: {sent} sent, {already_sent} already sent, {failed} failed, {uncertain} uncertain, {bad_rows} bad rows",
            if *finished {
                "notices finished"
            } else {
                "notices started"
            },
            document.document,
            document.version
        ),
        EventKind::BulkRecipients {
            document,
            step,
            recipients,
        } => {
            let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
            for r in recipients {
                *counts.entry(r.state.as_str()).or_default() += 1;
            }
            let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
            // A person's decision carries its words (who decided, why) on every recipient.
            let why = match step {
                crate::domain::outbox::BulkStep::Confirmed
                | crate::domain::outbox::BulkStep::Resend => recipients
                    .first()
                    .and_then(|r| r.note.as_deref())
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            format!(
                "bulk {document} recipients, {}: {}{why}",
                serde_json::to_value(step)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                counts.join(", ")
            )
        }
        EventKind::ReminderSent {
            obligation, level, ..
        } => format!("reminder for {obligation} ({level})"),
        EventKind::Anchored { seq, hash } => {
            format!(
                "log anchored at event {seq} (hash {})",
                hash.get(..12).unwrap_or(hash)
            )
        }
        EventKind::DocumentRendered { document: d } => format!(
            "{} version {} rendered{} (sha256 {})",
            d.document,
            d.version,
            if d.missing.is_empty() {
                ""
            } else {
                " as a draft"
            },
            crate::render::format::short(&d.sha256, 12)
        ),
        EventKind::DocumentApproved {
            document,
            version,
            approval,
        } => format!("{document} version {version} approved by {}", approval.by),
        EventKind::TriggerRecorded { trigger } => format!(
            "recorded: {}, {} (decided by {})",
            crate::domain::deadline::anchor_words(trigger.anchor),
            instant(trigger.at, zone),
            trigger.decided_by
        ),
        EventKind::DisclosureDelayed { delay } => format!(
            "disclosure delayed under UK MAR Art 17(4) at {} by {}: (a) {}; (b) {}; (c) {}",
            delay.at.to_rfc3339(),
            delay.decided_by,
            delay.legitimate_interests,
            delay.not_misleading,
            delay.confidentiality
        ),
        EventKind::ObligationsChanged { changes } => {
            let mut parts = Vec::new();
            if !changes.added.is_empty() {
                let ids: Vec<_> = changes.added.iter().map(|o| o.id.as_str()).collect();
                parts.push(format!("obligations added: {}", ids.join(", ")));
            }
            for (id, _) in &changes.retired {
                parts.push(format!("{id} retired"));
            }
            for id in &changes.revived {
                parts.push(format!("{id} applies again"));
            }
            for (id, _) in &changes.waived {
                parts.push(format!("{id} waived by the decision"));
            }
            for id in &changes.unwaived {
                parts.push(format!("{id} owed again"));
            }
            parts.join("; ")
        }
        EventKind::DuesChanged { changes } => {
            let ids: Vec<_> = changes.iter().map(|c| c.obligation.as_str()).collect();
            format!("due instants recomputed: {}", ids.join(", "))
        }
        EventKind::ObligationCompleted {
            obligation,
            state,
            completion,
        } => match (completion.verdict(), completion.late_by_minutes) {
            (Some(v), _) if !completion.precision.is_instant() => format!(
                "{obligation} {state} (time known only to the {}), {}",
                completion.precision.as_str(),
                v.words()
            ),
            (_, Some(m)) => format!("{obligation} {state}, {} late", minutes(m)),
            (_, None) => format!("{obligation} {state}"),
        },
        EventKind::ReferenceRecorded {
            obligation,
            reference,
            acknowledged_at,
        } => match acknowledged_at {
            Some(at) => format!(
                "{obligation}: reference {reference}, acknowledged {}",
                at.to_rfc3339()
            ),
            None => format!("{obligation}: reference {reference}"),
        },
        EventKind::ObligationWaived { obligation, waiver } => {
            format!("{obligation} waived by {}: {}", waiver.by, waiver.reason)
        }
    }
}

pub fn remaining(due: &Due, now: DateTime<Utc>) -> String {
    match due {
        Due::At { at, .. } => {
            let m = (*at - now).num_minutes();
            if m >= 0 {
                format!("{} left", minutes(m))
            } else {
                format!("OVERDUE by {}", minutes(-m))
            }
        }
        Due::Standard {
            standard, target, ..
        } => match target {
            Some(t) if *t >= now => format!(
                "\"{standard}\"; internal target in {}",
                minutes((*t - now).num_minutes())
            ),
            Some(t) => format!(
                "\"{standard}\"; internal target passed {} ago",
                minutes((now - *t).num_minutes())
            ),
            None => format!("\"{standard}\""),
        },
        Due::NotStarted { waiting_on } => format!(
            "not started: waits on {}",
            crate::domain::deadline::anchor_words(*waiting_on)
        ),
        Due::Error { message } => format!("CANNOT COMPUTE: {message}"),
    }
}

/// The due instant as a person reads it: a deadline, an internal target, or neither.
pub fn due_words(due: &Due, zone: Tz) -> String {
    match due {
        Due::At { at, .. } => instant(*at, zone),
        Due::Standard {
            target: Some(t), ..
        } => format!("(target) {}", instant(*t, zone)),
        Due::Standard { standard, .. } => format!("\"{standard}\""),
        Due::NotStarted { .. } => "not started".into(),
        Due::Error { .. } => "error".into(),
    }
}

/// The human-readable view of one assessment version.
pub fn assessment(a: &AssessmentVersion, zone: Tz) -> String {
    let sev = &a.severity;
    let input = &a.input;
    let mut s = format!(
        "Assessment v{} ({} by {})\n",
        a.version,
        instant(a.at, zone),
        a.by
    );
    let level = if sev.overridden {
        format!(
            "{} (overridden; computed {})",
            sev.level, sev.computed_level
        )
    } else {
        sev.level.to_string()
    };
    s.push_str(&format!("  Risk level:  {level}: {}\n", sev.level.label()));
    s.push_str(&format!(
        "  Severity:    SE {:.2} ({}) = DPC {} x EI {:.2} + CB {:.2}  (ENISA 2013)\n",
        sev.score,
        crate::render::format::band(sev.band),
        sev.dpc,
        sev.ei,
        sev.cb
    ));
    let data: Vec<String> = input
        .data_categories
        .iter()
        .map(|c| {
            let tag = if c.is_special_category() {
                Some("special category")
            } else if c.is_criminal_offence() {
                Some("criminal offence")
            } else {
                None
            };
            tagged(c.label(), tag)
        })
        .collect();
    s.push_str(&format!("  Data:        {}\n", data.join(", ")));
    let subjects: Vec<String> = input
        .subject_categories
        .iter()
        .map(|c| tagged(c.label(), c.is_vulnerable().then_some("vulnerable")))
        .collect();
    s.push_str(&format!("  Subjects:    {}\n", subjects.join(", ")));
    s.push_str(&format!("  People:      {}\n", input.subjects));
    if let Some(records) = &input.records {
        s.push_str(&format!("  Records:     {records}\n"));
    }
    if !input.mitigations.is_empty() {
        let m: Vec<_> = input.mitigations.iter().map(|m| m.label()).collect();
        s.push_str(&format!("  Mitigations: {}\n", m.join(", ")));
    }
    if !input.consequences.is_empty() {
        let c: Vec<_> = input.consequences.iter().map(|c| c.label()).collect();
        s.push_str(&format!("  Consequences: {}\n", c.join(", ")));
    }
    s.push_str("  Reasoning:\n");
    for r in &sev.rationale {
        s.push_str(&format!("    - {r}\n"));
    }
    s
}

/// "Health [special category]": a label with the tag that makes it weigh more, if any.
fn tagged(label: &str, tag: Option<&str>) -> String {
    match tag {
        Some(t) => format!("{label} [{t}]"),
        None => label.to_string(),
    }
}

/// The human-readable view of a decision.
pub fn decision(d: &DecisionVersion, zone: Tz) -> String {
    let dec = &d.decision;
    let yn = |b: bool| if b { "yes" } else { "no" };
    let mut s = format!(
        "Decision ({} by {}), on assessment v{} ({})\n",
        instant(d.at, zone),
        d.by,
        dec.assessment_version,
        dec.risk_level
    );
    s.push_str(&format!(
        "  Notify the ICO:      {}\n  Tell data subjects:  {}\n",
        yn(dec.notify_ico),
        yn(dec.tell_subjects)
    ));
    if dec.follows_recommendation {
        s.push_str("  Follows the recommendation.\n");
    } else {
        s.push_str(&format!(
            "  Overrides the recommendation (ICO {}, data subjects {}).\n",
            yn(dec.recommendation.notify_ico),
            yn(dec.recommendation.tell_subjects)
        ));
    }
    s.push_str(&format!("  Basis: {}\n", dec.recommendation.basis));
    if let Some(reason) = &dec.reason {
        s.push_str(&format!("  DPO's reasoning: {reason}\n"));
    }
    s
}
