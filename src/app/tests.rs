//! The sending protocol in-process: the use-cases over an in-memory store and a scripted fake
//! mailer, so every outcome (accepted, 4xx then accepted, 5xx, timed out after DATA, a crash
//! between the `sending` mark and the reply) is exercised without a network or a disk.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::app::bulk::{self, BulkRequest, Recipients};
use crate::app::memory::MemoryStore;
use crate::app::ports::{Change, Composed, MailError, Mailer, Store, Subject, Writes};
use crate::app::recipients;
use crate::app::send::{self, Policy, SendRequest};
use crate::app::{AppError, Context};
use crate::domain::document::{Approval, DocumentBody, DocumentVersion};
use crate::domain::event::EventKind;
use crate::domain::incident::{IncidentFacts, IncidentId};
use crate::domain::organisation::Organisation;
use crate::domain::outbox::{Letter, MessageState, Outcome, RetryPolicy, Shortfall};
use crate::render::template::TemplateSet;

/// What the fake server does with the next attempt.
#[derive(Clone)]
enum Reply {
    Accept,
    Busy,
    Reject,
    /// The connection drops after DATA: the server may have the message.
    TimeoutAfterData,
    /// The process dies after the `sending` mark, before any reply is recorded.
    Crash,
}

/// A scripted mailer: each attempt takes the next reply (accept when the script runs out) and
/// the accepted messages are kept.
struct FakeMailer {
    script: RefCell<VecDeque<Reply>>,
    delivered: RefCell<Vec<Composed>>,
    attempts: RefCell<u32>,
}

impl FakeMailer {
    fn new(script: &[Reply]) -> FakeMailer {
        FakeMailer {
            script: RefCell::new(script.iter().cloned().collect()),
            delivered: RefCell::new(Vec::new()),
            attempts: RefCell::new(0),
        }
    }
    fn delivered_to(&self, address: &str) -> usize {
        self.delivered
            .borrow()
            .iter()
            .filter(|c| c.to.iter().any(|t| t == address))
            .count()
    }
}

