//! The store as a sending command holds it: taken for each read and commit, let go while the
//! process waits on a mail server or a pause, so a long run never keeps the DPO out.
//!
//! sled locks its directory for as long as a database is open, so letting go means closing
//! it, and taking it back means opening it again (about a millisecond on a small store; the
//! README's Performance section has the figure). What makes this safe:
//! - the at-most-once protocol is unchanged: a message's `sending` mark is committed and
//!   flushed before [`Store::idle`] is called, and the outcome is committed after the store is
//!   taken back;
//! - a second lock, `sending.lock` in the data directory, is held for the whole command, so
//!   two processes never send from one store at once and a `sending` mark seen by a command
//!   that holds it was left by a dead process (which is what recovery assumes);
//! - between two `idle` calls the store stays open, so a read and the commit that depends on
//!   it see the same store (commits also check the record's version).

use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::adapters::store::SledStore;
use crate::app::ports::{
    Change, Committed, DeadlineEntry, Import, LogEntries, Rebuild, RecipientOf, Recorded, Store,
    StoreError, VersionOf,
};
use crate::domain::account::{Token, TokenId, User, UserId};
use crate::domain::document::DocumentBody;
use crate::domain::event::Event;
use crate::domain::incident::IncidentId;
use crate::domain::integrity::Stored;
use crate::domain::organisation::Organisation;
use crate::domain::outbox::{OutMessage, RecipientState};
use crate::domain::record::IncidentRecord;

/// The file whose lock says a process is sending from this store.
pub const SENDING_LOCK: &str = "sending.lock";

/// How long a sender waits to take the store back from another process's command before it
/// gives up (its batch is then left in flight, `uncertain` on the next run, never resent).
const TAKE_BACK_WAIT: Duration = Duration::from_secs(120);

/// How long a send on the team server waits for another request's send to finish: sends from
/// one store go one at a time, as they do between processes.
pub const SEND_QUEUE_WAIT: Duration = Duration::from_secs(300);

/// Holds `sending.lock` for the life of the process's sending: nobody else sends meanwhile.
pub struct SendingLock {
    _file: std::fs::File,
}

impl SendingLock {
    /// Takes the lock, or says another process is sending. The file is created 0600 and a
    /// symbolic link planted in its place is not followed.
    pub fn take(dir: &Path) -> Result<SendingLock, StoreError> {
        let path = dir.join(SENDING_LOCK);
        let io = |e: std::io::Error| StoreError::Io {
            dir: dir.to_path_buf(),
            detail: format!("{}: {e}", path.display()),
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a descriptor we own, open for the life of `file`.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            return Err(if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                StoreError::Sending(dir.to_path_buf())
            } else {
                io(e)
            });
        }
        Ok(SendingLock { _file: file })
    }

    /// Whether some process is sending from the store in `dir` right now.
    #[cfg(test)]
    pub fn held_elsewhere(dir: &Path) -> bool {
        matches!(SendingLock::take(dir), Err(StoreError::Sending(_)))
    }
}

/// A store open only between waits. Implements [`Store`] over a [`SledStore`] opened on demand.
pub struct LeasedStore {
    dir: PathBuf,
    open: Mutex<Option<SledStore>>,
    warnings: Mutex<Vec<String>>,
    _sending: Option<SendingLock>,
    /// On the team server: the store is the server's, never let go (nobody else can open it).
    keep_open: bool,
}

impl LeasedStore {
    /// Opens the store (waiting up to `wait` for another process to finish with it) and takes
    /// the sending lock, for commands that send through the outbox or recover it.
    pub fn for_sending(dir: &Path, wait: Duration) -> Result<LeasedStore, StoreError> {
        let mut lease = LeasedStore::open(dir, wait)?;
        lease._sending = Some(SendingLock::take(dir)?);
        Ok(lease)
    }

    /// Opens the store without the sending lock, for mail outside the outbox (an anchor).
    pub fn open(dir: &Path, wait: Duration) -> Result<LeasedStore, StoreError> {
        Ok(LeasedStore {
            dir: dir.to_path_buf(),
            open: Mutex::new(Some(SledStore::open_waiting(dir, wait)?)),
            warnings: Mutex::new(Vec::new()),
            _sending: None,
            keep_open: false,
        })
    }

