//! A Redis backend for [bourn-server](https://docs.rs/bourn-server)
//! channels: each topic's history in a Redis Stream, every commit reported
//! to every node over Redis Pub/Sub, so that several processes serve the
//! same topics, with ids that never name two events and a failure model a
//! publisher can act on. It implements
//! [`bourn_server::backend::Backend`] with the crate's public API only.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use bourn_server::backend::{Backend, Feed, FeedSink, Health, Record};
//! use bourn_server::EventId;
//! use bourn_server_redis::RedisBackend;
//!
//! // What a channel does with the feed; here, print it.
//! struct Print;
//!
//! impl FeedSink for Print {
//!     fn committed(&self, topic: &str, epoch: u64, record: Record) {
//!         println!("{topic} {}", EventId::new(epoch, record.seq));
//!     }
//!     fn advanced(&self, topic: &str, epoch: u64, seq: u64) {
//!         println!("{topic} up to {}", EventId::new(epoch, seq));
//!     }
//!     fn history_lost(&self, topic: &str, position: EventId) {
//!         println!("{topic} lost its history, now at {position}");
//!     }
//!     fn health(&self, health: Health) {
//!         println!("{health:?}");
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let backend = RedisBackend::builder("redis://127.0.0.1:6379")
//!     .prefix("news-hub")
//!     .max_len(10_000)
//!     .timeout(Duration::from_secs(1))
//!     .open()
//!     .await?;
//! backend.start(Feed::new(Arc::new(Print)))?;
//! let body = bytes::Bytes::from_static(b"data: hello\n\n");
//! match backend.append("news", body, Some("request-7f3a")).await {
//!     Ok(id) => println!("stored as {id}"),
//!     // Safe to retry: nothing was stored.
//!     Err(error) if error.is_unavailable() => eprintln!("{error}"),
//!     // Maybe stored: retry only with the same key.
//!     Err(error) => eprintln!("{error}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A channel takes the backend as any other (see bourn-server's
//! `ChannelBuilder`); it calls `start`, follows the feed and replays from
//! the stream. The node listens from `open` on: what other nodes commit
//! between `open` and `start` is reported at `start`.
//!
//! See [`RedisBackend`] for the layout in Redis, the failure model (what
//! a timeout, a silent connection and a restarted Redis look like to a
//! publisher and to the channel), and the limits.
//!
//! # Limits
//!
//! Every default, with its setter on [`RedisBackendBuilder`]:
//! - key prefix: Default: `bourn`;
//! - events kept per topic: Default: 100,000 (approximately, `MAXLEN ~`);
//! - command and dial timeout: Default: 2 s;
//! - a silent Pub/Sub connection is noticed within: Default: 5 s;
//! - idempotency keys are remembered for: Default: 10 min.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod builder;
mod connection;
mod frame;
mod known;
mod listen;
mod outbox;
mod scripts;

pub use crate::backend::RedisBackend;
pub use crate::builder::RedisBackendBuilder;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