impl Mailer for FakeMailer {
    fn describe(&self, _org: &Organisation) -> String {
        "the fake server".into()
    }
    fn compose(&self, letter: &Letter) -> Result<Composed, MailError> {
        Ok(Composed {
            from: letter.from.clone(),
            to: vec![letter.to.clone()],
            bytes: format!("{}\r\n\r\n{}", letter.subject, letter.text).into_bytes(),
            file_name: String::new(),
        })
    }
    fn deliver(&self, message: &Composed) -> Outcome {
        *self.attempts.borrow_mut() += 1;
        let reply = self
            .script
            .borrow_mut()
            .pop_front()
            .unwrap_or(Reply::Accept);
        match reply {
            Reply::Accept => {
                self.delivered.borrow_mut().push(message.clone());
                Outcome::Accepted("250 OK".into())
            }
            Reply::Busy => Outcome::Transient("451 try later".into()),
            Reply::Reject => Outcome::Refused("550 no such user".into()),
            Reply::TimeoutAfterData => Outcome::Unknown("timed out after DATA".into()),
            // The process dies here: nothing after this point runs.
            Reply::Crash => panic!("crash between the sending mark and the reply"),
        }
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn ctx() -> Context {
    Context::self_declared(at("2024-04-02T09:00:00Z"), "tester")
}

fn policy() -> Policy {
    Policy {
        retry: RetryPolicy {
            attempts: 3,
            backoff_base: std::time::Duration::ZERO,
        },
        market_regimes: vec!["uk-mar-art17".into(), "aim-rule-11".into()],
    }
}

const BULK_SOURCE: &str = "{{!--\ntitle = \"Notice\"\naudience = \"data subjects\"\ngroup = \"other\"\nsubject = \"Notice about {{incident.id}}\"\n--}}\nDear {{recipient.name}}, this is about {{incident.id}}.\n";

/// A store with the example organisation and one incident whose `board-briefing` and
/// `subject-notice` are approved.
fn seeded() -> (MemoryStore, Organisation, IncidentId) {
    let store = MemoryStore::new();
    let org: Organisation =
        serde_json::from_str(include_str!("../../examples/organisation.json")).unwrap();
    let now = at("2024-04-01T09:00:00Z");
    store
        .commit(Change::new(
            Subject::Organisation(&org),
            &[EventKind::OrganisationRecorded {
                organisation: org.clone(),
                replaced: false,
            }],
            Context::self_declared(now, "tester").stamp(),
        ))
        .unwrap();
    let facts: IncidentFacts =
        serde_json::from_str(include_str!("../../examples/incident-ransomware.json")).unwrap();
    let opened = store
        .commit(Change::new(
            Subject::NewIncident { year: 2024 },
            &[EventKind::IncidentOpened {
                facts: Box::new(facts),
            }],
            Context::self_declared(now, "tester").stamp(),
        ))
        .unwrap();
    let id = opened.record.unwrap().id;
    let body = |source: &str| DocumentBody {
        text: "The briefing.".into(),
        html: "<p>The briefing.</p>".into(),
        facts: json!({"incident": {"id": id.to_string()}, "org": org}),
        template_source: source.into(),
    };
    let (board, notice) = (body(""), body(BULK_SOURCE));
    // The hashes are the bodies' own: what is sent is checked against them.
    let version = |doc: &str, body: &DocumentBody| DocumentVersion {
        document: doc.into(),
        version: 1,
        rendered_at: now,
        rendered_by: "tester".into(),
        title: format!("The {doc}"),
        template_origin: format!("templates/{doc}.hbs"),
        template_sha256: body.hashes().template.unwrap_or_default(),
        sha256: body.hashes().text,
        html_sha256: body.hashes().html,
        facts_sha256: body.hashes().facts,
        serves: Vec::new(),
        obligation: None,
        missing: Vec::new(),
        approval: None,
        deferred: Vec::new(),
        edit: None,
    };
    let mut kinds = Vec::new();
    for (doc, body) in [("board-briefing", &board), ("subject-notice", &notice)] {
        kinds.push(EventKind::DocumentRendered {
            document: Box::new(version(doc, body)),
        });
        kinds.push(EventKind::DocumentApproved {
            document: doc.into(),
            version: 1,
            approval: Approval {
                by: "dpo".into(),
                at: now,
                note: None,
            },
        });
    }
    let record = store.incident(id).unwrap();
    store
        .commit(
            Change::new(
                Subject::Incident(&record),
                &kinds,
                Context::self_declared(now, "tester").stamp(),
            )
            .with(Writes {
                documents: &[
                    (id, "board-briefing", 1, &board),
                    (id, "subject-notice", 1, &notice),
                ],
                ..Writes::default()
            }),
        )
        .unwrap();
    (store, org, id)
}

fn post<'a>(
    store: &'a MemoryStore,
    mailer: &'a FakeMailer,
    org: &'a Organisation,
    ctx: &'a Context,
    policy: &'a send::Policy,
) -> send::Post<'a> {
    send::Post {
        store,
        mailer,
        ctx,
        org,
        policy,
    }
}

fn send_board(
    store: &MemoryStore,
    mailer: &FakeMailer,
    org: &Organisation,
    id: IncidentId,
) -> Result<send::Delivered, AppError> {
    let to = ["board".to_string()];
    send::send(
        &post(store, mailer, org, &ctx(), &policy()),
        &TemplateSet::builtin().unwrap(),
        &SendRequest {
            id,
            document: "board-briefing",
            version: None,
            to: &to,
            audience: Some("board"),
        },
    )
}

fn states(store: &MemoryStore, id: IncidentId) -> Vec<MessageState> {
    store
        .messages_for(id)
        .unwrap()
        .last()
        .unwrap()
        .history
        .iter()
        .map(|s| s.state)
        .collect()
}

const CHAIR: &str = "chair@larkfield-vets.example";

