//! `Channel`: publish once, fan out to every subscriber of a topic.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bourn_codec::Event;
use http::{HeaderMap, Request, Response};

use crate::encoded::Encoded;
use crate::error::{Error, Kind};
use crate::event_id::EventId;
use crate::keep_alive::KeepAlive;
use crate::last_event_id::LastEventId;
use crate::log::ReplayLog;
use crate::memory_log::MemoryLog;
use crate::shutdown::Shutdown;
use crate::sse::Sse;
use crate::store::Store;
use crate::subscription::{DETACHED, Slot, Subscription};
use crate::sync::lock;

/// The event type of the reset event: the `Last-Event-ID` a client sent
/// cannot be resumed from, so it missed events. Its `id` is the current
/// position (the client resumes from there next time) and its `data` the
/// reason: `trimmed` (the log no longer holds the next event), `epoch`
/// (another history, e.g. before a restart), `unknown` (not an id of this
/// channel) or `ahead` (beyond the newest event).
pub const RESET_EVENT: &str = "bourn-reset";

/// A fan-out hub of named topics with a replay log.
///
/// [`publish`](Channel::publish) assigns the event the id `<epoch>.<seq>`
/// ([`EventId`]), encodes it once, appends it to the [`ReplayLog`] and
/// queues a clone of the same `Bytes` for every subscriber of the topic.
/// [`subscribe`](Channel::subscribe) resumes from a `Last-Event-ID` with no
/// gap and no duplicate; [`respond`](Channel::respond) wraps that in a
/// ready HTTP response. Cloning a `Channel` is cheap and shares it.
///
/// The publisher never waits for a subscriber: each has a bounded queue,
/// and one whose queue is full is disconnected (its stream ends; its client
/// reconnects with `Last-Event-ID` and is replayed what it missed).
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    topics: Mutex<HashMap<Box<str>, Arc<Topic>>>,
    pub(crate) store: Store,
    subscribers: AtomicUsize,
    config: Config,
}

#[derive(Debug, Clone)]
struct Config {
    max_subscribers: usize,
    max_topic_subscribers: usize,
    max_topics: usize,
    queue_len: usize,
    prime: bool,
    keep_alive: Option<KeepAlive>,
    retry: Option<Duration>,
    busy_retry: Duration,
    shutdown: Option<Shutdown>,
    query_param: Option<Box<str>>,
}

pub(crate) struct Topic {
    #[cfg_attr(
        not(any(feature = "redb", feature = "redis")),
        allow(dead_code, reason = "used by the stores")
    )]
    pub(crate) name: Box<str>,
    pub(crate) state: Mutex<TopicState>,
}

pub(crate) struct TopicState {
    /// The history the topic's ids belong to (the store's epoch; with Redis,
    /// the topic's own).
    pub(crate) epoch: u64,
    /// The newest `seq` delivered to subscribers: every event up to it can
    /// be replayed from the store. Subscribers resume up to here.
    pub(crate) seq: u64,
    /// The newest `seq` given to an event. Ahead of `seq` while the
    /// embedded store makes events durable; unused with Redis, which
    /// assigns ids itself.
    pub(crate) assigned: u64,
    /// With Redis: whether `epoch` and `seq` were read from Redis yet.
    #[cfg_attr(
        not(feature = "redis"),
        allow(dead_code, reason = "used by the Redis store")
    )]
    pub(crate) synced: bool,
    subscribers: Vec<Arc<Slot>>,
}

impl Topic {
    /// A topic outside any channel, for stores' unit tests.
    #[cfg(all(test, feature = "redb"))]
    pub(crate) fn for_tests(name: &str) -> Topic {
        Topic {
            name: name.into(),
            state: Mutex::new(TopicState {
                epoch: 0,
                seq: 0,
                assigned: 0,
                synced: false,
                subscribers: Vec::new(),
            }),
        }
    }

