//! The case file: every fact a document may use, gathered from the incident record and the
//! organisation into one JSON value, and the catalogue that names each fact for a DPO.
//!
//! An unknown fact is `null`, never an empty string or a guess, so a template's use of it can be
//! found and reported (see `template::needed`). Instants stay RFC 3339 UTC strings here; the
//! templates' helpers show them in the organisation's zone.
//!
//! Longer than our ~600-line guide: most of it is the catalogue of every fact the forms ask for,
//! with its label and required-content key, which is data rather than logic.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::domain::assessment::RiskLevel;
use crate::domain::assessment::{DataCategory, SubjectCategory};
use crate::domain::deadline::Due;
use crate::domain::incident::{OrganisationImpact, RecoveryTime, SubjectsTold, YesNoUnknown};
use crate::domain::obligation::{Obligation, ObligationState};
use crate::domain::organisation::{ControllerRole, Market, Organisation};
use crate::domain::record::IncidentRecord;
use crate::domain::regime::Anchor;

/// Which report a document is: the first, or one following an earlier filing (Art 33(4)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Initial,
    FollowUp,
}

/// Builds the case file for `record` as of `now`. `obligation` is the duty the document serves,
/// if any: its due instant decides whether the report is late and must give reasons.
pub fn build(
    record: &IncidentRecord,
    org: &Organisation,
    obligation: Option<&Obligation>,
    now: DateTime<Utc>,
) -> Value {
    let f = &record.facts;
    let d = &f.details;
    let at = |t: DateTime<Utc>| Value::String(t.to_rfc3339());
    let opt_at = |t: Option<DateTime<Utc>>| t.map(at).unwrap_or(Value::Null);

    let mut contacts = serde_json::Map::new();
    for c in &org.contacts {
        contacts.entry(c.role.clone()).or_insert_with(
            || json!({ "name": c.name, "title": c.title, "email": c.email, "phone": c.phone }),
        );
    }
    let markets: Vec<&str> = org
        .flags
        .markets
        .iter()
        .map(|m| match m {
            Market::Aim => "AIM",
            Market::MainMarket => "the Main Market of the London Stock Exchange",
            Market::UsExchange => "a US national securities exchange",
        })
        .collect();

    let assessment = record.assessments.last().map(|a| {
        let i = &a.input;
        let special: Vec<&str> = i
            .data_categories
            .iter()
            .filter(|c| c.is_special_category() || c.is_criminal_offence())
            .map(|c| c.label())
            .collect();
        let vulnerable: Vec<&str> = i
            .subject_categories
            .iter()
            .filter(|c| c.is_vulnerable())
            .map(|c| c.label())
            .collect();
        json!({
            "version": a.version,
            "data_categories": i.data_categories.iter().map(|c| c.label()).collect::<Vec<_>>(),
            "data_plain": i.data_categories.iter().map(|c| plain_data(*c)).collect::<Vec<_>>(),
            "other_data": i.other_data_description,
            "special_categories": special,
            "subject_categories": i.subject_categories.iter().map(|c| c.label()).collect::<Vec<_>>(),
            "other_subjects": i.other_subjects_description,
            "vulnerable_subjects": vulnerable,
            "staff_affected": i.subject_categories.contains(&SubjectCategory::Employees),
            "subjects": i.subjects,
            "records": i.records,
            "mitigations": i.mitigations.iter().map(|m| m.label()).collect::<Vec<_>>(),
            "mitigation_notes": i.mitigation_notes,
            "consequences": i.consequences.iter().map(|c| c.label()).collect::<Vec<_>>(),
            "consequences_description": i.consequences_description,
            "likelihood": i.likelihood.map(|l| l.label()),
            "malicious": i.circumstances.malicious,
            "risk_level": match a.severity.level {
                RiskLevel::Unlikely => "unlikely to result in a risk to individuals' rights and freedoms",
                RiskLevel::Risk => "likely to result in a risk to individuals' rights and freedoms",
                RiskLevel::High => "likely to result in a high risk to individuals' rights and freedoms",
            },
            "risk_level_code": a.severity.level.to_string(),
            "severity_score": a.severity.score,
            "severity_band": a.severity.band.words(),
        })
    });

    let decision = record.decisions.last().map(|v| {
        json!({
            "notify_ico": v.decision.notify_ico,
            "tell_subjects": v.decision.tell_subjects,
            "reason": v.decision.reason,
            "reasoning": v.decision.reasoning,
            "by": v.by,
            "at": at(v.at),
        })
    });

    // Every clock-starting instant is present, null until recorded, so a template can test it.
    let mut triggers: serde_json::Map<String, Value> = [
        Anchor::ClassifiedMajor,
        Anchor::MaterialityDetermined,
        Anchor::InsideInformation,
        Anchor::EligibleBreach,
        Anchor::Discovered,
    ]
    .iter()
    .map(|a| (a.as_str().to_string(), Value::Null))
    .collect();
    for t in &record.triggers {
        triggers.insert(t.anchor.as_str().to_string(), at(t.at));
    }

    // The report's own position: which phase, whether it is already late, and the reference the
    // recipient gave an earlier phase (the ICO's case reference on a follow-up).
    let kind = match obligation.and_then(|o| o.previous.as_ref()) {
        Some(_) => ReportKind::FollowUp,
        None => ReportKind::Initial,
    };
    let previous = obligation
        .and_then(|o| o.previous.as_deref())
        .and_then(|p| record.obligations.iter().find(|o| o.id == p));
    let due = obligation.map(|o| &o.due);
    let late = match due {
        Some(Due::At { at, .. }) => now > *at,
        _ => false,
    };
    // The market announcement's position, for the briefings: when it went out and its reference.
    let announced = record
        .obligations
        .iter()
        .filter(|o| o.id.starts_with("uk-mar-art17/") || o.id.starts_with("aim-rule-11/"))
        .filter_map(|o| o.completion.as_ref())
        .min_by_key(|c| c.at);
    let market = json!({
        "announced": announced.is_some(),
        "announced_at": announced.map(|c| at(c.at)),
        "reference": announced.and_then(|c| c.reference.clone()),
    });

    // Every live obligation with its deadline and status, for the board's table.
    let obligations: Vec<Value> = record
        .obligations
        .iter()
        .filter(|o| o.state != ObligationState::Retired)
        .map(|o| {
            json!({
                "id": o.id,
                "regime": o.regime_name,
                "recipient": o.recipient,
                // A deadline in law; a standard ("as soon as possible") is words, with its
                // internal target apart.
                "due": match &o.due { Due::At { at: t, .. } => Some(at(*t)), _ => None },
                "target": match &o.due { Due::Standard { target, .. } => target.map(at), _ => None },
                "due_words": match &o.due {
                    Due::At { .. } => "".to_string(),
                    Due::Standard { standard, .. } => standard.clone(),
                    Due::NotStarted { .. } => "clock not started yet".to_string(),
                    Due::Error { .. } => "not computed".to_string(),
                },
                "phase": o.phase.name,
                // Open duties are "open" whether drafted or approved: rendering a document
                // moves its own duty to drafted, and must not change the facts it was made from.
                "status": if o.state.is_open() { "open".to_string() } else { o.state.to_string() },
                "reference": o.completion.as_ref().and_then(|c| c.reference.clone()),
            })
        })
        .collect();

    // The announcement's answers, with the headline chosen for the kind of incident.
    let a = d.announcement.clone().unwrap_or_default();
    let headline = a.headline.clone().unwrap_or_else(|| {
        if f.cyber_incident == YesNoUnknown::Yes {
            "Notice of Cyber Incident".into()
        } else {
            "Notice of Data Security Incident".into()
        }
    });
    let announcement = json!({
        "headline": headline,
        "what_happened": a.what_happened,
        "response": a.response,
        "authorities": a.authorities,
        "operational_impact": a.operational_impact,
        "unaffected": a.unaffected,
        "outlook": a.outlook,
        "further_update": a.further_update,
        "thanks": a.thanks,
        "released_by": a.released_by,
    });

    let report = json!({
        "kind": match kind { ReportKind::Initial => "initial", ReportKind::FollowUp => "follow_up" },
        "follow_up": kind == ReportKind::FollowUp,
        "obligation": obligation.map(|o| o.id.clone()),
        "recipient": obligation.map(|o| o.recipient.clone()),
        "regime": obligation.map(|o| o.regime_name.clone()),
        "citation": obligation.map(|o| o.citation.clone()),
        "due": due.and_then(|d| d.instant()).map(at),
        "statutory": due.is_some_and(|d| d.is_statutory()),
        "late": late,
        "hours_since_awareness": (now - f.aware_at).num_minutes() as f64 / 60.0,
        "previous_reference": previous.and_then(|p| p.completion.as_ref()).and_then(|c| c.reference.clone()),
        "previous_filed_at": previous.and_then(|p| p.completion.as_ref()).map(|c| at(c.at)),
        "prepared_at": at(now),
    });

    json!({
        "org": {
            "name": org.name,
            "ico_registration": org.ico_registration,
            "address": org.address,
            "role": match org.role { ControllerRole::Controller => "controller", ControllerRole::Processor => "processor" },
            "dpo": { "name": org.dpo.name, "title": org.dpo.title, "email": org.dpo.email, "phone": org.dpo.phone },
            "contacts": contacts,
            "listed": org.is_listed(),
            "markets": markets,
            "time_zone": org.time_zone,
            "lei": org.lei,
            "sector": org.sector,
            "size": org.size,
        },
        "incident": {
            "id": record.id.to_string(),
            "title": f.title,
            "summary": f.summary,
            "occurred_from": opt_at(f.occurred.from),
            "occurred_to": opt_at(f.occurred.to),
            "detected_at": at(f.detected_at),
            "aware_at": at(f.aware_at),
            "awareness_justification": f.awareness_justification,
            "discovery": f.discovery,
            "systems_affected": f.systems_affected,
            "containment": f.containment,
            "impact": f.impact,
            "impact_list": f.impact.labels(),
            "cyber_incident": yes_no(f.cyber_incident),
            "is_cyber": f.cyber_incident == YesNoUnknown::Yes,
            "reporter": f.reporter,
            "state": record.state.to_string(),
        },
        "details": {
            "cause": d.cause,
            "ico_staff_contacted": d.ico_staff_contacted,
            "measures_before": d.measures_before,
            "remedial_actions": d.remedial_actions,
            "prevention": d.prevention,
            "staff_involved": d.staff_involved.map(yes_no),
            "staff_training": d.staff_training,
            "organisation_impact": d.organisation_impact.map(organisation_impact),
            "recovery_time": d.recovery_time.map(recovery_time),
            "subjects_told": told_answer(d.subjects_told, record.decisions.last().map(|v| v.decision.tell_subjects)),
            "others_told": d.others_told,
            "advice_to_subjects": d.advice_to_subjects,
            "subject_contact": d.subject_contact,
            "business_impact": d.business_impact,
            "material_impact": d.material_impact,
            "service_impact": d.service_impact,
            "cross_border_impact": d.cross_border_impact,
            "indicators_of_compromise": d.indicators_of_compromise,
            "delay_reasons": d.delay_reasons,
            "insurer_position": d.insurer_position,
            "board_decisions": d.board_decisions,
            "client_message": d.client_message,
        },
        "announcement": announcement,
        "notice": {
            "what_happened": d.notice.as_ref().and_then(|n| n.what_happened.clone()),
            "what_it_means": d.notice.as_ref().and_then(|n| n.what_it_means.clone()),
            "what_we_are_doing": d.notice.as_ref().and_then(|n| n.what_we_are_doing.clone()),
        },
        "market": market,
        "obligations": obligations,
        "assessment": assessment,
        "decision": decision,
        "triggers": triggers,
        "report": report,
        // The person a personalised notice is addressed to; set per recipient when sending.
        "recipient": null,
    })
}

