//! `Channel`: publish once, fan out to every subscriber of a topic, on top
//! of any [`Backend`].

mod builder;
mod topic;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bourn_codec::Event;
use bytes::Bytes;
use http::{HeaderMap, Request, Response};

use crate::backend::{BackendError, FeedSink, Health, Record};
use crate::encoded::Encoded;
use crate::erased::DynBackend;
use crate::error::{Error, Kind};
use crate::event_id::EventId;
use crate::keep_alive::KeepAlive;
use crate::last_event_id::LastEventId;
use crate::shutdown::Shutdown;
use crate::sse::Sse;
use crate::stats::{Counters, ResetReason, Stats};
use crate::subscription::{Resume, Slot, Subscription};
use crate::sync::lock;

pub use self::builder::ChannelBuilder;
pub(crate) use self::topic::Topic;

/// The event type of the reset event: the `Last-Event-ID` a client sent
/// cannot be resumed from, or the history it followed is gone, so it missed
/// events. Its `id` is the current position (the client resumes from there
/// next time) and its `data` the reason ([`ResetReason::as_str`]):
/// `trimmed`, `epoch`, `unknown`, `ahead`, `unavailable` or `removed`.
pub const RESET_EVENT: &str = "bourn-reset";

/// A fan-out hub of named topics, on top of a [`Backend`](crate::backend::Backend)
/// that keeps their history.
///
/// [`publish`](Channel::publish) encodes the event once with `bourn-codec`
/// and appends it to the backend, which gives it the id `<epoch>.<seq>`
/// ([`EventId`]); every subscriber of the topic, on this node or any node
/// sharing the backend, gets a clone of the same bytes.
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
    /// Topics with subscribers on this node.
    topics: Mutex<HashMap<Box<str>, Arc<Topic>>>,
    pub(crate) backend: Arc<dyn DynBackend>,
    pub(crate) subscribers: AtomicUsize,
    pub(crate) config: Config,
    pub(crate) stats: Counters,
    health: Mutex<Health>,
    /// When each topic was last published to, for idle expiry (only with
    /// [`ChannelBuilder::idle_topic_ttl`]).
    activity: Mutex<HashMap<Box<str>, Instant>>,
    /// The runtime gap fills and expiry run on, if the channel was built in one.
    pub(crate) runtime: Option<tokio::runtime::Handle>,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) max_subscribers: usize,
    pub(crate) max_topic_subscribers: usize,
    pub(crate) max_topics: usize,
    pub(crate) queue_len: usize,
    pub(crate) prime: bool,
    pub(crate) keep_alive: Option<KeepAlive>,
    pub(crate) retry: Option<Duration>,
    pub(crate) busy_retry: Duration,
    pub(crate) shutdown: Option<Shutdown>,
    pub(crate) query_param: Option<Box<str>>,
    pub(crate) idle_topic_ttl: Option<Duration>,
}

impl Channel {
    /// A channel on a [`MemoryBackend`](crate::MemoryBackend) with every
    /// default (see [`ChannelBuilder`]).
    pub fn new() -> Channel {
        Channel::builder().build_in_memory()
    }

    /// Settings for a channel.
    pub fn builder() -> ChannelBuilder {
        ChannelBuilder::new()
    }

    /// Publishes `event` to `topic` and returns the id the backend gave it,
    /// once the backend holds it as durably as it promises.
    ///
    /// The channel replaces any id the event had, encodes it once with
    /// `bourn-codec` and appends it to the backend; every subscriber of the
    /// topic, here and on other nodes, gets it as the backend reports it
    /// committed. With the [`MemoryBackend`](crate::MemoryBackend) that is
    /// before this returns, and nothing here waits.
    ///
    /// Errors: [`Error::is_unavailable`] when the backend refused it (nothing
    /// was published: retry); [`Error::is_outcome_unknown`] when the backend
    /// did not answer (it may have been published: retry only with
    /// [`publish_idempotent`](Channel::publish_idempotent)'s key);
    /// [`Error::is_too_many_topics`] for a new topic beyond the limit (with
    /// idle expiry on).
    pub async fn publish(&self, topic: &str, event: Event) -> Result<EventId, Error> {
        self.publish_with_key(topic, event, None).await
    }

