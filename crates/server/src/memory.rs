//! `MemoryBackend`: the default backend, a bounded ring per topic in the
//! process.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;

use crate::backend::{Backend, BackendError, Feed, PageLimit, Record};
use crate::event_id::{EventId, random_epoch};
use crate::sync::lock;

/// The default [`Backend`]: per topic, a ring of the latest events, bounded
/// both by count and by bytes (the oldest go first). Replay is a direct
/// index into the ring (`seq - first retained seq`), never a scan, and
/// shares the stored `Bytes` (no copy).
///
/// `append` assigns the seq under the topic's lock and reports the event to
/// the channel before it returns, so publishing through it never waits.
///
/// Epochs are random: one per backend (a restarted process gets a new one),
/// and a new one for a topic removed and written again, so ids from before
/// get a reset event instead of a silent gap, and no id ever names two
/// events.
///
/// Limits: per topic, Default: 1,024 events ([`MemoryBackend::DEFAULT_MAX_EVENTS`])
/// and 1 MiB ([`MemoryBackend::DEFAULT_MAX_BYTES`]); topics with history:
/// Default: 65,536 ([`MemoryBackend::DEFAULT_MAX_TOPICS`]); idempotency
/// keys remembered per topic: the latest 1,024
/// ([`MemoryBackend::DEFAULT_KEY_WINDOW`]).
pub struct MemoryBackend {
    state: Mutex<State>,
    max_events: usize,
    max_bytes: usize,
    max_topics: usize,
    key_window: usize,
    feed: OnceLock<Feed>,
}

struct State {
    /// The epoch of topics created now.
    epoch: u64,
    topics: HashMap<Box<str>, Ring>,
    /// Removed topics and the epoch each starts again in. Bounded by
    /// `max_topics`: when full, it is cleared and `epoch` drawn again, so a
    /// topic created later still never reuses an id.
    removed: HashMap<Box<str>, u64>,
}

impl State {
    /// The epoch `topic` is (or will be, when created) in.
    fn epoch_of(&self, topic: &str) -> u64 {
        self.removed.get(topic).copied().unwrap_or(self.epoch)
    }
}

struct Ring {
    epoch: u64,
    /// The `seq` of `events[0]`; `last + 1` when empty.
    first: u64,
    last: u64,
    events: VecDeque<Bytes>,
    bytes: usize,
    /// The latest idempotency keys, oldest first, with the seq they got.
    keys: VecDeque<(Box<str>, u64)>,
}

impl MemoryBackend {
    /// Default count bound per topic: 1,024 events.
    pub const DEFAULT_MAX_EVENTS: usize = 1024;
    /// Default byte bound per topic: 1 MiB of events.
    pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;
    /// Default bound on topics with history: 65,536.
    pub const DEFAULT_MAX_TOPICS: usize = 65_536;
    /// Default number of idempotency keys remembered per topic: 1,024.
    pub const DEFAULT_KEY_WINDOW: usize = 1024;

    /// An empty backend with the default bounds.
    pub fn new() -> MemoryBackend {
        MemoryBackend {
            state: Mutex::new(State {
                epoch: random_epoch(),
                topics: HashMap::new(),
                removed: HashMap::new(),
            }),
            max_events: MemoryBackend::DEFAULT_MAX_EVENTS,
            max_bytes: MemoryBackend::DEFAULT_MAX_BYTES,
            max_topics: MemoryBackend::DEFAULT_MAX_TOPICS,
            key_window: MemoryBackend::DEFAULT_KEY_WINDOW,
            feed: OnceLock::new(),
        }
    }

    /// Sets the most events retained per topic. Default: 1,024. Zero keeps
    /// no history (every resume gets a reset event).
    pub fn max_events(mut self, max: usize) -> MemoryBackend {
        self.max_events = max;
        self
    }

    /// Sets the most bytes retained per topic. Default: 1 MiB. An event
    /// larger than this is not retained at all.
    pub fn max_bytes(mut self, max: usize) -> MemoryBackend {
        self.max_bytes = max;
        self
    }

    /// Sets the most topics holding history. Default: 65,536. An append to
    /// a new topic beyond it fails as unavailable (nothing stored); remove
    /// topics (or let the channel expire idle ones) to make room.
    pub fn max_topics(mut self, max: usize) -> MemoryBackend {
        self.max_topics = max;
        self
    }

    /// Sets how many idempotency keys each topic remembers (the latest
    /// ones). Default: 1,024.
    pub fn key_window(mut self, keys: usize) -> MemoryBackend {
        self.key_window = keys;
        self
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        MemoryBackend::new()
    }
}

impl fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("max_events", &self.max_events)
            .field("max_bytes", &self.max_bytes)
            .field("max_topics", &self.max_topics)
            .finish_non_exhaustive()
    }
}

/// An append refused because the backend holds its maximum of topics.
#[derive(Debug)]
struct TooManyTopics(usize);

