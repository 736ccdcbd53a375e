//! An embedded, durable [`Backend`] for `bourn-server` channels: each
//! topic's history in one [redb] file, so that a restarted process keeps its
//! epoch and its events (clients resume across the restart instead of
//! getting a reset) and, with the default [`Durability::Immediate`], loses
//! no acknowledged event even on a crash. It is written against
//! `bourn_server::backend` only, as a backend of yours would be.
//!
//! ```
//! use std::sync::Arc;
//!
//! use bourn_server::EventId;
//! use bourn_server::backend::{Backend, Feed, FeedSink, Health, PageLimit, Record};
//! use bourn_server_redb::{Durability, RedbBackend};
//! use bytes::Bytes;
//!
//! /// Where the backend reports commits; a channel brings its own.
//! struct Log;
//!
//! impl FeedSink for Log {
//!     fn committed(&self, topic: &str, epoch: u64, record: Record) {
//!         tracing::info!(topic, epoch, seq = record.seq, "committed");
//!     }
//!     fn advanced(&self, _: &str, _: u64, _: u64) {}
//!     fn history_lost(&self, _: &str, _: EventId) {}
//!     fn health(&self, health: Health) {
//!         tracing::info!(?health, "backend health");
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let dir = std::env::temp_dir().join(format!("bourn-redb-doc-{}", std::process::id()));
//!     let backend = RedbBackend::builder(dir.join("history.redb"))
//!         .durability(Durability::Immediate)
//!         .open()?;
//!     backend.start(Feed::new(Arc::new(Log)))?;
//!
//!     // Bodies are opaque: the channel stores each event without its `id:` line.
//!     let first = backend.append("news", Bytes::from_static(b"data: one\n\n"), None).await?;
//!     let second = backend.append("news", Bytes::from_static(b"data: two\n\n"), Some("k-2")).await?;
//!     // A retry with the same idempotency key stores nothing.
//!     let retry = backend.append("news", Bytes::from_static(b"data: two\n\n"), Some("k-2")).await?;
//!     assert_eq!((first.seq(), second.seq(), retry), (1, 2, second));
//!     assert_eq!(backend.position("news").await?, second);
//!
//!     // Replay comes in bounded pages.
//!     let page = backend.replay("news", backend.epoch(), 0, 2, PageLimit::DEFAULT).await?;
//!     assert_eq!(page.map(|records| records.len()), Some(2));
//!
//!     backend.close().await;
//!     std::fs::remove_dir_all(dir)?;
//!     Ok(())
//! }
//! ```
//!
//! # Features
//!
//! None: the crate is redb, tokio's blocking pool and `bourn-server`'s
//! backend contract (built without its default features).
//!
//! # How it works
//!
//! One writer thread assigns each topic's seqs (contiguous from 1) and
//! writes: it takes appends into a write transaction, commits it with an
//! fsync (appends that arrive meanwhile share the next commit), reports
//! every new record through [`Feed::committed`] in seq order per topic, and
//! then resolves the appends still waiting. An append is queued when
//! `append` is called: dropping its future does not take it back. When
//! `append` resolves, and
//! what a crash can lose, is the [`Durability`]. Reads
//! ([`position`](Backend::position), [`replay`](Backend::replay)) run on
//! tokio's blocking threads in MVCC read transactions, so they never wait
//! for a commit and never stall a runtime worker; a replay returns one
//! [`PageLimit`]-bounded page at a time, never a whole history.
//!
//! Every file has one epoch, drawn when the file is created (it is created
//! under a temporary name and linked into place once its tables and epoch
//! are committed) and kept for its life. A topic's row keeps its last seq
//! when its events are trimmed or it is
//! [removed](Backend::remove_topic), so numbering goes on from there and
//! no id of the epoch ever names two events.
//!
//! `flush` is async (the writer answers it after the commit). Dropping the
//! backend never blocks: the writer commits what is queued, closes the
//! file and exits in the background. To reopen the same file at once, or
//! before a process exits, await [`RedbBackend::close`] instead.
//!
//! # Failure model
//!
//! - **A read error is an error.** A failed read of a topic's last seq
//!   fails that append (and its batch) with
//!   [`BackendError::is_unavailable`]; it never restarts numbering. A
//!   failed `position` or `replay` is `unavailable`, never "empty" or
//!   "trimmed".
//! - **A damaged file is refused.** [`RedbBackendBuilder::open`] refuses an
//!   empty (0-byte), truncated, corrupt or foreign file with a typed
//!   [`OpenError`], and never adopts it as a new history.
//! - **A failed commit heals.** When a write or commit fails (a full disk,
//!   an I/O error), the appends of that batch fail, the backend reports
//!   [`Health::Unhealthy`](bourn_server::backend::Health) through the
//!   feed, answers new appends `unavailable` at once, and reopens the file
//!   with a growing pause (20 ms up to 1 s) until a probe commit succeeds;
//!   then it reports `Healthy` and works again, without a restart. Appends
//!   of a batch that failed before its commit get `unavailable` (nothing
//!   stored). A failed `commit` may have reached the disk: its appends wait
//!   up to 2 s for the file to be read back, then get their id or
//!   `unavailable`, or else `outcome_unknown` (retry with the same key).
//!
//! # Idempotency keys
//!
//! An append with a key that the same topic saw within the window stores
//! nothing and resolves with the first append's id. The window: the last
//! 1,024 keyed appends of the topic ([`max_keys`](RedbBackendBuilder::max_keys))
//! and at most 10 minutes ([`key_ttl`](RedbBackendBuilder::key_ttl)),
//! whichever forgets first. Keys are written in the same commit as their
//! event, so a retry after a crash or a restart is still recognised.
//!
//! # Limits
//!
//! Per topic, enforced by a compaction pass on the writer thread every
//! [`compaction_interval`](RedbBackendBuilder::compaction_interval)
//! (Default: 1 s), oldest events first:
//! - events: Default: 100,000 ([`RedbBackend::DEFAULT_MAX_EVENTS`]);
//! - bytes of bodies: Default: 64 MiB ([`RedbBackend::DEFAULT_MAX_BYTES`]);
//! - age: Default: 24 h ([`RedbBackend::DEFAULT_MAX_AGE`]);
//! - idempotency keys: Default: 1,024 and 10 min;
//! - the loss window of [`Durability::Batched`]: Default: 10 ms
//!   ([`RedbBackend::DEFAULT_BATCH_WINDOW`]), when that mode is chosen;
//! - appends per commit: 4,096.
//!
//! Between passes a topic may hold up to one interval's worth of events
//! beyond these bounds. Freed pages are reused by redb; the file does not
//! shrink. A removed topic keeps one small row (its last seq) for the life
//! of the file.
//!
//! # Conformance
//!
//! The crate's integration tests drive the [`Backend`] trait directly with
//! a recording feed: contiguous seqs, every commit reported once and in
//! order, bounded replay pages, trimming reported as trimmed, keys,
//! removal, reopening, a SIGKILL in both durability modes, and the failure
//! model with faults injected under redb (a full disk, failed fsyncs,
//! unreadable pages).
//!
//! [redb]: https://www.redb.org
//! [`Backend`]: bourn_server::backend::Backend
//! [`Feed::committed`]: bourn_server::backend::Feed::committed
//! [`PageLimit`]: bourn_server::backend::PageLimit
//! [`BackendError::is_unavailable`]: bourn_server::backend::BackendError::is_unavailable
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod builder;
mod compaction;
mod durability;
mod error;
mod fault;
mod keys;
mod schema;
mod writer;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use crate::backend::RedbBackend;
pub use crate::builder::RedbBackendBuilder;
pub use crate::durability::Durability;
pub use crate::error::OpenError;
#[doc(hidden)]
pub use crate::fault::Faults;

#[cfg(doc)]
use bourn_server::backend::Backend;
