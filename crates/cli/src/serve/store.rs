//! `--store`: where the hub keeps its topics' history.

use std::time::Duration;

use rill_server::{ChannelBuilder, Durability, FileStore, MemoryLog, RedisStore};

use super::config::Config;
use crate::exit::Failure;

/// The `--store` values, for help and errors.
pub const KINDS: &str = "`memory`, a file path (embedded store) or `redis://host:port`";

/// A channel builder with the history `store` names: `memory` (the
/// default; `--log-events`/`--log-bytes` bound it), `redis://…` or
/// `rediss://…` (Redis Streams, shared by several hubs), anything else a
/// file path (the embedded store, durable across restarts).
pub fn builder(store: Option<&str>, config: &Config) -> Result<ChannelBuilder, Failure> {
    let builder = rill_server::Channel::builder();
    match store.unwrap_or("memory") {
        "memory" | "" => Ok(builder.log(
            MemoryLog::new()
                .max_events(config.log_events)
                .max_bytes(config.log_bytes),
        )),
        url if url.starts_with("redis://") || url.starts_with("rediss://") => {
            let store = RedisStore::open(url).map_err(|error| {
                Failure::error(format!(
                    "--store {url}: not a Redis URL ({error}); expected {KINDS}"
                ))
            })?;
            tracing::info!(%url, "store: Redis Streams (topics shared with every hub on it)");
            Ok(builder.redis_store(store))
        }
        path => {
            let store = FileStore::builder(path)
                .durability(Durability::Batched(Duration::from_millis(2)))
                .open()
                .map_err(|error| {
                    let cause = std::error::Error::source(&error)
                        .map_or_else(|| error.to_string(), ToString::to_string);
                    Failure::error(format!(
                        "--store {path}: cannot open the embedded store: {cause}"
                    ))
                })?;
            tracing::info!(%path, "store: embedded file (durable across restarts)");
            Ok(builder.file_store(store))
        }
    }
}
