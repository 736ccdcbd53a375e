//! An `EventSource` for Rust on hyper: it reads a Server-Sent Events stream,
//! reconnects with `Last-Event-ID` and backoff when the network fails, and
//! sends any method, headers and body, so it serves both long-lived feeds and
//! one-shot LLM streaming APIs. All parsing is `bourn-codec`'s.
//!
//! ```
//! use futures_util::StreamExt;
//! use bourn_client::{ErrorKind, EventSource, Item};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A tiny local server: the first connection drops in the middle of an
//! // event, the second must carry `Last-Event-ID: 1`, the third gets 204.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("http://{}/events", listener.local_addr()?);
//! tokio::spawn(async move {
//!     let sse = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";
//!     for n in 0..3 {
//!         let Ok((mut socket, _)) = listener.accept().await else { return };
//!         let mut request = vec![0; 4096];
//!         let read = socket.read(&mut request).await.unwrap_or(0);
//!         let request = String::from_utf8_lossy(&request[..read]).to_lowercase();
//!         let reply = match n {
//!             0 => format!("{sse}retry: 0\nid: 1\ndata: first\n\ndata: cut off"),
//!             1 if request.contains("last-event-id: 1\r\n") => format!("{sse}id: 2\ndata: second\n\n"),
//!             _ => "HTTP/1.1 204 No Content\r\n\r\n".to_owned(),
//!         };
//!         let _ = socket.write_all(reply.as_bytes()).await;
//!     } // each connection closes here
//! });
//!
//! let mut source = EventSource::new(&url)?;
//! let mut events = Vec::new();
//! while let Some(item) = source.next().await {
//!     match item {
//!         Ok(Item::Event(event)) => events.push(event.data().to_owned()),
//!         Ok(_) => {}                                          // Item::Open
//!         Err(e) if e.kind() == ErrorKind::NoContent => break, // 204: stop
//!         Err(e) if e.is_fatal() => return Err(e.into()),
//!         Err(e) => assert!(e.is_disconnect()),                // reconnecting
//!     }
//! }
//! // The half event was never delivered; the reconnection sent Last-Event-ID.
//! assert_eq!(events, ["first", "second"]);
//! # Ok(()) }
//! ```
//!
//! (A `204 No Content` fails the source for good, with an error that says
//! so: that is how the loop above ends.)
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
//! - `200` with `text/event-stream` (any parameters) opens;
//!   301/302/303/307/308 are followed (303 becomes `GET`; `Authorization`
//!   and `Cookie` never go to another origin), and reconnections go to the
//!   final URL ([`Item::Open`]'s `url`, [`EventSource::url`]); anything else,
//!   `204 No Content` included ([`ErrorKind::NoContent`]), fails the
//!   source with the status, headers and first body bytes (its first line
//!   is in the message), unless [`RetryPolicy::retry_http_errors`] opts in
//!   to retrying 429/5xx, which honours `Retry-After`.
//! - A network error, a reset or the end of the response reconnects after
//!   the reconnection time (the server's `retry:`), with exponential backoff
//!   and jitter after failed attempts and after connections that closed
//!   within a minute ([`RetryPolicy::reset_threshold`]), so a server that
//!   accepts and closes at once is not hammered. Each connection has a
//!   fresh decoder, so an event cut off by a drop is never delivered. A
//!   refused TLS certificate is fatal.
//! - [`Builder::on_request`] is called before every request (first,
//!   reconnection, redirect, and the retry after a `401`/`403`): rotating
//!   tokens and signed URLs keep the source's own reconnection state.
//! - Proxies: `HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY` by default, or
//!   [`Builder::proxy`]. TLS: Mozilla's roots, plus the platform's
//!   ([`Builder::tls_native_roots`]) and your own CA
//!   ([`Builder::add_root_certificate_pem`]).
//! - Comment lines (keep-alives) reset the idle timer; with
//!   [`Builder::comments`] they are also [`Item::Comment`]s, as each arrives.
//! - [`EventSource::ready_state`], [`EventSource::last_event_id`] and
//!   [`EventSource::close`] are also on a cloneable [`Handle`] for other
//!   tasks, with [`Handle::restart`]; a dropped source's handle reports
//!   `Closed`.
//!
//! # Features
//!
//! - `rustls` (default): HTTPS with rustls (ring, Mozilla's roots) and
//!   HTTP/2 by ALPN. Without it, bring a client with [`Builder::client`] or
//!   [`Builder::connector`] for `https` URLs.
//! - `serde`: [`EventSource::json`] and [`decode_json`] decode `data` into
//!   your types (errors carry the event); [`Builder::json_body`].
//! - `cookies`: [`Builder::cookie_store`], an opt-in store (the
//!   `cookie_store` crate) for the cookies the server sets.
//!
//! # Limits
//!
//! - Line length: Default: 16 MiB; event `data` size: Default: 16 MiB
//!   ([`Builder::limits`]; a single 14 MB event passes). Exceeding one is an
//!   [`Error::is_decode`] item carrying the codec's error; the stream reads on.
//! - Reconnection time: Default: 3 s, until the server's `retry:`;
//!   backoff from Default: 100 ms, capped at Default: 30 s; backoff reset
//!   after a connection stayed open Default: 60 s; retries: Default:
//!   unlimited, the first connection's included ([`RetryPolicy`],
//!   [`Builder::retry_first_connect`]).
//! - Connect timeout (to the response head): Default: 30 s. Idle timeout
//!   (no byte, keep-alive comments count): Default: 5 minutes. Redirects per
//!   attempt: Default: 10. Retries after a `401`/`403` with a request hook:
//!   Default: 1 per attempt.
//! - A refused response's body is kept up to Default: 4 KiB
//!   ([`BODY_HEAD_LEN`]), read for at most 1 s ([`BODY_HEAD_TIMEOUT`]).
//!
//! # Conformance
//!
//! Follows "9.2.3 Processing model" of the WHATWG HTML standard for
//! announcing, reestablishing and failing the connection, and sends
//! `Last-Event-ID` (as UTF-8 bytes) as "9.2.4" says. A `204` fails the
//! connection like any other status but 200. Choices the text leaves open:
//! the end of a response is reconnected like a network error; backoff is
//! added after failed attempts and after connections shorter than the reset
//! threshold, never to the first reconnection after a connection that opened.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod config;
mod connect;
mod connection;
mod cookies;
mod error;
mod event_source;
mod handle;
mod hook;
mod item;
#[cfg(feature = "serde")]
mod json;
mod proxy;
mod redirect;
mod retry;
#[cfg(feature = "rustls")]
mod tls;
mod transport;

pub use bourn_codec::{DecodeError, Limits, MessageEvent};
/// The `http` crate this one is built on, so `http::Method::REPORT` or
/// `http::Request` needs no dependency of your own.
pub use http;

pub use crate::builder::Builder;
pub use crate::config::{
    BODY_HEAD_LEN, BODY_HEAD_TIMEOUT, DEFAULT_AUTH_RETRIES, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
};
pub use crate::error::{BoxError, Error, ErrorKind};
pub use crate::event_source::EventSource;
pub use crate::handle::{Handle, ReadyState};
pub use crate::hook::{HookFuture, RequestReason};
pub use crate::item::Item;
#[cfg(feature = "serde")]
pub use crate::json::{JsonStream, decode_json};
pub use crate::redirect::DEFAULT_MAX_REDIRECTS;
pub use crate::retry::{
    DEFAULT_MAX_DELAY, DEFAULT_MIN_BACKOFF, DEFAULT_RECONNECT_TIME, DEFAULT_RESET_THRESHOLD,
    RetryPolicy,
};
pub use crate::transport::RequestBody;

/// The crate README's example, compiled as a doctest (it ships in the package).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