/// A category of personal data in the reader's words, for the notice to the people affected.
fn plain_data(c: DataCategory) -> &'static str {
    use DataCategory::*;
    match c {
        BasicIdentifiers => "your name",
        ContactDetails => "your contact details (address, email and phone number)",
        IdentificationData => "your usernames and passwords",
        EconomicFinancial => "your bank or card details",
        OfficialDocuments => "copies of official papers (such as a driving licence)",
        Location => "where you have been",
        BehaviouralData => "how you use our services",
        EducationEmployment => "details of your job or education",
        RacialEthnicOrigin => "your race or ethnic origin",
        PoliticalOpinions => "your political views",
        ReligiousBeliefs => "your religion or beliefs",
        TradeUnionMembership => "whether you are in a trade union",
        SexLife => "your sex life",
        SexualOrientation => "your sexual orientation",
        GenderReassignment => "your gender history",
        Health => "your health",
        GeneticBiometric => "your genetic or biometric details (such as fingerprints)",
        CriminalOffences => "criminal records",
        NotYetKnown => "information we are still identifying",
        Other => "other information",
    }
}

fn yes_no(v: YesNoUnknown) -> &'static str {
    match v {
        YesNoUnknown::Yes => "Yes",
        YesNoUnknown::No => "No",
        YesNoUnknown::Unknown => "Don't know",
    }
}