impl fmt::Display for TooManyTopics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the memory backend holds its maximum of {} topics",
            self.0
        )
    }
}

impl std::error::Error for TooManyTopics {}

impl Ring {
    fn new(epoch: u64) -> Ring {
        Ring {
            epoch,
            first: 1,
            last: 0,
            events: VecDeque::new(),
            bytes: 0,
            keys: VecDeque::new(),
        }
    }
}

impl MemoryBackend {
    fn append_now(
        &self,
        topic: &str,
        body: Bytes,
        key: Option<&str>,
    ) -> Result<EventId, BackendError> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        if !state.topics.contains_key(topic) && state.topics.len() >= self.max_topics {
            return Err(BackendError::unavailable(TooManyTopics(self.max_topics)));
        }
        if !state.topics.contains_key(topic) {
            let epoch = state.epoch_of(topic);
            state.removed.remove(topic);
            state.topics.insert(topic.into(), Ring::new(epoch));
        }
        let Some(ring) = state.topics.get_mut(topic) else {
            return Err(BackendError::unavailable(
                "the topic vanished under its lock",
            ));
        };
        if let Some(key) = key {
            if let Some((_, seq)) = ring.keys.iter().find(|(k, _)| &**k == key) {
                return Ok(EventId::new(ring.epoch, *seq));
            }
        }
        ring.last += 1;
        let seq = ring.last;
        if let Some(key) = key {
            if self.key_window > 0 {
                if ring.keys.len() >= self.key_window {
                    ring.keys.pop_front();
                }
                ring.keys.push_back((key.into(), seq));
            }
        }
        ring.events.push_back(body.clone());
        ring.bytes += body.len();
        while ring.events.len() > self.max_events || ring.bytes > self.max_bytes {
            let Some(oldest) = ring.events.pop_front() else {
                break;
            };
            ring.bytes -= oldest.len();
            ring.first += 1;
        }
        let epoch = ring.epoch;
        // Reported under the lock: the channel sees each topic's events in
        // seq order, and before `append` returns.
        if let Some(feed) = self.feed.get() {
            feed.committed(topic, epoch, Record { seq, body });
        }
        Ok(EventId::new(epoch, seq))
    }

    fn replay_now(
        &self,
        topic: &str,
        epoch: u64,
        after: u64,
        up_to: u64,
        limit: PageLimit,
    ) -> Option<Vec<Record>> {
        if after >= up_to {
            return Some(Vec::new());
        }
        let state = lock(&self.state);
        let Some(ring) = state.topics.get(topic) else {
            // No history: nothing to replay, unless `epoch` is gone.
            return (state.epoch_of(topic) == epoch).then(Vec::new);
        };
        if ring.epoch != epoch {
            return None;
        }
        if after + 1 < ring.first {
            return None;
        }
        let up_to = up_to.min(ring.last);
        let mut page = Vec::new();
        let mut bytes = 0;
        let mut seq = after + 1;
        while seq <= up_to && !limit.is_full(page.len(), bytes) {
            let index = usize::try_from(seq - ring.first).ok()?;
            let body = ring.events.get(index)?.clone();
            bytes += body.len();
            page.push(Record { seq, body });
            seq += 1;
        }
        Some(page)
    }
}

impl Backend for MemoryBackend {
    fn start(&self, feed: Feed) -> Result<(), BackendError> {
        // A second channel on the same backend is not supported: the first
        // keeps the feed.
        let _ = self.feed.set(feed);
        Ok(())
    }

    async fn append(
        &self,
        topic: &str,
        body: Bytes,
        key: Option<&str>,
    ) -> Result<EventId, BackendError> {
        self.append_now(topic, body, key)
    }

    async fn position(&self, topic: &str) -> Result<EventId, BackendError> {
        let state = lock(&self.state);
        Ok(match state.topics.get(topic) {
            Some(ring) => EventId::new(ring.epoch, ring.last),
            None => EventId::new(state.epoch_of(topic), 0),
        })
    }

    async fn replay(
        &self,
        topic: &str,
        epoch: u64,
        after: u64,
        up_to: u64,
        limit: PageLimit,
    ) -> Result<Option<Vec<Record>>, BackendError> {
        Ok(self.replay_now(topic, epoch, after, up_to, limit))
    }