    /// Delivers event `seq` (already in the store) to every subscriber.
    #[cfg_attr(
        not(feature = "redb"),
        allow(dead_code, reason = "used by the file store")
    )]
    pub(crate) fn deliver(&self, seq: u64, event: &Encoded, channel: &Inner) {
        let mut state = lock(&self.state);
        state.fan_out(&self.name, seq, event, channel);
    }

    /// Ends every subscriber's stream with `event` (a reset): the store
    /// lost the history they were following.
    #[cfg_attr(
        not(feature = "redis"),
        allow(dead_code, reason = "used by the Redis store")
    )]
    pub(crate) fn close_all(&self, state: &mut TopicState, event: &Encoded, channel: &Inner) {
        let slots = std::mem::take(&mut state.subscribers);
        for slot in &slots {
            slot.position.store(DETACHED, Ordering::Relaxed);
            slot.close_with(event.clone());
        }
        channel
            .subscribers
            .fetch_sub(slots.len(), Ordering::Relaxed);
    }

    /// Removes `slot` from the subscriber list, once.
    pub(crate) fn detach(&self, slot: &Arc<Slot>, channel: &Arc<Inner>) {
        let mut state = lock(&self.state);
        let position = slot.position.swap(DETACHED, Ordering::Relaxed);
        if position == DETACHED {
            return;
        }
        state.remove(position);
        drop(state);
        channel.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl TopicState {
    /// Queues event `seq` for every subscriber, disconnecting those whose
    /// queue is full; `seq` becomes the topic's position.
    pub(crate) fn fan_out(&mut self, topic: &str, seq: u64, event: &Encoded, channel: &Inner) {
        self.seq = seq;
        self.assigned = self.assigned.max(seq);
        let mut position = 0;
        while let Some(slot) = self.subscribers.get(position) {
            if slot.push(seq, event, channel.config.queue_len) {
                position += 1;
                continue;
            }
            tracing::debug!(topic, seq, "subscriber lagged: disconnected");
            slot.position.store(DETACHED, Ordering::Relaxed);
            self.remove(position);
            channel.subscribers.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// `swap_remove` that keeps every slot's `position` right.
    fn remove(&mut self, position: usize) {
        if position >= self.subscribers.len() {
            return;
        }
        self.subscribers.swap_remove(position);
        if let Some(moved) = self.subscribers.get(position) {
            moved.position.store(position, Ordering::Relaxed);
        }
    }
}

/// Settings for a [`Channel`]; every default is listed on its setter.
#[derive(Debug)]
pub struct ChannelBuilder {
    config: Config,
    store: Option<Store>,
}

impl fmt::Debug for dyn ReplayLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplayLog {{ epoch: {:x} }}", self.epoch())
    }
}

impl ChannelBuilder {
    /// Default for [`max_subscribers`](ChannelBuilder::max_subscribers): 65,536.
    pub const DEFAULT_MAX_SUBSCRIBERS: usize = 65_536;
    /// Default for [`max_topic_subscribers`](ChannelBuilder::max_topic_subscribers): 16,384.
    pub const DEFAULT_MAX_TOPIC_SUBSCRIBERS: usize = 16_384;
    /// Default for [`max_topics`](ChannelBuilder::max_topics): 65,536.
    pub const DEFAULT_MAX_TOPICS: usize = 65_536;
    /// Default for [`queue_len`](ChannelBuilder::queue_len): 1,024 events.
    pub const DEFAULT_QUEUE_LEN: usize = 1024;
    /// Default for [`busy_retry`](ChannelBuilder::busy_retry): 5 s.
    pub const DEFAULT_BUSY_RETRY: Duration = Duration::from_secs(5);

    /// Sets the most subscribers over all topics. Default: 65,536. Beyond
    /// it, [`subscribe`](Channel::subscribe) fails with
    /// [`Error::is_busy`] and [`respond`](Channel::respond) answers with
    /// [`Sse::busy`].
    pub fn max_subscribers(mut self, max: usize) -> ChannelBuilder {
        self.config.max_subscribers = max;
        self
    }

    /// Sets the most subscribers of one topic. Default: 16,384. Beyond it,
    /// as for [`max_subscribers`](ChannelBuilder::max_subscribers).
    pub fn max_topic_subscribers(mut self, max: usize) -> ChannelBuilder {
        self.config.max_topic_subscribers = max;
        self
    }

    /// Sets the most topics. Default: 65,536. Topics are kept for the
    /// channel's life (each holds its `seq`; the log holds its events).
    /// Beyond it, publishing or subscribing to a new topic fails with
    /// [`Error::is_too_many_topics`].
    pub fn max_topics(mut self, max: usize) -> ChannelBuilder {
        self.config.max_topics = max;
        self
    }

    /// Sets the most events waiting for one subscriber. Default: 1,024.
    /// A subscriber with this many unsent events is disconnected (and
    /// resumes from the log). Raised to 1 if zero.
    pub fn queue_len(mut self, len: usize) -> ChannelBuilder {
        self.config.queue_len = len.max(1);
        self
    }

    /// Sets the replay log. Default: [`MemoryLog::new`] (per topic: 1,024
    /// events and 1 MiB). Replaces any store set before.
    pub fn log(mut self, log: impl ReplayLog) -> ChannelBuilder {
        self.store = Some(Store::Log(Box::new(log)));
        self
    }

    /// Keeps the history in an embedded file ([`FileStore`](crate::FileStore)):
    /// a restart keeps the epoch, so clients resume across it. A clean
    /// restart loses no acknowledged event; a crash loses none with
    /// [`Durability::Immediate`](crate::Durability::Immediate), and at most
    /// one window of acknowledgements with
    /// [`Durability::Batched`](crate::Durability::Batched). Replaces any log
    /// or store set before.
    #[cfg(feature = "redb")]
    pub fn file_store(mut self, store: crate::FileStore) -> ChannelBuilder {
        self.store = Some(Store::File(store));
        self
    }

    /// Keeps the history in Redis Streams and receives live events through
    /// Redis Pub/Sub ([`RedisStore`](crate::RedisStore)), so several nodes
    /// serve one set of topics. Replaces any log or store set before.
    #[cfg(feature = "redis")]
    pub fn redis_store(mut self, store: crate::RedisStore) -> ChannelBuilder {
        self.store = Some(Store::Redis(store));
        self
    }

    /// Whether a subscriber without `Last-Event-ID` first gets an id-only
    /// block (`id: <current position>`), so that its client can resume
    /// without a gap even if it disconnects before its first event.
    /// Default: true.
    pub fn prime(mut self, prime: bool) -> ChannelBuilder {
        self.config.prime = prime;
        self
    }

    /// Sets the keep-alive of [`respond`](Channel::respond)'s bodies.
    /// Default: [`KeepAlive::new`] (15 s).
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> ChannelBuilder {
        self.config.keep_alive = Some(keep_alive);
        self
    }

    /// Turns keep-alives off in [`respond`](Channel::respond)'s bodies.
    /// Default: on.
    pub fn no_keep_alive(mut self) -> ChannelBuilder {
        self.config.keep_alive = None;
        self
    }

    /// Sends `retry:` first in [`respond`](Channel::respond)'s bodies.
    /// Default: none.
    pub fn retry(mut self, retry: Duration) -> ChannelBuilder {
        self.config.retry = Some(retry);
        self
    }

    /// Sets the base of the `retry:` hint (or `Retry-After`) answered when a
    /// subscriber limit is hit ([`Sse::busy`]; up to 50 % jitter is added).
    /// Default: 5 s.
    pub fn busy_retry(mut self, retry: Duration) -> ChannelBuilder {
        self.config.busy_retry = retry;
        self
    }

    /// Ends [`respond`](Channel::respond)'s bodies when `shutdown` is
    /// triggered, after its farewell. Default: none.
    pub fn shutdown(mut self, shutdown: &Shutdown) -> ChannelBuilder {
        self.config.shutdown = Some(shutdown.clone());
        self
    }

    /// Sets the query parameter [`respond_to`](Channel::respond_to) reads a
    /// `Last-Event-ID` from when the header is absent; `None` reads only the
    /// header. Default: `lastEventId`.
    pub fn query_param(mut self, param: Option<&str>) -> ChannelBuilder {
        self.config.query_param = param.map(Into::into);
        self
    }

    /// The channel. With a [`RedisStore`](crate::RedisStore), call it
    /// inside a tokio runtime: the channel's Redis task is spawned on it.
    pub fn build(self) -> Channel {
        let store = self
            .store
            .unwrap_or_else(|| Store::Log(Box::new(MemoryLog::new())));
        let inner = Arc::new_cyclic(|weak| {
            store.start(weak.clone());
            Inner {
                topics: Mutex::new(HashMap::new()),
                store,
                subscribers: AtomicUsize::new(0),
                config: self.config,
            }
        });
        Channel { inner }
    }
}

impl Channel {
    /// A channel with every default (see [`ChannelBuilder`]).
    pub fn new() -> Channel {
        Channel::builder().build()
    }

    /// Settings for a channel.
    pub fn builder() -> ChannelBuilder {
        ChannelBuilder {
            config: Config {
                max_subscribers: ChannelBuilder::DEFAULT_MAX_SUBSCRIBERS,
                max_topic_subscribers: ChannelBuilder::DEFAULT_MAX_TOPIC_SUBSCRIBERS,
                max_topics: ChannelBuilder::DEFAULT_MAX_TOPICS,
                queue_len: ChannelBuilder::DEFAULT_QUEUE_LEN,
                prime: true,
                keep_alive: Some(KeepAlive::new()),
                retry: None,
                busy_retry: ChannelBuilder::DEFAULT_BUSY_RETRY,
                shutdown: None,
                query_param: Some(LastEventId::DEFAULT_QUERY_PARAM.into()),
            },
            store: None,
        }
    }

    /// Publishes `event` to `topic` and returns the id it was given.
    ///
    /// The channel sets the event's `id` (any id it had is replaced), encodes
    /// it once with `bourn-codec`, appends it to the log and queues it for
    /// every subscriber of the topic: a refcount bump each, never a copy.
    /// Never waits: a subscriber whose queue is full is disconnected instead.
    ///
    /// With a [`FileStore`](crate::FileStore) it returns once the event is
    /// queued for the store's next commit, before it is durable, and
    /// subscribers get it once it is; [`send`](Channel::send) waits as the
    /// store's [`Durability`](crate::Durability) says. With a
    /// [`RedisStore`](crate::RedisStore), whose ids Redis assigns, it fails
    /// with [`Error::is_async_only`]: use `send`.
    pub fn publish(&self, topic: &str, event: Event) -> Result<EventId, Error> {
        self.publish_local(topic, event, None)
    }

    /// Publishes `event` to `topic` through any store and returns, once the
    /// store holds it, the id it was given.
    ///
    /// With the in-memory log this is [`publish`](Channel::publish). With a
    /// [`FileStore`](crate::FileStore) it returns once the event is durable
    /// ([`Durability::Immediate`](crate::Durability::Immediate), the
    /// default) or once it is queued within a bounded loss window
    /// ([`Durability::Batched`](crate::Durability::Batched)). With a
    /// [`RedisStore`](crate::RedisStore) it returns once Redis has assigned
    /// the id, appended the event to the topic's stream and published it to
    /// every node. Fails with [`Error::is_unavailable`] when the store
    /// cannot take the event (Redis unreachable, a failed write): nothing
    /// was published.
    pub async fn send(&self, topic: &str, event: Event) -> Result<EventId, Error> {
        match &self.inner.store {
            Store::Log(_) => self.publish(topic, event),
            #[cfg(feature = "redb")]
            Store::File(_) => {
                let (done, durable) = tokio::sync::oneshot::channel();
                let id = self.publish_local(topic, event, Some(done))?;
                match durable.await {
                    Ok(Ok(())) => Ok(id),
                    Ok(Err(error)) => Err(error),
                    Err(_) => Err(Error::new(Kind::Unavailable)),
                }
            }
            #[cfg(feature = "redis")]
            Store::Redis(redis) => {
                self.inner.topic(topic)?;
                redis.publish(topic, event).await
            }
        }
    }

    /// Publishing where this process assigns the `seq`: the memory log
    /// (appended and delivered at once) and the file store (queued for its
    /// writer, which delivers after the commit and then answers `done`).
    fn publish_local(
        &self,
        topic: &str,
        event: Event,
        done: Option<crate::store::Done>,
    ) -> Result<EventId, Error> {
        let inner = &*self.inner;
        let topic_ref = inner.topic(topic)?;
        let mut state = lock(&topic_ref.state);
        let id = EventId::new(state.epoch, state.assigned + 1);
        let event = event
            .into_builder()
            .id(id.to_string())
            .build()
            .map_err(|error| Error::with_source(Kind::Encode, error))?;
        let encoded = Encoded::from(&event);
        match &inner.store {
            Store::Log(log) => {
                log.append(topic, id.seq(), &encoded);
                state.fan_out(topic, id.seq(), &encoded, inner);
            }
            #[cfg(feature = "redb")]
            Store::File(file) => {
                // Queued under the topic's lock, so the writer sees each
                // topic's events in `seq` order.
                file.submit(&topic_ref, id.seq(), encoded, done)?;
                state.assigned = id.seq();
            }
            #[cfg(feature = "redis")]
            Store::Redis(_) => return Err(Error::new(Kind::AsyncOnly)),
        }
        #[cfg(not(feature = "redb"))]
        drop(done);
        Ok(id)
    }

    /// Subscribes to `topic`, resuming after `last_event_id` if given.
    ///
    /// The subscription is registered for live events first, then the
    /// topic's newest `seq` is noted, the log replayed up to it, and live
    /// events at or below it dropped: no gap and no duplicate at the switch.
    ///
    /// Without `last_event_id`, the stream starts with the current position
    /// as an id-only block (see [`prime`](ChannelBuilder::prime)). An id the
    /// log cannot resume from gets a [`RESET_EVENT`] first, then live events.
    ///
    /// Fails with [`Error::is_busy`] at a subscriber limit and
    /// [`Error::is_too_many_topics`] for a new topic beyond the topic limit.
    pub fn subscribe(
        &self,
        topic: &str,
        last_event_id: Option<&LastEventId>,
    ) -> Result<Subscription, Error> {
        let inner = &self.inner;
        let config = &inner.config;
        let count = inner.subscribers.fetch_add(1, Ordering::Relaxed);
        if count >= config.max_subscribers {
            inner.subscribers.fetch_sub(1, Ordering::Relaxed);
            return Err(Error::new(Kind::ChannelFull(config.max_subscribers)));
        }
        let topic_ref = match inner.topic(topic) {
            Ok(topic_ref) => topic_ref,
            Err(error) => {
                inner.subscribers.fetch_sub(1, Ordering::Relaxed);
                return Err(error);
            }
        };
        let (slot, epoch, top) = {
            let mut state = lock(&topic_ref.state);
            if state.subscribers.len() >= config.max_topic_subscribers {
                drop(state);
                inner.subscribers.fetch_sub(1, Ordering::Relaxed);
                return Err(Error::new(Kind::TopicFull(config.max_topic_subscribers)));
            }
            let slot = Arc::new(Slot::new(state.subscribers.len()));
            state.subscribers.push(Arc::clone(&slot));
            (slot, state.epoch, state.seq)
        };
        #[cfg(feature = "redis")]
        if let Store::Redis(redis) = &inner.store {
            let start = redis.start(Arc::clone(&topic_ref), last_event_id.cloned(), config.prime);
            return Ok(Subscription::pending(
                start,
                slot,
                topic_ref,
                Arc::clone(inner),
            ));
        }
        let position = EventId::new(epoch, top);
        let resume = last_event_id.map(|id| id.as_str().parse::<EventId>());
        let (prelude, replay) = match start(resume, position, config.prime) {
            Resume::From(after) => match inner.store.replay(topic, after, top) {
                Some(events) => (None, events),
                None => (reset(position, "trimmed"), Vec::new()),
            },
            Resume::Prelude(prelude) => (prelude, Vec::new()),
        };
        Ok(Subscription::new(
            prelude,
            replay,
            top,
            slot,
            topic_ref,
            Arc::clone(inner),
        ))
    }

    /// The response for a subscriber of `topic`: [`subscribe`](Channel::subscribe)
    /// in an [`Sse`] body with the channel's keep-alive, `retry` and
    /// shutdown, or, at a limit, the [`Sse::busy`] answer (never a 5xx
    /// unless the client asked for it). `request_headers` are read for the
    /// `Prefer: retry-after` opt-in only.
    pub fn respond(
        &self,
        topic: &str,
        last_event_id: Option<&LastEventId>,
        request_headers: &HeaderMap,
    ) -> Response<Sse<Subscription>> {
        let config = &self.inner.config;
        let subscription = match self.subscribe(topic, last_event_id) {
            Ok(subscription) => subscription,
            Err(error) => {
                tracing::debug!(topic, %error, "subscriber turned away");
                return Sse::busy(request_headers, config.busy_retry);
            }
        };
        let mut sse = Sse::new(subscription).no_keep_alive();
        if let Some(keep_alive) = &config.keep_alive {
            sse = sse.keep_alive(keep_alive.clone());
        }
        if let Some(retry) = config.retry {
            sse = sse.retry(retry);
        }
        if let Some(shutdown) = &config.shutdown {
            sse = sse.shutdown(shutdown);
        }
        sse.into_http_response()
    }

    /// [`respond`](Channel::respond), with the `Last-Event-ID` read from the
    /// request's header or the channel's [`query_param`](ChannelBuilder::query_param).
    pub fn respond_to<B>(&self, topic: &str, request: &Request<B>) -> Response<Sse<Subscription>> {
        let param = self.inner.config.query_param.as_deref();
        let last_event_id = LastEventId::from_request(request, param);
        self.respond(topic, last_event_id.as_ref(), request.headers())
    }

    /// Subscribers connected now, over all topics (lagged and dropped ones
    /// are not counted).
    pub fn subscriber_count(&self) -> usize {
        self.inner.subscribers.load(Ordering::Relaxed)
    }

    /// Subscribers of `topic` connected now.
    pub fn topic_subscriber_count(&self, topic: &str) -> usize {
        let topic = lock(&self.inner.topics).get(topic).cloned();
        topic.map_or(0, |topic| lock(&topic.state).subscribers.len())
    }

    /// The newest id published to `topic` (`seq` 0 if none yet).
    ///
    /// With a [`RedisStore`](crate::RedisStore) this is what this node knows:
    /// `0.0` for a topic it has not read from Redis yet.
    pub fn position(&self, topic: &str) -> EventId {
        let topic_ref = lock(&self.inner.topics).get(topic).cloned();
        match topic_ref {
            Some(topic_ref) => {
                let state = lock(&topic_ref.state);
                EventId::new(state.epoch, state.seq)
            }
            None => self.inner.store.position(topic),
        }
    }
}

impl Inner {
    /// The topic named `name`, if it is in use.
    #[cfg_attr(
        not(feature = "redis"),
        allow(dead_code, reason = "used by the Redis store")
    )]
    pub(crate) fn existing_topic(&self, name: &str) -> Option<Arc<Topic>> {
        lock(&self.topics).get(name).cloned()
    }

    /// Every topic in use.
    #[cfg_attr(
        not(feature = "redis"),
        allow(dead_code, reason = "used by the Redis store")
    )]
    pub(crate) fn all_topics(&self) -> Vec<Arc<Topic>> {
        lock(&self.topics).values().cloned().collect()
    }

    /// The topic named `name`, created on first use.
    pub(crate) fn topic(&self, name: &str) -> Result<Arc<Topic>, Error> {
        let mut topics = lock(&self.topics);
        if let Some(topic) = topics.get(name) {
            return Ok(Arc::clone(topic));
        }
        if topics.len() >= self.config.max_topics {
            return Err(Error::new(Kind::TooManyTopics(self.config.max_topics)));
        }
        let position = self.store.position(name);
        let topic = Arc::new(Topic {
            name: name.into(),
            state: Mutex::new(TopicState {
                epoch: position.epoch(),
                seq: position.seq(),
                assigned: position.seq(),
                synced: false,
                subscribers: Vec::new(),
            }),
        });
        topics.insert(name.into(), Arc::clone(&topic));
        Ok(topic)
    }
}