fn organisation_impact(v: OrganisationImpact) -> &'static str {
    match v {
        OrganisationImpact::High => {
            "High: lost the ability to deliver critical services to all users"
        }
        OrganisationImpact::Medium => {
            "Medium: lost the ability to deliver critical services to some users"
        }
        OrganisationImpact::Low => "Low: little or no loss of efficiency",
        OrganisationImpact::NotYetKnown => "Not yet known",
    }
}

fn recovery_time(v: RecoveryTime) -> &'static str {
    match v {
        RecoveryTime::Regular => "Regular: predictable with existing resources",
        RecoveryTime::Supplemented => "Supplemented: predictable with additional resources",
        RecoveryTime::Extended => "Extended: unpredictable, additional resources needed",
        RecoveryTime::NotRecoverable => "Not recoverable",
        RecoveryTime::AlreadyRecovered => "Already recovered",
        RecoveryTime::NotYetKnown => "Not yet known",
    }
}

/// The answer to "Have you told data subjects?", kept consistent with the decision: an answer
/// of "not decided" or the opposite of the recorded decision gives way to the decision.
fn told_answer(told: Option<SubjectsTold>, tell: Option<bool>) -> Option<&'static str> {
    let answer = match (told, tell) {
        (Some(SubjectsTold::Told | SubjectsTold::AboutToTell | SubjectsTold::AlreadyAware), _) => {
            told
        }
        (Some(SubjectsTold::Undecided | SubjectsTold::DecidedNotToTell) | None, Some(true)) => {
            Some(SubjectsTold::PlanningToTell)
        }
        (Some(SubjectsTold::Undecided | SubjectsTold::PlanningToTell) | None, Some(false)) => {
            Some(SubjectsTold::DecidedNotToTell)
        }
        (t, _) => t,
    };
    answer.map(subjects_told)
}