#[test]
fn accepted_first_time() {
    let (store, org, id) = seeded();
    let mailer = FakeMailer::new(&[Reply::Accept]);
    let done = send_board(&store, &mailer, &org, id).unwrap();
    assert_eq!(done.messages[0].state, MessageState::Sent);
    assert_eq!(done.messages[0].reply.as_deref(), Some("250 OK"));
    assert_eq!(mailer.delivered_to(CHAIR), 1);
    // The same version is never queued twice to an address.
    let again = send_board(&store, &mailer, &org, id).unwrap();
    assert_eq!(again.skipped.len(), 1, "{:?}", again.skipped);
    assert_eq!(mailer.delivered_to(CHAIR), 1);
}

#[test]
fn a_4xx_then_success_is_sent_once() {
    let (store, org, id) = seeded();
    let mailer = FakeMailer::new(&[Reply::Busy, Reply::Accept]);
    let done = send_board(&store, &mailer, &org, id).unwrap();
    let m = &done.messages[0];
    assert_eq!(m.state, MessageState::Sent);
    assert_eq!(m.attempts, 2);
    assert_eq!(mailer.delivered_to(CHAIR), 1);
    use MessageState::*;
    assert_eq!(
        states(&store, id),
        [Queued, Sending, Queued, Sending, Sent],
        "every attempt's mark and outcome is on the record"
    );
    the_trees_are_the_fold_of_the_log(&store);
}

#[test]
fn a_5xx_fails_without_retry() {
    let (store, org, id) = seeded();
    let mailer = FakeMailer::new(&[Reply::Reject]);
    let done = send_board(&store, &mailer, &org, id).unwrap();
    assert_eq!(done.messages[0].state, MessageState::Failed);
    assert_eq!(*mailer.attempts.borrow(), 1);
    assert_eq!(done.messages[0].reply.as_deref(), Some("550 no such user"));
}

#[test]
fn a_timeout_after_data_is_uncertain_and_not_retried() {
    let (store, org, id) = seeded();
    let mailer = FakeMailer::new(&[Reply::TimeoutAfterData]);
    let done = send_board(&store, &mailer, &org, id).unwrap();
    assert_eq!(done.messages[0].state, MessageState::Uncertain);
    assert_eq!(done.uncertain(), 1);
    assert_eq!(*mailer.attempts.borrow(), 1);
    // A later delivery run leaves it to a person.
    send::deliver_all(&post(&store, &mailer, &org, &ctx(), &policy()), Some(id)).unwrap();
    assert_eq!(*mailer.attempts.borrow(), 1);
}

#[test]
fn a_crash_after_the_sending_mark_leaves_it_uncertain_and_never_resent() {
    let (store, org, id) = seeded();
    let mailer = FakeMailer::new(&[Reply::Crash]);
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        send_board(&store, &mailer, &org, id)
    }));
    assert!(crashed.is_err(), "the fake process died");
    // The mark was committed before the mailer was called.
    let m = store.messages_for(id).unwrap().remove(0);
    assert_eq!(m.state, MessageState::Sending);
    send::recover(&store, &ctx(), id).unwrap();
    let m = store.messages_for(id).unwrap().remove(0);
    assert_eq!(m.state, MessageState::Uncertain);
    // Neither a new send nor a delivery run sends it again.
    let mailer = FakeMailer::new(&[]);
    let again = send_board(&store, &mailer, &org, id).unwrap();
    assert_eq!(again.skipped.len(), 1);
    send::deliver_all(&post(&store, &mailer, &org, &ctx(), &policy()), Some(id)).unwrap();
    assert_eq!(*mailer.attempts.borrow(), 0);
    // A person decides.
    let resolved = crate::app::outbox::resolve(
        &post(&store, &mailer, &org, &ctx(), &policy()),
        &m.key,
        true,
        Some("the chair has it"),
    )
    .unwrap();
    assert_eq!(resolved.messages[0].state, MessageState::Sent);
    assert_eq!(*mailer.attempts.borrow(), 0);
    the_trees_are_the_fold_of_the_log(&store);
}

