//! `Durability`: when the embedded store acknowledges a publish, and the
//! bound on what a crash can take back.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::sync::lock;

/// When [`Channel::send`](crate::Channel::send) to a
/// [`FileStore`](crate::FileStore) returns.
///
/// In both modes subscribers receive an event only after the commit that
/// made it durable (fsync), so no subscriber ever sees an event a crash can
/// take back, and an id a subscriber saw is never given to another event.
/// The modes differ in what the publisher is told:
///
/// | mode | `send` returns | a crash (SIGKILL, power loss) can lose |
/// |---|---|---|
/// | `Immediate` | after the fsync of the event's commit | no acknowledged event |
/// | `Batched(window)` | once the event is queued for the next commit | acknowledged events, all acknowledged within one `window` |
///
/// [`Channel::publish`](crate::Channel::publish) never waits, in either
/// mode: it is acknowledged when queued and is not bounded by the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Acknowledge each event after the commit that made it durable.
    /// Commits run as soon as the writer is free: one fsync per event when
    /// publishers come one at a time; publishers that arrive during a
    /// commit share the next one (group commit). A crash loses no event
    /// whose `send` returned. The default.
    #[default]
    Immediate,
    /// Acknowledge each event once it is queued; commit the queue at most
    /// half a window after its oldest event (or at 4,096 events) with one
    /// fsync.
    ///
    /// The loss bound: once the oldest acknowledged event that is not yet
    /// on disk is `window` old, `send` waits for its event's commit (as with
    /// `Immediate`) until the writer has caught up. So the acknowledged
    /// events a crash (or a failed write) loses were all acknowledged within
    /// one `window` of each other; while each commit takes less than half
    /// the window, they are events acknowledged in the last `window` before
    /// the crash. After a restart the topic goes on from its last durable
    /// event, so the id a publisher was given for a lost event is given to
    /// the next event published; no subscriber saw the lost one.
    Batched(Duration),
}

impl Durability {
    /// How long the writer gathers a batch after its oldest event was
    /// queued; `None`: commit at once what is queued.
    pub(crate) fn gather(self) -> Option<Duration> {
        match self {
            Durability::Immediate => None,
            Durability::Batched(window) => Some(window / 2),
        }
    }
}

/// The writer's queue, counted: which events were acknowledged before
/// their commit (for the loss bound) and how many were processed (for
/// [`flush`](crate::FlushHandle::flush)).
///
/// Events enter the queue under this lock, so the order of `early` is the
/// queue's order and its front is the oldest acknowledged, unwritten event.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    state: Mutex<LedgerState>,
    processed: Condvar,
}

#[derive(Debug, Default)]
struct LedgerState {
    /// When each acknowledged event still in the queue was acknowledged.
    early: VecDeque<Instant>,
    /// Events queued so far.
    queued: u64,
    /// Events committed (or failed) so far, in queue order.
    processed: u64,
    /// The writer stopped: nothing more will be processed.
    closed: bool,
}

impl Ledger {
    /// Queues an event with `enqueue(early)`, where `early` says whether it
    /// is acknowledged now: only when its publisher `waits` for an answer,
    /// the mode is batched and the oldest unwritten acknowledgement is
    /// younger than the window. Returns `early`.
    pub(crate) fn enqueue<E>(
        &self,
        durability: Durability,
        waits: bool,
        enqueue: impl FnOnce(bool) -> Result<(), E>,
    ) -> Result<bool, E> {
        let mut state = lock(&self.state);
        let now = Instant::now();
        let early = match durability {
            Durability::Batched(window) if waits => state
                .early
                .front()
                .is_none_or(|&oldest| now.saturating_duration_since(oldest) < window),
            _ => false,
        };
        enqueue(early)?;
        if early {
            state.early.push_back(now);
        }
        state.queued += 1;
        Ok(early)
    }

    /// The writer is done with the next `count` events of the queue
    /// (committed, or failed), `early` of them acknowledged before.
    pub(crate) fn processed(&self, count: usize, early: usize) {
        let mut state = lock(&self.state);
        let early = early.min(state.early.len());
        state.early.drain(..early);
        state.processed += count as u64;
        drop(state);
        self.processed.notify_all();
    }

    /// The writer stopped.
    pub(crate) fn close(&self) {
        lock(&self.state).closed = true;
        self.processed.notify_all();
    }

    /// Waits up to `timeout` until every event queued before the call was
    /// processed; false on timeout or if the writer stopped first.
    pub(crate) fn wait_processed(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.state);
        let target = state.queued;
        while state.processed < target {
            if state.closed {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .processed
                .wait_timeout(state, left)
                .map_or_else(|poisoned| poisoned.into_inner().0, |(state, _)| state);
        }
        true
    }

    /// Acknowledged events not yet processed.
    #[cfg(test)]
    pub(crate) fn unwritten(&self) -> usize {
        lock(&self.state).early.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_events_are_acknowledged_when_queued() {
        let window = Duration::from_secs(3600);
        // (mode, publisher waits, acknowledged when queued)
        let cases = [
            (Durability::Immediate, true, false),
            (Durability::Immediate, false, false),
            (Durability::Batched(window), true, true),
            // `publish`: no one to acknowledge, nothing to bound.
            (Durability::Batched(window), false, false),
        ];
        for (durability, waits, expected) in cases {
            let ledger = Ledger::default();
            let early = ledger.enqueue(durability, waits, |_| Ok::<_, ()>(()));
            assert_eq!(early, Ok(expected), "{durability:?} waits={waits}");
            assert_eq!(ledger.unwritten(), usize::from(expected));
        }
    }

    #[test]
    fn the_window_closes_early_acknowledgements_until_the_writer_catches_up() {
        let window = Duration::from_millis(50);
        let batched = Durability::Batched(window);
        let ledger = Ledger::default();
        let enqueue = || ledger.enqueue(batched, true, |_| Ok::<_, ()>(())).unwrap();
        assert!(enqueue());
        std::thread::sleep(window);
        // The oldest unwritten acknowledgement is a window old: wait.
        assert!(!enqueue());
        assert!(!enqueue());
        assert_eq!(ledger.unwritten(), 1);
        // The writer committed the first (early) event only: still behind.
        ledger.processed(1, 1);
        assert!(enqueue());
        assert_eq!(ledger.unwritten(), 1);
        // A failed enqueue changes nothing.
        assert_eq!(
            ledger.enqueue(batched, true, |_| Err("closed")),
            Err("closed")
        );
        assert_eq!(ledger.unwritten(), 1);
    }

    #[test]
    fn wait_processed_waits_for_what_was_queued_before() {
        let ledger = std::sync::Arc::new(Ledger::default());
        for _ in 0..3 {
            ledger
                .enqueue(Durability::Immediate, true, |_| Ok::<_, ()>(()))
                .unwrap();
        }
        assert!(!ledger.wait_processed(Duration::from_millis(10)));
        let writer = {
            let ledger = std::sync::Arc::clone(&ledger);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                ledger.processed(3, 0);
            })
        };
        assert!(ledger.wait_processed(Duration::from_secs(10)));
        writer.join().unwrap();
        ledger
            .enqueue(Durability::Immediate, true, |_| Ok::<_, ()>(()))
            .unwrap();
        ledger.close();
        assert!(!ledger.wait_processed(Duration::from_secs(10)));
    }
}