fn subjects_told(v: SubjectsTold) -> &'static str {
    match v {
        SubjectsTold::Told => "Yes, they have been told",
        SubjectsTold::AboutToTell => "We are about to tell them",
        SubjectsTold::AlreadyAware => "They are already aware",
        SubjectsTold::PlanningToTell => "We plan to tell them",
        SubjectsTold::DecidedNotToTell => "We have decided not to tell them",
        SubjectsTold::Undecided => "We have not decided yet",
    }
}

/// What a fact is called on the form, and which of a regime's required content items it answers
/// (the key of a `[[phases.content]]` entry), so `check` can say whether it may follow later.
pub struct FactInfo {
    pub path: &'static str,
    pub label: &'static str,
    pub content: Option<&'static str>,
}

/// The facts a DPO is asked for, with the words the forms use. Paths not listed here are shown
/// by their path.
pub const CATALOGUE: &[FactInfo] = &[
    FactInfo {
        path: "incident.summary",
        label: "What happened",
        content: Some("nature"),
    },
    FactInfo {
        path: "incident.occurred_from",
        label: "When the breach started",
        content: Some("nature"),
    },
    FactInfo {
        path: "incident.occurred_to",
        label: "When the breach ended",
        content: Some("nature"),
    },
    FactInfo {
        path: "incident.containment",
        label: "Containment so far",
        content: Some("measures"),
    },
    FactInfo {
        path: "details.cause",
        label: "What went wrong and how",
        content: Some("nature"),
    },
    FactInfo {
        path: "details.ico_staff_contacted",
        label: "ICO staff already spoken to",
        content: None,
    },
    FactInfo {
        path: "details.measures_before",
        label: "Measures in place before the breach",
        content: None,
    },
    FactInfo {
        path: "details.remedial_actions",
        label: "Actions taken or proposed to fix the breach and mitigate its effects",
        content: Some("measures"),
    },
    FactInfo {
        path: "details.prevention",
        label: "Steps to prevent a recurrence",
        content: Some("measures"),
    },
    FactInfo {
        path: "details.staff_involved",
        label: "Whether a member of staff was involved",
        content: None,
    },
    FactInfo {
        path: "details.staff_training",
        label: "Data protection training of the staff involved",
        content: None,
    },
    FactInfo {
        path: "details.organisation_impact",
        label: "Impact on the organisation (cyber)",
        content: None,
    },
    FactInfo {
        path: "details.recovery_time",
        label: "Estimated recovery time (cyber)",
        content: None,
    },
    FactInfo {
        path: "details.subjects_told",
        label: "Whether data subjects have been told",
        content: None,
    },
    FactInfo {
        path: "details.others_told",
        label: "Other organisations told",
        content: None,
    },
    FactInfo {
        path: "details.advice_to_subjects",
        label: "What data subjects can do to protect themselves",
        content: Some("recommended_steps"),
    },
    FactInfo {
        path: "details.subject_contact",
        label: "How data subjects can contact us",
        content: Some("dpo_contact"),
    },
    FactInfo {
        path: "details.business_impact",
        label: "Effect on the business and trading",
        content: None,
    },
    FactInfo {
        path: "details.material_impact",
        label: "Material impact on financial condition and results",
        content: None,
    },
    FactInfo {
        path: "details.service_impact",
        label: "Services affected and for how long",
        content: Some("nature"),
    },
    FactInfo {
        path: "details.cross_border_impact",
        label: "Cross-border impact",
        content: Some("nature"),
    },
    FactInfo {
        path: "details.indicators_of_compromise",
        label: "Indicators of compromise",
        content: None,
    },
    FactInfo {
        path: "details.insurer_position",
        label: "The cyber insurer's position",
        content: None,
    },
    FactInfo {
        path: "details.board_decisions",
        label: "Decisions the board is asked to take",
        content: None,
    },
    FactInfo {
        path: "details.client_message",
        label: "What staff should tell clients who ask",
        content: None,
    },
    FactInfo {
        path: "announcement.what_happened",
        label: "Announcement: what happened, in the company's voice",
        content: None,
    },
    FactInfo {
        path: "announcement.response",
        label: "Announcement: the company's response",
        content: None,
    },
    FactInfo {
        path: "announcement.authorities",
        label: "Announcement: authorities informed",
        content: None,
    },
    FactInfo {
        path: "announcement.operational_impact",
        label: "Announcement: effect on operations and trading",
        content: None,
    },
    FactInfo {
        path: "announcement.outlook",
        label: "Announcement: outlook for results",
        content: None,
    },
    FactInfo {
        path: "announcement.released_by",
        label: "Announcement: person responsible for arranging the release",
        content: None,
    },
    FactInfo {
        path: "notice.what_happened",
        label: "Notice: what happened, in plain words",
        content: Some("nature"),
    },
    FactInfo {
        path: "notice.what_it_means",
        label: "Notice: what it could mean for the reader",
        content: Some("consequences"),
    },
    FactInfo {
        path: "notice.what_we_are_doing",
        label: "Notice: what we are doing about it",
        content: Some("measures"),
    },
    FactInfo {
        path: "org.lei",
        label: "Legal Entity Identifier (organisation profile `lei`)",
        content: None,
    },
    FactInfo {
        path: "details.delay_reasons",
        label: "Reasons for reporting after the deadline",
        content: Some("late_reasons"),
    },
    FactInfo {
        path: "assessment",
        label: "The exposure assessment (run `breachflow assess`)",
        content: Some("nature"),
    },
    FactInfo {
        path: "assessment.data_categories",
        label: "Categories of personal data",
        content: Some("categories_and_numbers"),
    },
    FactInfo {
        path: "assessment.subject_categories",
        label: "Categories of data subjects",
        content: Some("categories_and_numbers"),
    },
    FactInfo {
        path: "assessment.subjects",
        label: "Approximate number of data subjects",
        content: Some("categories_and_numbers"),
    },
    FactInfo {
        path: "assessment.records",
        label: "Approximate number of personal data records",
        content: Some("categories_and_numbers"),
    },
    FactInfo {
        path: "assessment.consequences_description",
        label: "Likely consequences",
        content: Some("consequences"),
    },
    FactInfo {
        path: "assessment.likelihood",
        label: "Likelihood of significant consequences",
        content: Some("consequences"),
    },
    FactInfo {
        path: "assessment.mitigation_notes",
        label: "Mitigation so far",
        content: Some("measures"),
    },
    FactInfo {
        path: "decision",
        label: "The notification decision (run `breachflow decide`)",
        content: None,
    },
    FactInfo {
        path: "org.address",
        label: "Organisation's address",
        content: Some("identity"),
    },
    FactInfo {
        path: "org.dpo.phone",
        label: "DPO's telephone number",
        content: Some("dpo_contact"),
    },
    FactInfo {
        path: "report.previous_reference",
        label: "The recipient's reference for the earlier report",
        content: None,
    },
    FactInfo {
        path: "triggers.inside_information",
        label: "When the information became inside information (run `incident trigger`)",
        content: None,
    },
    FactInfo {
        path: "triggers.materiality_determined",
        label: "When the incident was determined material (run `incident trigger`)",
        content: None,
    },
    FactInfo {
        path: "triggers.classified_major",
        label: "When the incident was classified as major (run `incident trigger`)",
        content: None,
    },
];

/// The catalogue entry for `path`, or for the nearest enclosing path that has one.
pub fn info(path: &str) -> Option<&'static FactInfo> {
    let mut p = path;
    loop {
        if let Some(i) = CATALOGUE.iter().find(|i| i.path == p) {
            return Some(i);
        }
        p = &p[..p.rfind('.')?];
    }
}