    /// [`publish`](Channel::publish) with an idempotency key: a repeat of
    /// the same key on the same topic within the backend's window publishes
    /// nothing and returns the first publish's id, so a publisher may retry
    /// after an unknown outcome without making a duplicate.
    pub async fn publish_idempotent(
        &self,
        topic: &str,
        key: &str,
        event: Event,
    ) -> Result<EventId, Error> {
        self.publish_with_key(topic, event, Some(key)).await
    }

    async fn publish_with_key(
        &self,
        topic: &str,
        event: Event,
        key: Option<&str>,
    ) -> Result<EventId, Error> {
        let inner = &*self.inner;
        inner.note_activity(topic)?;
        let body = body_of(event);
        match inner.backend.append(topic, body, key).await {
            Ok(id) => {
                Counters::add(&inner.stats.published, 1);
                Ok(id)
            }
            Err(error) => {
                let (counter, kind) = if error.is_outcome_unknown() {
                    (&inner.stats.publish_unknown, Kind::OutcomeUnknown)
                } else {
                    (&inner.stats.publish_failures, Kind::Unavailable)
                };
                Counters::add(counter, 1);
                Err(Error::with_source(kind, error))
            }
        }
    }

    /// Subscribes to `topic`, resuming after `last_event_id` if given.
    ///
    /// The subscription is registered for live events first, then the
    /// topic's position is noted, the events after `last_event_id` replayed
    /// up to it (page by page, as the subscriber reads), and live events at
    /// or below it dropped: no gap and no duplicate at the switch.
    ///
    /// Without `last_event_id`, the stream starts with the current position
    /// as an id-only block (see [`prime`](ChannelBuilder::prime)). An id the
    /// backend cannot resume from gets a [`RESET_EVENT`] first, then live
    /// events. Subscribing creates nothing in the backend.
    ///
    /// Fails with [`Error::is_busy`] at a subscriber limit and
    /// [`Error::is_too_many_topics`] for a new topic beyond the topic limit.
    pub fn subscribe(
        &self,
        topic: &str,
        last_event_id: Option<&LastEventId>,
    ) -> Result<Subscription, Error> {
        let inner = &self.inner;
        let result = inner.subscribe(topic, last_event_id);
        if result.is_err() {
            Counters::add(&inner.stats.busy, 1);
        }
        result
    }

    /// The response for a subscriber of `topic`: [`subscribe`](Channel::subscribe)
    /// in an [`Sse`] body with the channel's keep-alive, `retry` and
    /// shutdown, or, at a limit, the [`Sse::busy`] answer (never a 5xx
    /// unless the client asked for it with `Prefer: retry-after`, read from
    /// `request_headers`).
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
        self.inner
            .existing_topic(topic)
            .map_or(0, |topic| lock(&topic.state).subscribers.len())
    }

    /// The topics with subscribers on this node and how many each has,
    /// sorted by name.
    pub fn topic_subscribers(&self) -> Vec<(String, usize)> {
        let topics: Vec<Arc<Topic>> = lock(&self.inner.topics).values().cloned().collect();
        let mut counts: Vec<(String, usize)> = topics
            .iter()
            .map(|topic| (topic.name.to_string(), lock(&topic.state).subscribers.len()))
            .collect();
        counts.sort();
        counts
    }

    /// The topics this node knows of, sorted: those with subscribers here
    /// and, with [`idle_topic_ttl`](ChannelBuilder::idle_topic_ttl), those
    /// published to within the ttl. At most
    /// [`max_topics`](ChannelBuilder::max_topics) of each.
    pub fn topics(&self) -> Vec<String> {
        let inner = &self.inner;
        let mut names: Vec<String> = lock(&inner.topics)
            .keys()
            .map(|name| name.to_string())
            .collect();
        names.extend(lock(&inner.activity).keys().map(|name| name.to_string()));
        names.sort();
        names.dedup();
        names
    }

    /// The newest id of `topic` (seq 0: none yet): what this node follows,
    /// else what the backend answers.
    pub async fn position(&self, topic: &str) -> Result<EventId, Error> {
        if let Some(topic) = self.inner.existing_topic(topic) {
            let state = lock(&topic.state);
            if state.synced {
                return Ok(EventId::new(state.epoch, state.seq));
            }
        }
        self.inner
            .backend
            .position(topic)
            .await
            .map_err(backend_error)
    }

    /// Removes `topic`: the backend deletes its history, and its subscribers
    /// here get a [`RESET_EVENT`] (`removed`) with the topic's new position.
    /// Publishing to it again starts it afresh (in a new epoch, or going on
    /// with its numbering: never reusing an id).
    pub async fn remove_topic(&self, topic: &str) -> Result<(), Error> {
        let inner = &self.inner;
        inner
            .backend
            .remove_topic(topic)
            .await
            .map_err(backend_error)?;
        lock(&inner.activity).remove(topic);
        if let Some(local) = inner.existing_topic(topic) {
            let position = inner.backend.position(topic).await.map_err(backend_error)?;
            let mut state = lock(&local.state);
            state.close_all(position, ResetReason::Removed, inner);
        }
        Ok(())
    }

    /// Makes everything the backend acknowledged durable (for a backend that
    /// acknowledges early; a no-op for the others). Call it before exiting.
    pub async fn flush(&self) -> Result<(), Error> {
        self.inner.backend.flush().await.map_err(backend_error)
    }

    /// What the channel knows: counters since it was built, subscribers and
    /// topics now, and the backend's health.
    pub fn stats(&self) -> Stats {
        let inner = &self.inner;
        let topics = lock(&inner.topics).len();
        inner.stats.snapshot(
            inner.subscribers.load(Ordering::Relaxed),
            topics,
            lock(&inner.health).clone(),
        )
    }
}