struct InMemoryFile(String);

impl Recipients for InMemoryFile {
    fn name(&self) -> String {
        "recipients.csv".into()
    }
    fn sha256(&self) -> Result<String, AppError> {
        Ok(crate::render::template::sha256_hex(self.0.as_bytes()))
    }
    fn open(&self) -> Result<Box<dyn Read + '_>, AppError> {
        Ok(Box::new(self.0.as_bytes()))
    }
}

fn notify(
    store: &MemoryStore,
    mailer: &FakeMailer,
    org: &Organisation,
    id: IncidentId,
    file: &InMemoryFile,
) -> std::thread::Result<Result<bulk::BulkReport, AppError>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(store, mailer, org, id, file, false, false)
    }))
}

#[test]
fn a_resumed_bulk_run_leaves_the_batch_in_flight_uncertain_and_sends_the_rest() {
    let (store, org, id) = seeded();
    let file = InMemoryFile(
        "email,name\na@example.com,A\nb@example.com,B\nc@example.com,C\nd@example.com,D\ne@example.com,E\n"
            .into(),
    );
    // The first batch (a, b) goes; the process dies on c, in the second batch (c, d).
    let mailer = FakeMailer::new(&[Reply::Accept, Reply::Accept, Reply::Crash]);
    assert!(notify(&store, &mailer, &org, id, &file).is_err());
    let state = |a: &str| {
        store
            .recipient((id, "subject-notice", a))
            .unwrap()
            .map(|s| s.state)
    };
    assert_eq!(state("c@example.com"), Some(MessageState::Sending));
    assert_eq!(state("d@example.com"), Some(MessageState::Sending));

    let mailer = FakeMailer::new(&[]);
    let report = notify(&store, &mailer, &org, id, &file).unwrap().unwrap();
    assert_eq!(report.tally.already_sent, 2, "{:?}", report.tally);
    assert_eq!(report.tally.uncertain, 2, "{:?}", report.tally);
    assert_eq!(report.tally.sent, 1, "{:?}", report.tally);
    for a in [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    ] {
        assert_eq!(mailer.delivered_to(a), 0, "{a} is not sent again");
    }
    assert_eq!(mailer.delivered_to("e@example.com"), 1);
    assert_eq!(state("c@example.com"), Some(MessageState::Uncertain));
    assert_eq!(report.shortfall(), Some(Shortfall::SomeUncertain));
    the_trees_are_the_fold_of_the_log(&store);
}

#[test]
fn a_bulk_4xx_then_success_and_a_5xx() {
    let (store, org, id) = seeded();
    let file = InMemoryFile("email,name\na@example.com,A\nb@example.com,B\n".into());
    let mailer = FakeMailer::new(&[Reply::Busy, Reply::Accept, Reply::Reject]);
    let report = notify(&store, &mailer, &org, id, &file).unwrap().unwrap();
    assert_eq!(report.tally.sent, 1, "{:?}", report.tally);
    assert_eq!(report.tally.failed, 1, "{:?}", report.tally);
    assert_eq!(mailer.delivered_to("a@example.com"), 1);
    assert_eq!(report.shortfall(), Some(Shortfall::SomeFailed));
    the_trees_are_the_fold_of_the_log(&store);
}

