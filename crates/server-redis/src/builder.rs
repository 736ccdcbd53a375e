//! `RedisBackendBuilder`: the backend's typed configuration.

use std::time::Duration;

use bourn_server::backend::BackendError;
use redis::Client;

use crate::backend::RedisBackend;
use crate::connection::Fault;

/// Configures and opens a [`RedisBackend`]; from [`RedisBackend::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `open` is awaited"]
pub struct RedisBackendBuilder {
    pub(crate) url: String,
    pub(crate) prefix: String,
    pub(crate) max_len: u64,
    pub(crate) timeout: Duration,
    pub(crate) heartbeat: Duration,
    pub(crate) idempotency_window: Duration,
}

/// The shortest [`timeout`](RedisBackendBuilder::timeout) and
/// [`heartbeat`](RedisBackendBuilder::heartbeat): 10 ms.
const FLOOR: Duration = Duration::from_millis(10);

impl RedisBackendBuilder {
    pub(crate) fn new(url: &str) -> RedisBackendBuilder {
        RedisBackendBuilder {
            url: url.to_owned(),
            prefix: RedisBackend::DEFAULT_PREFIX.to_owned(),
            max_len: RedisBackend::DEFAULT_MAX_LEN,
            timeout: RedisBackend::DEFAULT_TIMEOUT,
            heartbeat: RedisBackend::DEFAULT_HEARTBEAT,
            idempotency_window: RedisBackend::DEFAULT_IDEMPOTENCY_WINDOW,
        }
    }

    /// The prefix of every key and of the Pub/Sub channel, so that several
    /// independent hubs share one Redis. Nodes that serve the same topics
    /// use the same prefix. Default: `bourn`
    /// ([`RedisBackend::DEFAULT_PREFIX`]).
    pub fn prefix(mut self, prefix: &str) -> RedisBackendBuilder {
        prefix.clone_into(&mut self.prefix);
        self
    }

    /// How many events each topic's stream keeps, trimmed approximately
    /// (`XADD … MAXLEN ~`: Redis trims whole stream nodes, so a little more
    /// may be kept). At least 1. Default: 100,000
    /// ([`RedisBackend::DEFAULT_MAX_LEN`]).
    pub fn max_len(mut self, max_len: u64) -> RedisBackendBuilder {
        self.max_len = max_len.max(1);
        self
    }

    /// How long a command (and dialing a connection) may take. An append
    /// with no answer by then fails with
    /// [`BackendError::is_outcome_unknown`], and its connection is replaced.
    /// At least 10 ms. Default: 2 s ([`RedisBackend::DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> RedisBackendBuilder {
        self.timeout = timeout.max(FLOOR);
        self
    }

    /// The longest a silent Pub/Sub connection goes unnoticed: the node
    /// pings it every half of this, and a ping not answered within the
    /// other half closes it, reports the backend unhealthy and connects
    /// again. At least 10 ms. Default: 5 s
    /// ([`RedisBackend::DEFAULT_HEARTBEAT`]).
    pub fn heartbeat(mut self, heartbeat: Duration) -> RedisBackendBuilder {
        self.heartbeat = heartbeat.max(FLOOR);
        self
    }

    /// How long Redis remembers an append's idempotency key (per topic):
    /// within it, an append with the same key and topic stores nothing and
    /// answers the first append's id. At least 1 ms. Default: 10 min
    /// ([`RedisBackend::DEFAULT_IDEMPOTENCY_WINDOW`]).
    pub fn idempotency_window(mut self, window: Duration) -> RedisBackendBuilder {
        self.idempotency_window = window.max(Duration::from_millis(1));
        self
    }

    /// Opens the backend: checks the URL and that Redis answers a `PING`
    /// within the timeout, then subscribes to the records of every node
    /// (waiting for that at most the timeout too). What the node receives
    /// from then on reaches the feed that
    /// [`Backend::start`](bourn_server::backend::Backend::start) gives it,
    /// the records received before `start` included. Once open, the
    /// backend reconnects by itself. Must be called inside a tokio runtime,
    /// which runs the node's Pub/Sub task until the backend is dropped.
    ///
    /// Fails with [`BackendError::is_unavailable`] for a URL that is not a
    /// Redis URL (`redis://host:port[/db]`) or a Redis that does not answer.
    pub async fn open(self) -> Result<RedisBackend, BackendError> {
        let client = Client::open(self.url.as_str())
            .map_err(|error| BackendError::unavailable(Fault::Redis(error)))?;
        let backend = RedisBackend::new(client, self);
        backend.ping().await?;
        backend.listen().await;
        Ok(backend)
    }
}