    /// A handle on the team server's open store for one sending request: kept open, with the
    /// sending lock taken for the request, waiting up to `wait` for another request's send to
    /// finish (the lock is per open file, so two requests of one process exclude each other).
    pub fn shared_for_sending(store: SledStore, wait: Duration) -> Result<LeasedStore, StoreError> {
        let dir = store.dir().to_path_buf();
        let started = std::time::Instant::now();
        let lock = loop {
            match SendingLock::take(&dir) {
                Err(StoreError::Sending(_)) if started.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        Ok(LeasedStore {
            dir,
            open: Mutex::new(Some(store)),
            warnings: Mutex::new(Vec::new()),
            _sending: Some(lock),
            keep_open: true,
        })
    }

    /// A handle on the team server's open store for mail outside the outbox (an anchor).
    pub fn shared(store: SledStore) -> LeasedStore {
        LeasedStore {
            dir: store.dir().to_path_buf(),
            open: Mutex::new(Some(store)),
            warnings: Mutex::new(Vec::new()),
            _sending: None,
            keep_open: true,
        }
    }

    /// Runs `f` on the open store, taking it back first if `idle` let it go.
    fn with<T>(
        &self,
        f: impl FnOnce(&SledStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut slot = self.open.lock().map_err(|_| StoreError::Io {
            dir: self.dir.clone(),
            detail: "the store handle was poisoned by an earlier panic".into(),
        })?;
        if slot.is_none() {
            *slot = Some(SledStore::reopen_waiting(&self.dir, TAKE_BACK_WAIT)?);
        }
        match slot.as_ref() {
            Some(store) => f(store),
            None => unreachable_store(&self.dir),
        }
    }

    /// The organisation profile, or the error telling the user to run `init` (as
    /// `SledStore::require_organisation`, so a command reads the same either way).
    pub fn require_organisation(&self) -> Result<Organisation, StoreError> {
        Store::require_organisation(self)
    }

    /// Whether the store is open right now (for tests of when it is let go).
    pub fn is_held(&self) -> bool {
        self.open.lock().map(|s| s.is_some()).unwrap_or(false)
    }
}

fn unreachable_store<T>(dir: &Path) -> Result<T, StoreError> {
    Err(StoreError::Io {
        dir: dir.to_path_buf(),
        detail: "the store could not be taken back".into(),
    })
}

impl Drop for LeasedStore {
    fn drop(&mut self) {
        self.idle();
        if let Ok(warnings) = self.warnings.lock() {
            for w in warnings.iter() {
                eprintln!("warning: {w}");
            }
        }
    }
}

impl Store for LeasedStore {
    fn location(&self) -> PathBuf {
        self.dir.clone()
    }

    fn organisation(&self) -> Result<Option<Organisation>, StoreError> {
        self.with(|s| s.organisation())
    }

    fn incident(&self, id: IncidentId) -> Result<IncidentRecord, StoreError> {
        self.with(|s| s.incident(id))
    }

    fn incident_shared(
        &self,
        id: IncidentId,
    ) -> Result<std::sync::Arc<IncidentRecord>, StoreError> {
        self.with(|s| s.incident_shared(id))
    }

    fn newest_incidents(&self, n: usize) -> Result<Vec<IncidentId>, StoreError> {
        self.with(|s| s.newest_incidents(n))
    }

    // Collected: an iterator cannot outlive the store it reads, and the store may be let go.
    fn incidents(&self) -> Box<dyn Iterator<Item = Result<IncidentRecord, StoreError>> + '_> {
        match self.with(|s| Ok(s.incidents().collect::<Vec<_>>())) {
            Ok(all) => Box::new(all.into_iter()),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    fn events_for(&self, id: IncidentId) -> Result<Vec<Event>, StoreError> {
        self.with(|s| s.events_for(id))
    }

    fn log(&self) -> LogEntries<'_> {
        match self.with(|s| Ok(Store::log(s).collect::<Vec<_>>())) {
            Ok(all) => Box::new(all.into_iter()),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    fn recorded(&self) -> Result<Recorded, StoreError> {
        self.with(|s| s.recorded())
    }

    fn due_until(&self, until: DateTime<Utc>) -> Result<Vec<DeadlineEntry>, StoreError> {
        self.with(|s| s.due_until(until))
    }

    fn all_due(&self) -> Result<Vec<DeadlineEntry>, StoreError> {
        self.with(|s| s.all_due())
    }

    fn waiting(&self) -> Result<Vec<DeadlineEntry>, StoreError> {
        self.with(|s| s.waiting())
    }

    fn document_body(&self, of: VersionOf<'_>) -> Result<DocumentBody, StoreError> {
        self.with(|s| Store::document_body(s, of))
    }

    fn commit(&self, change: Change<'_>) -> Result<Committed, StoreError> {
        self.with(|s| s.commit(change))
    }

    fn import(&self, import: &Import<'_>) -> Result<(), StoreError> {
        self.with(|s| s.import(import))
    }

    fn messages_for(&self, id: IncidentId) -> Result<Vec<OutMessage>, StoreError> {
        self.with(|s| s.messages_for(id))
    }

    fn all_messages(&self) -> Result<Vec<OutMessage>, StoreError> {
        self.with(|s| s.all_messages())
    }

    fn next_message_number(&self, id: IncidentId) -> Result<u32, StoreError> {
        self.with(|s| s.next_message_number(id))
    }

    fn reminded(&self, id: IncidentId, obligation: &str, level: &str) -> Result<bool, StoreError> {
        self.with(|s| s.reminded(id, obligation, level))
    }

    fn recipient(&self, of: RecipientOf<'_>) -> Result<Option<RecipientState>, StoreError> {
        self.with(|s| s.recipient(of))
    }

    fn stored(&self) -> Result<Stored, StoreError> {
        self.with(|s| s.stored())
    }

    fn rebuild(&self, rebuild: &Rebuild<'_>) -> Result<(), StoreError> {
        self.with(|s| s.rebuild(rebuild))
    }

    fn recipient_entries(
        &self,
        id: Option<IncidentId>,
    ) -> Result<Vec<crate::domain::delivery::StoredRecipient>, StoreError> {
        self.with(|s| s.recipient_entries(id))
    }

    fn message_entries(&self) -> Result<Vec<crate::domain::delivery::StoredMessage>, StoreError> {
        self.with(|s| s.message_entries())
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        self.with(|s| s.users())
    }

    fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.with(|s| s.user(id))
    }

    fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        self.with(|s| s.tokens())
    }

    fn token(&self, id: TokenId) -> Result<Option<Token>, StoreError> {
        self.with(|s| s.token(id))
    }

    fn password(&self, id: UserId) -> Result<Option<String>, StoreError> {
        self.with(|s| s.password(id))
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenId>, StoreError> {
        self.with(|s| s.token_by_hash(hash))
    }

    /// Closes sled, which releases its lock on the directory; the next call opens it again.
    fn idle(&self) {
        if self.keep_open {
            return;
        }
        if let Ok(mut slot) = self.open.lock()
            && let Some(store) = slot.take()
        {
            let taken = store.take_warnings();
            drop(store);
            if let Ok(mut w) = self.warnings.lock() {
                w.extend(taken);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_lease_lets_another_handle_open_the_store_and_takes_it_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        let lease = LeasedStore::for_sending(&dir, Duration::ZERO).unwrap();
        // Held: a second open is refused at once.
        assert!(matches!(SledStore::open(&dir), Err(StoreError::Locked(_))));
        lease.idle();
        assert!(!lease.is_held());
        // Opened as every other handle opens it, waiting a moment: sled lets go of its file
        // lock when its flusher thread ends, just after the handle is dropped.
        let other = SledStore::open_waiting(&dir, Duration::from_secs(1))
            .expect("the store is free while the lease is idle");
        drop(other);
        assert!(lease.organisation().unwrap().is_none());
        assert!(lease.is_held());
        // A second sender is kept out for the lease's whole life, idle or not.
        lease.idle();
        assert!(matches!(
            LeasedStore::for_sending(&dir, Duration::ZERO),
            Err(StoreError::Sending(_))
        ));
        assert!(SendingLock::held_elsewhere(&dir));
        drop(lease);
        assert!(!SendingLock::held_elsewhere(&dir));
    }
}
