//! The storage contract: where a [`Channel`](crate::Channel) keeps each
//! topic's history, and how committed events reach it.
//!
//! A backend stores opaque bytes. The channel encodes each event with
//! `bourn-codec` *without* its `id:` line, hands the bytes to
//! [`Backend::append`], and adds `id: <epoch>.<seq>` itself when it
//! delivers or replays the event; a backend never formats or parses SSE.
//!
//! Two axes decide the shape of the trait, and every backend answers both:
//! - **the backend assigns** each topic's next `seq` (contiguous from 1), in
//!   [`append`](Backend::append), atomically with storing the event;
//! - **the backend reports** what is committed, by this process or by any
//!   other node sharing the storage, through the [`Feed`] it is given in
//!   [`start`](Backend::start). The channel follows that feed: it drops
//!   repeats, fills gaps with [`replay`](Backend::replay), and resets its
//!   subscribers when the epoch changes or the history is lost. That logic
//!   lives once, in the channel, and no backend repeats it.
//!
//! The in-memory [`MemoryBackend`](crate::MemoryBackend) assigns under a
//! lock and reports synchronously from `append`; the embedded redb backend
//! (`bourn-server-redb`) reports from its writer thread after each commit;
//! the Redis backend (`bourn-server-redis`) reports what its Pub/Sub
//! connection receives from every node. Both are separate crates written
//! against this module only: a backend of yours (Postgres, NATS JetStream)
//! can do whatever they do. `bourn-conformance` has the test suite every
//! backend runs (`examples/custom_backend.rs` runs it on the backend below,
//! with idempotency keys added).
//!
//! # Writing a backend
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::{Mutex, OnceLock};
//!
//! use bourn_server::backend::{Backend, BackendError, Feed, PageLimit, Record};
//! use bourn_server::{Channel, Event, EventId, random_epoch};
//! use bytes::Bytes;
//!
//! /// Every event of every topic in a `Vec` (seq = index + 1), for ever.
//! #[derive(Debug, Default)]
//! struct VecBackend {
//!     topics: Mutex<HashMap<String, (u64, Vec<Bytes>)>>,
//!     feed: OnceLock<Feed>,
//! }
//!
//! fn poisoned<T>(_: T) -> BackendError {
//!     BackendError::unavailable("lock poisoned")
//! }
//!
//! impl Backend for VecBackend {
//!     fn start(&self, feed: Feed) -> Result<(), BackendError> {
//!         self.feed.set(feed).map_err(|_| BackendError::unavailable("started twice"))
//!     }
//!
//!     async fn append(&self, topic: &str, body: Bytes, _key: Option<&str>) -> Result<EventId, BackendError> {
//!         let mut topics = self.topics.lock().map_err(poisoned)?;
//!         let (epoch, events) = topics.entry(topic.to_owned()).or_insert_with(|| (random_epoch(), Vec::new()));
//!         events.push(body.clone());
//!         let seq = events.len() as u64;
//!         // Stored: now report it, in seq order (under the lock).
//!         if let Some(feed) = self.feed.get() {
//!             feed.committed(topic, *epoch, Record { seq, body });
//!         }
//!         Ok(EventId::new(*epoch, seq))
//!     }
//!
//!     async fn position(&self, topic: &str) -> Result<EventId, BackendError> {
//!         let topics = self.topics.lock().map_err(poisoned)?;
//!         Ok(topics.get(topic).map_or(EventId::new(0, 0), |(epoch, events)| {
//!             EventId::new(*epoch, events.len() as u64)
//!         }))
//!     }
//!
//!     async fn replay(&self, topic: &str, epoch: u64, after: u64, up_to: u64, limit: PageLimit)
//!         -> Result<Option<Vec<Record>>, BackendError>
//!     {
//!         let topics = self.topics.lock().map_err(poisoned)?;
//!         let events = match topics.get(topic) {
//!             Some((current, events)) if *current == epoch => &events[..],
//!             Some(_) => return Ok(None), // another history now
//!             None => &[][..],
//!         };
//!         let mut page = Vec::new();
//!         let mut bytes = 0;
//!         for seq in after + 1..=up_to.min(events.len() as u64) {
//!             if limit.is_full(page.len(), bytes) {
//!                 break;
//!             }
//!             let body = events[seq as usize - 1].clone();
//!             bytes += body.len();
//!             page.push(Record { seq, body });
//!         }
//!         Ok(Some(page)) // nothing is ever trimmed here
//!     }
//!
//!     async fn remove_topic(&self, topic: &str) -> Result<(), BackendError> {
//!         // The next append draws a new epoch: no id ever names two events.
//!         self.topics.lock().map_err(poisoned)?.remove(topic);
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), bourn_server::Error> {
//! let channel = Channel::builder().backend(VecBackend::default()).build()?;
//! let first = channel.publish("news", Event::message("one")).await?;
//! let second = channel.publish("news", Event::message("two")).await?;
//! assert_eq!((first.seq(), second.seq()), (1, 2));
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::BoxError;
use crate::event_id::EventId;

/// A committed event as a backend keeps it: the topic's sequence number and
/// the event's `text/event-stream` block without its `id:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The event's position in its topic, from 1.
    pub seq: u64,
    /// The encoded event (comment, `event`, `retry` and `data` lines and the
    /// blank line that ends it), opaque to the backend.
    pub body: Bytes,
}

