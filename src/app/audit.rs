//! Checking the log: every digest and link, the store's recorded head, and every record
//! against the replay of its events.

use crate::app::ports::{Store, StoreError};
use crate::domain::audit::{Break, Verifier};
use crate::domain::delivery::{self, Finding};
use crate::domain::event::EventKind;
use crate::domain::record::IncidentRecord;

/// Walks the whole log and every record: the first place where the store is not what was
/// written, or the number of events checked.
pub fn verify(store: &dyn Store) -> Result<Result<u64, Break>, StoreError> {
    let mut v = Verifier::default();
    for item in store.log() {
        let (key, event) = item?;
        let event = match event {
            Ok(e) => e,
            Err(detail) => return Ok(Err(Break::Unreadable { seq: key, detail })),
        };
        if let Err(b) = v.next(key, &event) {
            return Ok(Err(b));
        }
    }
    let recorded = store.recorded()?;
    if let Err(b) = v.finish(recorded.count, recorded.last_hash.as_deref()) {
        return Ok(Err(b));
    }
    // Each stored record must be the replay of its events.
    for stored in store.incidents() {
        let stored = match stored {
            Ok(r) => r,
            Err(StoreError::Damaged { detail, .. }) => {
                return Ok(Err(Break::UnreadableRecord { detail }));
            }
            Err(e) => return Err(e),
        };
        let id = stored.id;
        match IncidentRecord::replay(&store.events_for(id)?) {
            Ok(Some(r)) if r == stored => {}
            Ok(_) => {
                return Ok(Err(Break::Record {
                    incident: id,
                    detail: String::new(),
                }));
            }
            Err(e) => {
                return Ok(Err(Break::Record {
                    incident: id,
                    detail: format!(": {e}"),
                }));
            }
        }
    }
    let findings = delivery_findings(store)?;
    if !findings.is_empty() {
        return Ok(Err(Break::Delivery { findings }));
    }
    Ok(Ok(v.events))
}

/// The outbox and bulk-recipient trees against the log: each stored record rebuilt from its
/// events and compared, naming tree, key, expected and found. Self-contained, so it can join a
/// list of per-tree checks.
pub fn delivery_findings(store: &dyn Store) -> Result<Vec<Finding>, StoreError> {
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
    let mut out =
        delivery::check_messages(&delivery::messages_from(&events), &store.message_entries()?);
    let (expected, logged) = delivery::recipients_from(&events);
    out.extend(delivery::check_recipients(
        &expected,
        &logged,
        &store.recipient_entries(None)?,
    ));
    Ok(out)
}