fn backend_error(error: BackendError) -> Error {
    let kind = if error.is_outcome_unknown() {
        Kind::OutcomeUnknown
    } else {
        Kind::Unavailable
    };
    Error::with_source(kind, error)
}

/// The event's bytes without an `id:` line: the backend gives the id.
fn body_of(event: Event) -> Bytes {
    if event.id().is_none() {
        return event.to_bytes();
    }
    event.into_builder().clear_id().build().to_bytes()
}

impl Inner {
    fn subscribe(
        self: &Arc<Self>,
        name: &str,
        last_event_id: Option<&LastEventId>,
    ) -> Result<Subscription, Error> {
        let config = &self.config;
        let count = self.subscribers.fetch_add(1, Ordering::Relaxed);
        if count >= config.max_subscribers {
            self.subscribers.fetch_sub(1, Ordering::Relaxed);
            return Err(Error::new(Kind::ChannelFull(config.max_subscribers)));
        }
        let registered = self.register(name);
        let (topic, slot, start) = match registered {
            Ok(registered) => registered,
            Err(error) => {
                self.subscribers.fetch_sub(1, Ordering::Relaxed);
                return Err(error);
            }
        };
        let resume = match last_event_id.map(|id| id.as_str().parse::<EventId>()) {
            None => Resume::Fresh,
            Some(Ok(id)) => Resume::From(id),
            Some(Err(_)) => Resume::Invalid,
        };
        Ok(match start {
            Some(position) => {
                Subscription::started(resume, position, slot, topic, Arc::clone(self))
            }
            None => Subscription::starting(resume, slot, topic, Arc::clone(self)),
        })
    }

    /// Registers a slot in topic `name` (created here on first use) and
    /// returns the topic's position if it is known already.
    #[allow(clippy::type_complexity, reason = "a private triple")]
    fn register(&self, name: &str) -> Result<(Arc<Topic>, Arc<Slot>, Option<EventId>), Error> {
        let config = &self.config;
        let mut topics = lock(&self.topics);
        let topic = match topics.get(name) {
            Some(topic) => Arc::clone(topic),
            None => {
                if topics.len() >= config.max_topics {
                    return Err(Error::new(Kind::TooManyTopics(config.max_topics)));
                }
                let topic = Arc::new(Topic::new(name));
                topics.insert(name.into(), Arc::clone(&topic));
                topic
            }
        };
        // Under the map's lock, so that `forget` cannot remove the topic
        // between its lookup and the slot's registration.
        let mut state = lock(&topic.state);
        if state.subscribers.len() >= config.max_topic_subscribers {
            return Err(Error::new(Kind::TopicFull(config.max_topic_subscribers)));
        }
        let slot = Arc::new(Slot::new(state.subscribers.len()));
        state.subscribers.push(Arc::clone(&slot));
        let position = state.synced.then(|| EventId::new(state.epoch, state.seq));
        drop(state);
        drop(topics);
        Ok((topic, slot, position))
    }

    /// The topic named `name`, if it has subscribers here.
    pub(crate) fn existing_topic(&self, name: &str) -> Option<Arc<Topic>> {
        lock(&self.topics).get(name).cloned()
    }