/// How much one [`Backend::replay`] call may return: a subscriber resuming
/// from far back reads its history page by page, as its client takes it,
/// so no backend ever holds a whole history in memory for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit {
    /// At most this many records (at least 1).
    pub max_events: usize,
    /// At most this many bytes of bodies, except that a page always holds
    /// at least one record, however large.
    pub max_bytes: usize,
}

impl PageLimit {
    /// The channel's default page: 256 events or 256 KiB.
    pub const DEFAULT: PageLimit = PageLimit {
        max_events: 256,
        max_bytes: 256 * 1024,
    };

    /// Whether a page of `events` records and `bytes` bytes is full (a page
    /// is never empty on account of its size).
    pub fn is_full(&self, events: usize, bytes: usize) -> bool {
        events >= self.max_events.max(1) || (events > 0 && bytes >= self.max_bytes)
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        PageLimit::DEFAULT
    }
}

/// Where a channel keeps its topics' history, and how committed events
/// reach it. See the [module docs](self) for the contract, and
/// `examples/custom_backend.rs` for a backend written outside this crate.
///
/// Every method returns a typed [`BackendError`]; nothing is turned into a
/// default. The futures must be `Send`: the channel awaits them on any
/// runtime thread.
pub trait Backend: fmt::Debug + Send + Sync + 'static {
    /// Called once, when the channel is built (inside a tokio runtime when
    /// there is one): start whatever listens for commits (a writer thread, a
    /// Pub/Sub task) and report them to `feed` from then on.
    fn start(&self, feed: Feed) -> Result<(), BackendError>;

    /// Assigns `topic`'s next seq (the newest + 1, from 1), stores `body`
    /// under it, and resolves with the event's id once the event is as
    /// durable as the backend promises. The event must then be reported
    /// through the feed ([`Feed::committed`] or [`Feed::advanced`]) exactly
    /// as every other committed event, by this node or another.
    ///
    /// With `key` (an idempotency key), a second append of the same key to
    /// the same topic within the backend's window stores nothing and
    /// resolves with the first append's id.
    ///
    /// Errors: [`BackendError::unavailable`] when nothing was stored (safe
    /// to retry), [`BackendError::outcome_unknown`] when the request may
    /// have been carried out (a reply that never came).
    fn append(
        &self,
        topic: &str,
        body: Bytes,
        key: Option<&str>,
    ) -> impl Future<Output = Result<EventId, BackendError>> + Send;

    /// The topic's epoch and its newest committed seq (seq 0: no event yet).
    ///
    /// A topic with no history answers seq 0 in an epoch of the backend's
    /// choosing; its first event may come in another epoch (a backend with
    /// an epoch per topic draws it when the topic is created): a subscriber
    /// that saw nothing yet is not reset for that.
    fn position(&self, topic: &str) -> impl Future<Output = Result<EventId, BackendError>> + Send;

    /// The records of `topic` in history `epoch` with `after < seq <=
    /// up_to`, in order, starting at `after + 1` and as many as `limit`
    /// allows (the channel asks again from the last one it got). `Ok(None)`
    /// when the record `after + 1` is no longer retained (trimmed), or when
    /// the topic is no longer in `epoch` (its history was lost or replaced:
    /// records of another history must never be labelled with `epoch`).
    /// Called with `after < up_to <= ` the newest seq the channel saw.
    fn replay(
        &self,
        topic: &str,
        epoch: u64,
        after: u64,
        up_to: u64,
        limit: PageLimit,
    ) -> impl Future<Output = Result<Option<Vec<Record>>, BackendError>> + Send;

    /// Deletes `topic`'s history. No id may ever name two events: a later
    /// append either continues the topic's numbering or starts it again from
    /// seq 1 in a new epoch for that topic.
    fn remove_topic(&self, topic: &str) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Makes everything acknowledged so far durable (a backend that
    /// acknowledges before its commit). Default: nothing to do.
    fn flush(&self) -> impl Future<Output = Result<(), BackendError>> + Send {
        async { Ok(()) }
    }
}

