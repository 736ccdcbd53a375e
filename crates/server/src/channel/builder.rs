//! `ChannelBuilder`: a channel's settings and its backend.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::backend::{Backend, Feed, Health};
use crate::erased::DynBackend;
use crate::error::{Error, Kind};
use crate::keep_alive::KeepAlive;
use crate::last_event_id::LastEventId;
use crate::memory::MemoryBackend;
use crate::shutdown::Shutdown;
use crate::stats::Counters;

use super::{Channel, ChannelFeed, Config, Inner, start_expiry};

/// Settings for a [`Channel`]; every default is listed on its setter.
#[must_use = "a builder does nothing until `build` is called"]
pub struct ChannelBuilder {
    config: Config,
    backend: Option<Arc<dyn DynBackend>>,
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

    pub(super) fn new() -> ChannelBuilder {
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
                idle_topic_ttl: None,
            },
            backend: None,
        }
    }

    /// Sets where the topics' history lives. Default: a
    /// [`MemoryBackend::new`] (per topic: 1,024 events and 1 MiB).
    pub fn backend(mut self, backend: impl Backend) -> ChannelBuilder {
        self.backend = Some(Arc::new(backend));
        self
    }

    /// Sets the most subscribers over all topics. Default: 65,536. Beyond
    /// it, [`subscribe`](Channel::subscribe) fails with
    /// [`Error::is_busy`] and [`respond`](Channel::respond) answers with
    /// [`Sse::busy`](crate::Sse::busy).
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

    /// Sets the most topics this node follows at once (topics with
    /// subscribers here; with [`idle_topic_ttl`](ChannelBuilder::idle_topic_ttl),
    /// also topics published to within the ttl). Default: 65,536. Beyond
    /// it, subscribing to (or publishing to) another topic fails with
    /// [`Error::is_too_many_topics`].
    pub fn max_topics(mut self, max: usize) -> ChannelBuilder {
        self.config.max_topics = max;
        self
    }

    /// Sets the most events waiting for one subscriber. Default: 1,024.
    /// A subscriber with this many unsent events is disconnected (and
    /// resumes from the backend). Raised to 1 if zero.
    pub fn queue_len(mut self, len: usize) -> ChannelBuilder {
        self.config.queue_len = len.max(1);
        self
    }

    /// Removes a topic (its history in the backend) once nobody published
    /// to it for `ttl` and it has no subscriber here. Default: off (topics
    /// live as long as the backend keeps them). Needs a tokio runtime at
    /// [`build`](ChannelBuilder::build).
    pub fn idle_topic_ttl(mut self, ttl: Duration) -> ChannelBuilder {
        self.config.idle_topic_ttl = Some(ttl);
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
    /// subscriber limit is hit ([`Sse::busy`](crate::Sse::busy); up to 50 %
    /// jitter is added). Default: 5 s.
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

    /// The channel, with its backend started ([`Backend::start`]). Build it
    /// inside a tokio runtime: gap filling and idle expiry run on it, and a
    /// backend may start its own tasks there. Fails with
    /// [`Error::is_unavailable`] when the backend cannot start.
    pub fn build(self) -> Result<Channel, Error> {
        let backend = self
            .backend
            .unwrap_or_else(|| Arc::new(MemoryBackend::new()));
        let (channel, started) = ChannelBuilder::assemble(self.config, backend);
        started.map_err(|error| Error::with_source(Kind::Unavailable, error))?;
        Ok(channel)
    }

    /// A channel on a memory backend, whose start cannot fail.
    pub(super) fn build_in_memory(self) -> Channel {
        let backend: Arc<dyn DynBackend> = Arc::new(MemoryBackend::new());
        // `MemoryBackend::start` only stores the feed: it returns `Ok`.
        ChannelBuilder::assemble(self.config, backend).0
    }

    fn assemble(
        config: Config,
        backend: Arc<dyn DynBackend>,
    ) -> (Channel, Result<(), crate::backend::BackendError>) {
        let inner = Arc::new(Inner {
            topics: Mutex::new(HashMap::new()),
            backend,
            subscribers: AtomicUsize::new(0),
            config,
            stats: Counters::default(),
            health: Mutex::new(Health::Healthy),
            activity: Mutex::new(HashMap::new()),
            runtime: tokio::runtime::Handle::try_current().ok(),
        });
        let feed = Feed::new(Arc::new(ChannelFeed(Arc::downgrade(&inner))));
        let started = inner.backend.start(feed);
        if started.is_ok() {
            start_expiry(&inner);
        }
        (Channel { inner }, started)
    }
}

impl fmt::Debug for ChannelBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelBuilder")
            .field("config", &self.config)
            .field("backend", &self.backend)
            .finish()
    }
}
