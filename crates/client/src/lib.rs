//! An `EventSource` for Rust on hyper: it reads a Server-Sent Events stream,
//! reconnects with `Last-Event-ID` and backoff when the network fails, and
//! sends any method, headers and body, so it serves both long-lived feeds and
//! one-shot LLM streaming APIs. All parsing is `bourn-codec`'s.
//!
//! ```
//! use futures_util::StreamExt;
//! use bourn_client::{EventSource, Item};
//! use bourn_testkit::{Reply, Server};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A local server: the first connection drops mid-stream, the second resumes.
//! let server = Server::replies([
//!     Reply::sse("retry: 0\nid: 1\ndata: first\n\ndata: cut off").then_drop(),
//!     Reply::sse("id: 2\ndata: second\n\n"),
//! ])
//! .await?;
//!
//! let mut source = EventSource::new(server.url())?;
//! let mut events = Vec::new();
//! while let Some(item) = source.next().await {
//!     match item {
//!         Ok(Item::Event(event)) => events.push(event.data().to_owned()),
//!         Ok(_) => {}                                // Item::Open
//!         Err(e) if e.is_fatal() => return Err(e.into()),
//!         Err(e) => assert!(e.is_disconnect()),      // reconnecting
//!     }
//! }
//! // The half event was never delivered; the reconnection sent Last-Event-ID.
//! assert_eq!(events, ["first", "second"]);
//! assert_eq!(server.requests()[1].last_event_id(), Some("1"));
//! # Ok(()) }
//! ```
//!
//! (The server answers `204 No Content` after its scripted replies, which
//! closes the source for good: that is how the loop above ends.)
//!
//! For an LLM API, send a POST once and stop at the sentinel:
//!
//! ```no_run
//! # async fn run() -> Result<(), bourn_client::Error> {
//! use futures_util::StreamExt;
//! use bourn_client::{EventSource, Item};
//!
//! let mut stream = EventSource::builder("https://api.example.test/v1/chat/completions")
//!     .method(http::Method::POST)
//!     .header("authorization", "Bearer sk-...")
//!     .header("content-type", "application/json")
//!     .body(r#"{"model":"m","stream":true,"messages":[]}"#)
//!     .one_shot(true)
//!     .done_sentinel("[DONE]")
//!     .build()?;
//! while let Some(item) = stream.next().await {
//!     if let Item::Event(event) = item? {
//!         print!("{}", event.data());
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Behaviour
//!
//! - Every request sends `Accept: text/event-stream` and
//!   `Cache-Control: no-cache`, the caller's headers and body, and
//!   `Last-Event-ID` when the last event ID is not empty.
//! - `200` with `text/event-stream` (any parameters) opens; `204` closes for
//!   good; 301/302/303/307/308 are followed (303 becomes `GET`); anything
//!   else fails with the status, headers and first body bytes, unless
//!   [`RetryPolicy::retry_http_errors`] opts in to retrying 429/5xx, which
//!   honours `Retry-After`.
//! - A network error, a reset or the end of the response reconnects after
//!   the reconnection time (the server's `retry:`), with exponential backoff
//!   and jitter after failed attempts ([`RetryPolicy`]). Each connection has
//!   a fresh decoder, so an event cut off by a drop is never delivered.
//! - [`EventSource::ready_state`], [`EventSource::last_event_id`] and
//!   [`EventSource::close`] are also on a cloneable [`Handle`] for other tasks.
//!
//! # Features
//!
//! - `rustls` (default): HTTPS with rustls (ring, Mozilla's roots) and
//!   HTTP/2 by ALPN. Without it, bring a client with [`Builder::client`] or
//!   [`Builder::connector`] for `https` URLs.
//! - `serde`: [`EventSource::json`] and [`decode_json`] decode `data` into
//!   your types (errors carry the event); [`Builder::json_body`].
//!
//! # Limits
//!
//! - Line length: Default: 16 MiB; event `data` size: Default: 16 MiB
//!   ([`Builder::limits`]; a single 14 MB event passes). Exceeding one is an
//!   [`Error::is_decode`] item carrying the codec's error; the stream reads on.
//! - Reconnection time: Default: 3 s, until the server's `retry:`;
//!   backoff from Default: 100 ms, capped at Default: 30 s; retries:
//!   Default: unlimited ([`RetryPolicy`]).
//! - Connect timeout (to the response head): Default: 30 s. Idle timeout:
//!   Default: none. Redirects per attempt: Default: 10.
//! - A refused response's body is kept up to Default: 4 KiB
//!   ([`BODY_HEAD_LEN`]), read for at most 1 s ([`BODY_HEAD_TIMEOUT`]).
//!
//! # Conformance
//!
//! Follows "9.2.3 Processing model" of the WHATWG HTML standard for
//! announcing, reestablishing and failing the connection, and sends
//! `Last-Event-ID` as "9.2.4" says. Choices the text leaves open: the end of
//! a response is reconnected like a network error; a `204` ends the stream
//! without an error item; backoff is added only after failed attempts.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod config;
mod connect;
mod connection;
mod error;
mod event_source;
mod handle;
mod item;
#[cfg(feature = "serde")]
mod json;
mod redirect;
mod retry;
mod transport;

pub use bourn_codec::{DecodeError, Event, Limits};

pub use crate::builder::Builder;
pub use crate::config::{BODY_HEAD_LEN, BODY_HEAD_TIMEOUT, DEFAULT_CONNECT_TIMEOUT};
pub use crate::error::Error;
pub use crate::event_source::EventSource;
pub use crate::handle::{Handle, ReadyState};
pub use crate::item::Item;
#[cfg(feature = "serde")]
pub use crate::json::{JsonStream, decode_json};
pub use crate::redirect::DEFAULT_MAX_REDIRECTS;
pub use crate::retry::{
    DEFAULT_MAX_DELAY, DEFAULT_MIN_BACKOFF, DEFAULT_RECONNECT_TIME, RetryPolicy,
};
pub use crate::transport::RequestBody;

/// The crate README's example, compiled as a doctest (it ships in the package).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