/// Why a [`Backend`] call failed. Opaque, in hyper's shape: ask it with the
/// predicates and follow [`source`](StdError::source) for the cause.
pub struct BackendError {
    kind: BackendErrorKind,
    source: Option<BoxError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BackendErrorKind {
    Unavailable,
    OutcomeUnknown,
}

impl BackendError {
    /// The backend could not do it, and did nothing: the storage is
    /// unreachable, a write failed and was rolled back, a read failed. A
    /// retry is safe.
    pub fn unavailable(source: impl Into<BoxError>) -> BackendError {
        BackendError {
            kind: BackendErrorKind::Unavailable,
            source: Some(source.into()),
        }
    }

    /// The request reached the storage but its answer did not come back (a
    /// timeout after sending): it may have been carried out. Retry only with
    /// the same idempotency key.
    pub fn outcome_unknown(source: impl Into<BoxError>) -> BackendError {
        BackendError {
            kind: BackendErrorKind::OutcomeUnknown,
            source: Some(source.into()),
        }
    }

    /// See [`unavailable`](BackendError::unavailable).
    pub fn is_unavailable(&self) -> bool {
        self.kind == BackendErrorKind::Unavailable
    }

    /// See [`outcome_unknown`](BackendError::outcome_unknown).
    pub fn is_outcome_unknown(&self) -> bool {
        self.kind == BackendErrorKind::OutcomeUnknown
    }
}

impl fmt::Debug for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("BackendError");
        d.field("kind", &self.kind);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            BackendErrorKind::Unavailable => f.write_str("the backend is unavailable"),
            BackendErrorKind::OutcomeUnknown => {
                f.write_str("the backend did not answer: the outcome is unknown")
            }
        }
    }
}

impl StdError for BackendError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// What a [`Feed`] delivers to: a channel, or (in tests and wrappers) your
/// own recorder. Methods are called from the backend's threads and tasks
/// and must not block.
pub trait FeedSink: Send + Sync + 'static {
    /// See [`Feed::committed`].
    fn committed(&self, topic: &str, epoch: u64, record: Record);
    /// See [`Feed::advanced`].
    fn advanced(&self, topic: &str, epoch: u64, seq: u64);
    /// See [`Feed::history_lost`].
    fn history_lost(&self, topic: &str, position: EventId);
    /// See [`Feed::health`].
    fn health(&self, health: Health);
}

/// The channel's side of a running backend: where the backend reports what
/// is committed, by this node or any other. Cheap to clone.
#[derive(Clone)]
pub struct Feed {
    sink: Arc<dyn FeedSink>,
}

impl Feed {
    /// A feed that reports to `sink`. A channel makes its own; build one to
    /// test a backend, or to wrap another backend's feed.
    pub fn new(sink: Arc<dyn FeedSink>) -> Feed {
        Feed { sink }
    }

    /// `record` of `topic` is committed in `epoch`. Report every committed
    /// record in seq order per topic where you can; the channel drops
    /// repeats, and fills a gap (a record it missed) with
    /// [`Backend::replay`].
    pub fn committed(&self, topic: &str, epoch: u64, record: Record) {
        self.sink.committed(topic, epoch, record);
    }

    /// Everything of `topic` up to `seq` is committed in `epoch`, bodies not
    /// included (a notification with a size cap, a heartbeat carrying the
    /// position): the channel reads what it has not seen with `replay`.
    pub fn advanced(&self, topic: &str, epoch: u64, seq: u64) {
        self.sink.advanced(topic, epoch, seq);
    }

    /// `topic`'s history was lost (the storage came back empty, was
    /// replaced): the topic is now at `position`, in a new epoch. Its
    /// subscribers get a reset event and resume from there.
    pub fn history_lost(&self, topic: &str, position: EventId) {
        self.sink.history_lost(topic, position);
    }

    /// The backend's own view of its health, for `/health` and metrics: a
    /// Pub/Sub connection that went silent, a disk that refuses commits.
    pub fn health(&self, health: Health) {
        self.sink.health(health);
    }
}

impl fmt::Debug for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feed").finish_non_exhaustive()
    }
}

/// A backend's health, as it reports it through [`Feed::health`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Working.
    Healthy,
    /// Not working now, with the reason (one line, for `/health`).
    Unhealthy(Cow<'static, str>),
}

impl Health {
    /// Whether the backend works.
    pub fn is_healthy(&self) -> bool {
        matches!(self, Health::Healthy)
    }
}
