//! Checking the store against its log (`audit verify`) and rebuilding what can be derived from
//! it (`audit repair`).
//!
//! First the log itself: every digest and link, recorded time only moving forward, the recorded
//! head. Then every other tree, as one list of per-tree checks ([`CHECKS`]): each compares what
//! the fold of the log implies (`domain::integrity::Expected`) with what the store holds, and
//! names each difference (tree, key, expected, found).

use std::collections::{BTreeMap, BTreeSet};

use crate::app::AppError;
use crate::app::ports::{Rebuild, Store, StoreError};
use crate::domain::audit::{Break, Verifier};
use crate::domain::delivery;
use crate::domain::document::DocumentBody;
use crate::domain::event::EventKind;
use crate::domain::incident::IncidentId;
use crate::domain::integrity::{self, DocKey, Expected, Finding, Stored};
use crate::domain::outbox::{OutMessage, RecipientState};

/// One tree's check: what the log implies against what is stored.
pub struct Check {
    pub tree: &'static str,
    pub run: fn(&Expected, &Stored) -> Vec<Finding>,
    /// Whether `audit repair` rebuilds the tree from the log. Document bodies are not derived
    /// from events (only their hashes are), so they are put back only when an identical body
    /// is found elsewhere in the store.
    pub rebuilt: bool,
}

/// Every check `audit verify` runs, in order.
pub const CHECKS: &[Check] = &[
    Check {
        tree: "incidents",
        run: integrity::check_records,
        rebuilt: true,
    },
    Check {
        tree: "incident_events",
        run: integrity::check_index,
        rebuilt: true,
    },
    Check {
        tree: "deadlines",
        run: integrity::check_deadlines,
        rebuilt: true,
    },
    Check {
        tree: "meta (incident counters)",
        run: integrity::check_counters,
        rebuilt: true,
    },
    Check {
        tree: "meta (organisation)",
        run: integrity::check_organisation,
        rebuilt: true,
    },
    Check {
        tree: "meta (last recorded time, other keys)",
        run: integrity::check_meta,
        rebuilt: true,
    },
    Check {
        tree: "reminders",
        run: integrity::check_reminders,
        rebuilt: true,
    },
    Check {
        tree: "documents",
        run: integrity::check_documents,
        rebuilt: false,
    },
    Check {
        tree: "users",
        run: integrity::check_users,
        rebuilt: true,
    },
    // Secrets cannot be rebuilt from their commitments: a repair removes those the log does
    // not commit to, and names those missing (`plan_credentials`).
    Check {
        tree: "credentials",
        run: integrity::check_credentials,
        rebuilt: false,
    },
];

/// Why the store does not verify: the log itself, or trees that disagree with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(transparent)]
    Log(#[from] Break),
    #[error("{} stored {} not what the event log implies:\n{}", .0.len(), if .0.len() == 1 { "entry is" } else { "entries are" }, listed(.0))]
    Trees(Vec<Finding>),
}

impl Problem {
    /// The first event concerned, if the problem is in the log.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Problem::Log(b) => b.seq(),
            Problem::Trees(_) => None,
        }
    }

    /// The trees' findings (none when the log itself is broken).
    pub fn findings(&self) -> &[Finding] {
        match self {
            Problem::Log(_) => &[],
            Problem::Trees(f) => f,
        }
    }
}

/// At most this many findings are printed; `--format json` lists them all.
const LISTED: usize = 50;

fn listed(findings: &[Finding]) -> String {
    let mut lines: Vec<String> = findings
        .iter()
        .take(LISTED)
        .map(|f| format!("  - {f}"))
        .collect();
    if findings.len() > LISTED {
        lines.push(format!(
            "  ... and {} more (`--format json` lists every one)",
            findings.len() - LISTED
        ));
    }
    lines.join("\n")
}

