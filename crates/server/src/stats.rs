//! What a channel knows about itself: counters, per-topic subscribers and the
//! backend's health, for `/metrics` and `/health`.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::backend::Health;

/// Why a subscriber got a [`RESET_EVENT`](crate::RESET_EVENT): the `data` of
/// the event, and a counter in [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResetReason {
    /// The log no longer holds the event after the client's `Last-Event-ID`.
    Trimmed,
    /// The id belongs to another history (before a restart of an in-memory
    /// backend, a lost Redis, a removed topic).
    Epoch,
    /// The `Last-Event-ID` is not an id of this channel.
    Unknown,
    /// The id is beyond the newest event.
    Ahead,
    /// The backend could not replay what the client missed (after retries):
    /// not a trim, a failure; the events may still exist.
    Unavailable,
    /// The topic was removed ([`Channel::remove_topic`](crate::Channel::remove_topic)
    /// or expiry) while the client followed it.
    Removed,
}

impl ResetReason {
    /// The reset event's `data`: `trimmed`, `epoch`, `unknown`, `ahead`,
    /// `unavailable` or `removed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ResetReason::Trimmed => "trimmed",
            ResetReason::Epoch => "epoch",
            ResetReason::Unknown => "unknown",
            ResetReason::Ahead => "ahead",
            ResetReason::Unavailable => "unavailable",
            ResetReason::Removed => "removed",
        }
    }

    pub(crate) const ALL: [ResetReason; 6] = [
        ResetReason::Trimmed,
        ResetReason::Epoch,
        ResetReason::Unknown,
        ResetReason::Ahead,
        ResetReason::Unavailable,
        ResetReason::Removed,
    ];

    fn index(self) -> usize {
        match self {
            ResetReason::Trimmed => 0,
            ResetReason::Epoch => 1,
            ResetReason::Unknown => 2,
            ResetReason::Ahead => 3,
            ResetReason::Unavailable => 4,
            ResetReason::Removed => 5,
        }
    }
}

/// A snapshot of a channel's counters ([`Channel::stats`](crate::Channel::stats)).
/// Counters only grow, from the channel's creation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Events published through this channel and acknowledged by the backend.
    pub published: u64,
    /// Publishes the backend refused (nothing was published).
    pub publish_failures: u64,
    /// Publishes whose outcome is unknown (the backend did not answer).
    pub publish_unknown: u64,
    /// Events queued for subscribers (one per subscriber per event), live
    /// and from any node.
    pub delivered: u64,
    /// Events replayed to resuming subscribers.
    pub replayed: u64,
    /// Reset events sent, by reason, in [`ResetReason`] order.
    pub resets: Vec<(ResetReason, u64)>,
    /// Subscribers disconnected because their queue was full.
    pub lag_disconnects: u64,
    /// Subscribers turned away at a limit ([`Error::is_busy`](crate::Error::is_busy)
    /// or [`Error::is_too_many_topics`](crate::Error::is_too_many_topics)).
    pub busy: u64,
    /// Subscribers connected now.
    pub subscribers: usize,
    /// Topics with subscribers on this node now.
    pub topics: usize,
    /// Topics removed because they were idle.
    pub expired_topics: u64,
    /// The backend's health, as it last reported it.
    pub backend_health: Health,
}

impl Stats {
    /// Resets sent for `reason`.
    pub fn resets(&self, reason: ResetReason) -> u64 {
        self.resets
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) published: AtomicU64,
    pub(crate) publish_failures: AtomicU64,
    pub(crate) publish_unknown: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) replayed: AtomicU64,
    resets: [AtomicU64; 6],
    pub(crate) lag_disconnects: AtomicU64,
    pub(crate) busy: AtomicU64,
    pub(crate) expired_topics: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn reset(&self, reason: ResetReason, n: u64) {
        self.resets[reason.index()].fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(
        &self,
        subscribers: usize,
        topics: usize,
        backend_health: Health,
    ) -> Stats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            published: get(&self.published),
            publish_failures: get(&self.publish_failures),
            publish_unknown: get(&self.publish_unknown),
            delivered: get(&self.delivered),
            replayed: get(&self.replayed),
            resets: ResetReason::ALL
                .iter()
                .map(|reason| (*reason, get(&self.resets[reason.index()])))
                .collect(),
            lag_disconnects: get(&self.lag_disconnects),
            busy: get(&self.busy),
            subscribers,
            topics,
            expired_topics: get(&self.expired_topics),
            backend_health,
        }
    }
}