    async fn remove_topic(&self, topic: &str) -> Result<(), BackendError> {
        let mut state = lock(&self.state);
        if state.topics.remove(topic).is_some() {
            if state.removed.len() >= self.max_topics {
                state.removed.clear();
                state.epoch = random_epoch();
            }
            state.removed.insert(topic.into(), random_epoch());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(n: u64) -> Bytes {
        Bytes::from(format!("data: {n}\n\n"))
    }

    fn seqs(page: Option<Vec<Record>>) -> Option<Vec<u64>> {
        page.map(|records| records.iter().map(|r| r.seq).collect())
    }

    #[tokio::test]
    async fn bounded_by_count_and_bytes_and_paged() {
        let backend = MemoryBackend::new().max_events(4);
        for n in 1..=6 {
            let id = backend.append("t", body(n), None).await.unwrap();
            assert_eq!(id.seq(), n);
        }
        let all = PageLimit::DEFAULT;
        // 1 and 2 were dropped: resuming after 0 or 1 is trimmed.
        assert_eq!(
            seqs(
                backend
                    .replay("t", backend.position("t").await.unwrap().epoch(), 0, 6, all)
                    .await
                    .unwrap()
            ),
            None
        );
        assert_eq!(
            seqs(
                backend
                    .replay("t", backend.position("t").await.unwrap().epoch(), 1, 6, all)
                    .await
                    .unwrap()
            ),
            None
        );
        assert_eq!(
            seqs(
                backend
                    .replay("t", backend.position("t").await.unwrap().epoch(), 2, 6, all)
                    .await
                    .unwrap()
            ),
            Some(vec![3, 4, 5, 6])
        );
        assert_eq!(
            seqs(
                backend
                    .replay("t", backend.position("t").await.unwrap().epoch(), 4, 5, all)
                    .await
                    .unwrap()
            ),
            Some(vec![5])
        );
        assert_eq!(
            seqs(
                backend
                    .replay("t", backend.position("t").await.unwrap().epoch(), 6, 6, all)
                    .await
                    .unwrap()
            ),
            Some(vec![])
        );
        let two = PageLimit {
            max_events: 2,
            max_bytes: usize::MAX,
        };
        assert_eq!(
            seqs(
                backend
                    .replay("t", backend.position("t").await.unwrap().epoch(), 2, 6, two)
                    .await
                    .unwrap()
            ),
            Some(vec![3, 4])
        );
        let tiny = PageLimit {
            max_events: 100,
            max_bytes: 1,
        };
        assert_eq!(
            seqs(
                backend
                    .replay(
                        "t",
                        backend.position("t").await.unwrap().epoch(),
                        2,
                        6,
                        tiny
                    )
                    .await
                    .unwrap()
            ),
            Some(vec![3])
        );

        let small = MemoryBackend::new().max_bytes(20);
        for n in 1..=3 {
            small.append("t", body(n), None).await.unwrap();
        }
        // Each body is 9 bytes: only two fit in 20.
        assert_eq!(
            seqs(
                small
                    .replay("t", small.position("t").await.unwrap().epoch(), 1, 3, all)
                    .await
                    .unwrap()
            ),
            Some(vec![2, 3])
        );
    }

    #[tokio::test]
    async fn idempotency_keys_within_the_window() {
        let backend = MemoryBackend::new().key_window(2);
        let a = backend.append("t", body(1), Some("a")).await.unwrap();
        assert_eq!(backend.append("t", body(1), Some("a")).await.unwrap(), a);
        let b = backend.append("t", body(2), Some("b")).await.unwrap();
        let _c = backend.append("t", body(3), Some("c")).await.unwrap();
        assert_eq!(backend.append("t", body(2), Some("b")).await.unwrap(), b);
        // "a" left the window of two: it is a new event now.
        assert_eq!(
            backend.append("t", body(1), Some("a")).await.unwrap().seq(),
            4
        );
        // Keys are per topic.
        assert_eq!(
            backend.append("u", body(1), Some("b")).await.unwrap().seq(),
            1
        );
    }

    #[tokio::test]
    async fn topics_are_bounded_and_removal_starts_a_new_epoch() {
        let backend = MemoryBackend::new().max_topics(1);
        let first = backend.append("a", body(1), None).await.unwrap();
        let refused = backend.append("b", body(1), None).await.unwrap_err();
        assert!(refused.is_unavailable());
        backend.remove_topic("a").await.unwrap();
        let again = backend.append("a", body(1), None).await.unwrap();
        assert_eq!(again.seq(), 1);
        assert_ne!(again.epoch(), first.epoch(), "no id names two events");
        assert_eq!(backend.position("a").await.unwrap(), again);
        assert_eq!(backend.position("b").await.unwrap().seq(), 0);
        // A topic's first epoch is the one its position reported before.
        let fresh = MemoryBackend::new();
        let before = fresh.position("n").await.unwrap();
        let first = fresh.append("n", body(1), None).await.unwrap();
        assert_eq!((first.epoch(), first.seq()), (before.epoch(), 1));
        // After a removal too.
        fresh.remove_topic("n").await.unwrap();
        let before = fresh.position("n").await.unwrap();
        assert_ne!(before.epoch(), first.epoch());
        let again = fresh.append("n", body(1), None).await.unwrap();
        assert_eq!((again.epoch(), again.seq()), (before.epoch(), 1));
    }
}
