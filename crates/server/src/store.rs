//! `Store`: which backend keeps a channel's history, and who assigns `seq`s.

use std::fmt;
use std::sync::Weak;

use crate::channel::Inner;
use crate::encoded::Encoded;
use crate::error::Error;
use crate::event_id::EventId;
use crate::log::ReplayLog;

/// Answered once a published event is durable (or could not be made so).
pub(crate) type Done = tokio::sync::oneshot::Sender<Result<(), Error>>;

/// The three shapes of history a channel can have. They differ in who
/// assigns a topic's `seq` and who delivers live events, which is why this
/// is an enum inside the channel rather than one trait:
///
/// | store | assigns `seq` | delivers live events | replay |
/// |---|---|---|---|
/// | `Log` ([`ReplayLog`], e.g. `MemoryLog`) | the channel, under the topic's lock | the publisher, at once | sync, in process |
/// | `File` (`FileStore`) | the channel, under the topic's lock | the store's writer, after the commit | sync, from the file |
/// | `Redis` (`RedisStore`) | Redis (a Lua script) | the node's Pub/Sub task | async, `XRANGE` |
pub(crate) enum Store {
    Log(Box<dyn ReplayLog>),
    #[cfg(feature = "redb")]
    File(crate::file_store::FileStore),
    #[cfg(feature = "redis")]
    Redis(crate::redis_store::RedisStore),
}

impl Store {
    /// Starts the store's background work for `channel` (the file store's
    /// writer thread, the Redis Pub/Sub task).
    pub(crate) fn start(&self, channel: Weak<Inner>) {
        match self {
            Store::Log(_) => drop(channel),
            #[cfg(feature = "redb")]
            Store::File(file) => file.start(channel),
            #[cfg(feature = "redis")]
            Store::Redis(redis) => redis.start_driver(channel),
        }
    }

    /// The epoch and newest `seq` of a topic not in use yet.
    pub(crate) fn position(&self, topic: &str) -> EventId {
        match self {
            Store::Log(log) => EventId::new(log.epoch(), log.last_seq(topic)),
            #[cfg(feature = "redb")]
            Store::File(file) => EventId::new(file.epoch(), file.last_seq(topic)),
            // Unknown until read from Redis (the topic is then `synced`).
            #[cfg(feature = "redis")]
            Store::Redis(_) => EventId::new(0, 0),
        }
    }

    /// The events of `topic` with `after < seq <= up_to`, or `None` when
    /// `after + 1` is not retained. Redis replays asynchronously instead.
    pub(crate) fn replay(&self, topic: &str, after: u64, up_to: u64) -> Option<Vec<Encoded>> {
        match self {
            Store::Log(log) => log.replay(topic, after, up_to),
            #[cfg(feature = "redb")]
            Store::File(file) => file.replay(topic, after, up_to),
            #[cfg(feature = "redis")]
            Store::Redis(_) => None,
        }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Store::Log(log) => log.fmt(f),
            #[cfg(feature = "redb")]
            Store::File(file) => file.fmt(f),
            #[cfg(feature = "redis")]
            Store::Redis(redis) => redis.fmt(f),
        }
    }
}