impl Default for Channel {
    fn default() -> Self {
        Channel::new()
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("store", &self.inner.store)
            .field("subscribers", &self.subscriber_count())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What a new subscriber gets before live events.
pub(crate) enum Resume {
    /// A priming id, a reset event or nothing; no replay.
    Prelude(Option<Encoded>),
    /// The events after this `seq` up to the position, from the store.
    From(u64),
}

/// The start of a subscriber at `position` that sent `resume` (parsed).
pub(crate) fn start(
    resume: Option<Result<EventId, crate::event_id::ParseEventIdError>>,
    position: EventId,
    prime: bool,
) -> Resume {
    match resume {
        None if prime => Resume::Prelude(id_only(position)),
        None => Resume::Prelude(None),
        Some(Err(_)) => Resume::Prelude(reset(position, "unknown")),
        Some(Ok(id)) if id.epoch() != position.epoch() => Resume::Prelude(reset(position, "epoch")),
        Some(Ok(id)) if id.seq() > position.seq() => Resume::Prelude(reset(position, "ahead")),
        Some(Ok(id)) if id.seq() == position.seq() => Resume::Prelude(None),
        Some(Ok(id)) => Resume::From(id.seq()),
    }
}

/// `id: <position>` alone: moves the client's last event id, dispatches nothing.
fn id_only(position: EventId) -> Option<Encoded> {
    Event::builder()
        .id(position.to_string())
        .build()
        .ok()
        .map(Encoded::from)
}

/// The [`RESET_EVENT`] with the current position and the reason.
pub(crate) fn reset(position: EventId, reason: &'static str) -> Option<Encoded> {
    Event::builder()
        .event(RESET_EVENT)
        .id(position.to_string())
        .data(reason)
        .build()
        .ok()
        .map(Encoded::from)
}