/// Walks the log, checking every digest and link, and folds it: the expected contents of every
/// other tree, and the number of events.
fn walk(store: &dyn Store) -> Result<Result<(u64, Expected), Break>, StoreError> {
    let mut v = Verifier::default();
    let mut expected = Expected::default();
    for item in store.log() {
        let (key, event) = item?;
        let event = match event {
            Ok(e) => e,
            Err(detail) => return Ok(Err(Break::Unreadable { seq: key, detail })),
        };
        if let Err(b) = v.next(key, &event) {
            return Ok(Err(b));
        }
        expected.observe(&event);
    }
    let recorded = store.recorded()?;
    if let Err(b) = v.finish(recorded.count, recorded.last_hash.as_deref()) {
        return Ok(Err(b));
    }
    Ok(Ok((v.events, expected)))
}

fn findings(expected: &Expected, stored: &Stored) -> Vec<Finding> {
    CHECKS
        .iter()
        .flat_map(|c| (c.run)(expected, stored))
        .collect()
}

/// Walks the whole log and every other tree: the number of events checked, or the first break
/// in the log, or every stored entry that is not what the log implies.
pub fn verify(store: &dyn Store) -> Result<Result<u64, Problem>, StoreError> {
    let (events, expected) = match walk(store)? {
        Ok(walked) => walked,
        Err(b) => return Ok(Err(Problem::Log(b))),
    };
    let mut found = findings(&expected, &store.stored()?);
    // The outbox and bulk-recipient trees, folded from their own events.
    found.extend(delivery_findings(store)?.findings);
    if found.is_empty() {
        Ok(Ok(events))
    } else {
        Ok(Err(Problem::Trees(found)))
    }
}

/// What `audit repair` did.
#[derive(Debug, Clone, Default)]
pub struct Repaired {
    /// Events in the verified log the trees were rebuilt from.
    pub events: u64,
    /// Entries rewritten to what the log implies (as they were found).
    pub rebuilt: Vec<Finding>,
    /// Document bodies put back from an identical copy found under another key, or removed
    /// because no event records them.
    pub documents: Vec<Finding>,
    /// What could not be repaired and still fails `audit verify`: document bodies whose bytes
    /// are gone (the log holds only their hashes).
    pub lost: Vec<Finding>,
}

/// Rebuilds every derived tree from a verified log, and puts back document bodies found intact
/// under another key. Refuses, changing nothing, when the log itself does not verify or does not
/// replay. Never touches the events.
pub fn repair(store: &dyn Store) -> Result<Repaired, AppError> {
    let refused = |why: String| {
        AppError::LogBroken(format!(
            "{why}; `audit repair` rebuilds the other trees only from a log that verifies, so nothing was changed; restore the store from a backup or an exported bundle"
        ))
    };
    let (events, expected) =
        walk(store)?.map_err(|b| refused(format!("the event log does not verify: {b}")))?;
    if let Some((id, why)) = expected.unreplayable.iter().next() {
        return Err(refused(format!(
            "the events of {id} do not replay into a record: {why}"
        )));
    }
    if let Some((seq, why)) = expected.unfoldable_accounts.first() {
        return Err(refused(format!(
            "account event {seq} does not apply: {why}"
        )));
    }
    let stored = store.stored()?;
    let mut report = Repaired {
        events,
        ..Repaired::default()
    };
    for check in CHECKS.iter().filter(|c| c.rebuilt) {
        report.rebuilt.extend((check.run)(&expected, &stored));
    }
    let (puts, removes, documents, lost) = plan_documents(store, &expected, &stored)?;
    report.documents = documents;
    report.lost = lost;
    let (remove_credentials, removed, missing) = plan_credentials(&expected, &stored);
    report.rebuilt.extend(removed);
    report.lost.extend(missing);
    // The outbox and the bulk recipients, rebuilt from their events where every entry can be
    // (records and states from before they were events cannot: reported, left as found).
    let delivery = delivery_findings(store)?;
    let (mut messages, mut recipients) = (None, None);
    if !delivery.findings.is_empty() {
        for f in delivery.findings {
            let rebuildable = match f.tree {
                "messages" => delivery.messages.is_some(),
                _ => delivery.recipients.is_some(),
            };
            if rebuildable {
                report.rebuilt.push(f);
            } else {
                report.lost.push(Finding {
                    found: format!(
                        "{}; not rebuilt: the tree holds entries from before they were events, so the log cannot rebuild all of it",
                        f.found
                    ),
                    ..f
                });
            }
        }
        messages = delivery.messages;
        recipients = delivery.recipients;
    }
    let recipient_rows: Option<Vec<(IncidentId, &str, RecipientState)>> =
        recipients.as_ref().map(|r| {
            r.iter()
                .map(|((id, doc, _), s)| (*id, doc.as_str(), s.clone()))
                .collect()
        });
    if !report.rebuilt.is_empty() || !puts.is_empty() || !removes.is_empty() {
        store.rebuild(&Rebuild {
            expected: &expected,
            documents: &puts,
            remove_documents: &removes,
            messages: messages.as_deref(),
            recipients: recipient_rows.as_deref(),
            remove_credentials: &remove_credentials,
        })?;
    }
    Ok(report)
}

