//! Group commit: writers whose transactions were applied at about the same time share one
//! flush to disk instead of paying one each.
//!
//! A long-lived process (the team server) shares one store among many threads. A transaction is
//! durable only once the log is flushed, and a flush makes durable everything applied before it
//! started. So a writer whose transaction has been applied takes a ticket: if no flush is
//! running, it leads one, covering every ticket taken so far; otherwise it waits for the next
//! flush to start and finish (a flush already running may have started before its transaction
//! was applied, so it cannot count on that one). While one flush runs, the writers arriving
//! gather behind it and the next flush covers them all: one fdatasync for many commits.
//!
//! A ticket is the round of flushing it joins, shared by every writer of that round, with the
//! round's outcome: a flush error reaches every writer the flush covered, and none of them
//! reports success. A writer alone pays one lock and one flush, as before.
//!
//! Knows nothing of sled: the store hands in its flush.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

/// The shared state of group flushing, one per open store.
#[derive(Default)]
pub struct GroupFlush {
    state: Mutex<State>,
    /// Signalled when a flush ends.
    ended: Condvar,
}

#[derive(Default)]
struct State {
    /// The round the next flush will cover: every writer that takes a ticket joins it.
    next: Arc<Round>,
    /// Whether a flush is running (its leader has let go of the lock to flush).
    flushing: bool,
}

/// One flush and the writers it covers: its outcome is set once, when it ends.
#[derive(Default)]
struct Round {
    outcome: OnceLock<Result<(), String>>,
}

impl GroupFlush {
    pub fn new() -> GroupFlush {
        GroupFlush::default()
    }

    /// Returns once everything this thread applied before the call is durable, flushing with
    /// `flush` as leader of a round or waiting for another thread's round; the error of the
    /// flush that covered it, if that flush failed. Call it after the transaction is applied.
    pub fn durable(&self, flush: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
        let mut state = self.lock();
        let ticket = state.next.clone();
        loop {
            if let Some(outcome) = ticket.outcome.get() {
                return outcome.clone();
            }
            if !state.flushing {
                // Lead: this round covers every ticket taken so far (they all hold it); the
                // writers that come while it runs join the next one.
                state.flushing = true;
                state.next = Arc::new(Round::default());
                drop(state);
                // A panic inside the flush must not leave the others waiting for ever.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(flush))
                    .unwrap_or_else(|_| Err("the flush to disk failed unexpectedly".into()));
                let mut state = self.lock();
                let _ = ticket.outcome.set(outcome.clone());
                state.flushing = false;
                drop(state);
                self.ended.notify_all();
                return outcome;
            }
            state = self
                .ended
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// The state, even after a panic elsewhere: it holds no invariant a panic can break
    /// (a leader sets `flushing` back after its flush, whatever the flush did).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn one_writer_flushes_once_per_call() {
        let group = GroupFlush::new();
        let flushes = AtomicUsize::new(0);
        for _ in 0..3 {
            group
                .durable(|| {
                    flushes.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(flushes.load(Ordering::SeqCst), 3);
    }

    /// Writers arriving while a flush runs are covered together by the next one.
    #[test]
    fn writers_that_arrive_during_a_flush_share_the_next() {
        let group = Arc::new(GroupFlush::new());
        let flushes = Arc::new(AtomicUsize::new(0));
        let together = Arc::new(std::sync::Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (group, flushes, together) = (group.clone(), flushes.clone(), together.clone());
                std::thread::spawn(move || {
                    together.wait();
                    group.durable(|| {
                        flushes.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        Ok(())
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        let n = flushes.load(Ordering::SeqCst);
        assert!((1..16).contains(&n), "{n} flushes for 16 writers");
    }

    /// A failed flush fails its writers and no one else: the writers that arrive while it
    /// runs are covered by the next flush, which succeeds.
    #[test]
    fn a_failed_flush_fails_only_the_writers_it_covered() {
        let group = Arc::new(GroupFlush::new());
        let started = Arc::new(std::sync::Barrier::new(2));
        let first = {
            let (group, started) = (group.clone(), started.clone());
            std::thread::spawn(move || {
                group.durable(|| {
                    started.wait();
                    std::thread::sleep(Duration::from_millis(30));
                    Err("disk full".to_string())
                })
            })
        };
        started.wait();
        let later: Vec<_> = (0..8)
            .map(|_| {
                let group = group.clone();
                std::thread::spawn(move || group.durable(|| Ok(())))
            })
            .collect();
        assert_eq!(first.join().unwrap(), Err("disk full".to_string()));
        for t in later {
            assert_eq!(t.join().unwrap(), Ok(()));
        }
    }

    #[test]
    fn every_writer_of_a_failed_round_sees_the_error() {
        let group = Arc::new(GroupFlush::new());
        let gate = Arc::new(std::sync::Barrier::new(2));
        // A leader holds a flush open until the others have taken their tickets...
        let leader = {
            let (group, gate) = (group.clone(), gate.clone());
            std::thread::spawn(move || {
                group.durable(|| {
                    gate.wait();
                    std::thread::sleep(Duration::from_millis(50));
                    Ok(())
                })
            })
        };
        gate.wait();
        // ...so these all join the round after it, which fails.
        let covered: Vec<_> = (0..8)
            .map(|_| {
                let group = group.clone();
                std::thread::spawn(move || {
                    group.durable(|| {
                        std::thread::sleep(Duration::from_millis(10));
                        Err("I/O error".to_string())
                    })
                })
            })
            .collect();
        assert_eq!(leader.join().unwrap(), Ok(()));
        let outcomes: Vec<_> = covered.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(
            outcomes.iter().all(|o| o == &Err("I/O error".to_string())),
            "{outcomes:?}"
        );
    }
}