/// Every stored outbox record and bulk recipient state is the fold of its events.
fn the_trees_are_the_fold_of_the_log(store: &MemoryStore) {
    let findings = crate::app::audit::delivery_findings(store)
        .unwrap()
        .findings;
    assert!(
        findings.is_empty(),
        "{}",
        findings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn run(
    store: &MemoryStore,
    mailer: &FakeMailer,
    org: &Organisation,
    id: IncidentId,
    file: &InMemoryFile,
    retry_failed: bool,
    corrected: bool,
) -> Result<bulk::BulkReport, AppError> {
    bulk::notify_subjects(
        &post(store, mailer, org, &ctx(), &policy()),
        &TemplateSet::builtin().unwrap(),
        &BulkRequest {
            id,
            document: "subject-notice",
            dry_run: false,
            rate: None,
            batch: 2,
            lift_hold: None,
            retry_failed,
            corrected,
        },
        file,
        &(),
    )
}

#[test]
fn a_relay_that_refused_everyone_is_retried_once_fixed_and_nobody_hears_twice() {
    let (store, org, id) = seeded();
    let file =
        InMemoryFile("email,name\na@example.com,A\nb@example.com,B\nc@example.com,C\n".into());
    let mailer = FakeMailer::new(&[Reply::Reject, Reply::Reject, Reply::Reject]);
    let report = run(&store, &mailer, &org, id, &file, false, false).unwrap();
    assert_eq!(report.tally.failed, 3);
    assert_eq!(report.shortfall(), Some(Shortfall::NoneDelivered));
    // Fixed, but without --retry-failed nothing goes: a refusal is final until a person says.
    let mailer = FakeMailer::new(&[]);
    let report = run(&store, &mailer, &org, id, &file, false, false).unwrap();
    assert_eq!((report.tally.sent, report.tally.failed), (0, 3));
    assert_eq!(*mailer.attempts.borrow(), 0);
    let report = run(&store, &mailer, &org, id, &file, true, false).unwrap();
    assert_eq!(report.tally.sent, 3, "{:?}", report.tally);
    assert_eq!(report.shortfall(), None);
    for a in ["a@example.com", "b@example.com", "c@example.com"] {
        assert_eq!(mailer.delivered_to(a), 1, "{a}");
        let s = store.recipient((id, "subject-notice", a)).unwrap().unwrap();
        assert_eq!(s.state, MessageState::Sent);
    }
    // Retrying again sends nobody twice.
    let report = run(&store, &mailer, &org, id, &file, true, false).unwrap();
    assert_eq!((report.tally.sent, report.tally.already_sent), (0, 3));
    assert_eq!(*mailer.attempts.borrow(), 3);
    the_trees_are_the_fold_of_the_log(&store);
}

#[test]
fn uncertain_bulk_recipients_are_settled_by_a_person_on_the_record() {
    let (store, org, id) = seeded();
    let file =
        InMemoryFile("email,name\na@example.com,A\nb@example.com,B\nc@example.com,C\n".into());
    let mailer = FakeMailer::new(&[Reply::Crash]);
    assert!(notify(&store, &mailer, &org, id, &file).is_err());
    let c = ctx();
    let listed = recipients::uncertain_recipients(&store, &c, id, "subject-notice", None).unwrap();
    let listed_addresses: Vec<&str> = listed.iter().map(|s| s.address.as_str()).collect();
    assert_eq!(listed_addresses, ["a@example.com", "b@example.com"]);
    // The server's log shows a was delivered: a person confirms just that one.
    let only = ["A@example.com".to_string()];
    let a =
        recipients::uncertain_recipients(&store, &c, id, "subject-notice", Some(&only)).unwrap();
    assert_eq!(a.len(), 1);
    let decider = Context::self_declared(c.now, "Margaret Ellis (DPO)");
    recipients::resolve_bulk(
        &store,
        &decider,
        id,
        "subject-notice",
        recipients::BulkDecision::Sent,
        &a,
        Some("in the relay's log"),
    )
    .unwrap();
    // A decision on a list that is no longer current records nothing.
    let stale = recipients::resolve_bulk(
        &store,
        &c,
        id,
        "subject-notice",
        recipients::BulkDecision::Resend,
        &listed,
        None,
    );
    assert!(matches!(stale, Err(AppError::InvalidArgs(_))), "{stale:?}");
    let rest = recipients::uncertain_recipients(&store, &c, id, "subject-notice", None).unwrap();
    let states = recipients::resolve_bulk(
        &store,
        &decider,
        id,
        "subject-notice",
        recipients::BulkDecision::Resend,
        &rest,
        Some("not in the relay's log"),
    )
    .unwrap();
    assert_eq!(states.len(), 1);
    assert!(states.iter().all(|s| s.state == MessageState::Queued));
    let event = store.events_for(id).unwrap().pop().unwrap();
    assert_eq!(event.actor, "Margaret Ellis (DPO)");
    assert!(matches!(event.what, EventKind::BulkRecipients { .. }));
    // The next run sends b (and c, never tried), once each; a is not sent again.
    let mailer = FakeMailer::new(&[]);
    let report = run(&store, &mailer, &org, id, &file, false, false).unwrap();
    assert_eq!(report.tally.sent, 2, "{:?}", report.tally);
    assert_eq!(report.tally.already_sent, 1, "{:?}", report.tally);
    assert_eq!(mailer.delivered_to("a@example.com"), 0);
    for a in ["b@example.com", "c@example.com"] {
        assert_eq!(mailer.delivered_to(a), 1, "{a}");
    }
    the_trees_are_the_fold_of_the_log(&store);
}

#[test]
fn a_deleted_recipient_state_is_refused_not_mailed_again() {
    let (store, org, id) = seeded();
    let file = InMemoryFile("email,name\na@example.com,A\n".into());
    let mailer = FakeMailer::new(&[]);
    run(&store, &mailer, &org, id, &file, false, false).unwrap();
    store.forget_recipient(id, "subject-notice", "a@example.com");
    let again = run(&store, &mailer, &org, id, &file, false, false);
    assert!(matches!(again, Err(AppError::Tampered(_))), "{again:?}");
    assert_eq!(mailer.delivered_to("a@example.com"), 1);
}

#[test]
fn a_corrected_version_goes_to_earlier_recipients_only_when_asked() {
    let (store, org, id) = seeded();
    let file = InMemoryFile("email,name\na@example.com,A\n".into());
    let mailer = FakeMailer::new(&[]);
    run(&store, &mailer, &org, id, &file, false, false).unwrap();
    approve_second_notice(&store, id);
    let report = run(&store, &mailer, &org, id, &file, false, false).unwrap();
    assert_eq!(report.tally.earlier_version, 1);
    assert_eq!(mailer.delivered_to("a@example.com"), 1);
    let report = run(&store, &mailer, &org, id, &file, false, true).unwrap();
    assert_eq!(report.tally.sent, 1, "{:?}", report.tally);
    assert_eq!(mailer.delivered_to("a@example.com"), 2);
    let s = store
        .recipient((id, "subject-notice", "a@example.com"))
        .unwrap()
        .unwrap();
    assert_eq!(s.version, Some(2));
    // The corrected version itself goes at most once.
    run(&store, &mailer, &org, id, &file, false, true).unwrap();
    assert_eq!(mailer.delivered_to("a@example.com"), 2);
    the_trees_are_the_fold_of_the_log(&store);
}

/// Version 2 of the subject notice, rendered and approved.
fn approve_second_notice(store: &MemoryStore, id: IncidentId) {
    let now = at("2024-04-01T10:00:00Z");
    let record = store.incident(id).unwrap();
    let mut v = record.versions("subject-notice").last().unwrap().clone();
    v.version = 2;
    v.approval = None;
    let body = store.document_body((id, "subject-notice", 1)).unwrap();
    store
        .commit(
            Change::new(
                Subject::Incident(&record),
                &[
                    EventKind::DocumentRendered {
                        document: Box::new(v),
                    },
                    EventKind::DocumentApproved {
                        document: "subject-notice".into(),
                        version: 2,
                        approval: Approval {
                            by: "dpo".into(),
                            at: now,
                            note: None,
                        },
                    },
                ],
                Context::self_declared(now, "tester").stamp(),
            )
            .with(Writes {
                documents: &[(id, "subject-notice", 2, &body)],
                ..Writes::default()
            }),
        )
        .unwrap();
}