/// The stored credentials a repair removes (by their key as stored: every one the log does not
/// commit to, unreadable, planted or swapped, so it never signs anyone in), what it says of
/// them, and the credentials the log commits to that are gone (a password to set again with
/// `user passwd`, a token to revoke and create again).
fn plan_credentials(
    expected: &Expected,
    stored: &Stored,
) -> (Vec<Vec<u8>>, Vec<Finding>, Vec<Finding>) {
    let wanted = expected.accounts.credentials();
    let mut kept = BTreeSet::new();
    let mut removes = Vec::new();
    let mut removed = Vec::new();
    for e in &stored.credentials {
        let (key, why) = match &e.read {
            Ok((k, c)) if wanted.get(k) == Some(c) && kept.insert(*k) => continue,
            Ok((k, _)) => (k.to_string(), "a credential the log does not commit to"),
            Err(_) => (
                format!("key {}", integrity::printable(&e.raw)),
                "an unreadable entry",
            ),
        };
        removes.push(e.raw.clone());
        removed.push(Finding {
            tree: "credentials",
            key,
            expected: "only the credentials the log commits to".into(),
            found: format!("{why}; removed"),
        });
    }
    let missing = wanted
        .keys()
        .filter(|k| !kept.contains(*k))
        .map(|k| Finding {
            tree: "credentials",
            key: k.to_string(),
            expected: "the credential the log commits to".into(),
            found: match k {
                crate::domain::account::CredentialKey::Password(id) => format!(
                    "nothing; lost: set a new password for {id} with `breachflow user passwd`"
                ),
                crate::domain::account::CredentialKey::Token(id) => format!(
                    "nothing; lost: revoke {id} with `breachflow token revoke` and create another"
                ),
            },
        })
        .collect();
    (removes, removed, missing)
}

/// The document bodies a repair can put back exactly: for each recorded version whose body is
/// missing, unreadable or different, a stored body (under any key) with the very SHA-256s its
/// event recorded; bodies no event records are removed. The rest are lost.
#[allow(clippy::type_complexity)]
fn plan_documents(
    store: &dyn Store,
    expected: &Expected,
    stored: &Stored,
) -> Result<
    (
        Vec<(DocKey, DocumentBody)>,
        Vec<Vec<u8>>,
        Vec<Finding>,
        Vec<Finding>,
    ),
    StoreError,
