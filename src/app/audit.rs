//! Checking the log: every digest and link, the store's recorded head, and every record
//! against the replay of its events.

use crate::app::ports::{Store, StoreError};
use crate::domain::audit::{Break, Verifier};
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
    Ok(Ok(v.events))
}