    /// Drops `topic` from the map if it has no subscribers left.
    pub(crate) fn forget(&self, topic: &Arc<Topic>) {
        let mut topics = lock(&self.topics);
        let state = lock(&topic.state);
        if state.subscribers.is_empty() && !state.filling() {
            if let Some(current) = topics.get(&topic.name) {
                if Arc::ptr_eq(current, topic) {
                    topics.remove(&topic.name);
                }
            }
        }
    }

    /// Notes a publish to `name` for idle expiry.
    fn note_activity(&self, name: &str) -> Result<(), Error> {
        if self.config.idle_topic_ttl.is_none() {
            return Ok(());
        }
        let mut activity = lock(&self.activity);
        let now = Instant::now();
        if let Some(at) = activity.get_mut(name) {
            *at = now;
            return Ok(());
        }
        if activity.len() >= self.config.max_topics {
            return Err(Error::new(Kind::TooManyTopics(self.config.max_topics)));
        }
        activity.insert(name.into(), now);
        Ok(())
    }

    /// Removes the topics idle for longer than the ttl: no publish within it
    /// and no subscriber now.
    async fn expire_idle(&self, ttl: Duration) {
        let now = Instant::now();
        let idle: Vec<Box<str>> = {
            let activity = lock(&self.activity);
            let topics = lock(&self.topics);
            activity
                .iter()
                .filter(|(name, at)| {
                    now.duration_since(**at) >= ttl && !topics.contains_key(&***name)
                })
                .map(|(name, _)| name.clone())
                .collect()
        };
        for name in idle {
            match self.backend.remove_topic(&name).await {
                Ok(()) => {
                    let mut activity = lock(&self.activity);
                    // Published again meanwhile: keep it.
                    if activity
                        .get(&name)
                        .is_some_and(|at| now.duration_since(*at) >= ttl)
                    {
                        activity.remove(&name);
                        Counters::add(&self.stats.expired_topics, 1);
                        tracing::debug!(topic = &*name, "idle topic expired");
                    }
                }
                Err(error) => {
                    tracing::warn!(topic = &*name, %error, "an idle topic could not be removed");
                }
            }
        }
    }
}

/// Starts the idle-topic sweeper: every quarter of the ttl (at least every
/// 50 ms, at most every minute) while the channel lives.
pub(crate) fn start_expiry(inner: &Arc<Inner>) {
    let (Some(ttl), Some(runtime)) = (inner.config.idle_topic_ttl, &inner.runtime) else {
        if inner.config.idle_topic_ttl.is_some() {
            tracing::warn!(
                "idle topic expiry needs a tokio runtime: the channel was built outside one"
            );
        }
        return;
    };
    let period = (ttl / 4).clamp(Duration::from_millis(50), Duration::from_secs(60));
    let weak = Arc::downgrade(inner);
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(inner) = weak.upgrade() else {
                return;
            };
            inner.expire_idle(ttl).await;
        }
    });
}

/// What the backend reports, into the channel (held weakly: a backend's
/// thread or task must not keep a dropped channel alive).
pub(crate) struct ChannelFeed(pub(crate) Weak<Inner>);

impl FeedSink for ChannelFeed {
    fn committed(&self, topic: &str, epoch: u64, record: Record) {
        if let Some(inner) = self.0.upgrade() {
            inner.follow(topic, epoch, record.seq, Some(record.body));
        }
    }

    fn advanced(&self, topic: &str, epoch: u64, seq: u64) {
        if let Some(inner) = self.0.upgrade() {
            inner.follow(topic, epoch, seq, None);
        }
    }

    fn history_lost(&self, topic: &str, position: EventId) {
        if let Some(inner) = self.0.upgrade() {
            inner.history_lost(topic, position);
        }
    }

    fn health(&self, health: Health) {
        if let Some(inner) = self.0.upgrade() {
            match &health {
                Health::Healthy => tracing::info!("backend healthy"),
                Health::Unhealthy(reason) => tracing::warn!(%reason, "backend unhealthy"),
            }
            *lock(&inner.health) = health;
        }
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
            .field("backend", &self.inner.backend)
            .field("subscribers", &self.subscriber_count())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// The [`RESET_EVENT`] with the position and the reason.
pub(crate) fn reset(position: EventId, reason: ResetReason) -> Encoded {
    Encoded::reset(position, reason)
}