> {
    let wanted = expected.documents();
    let findings = integrity::check_documents(expected, stored);
    let mut puts = Vec::new();
    let mut removes = Vec::new();
    let mut done = Vec::new();
    let mut lost = Vec::new();
    let mut broken: BTreeSet<DocKey> = BTreeSet::new();
    for (key, want) in &wanted {
        let ok = stored
            .documents
            .iter()
            .any(|e| matches!(&e.read, Ok((k, h)) if k == key && h == want));
        if ok {
            continue;
        }
        broken.insert(key.clone());
        let name = format!("{} {} v{}", key.0, key.1, key.2);
        let finding = findings
            .iter()
            .find(|f| f.key == name)
            .cloned()
            .unwrap_or_else(|| Finding {
                tree: "documents",
                key: name.clone(),
                expected: "the SHA-256s its event recorded".into(),
                found: integrity::NOTHING.into(),
            });
        let source = stored.documents.iter().find_map(|e| match &e.read {
            Ok((k, h)) if h == want => Some(k.clone()),
            _ => None,
        });
        match source {
            Some(from) => {
                puts.push((key.clone(), store.document_body((from.0, &from.1, from.2))?));
                done.push(Finding {
                    found: format!(
                        "{}; put back from the identical body stored under {} {} v{}",
                        finding.found, from.0, from.1, from.2
                    ),
                    ..finding
                });
            }
            None => lost.push(Finding {
                found: format!(
                    "{}; lost: the log holds only its hashes, so it cannot be rebuilt (restore it from a backup or an exported bundle)",
                    finding.found
                ),
                ..finding
            }),
        }
    }
    for e in &stored.documents {
        match &e.read {
            Ok((k, _)) if !wanted.contains_key(k) => {
                removes.push(e.raw.clone());
                done.push(Finding {
                    tree: "documents",
                    key: format!("{} {} v{}", k.0, k.1, k.2),
                    expected: format!("{} (no event records it)", integrity::NOTHING),
                    found: "a body; removed".into(),
                });
            }
            Ok(_) => {}
            // What cannot be read is evidence of what happened: left for a person to look at.
            Err(why) => lost.push(Finding {
                tree: "documents",
                key: format!("key {}", integrity::printable(&e.raw)),
                expected: "an entry the log implies".into(),
                found: format!("an unreadable entry ({why}); left as found"),
            }),
        }
    }
    Ok((puts, removes, done, lost))
}

/// The outbox and bulk-recipient trees against the log, and what the log rebuilds of them.
pub struct Delivery {
    /// Each stored entry that is not what its events imply (tree, key, expected, found).
    pub findings: Vec<Finding>,
    /// The whole outbox as its events rebuild it, when every record's events carry its detail.
    pub messages: Option<Vec<OutMessage>>,
    /// Every recipient state as its events rebuild it, when every stored state's run is in
    /// the log.
    pub recipients: Option<BTreeMap<delivery::RecipientKey, RecipientState>>,
}

/// The outbox and bulk-recipient trees against the log: each stored record rebuilt from its
/// events and compared, naming tree, key, expected and found.
pub fn delivery_findings(store: &dyn Store) -> Result<Delivery, StoreError> {
    let mut events = Vec::new();
    for item in store.log() {
        // Only the events these trees fold; the log itself was checked above.
        if let (_, Ok(e)) = item?
            && matches!(
                e.what,
                EventKind::MessageChanged { .. } | EventKind::BulkRecipients { .. }
            )
        {
            events.push(e);
        }
    }
    let rebuilt = delivery::messages_from(&events);
    let mut findings = delivery::check_messages(&rebuilt, &store.message_entries()?);
    let (expected, logged) = delivery::recipients_from(&events);
    let stored_recipients = store.recipient_entries(None)?;
    findings.extend(delivery::check_recipients(
        &expected,
        &logged,
        &stored_recipients,
    ));
    let messages = rebuilt
        .values()
        .all(|r| r.exact)
        .then(|| rebuilt.values().map(|r| r.message.clone()).collect());
    let recipients = stored_recipients
        .iter()
        .all(|s| logged.contains(&(s.incident, s.document.clone())))
        .then_some(expected);
    Ok(Delivery {
        findings,
        messages,
        recipients,
    })
}
