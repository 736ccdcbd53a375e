//! `Faulty`: a backend wrapper that injects failures, the backend twin of
//! bourn-testkit's scripted HTTP faults. It fails the next n appends (before
//! or after the wrapped backend stored the event), positions or replays,
//! and drops or holds back what the wrapped backend reports through its
//! feed, so the channel's failure model can be tested against any backend.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bourn_server::EventId;
use bourn_server::backend::{Backend, BackendError, Feed, FeedSink, Health, PageLimit, Record};
use bytes::Bytes;

/// The failures to inject next; each counter is consumed one call at a time.
#[derive(Debug, Default)]
pub struct Faults {
    /// Appends that fail as unavailable before reaching the wrapped backend.
    pub fail_appends: AtomicU32,
    /// Appends whose answer is lost after the wrapped backend stored (and
    /// reported) the event: outcome unknown.
    pub lose_replies: AtomicU32,
    /// Position reads that fail.
    pub fail_positions: AtomicU32,
    /// Replays that fail.
    pub fail_replays: AtomicU32,
    /// Committed reports that never reach the channel (a lost Pub/Sub
    /// message).
    pub drop_reports: AtomicU32,
    /// Committed reports held back until [`Faults::release`] (a stalled
    /// commit).
    pub hold_reports: AtomicU32,
    held: Mutex<Vec<(String, u64, Record)>>,
}

fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

#[derive(Debug)]
struct Injected(&'static str);

impl std::fmt::Display for Injected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "injected fault: {}", self.0)
    }
}

impl std::error::Error for Injected {}

/// `B` with injected failures (see [`Faults`]).
#[derive(Debug)]
pub struct Faulty<B> {
    inner: B,
    faults: Arc<Faults>,
    feed: Mutex<Option<Feed>>,
}

impl<B: Backend> Faulty<B> {
    /// Wraps `inner`; [`faults`](Faulty::faults) sets what fails next.
    pub fn new(inner: B) -> Faulty<B> {
        Faulty {
            inner,
            faults: Arc::new(Faults::default()),
            feed: Mutex::new(None),
        }
    }

    /// The switchboard, shared: set its counters from the test.
    pub fn faults(&self) -> Arc<Faults> {
        Arc::clone(&self.faults)
    }

    /// The channel's feed (to report a lost history, say).
    pub fn feed(&self) -> Option<Feed> {
        self.feed.lock().ok()?.clone()
    }
}

impl Faults {
    /// Delivers the held-back reports, in order.
    pub fn release(&self, feed: &Feed) {
        let held = std::mem::take(&mut *self.held.lock().unwrap_or_else(|e| e.into_inner()));
        for (topic, epoch, record) in held {
            feed.committed(&topic, epoch, record);
        }
    }
}

/// The feed between the wrapped backend and the channel.
struct Interceptor {
    faults: Arc<Faults>,
    feed: Feed,
}

impl FeedSink for Interceptor {
    fn committed(&self, topic: &str, epoch: u64, record: Record) {
        if take(&self.faults.drop_reports) {
            return;
        }
        if take(&self.faults.hold_reports) {
            if let Ok(mut held) = self.faults.held.lock() {
                held.push((topic.to_owned(), epoch, record));
            }
            return;
        }
        self.feed.committed(topic, epoch, record);
    }

    fn advanced(&self, topic: &str, epoch: u64, seq: u64) {
        self.feed.advanced(topic, epoch, seq);
    }

    fn history_lost(&self, topic: &str, position: EventId) {
        self.feed.history_lost(topic, position);
    }

    fn health(&self, health: Health) {
        self.feed.health(health);
    }
}

impl<B: Backend> Backend for Faulty<B> {
    fn start(&self, feed: Feed) -> Result<(), BackendError> {
        if let Ok(mut slot) = self.feed.lock() {
            *slot = Some(feed.clone());
        }
        let interceptor = Interceptor {
            faults: Arc::clone(&self.faults),
            feed,
        };
        self.inner.start(Feed::new(Arc::new(interceptor)))
    }

    async fn append(
        &self,
        topic: &str,
        body: Bytes,
        key: Option<&str>,
    ) -> Result<EventId, BackendError> {
        if take(&self.faults.fail_appends) {
            return Err(BackendError::unavailable(Injected("append refused")));
        }
        let id = self.inner.append(topic, body, key).await?;
        if take(&self.faults.lose_replies) {
            return Err(BackendError::outcome_unknown(Injected("reply lost")));
        }
        Ok(id)
    }

    async fn position(&self, topic: &str) -> Result<EventId, BackendError> {
        if take(&self.faults.fail_positions) {
            return Err(BackendError::unavailable(Injected("position unreadable")));
        }
        self.inner.position(topic).await
    }

    async fn replay(
        &self,
        topic: &str,
        epoch: u64,
        after: u64,
        up_to: u64,
        limit: PageLimit,
    ) -> Result<Option<Vec<Record>>, BackendError> {
        if take(&self.faults.fail_replays) {
            return Err(BackendError::unavailable(Injected("replay failed")));
        }
        self.inner.replay(topic, epoch, after, up_to, limit).await
    }

    async fn remove_topic(&self, topic: &str) -> Result<(), BackendError> {
        self.inner.remove_topic(topic).await
    }

    async fn flush(&self) -> Result<(), BackendError> {
        self.inner.flush().await
    }
}
