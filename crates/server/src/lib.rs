//! Server-Sent Events for axum and hyper: an [`Sse`] response body over any
//! `Stream` of events, with keep-alive, `retry:` and graceful shutdown, and a
//! [`Channel`] that publishes each event once to every subscriber of a topic,
//! replays what a reconnecting client missed from its `Last-Event-ID`, and
//! never lets a slow client slow the others. Every byte is encoded by
//! `bourn-codec`, whose event types this crate re-exports: `use
//! bourn_server::{Event, Sse}` is all a handler needs.
//!
//! [`Event`] is the outgoing event, as axum's `sse::Event` is: `event`,
//! `id`, `retry`, `data` and comments. Its `event` and `id` values are an
//! [`EventType`] and an [`Id`], checked once when made (`EventType::new(s)?`,
//! or `EventType::from_static` for a literal, checked at compile time in a
//! `const`), so [`EventBuilder::build`] cannot fail. What a client receives
//! is a [`MessageEvent`], a different type.
//!
//! The default features (`axum`, `serde`) make [`Sse`] an axum response and
//! add [`EventBuilder::json`]. With hyper alone, use `default-features =
//! false`: [`Sse::into_http_response`] gives an `http::Response`.
//!
//! ```
//! use axum::extract::{Path, State};
//! use axum::http::HeaderMap;
//! use axum::response::IntoResponse;
//! use axum::routing::get;
//! use axum::Router;
//! use bourn_server::{Channel, Event, EventType, JsonError, LastEventId, Sse};
//! use futures_util::stream::{self, Stream};
//!
//! #[derive(serde::Serialize)]
//! struct Token {
//!     index: usize,
//!     text: &'static str,
//! }
//!
//! const TOKEN: EventType = EventType::from_static("token");
//!
//! // A stream of JSON events, as an LLM API answers; a keep-alive comment
//! // goes out after 15 s without an event.
//! async fn complete() -> Sse<impl Stream<Item = Result<Event, JsonError>>> {
//!     let tokens = ["Hello", ",", " world"].into_iter().enumerate();
//!     Sse::new(stream::iter(tokens.map(|(index, text)| {
//!         Event::builder().event(TOKEN).json(&Token { index, text })
//!     })))
//! }
//!
//! // A topic of a channel: each published event reaches every subscriber,
//! // and a client that reconnects with `Last-Event-ID` gets exactly what it
//! // missed (or a `bourn-reset` event when the log no longer holds it).
//! async fn subscribe(
//!     State(channel): State<Channel>,
//!     Path(topic): Path<String>,
//!     last_event_id: Option<LastEventId>,
//!     headers: HeaderMap,
//! ) -> impl IntoResponse {
//!     channel.respond(&topic, last_event_id.as_ref(), &headers)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let channel = Channel::new();
//! let app: Router = Router::new()
//!     .route("/complete", get(complete))
//!     .route("/topics/{topic}", get(subscribe))
//!     .with_state(channel.clone());
//! # let _ = app;
//! // axum::serve(tokio::net::TcpListener::bind("127.0.0.1:8080").await?, app).await?;
//! channel.publish("news", Event::message("hello")).await?;
//!
//! let response = complete().await.into_response();
//! assert_eq!(response.headers()["content-type"], "text/event-stream");
//! # Ok(())
//! # }
//! ```
//!
//! The channel on its own, without HTTP:
//!
//! ```
//! use futures_util::StreamExt;
//! use bourn_server::{Channel, Event, EventType, LastEventId};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), bourn_server::Error> {
//! let channel = Channel::new();
//! let mut alice = channel.subscribe("prices", None)?;
//! // Alice's stream opens with her position (an id-only block)...
//! let start = channel.position("prices").await?;
//! assert_eq!(alice.next().await.unwrap().as_bytes(), &format!("id: {start}\n\n"));
//!
//! // ...then gets each event, with the id the backend gave it.
//! let tick = Event::builder().event(EventType::from_static("tick")).data("YHOO +2").build();
//! let first = channel.publish("prices", tick).await?;
//! let wire = format!("id: {first}\nevent: tick\ndata: YHOO +2\n\n");
//! assert_eq!(alice.next().await.unwrap().as_bytes(), &wire);
//!
//! // A client that comes back with `Last-Event-ID: <first>` gets exactly
//! // what it missed, then live events.
//! let second = channel.publish("prices", Event::message("YHOO +3")).await?;
//! let last = LastEventId::new(first.to_string()).unwrap();
//! let mut bob = channel.subscribe("prices", Some(&last))?;
//! assert_eq!(bob.next().await.unwrap().as_bytes(), &format!("id: {second}\ndata: YHOO +3\n\n"));
//!
//! // Over HTTP: a ready response (hyper or axum), here for a plain GET.
//! let response = channel.respond("prices", None, &http::HeaderMap::new());
//! assert_eq!(response.headers()["content-type"], "text/event-stream");
//! # Ok(())
//! # }
//! ```
//!
//! In an axum handler, return the [`Sse`] (it implements axum's
//! `IntoResponse`); with hyper, [`Sse::into_http_response`] gives the
//! `http::Response`. See `examples/axum.rs` and `examples/hyper.rs` (hyper 1,
//! HTTP/1.1 and HTTP/2, graceful shutdown).
//!
//! Proxies and compression: a compressing layer buffers an event stream
//! until its window fills. Responses here are never compressed and carry
//! `X-Accel-Buffering: no` (nginx) and `Cache-Control: no-cache`. With
//! tower-http's `CompressionLayer`, keep its default predicate, which skips
//! `text/event-stream`, or add `NotForContentType::const_new("text/event-stream")`
//! to a custom one.
//!
//! # Features
//!
//! - `axum` (default): `IntoResponse` for [`Sse`] and `Option<LastEventId>`
//!   as an extractor (with [`LastEventIdParam`] to choose the query
//!   parameter). It depends on `axum-core` only (the traits axum
//!   re-exports), not on axum's router or server. Without it, axum reports
//!   only "the trait `Handler<_, _>` is not implemented" for a handler that
//!   returns an [`Sse`].
//! - `serde` (default): [`EventBuilder::json`], an event whose data is a
//!   value serialized as JSON, failing with one error type ([`JsonError`]).
//! - `relay`: [`relay::Relay`], one upstream SSE response (a `bourn-client`
//!   request) piped into a channel topic and ended by a typed `bourn-end`
//!   event: resumable LLM streams.
//!
//! # Backends
//!
//! A [`Channel`] keeps its topics' history in a [`Backend`](backend::Backend)
//! (the [module docs](backend) state the contract):
//! - [`MemoryBackend`] (this crate, the default): a bounded ring per topic
//!   in the process; a restart starts new epochs;
//! - `bourn-server-redb`: one embedded redb file, durable across restarts
//!   and crashes, for one node;
//! - `bourn-server-redis`: Redis Streams with live events over Pub/Sub, for
//!   several nodes behind a load balancer.
//!
//! The two store crates are written against [`backend`] only: a backend of
//! yours (Postgres, NATS JetStream) can do all that they do, and
//! `bourn-conformance` has the suite they all pass.
//!
//! What failures look like:
//! - to a publisher: [`Error::is_unavailable`] when nothing was published
//!   (retry), [`Error::is_outcome_unknown`] when the backend did not answer
//!   (retry with the same idempotency key:
//!   [`Channel::publish_idempotent`]);
//! - to a subscriber: never a gap without a [`RESET_EVENT`] naming why
//!   ([`ResetReason`]): `trimmed` (the history no longer holds what it
//!   missed), `epoch` (the history was lost or replaced), `unavailable` (the
//!   backend could not replay it, after retries), `removed` (the topic was
//!   removed), `unknown`/`ahead` (not an id of this history).
//!
//! # Limits
//!
//! Every queue and buffer is bounded:
//! - keep-alive interval: Default: 15 s ([`KeepAlive::DEFAULT_INTERVAL`]);
//! - events waiting for one subscriber: Default: 1,024
//!   ([`ChannelBuilder::DEFAULT_QUEUE_LEN`]); a full queue disconnects that
//!   subscriber, which then resumes from the log;
//! - subscribers per channel: Default: 65,536
//!   ([`ChannelBuilder::DEFAULT_MAX_SUBSCRIBERS`]); per topic: Default: 16,384
//!   ([`ChannelBuilder::DEFAULT_MAX_TOPIC_SUBSCRIBERS`]); beyond them the
//!   answer is [`Sse::busy`], a short stream with a `retry:` of Default: 5 s
//!   ([`ChannelBuilder::DEFAULT_BUSY_RETRY`]) plus up to 50 % jitter, or a 503
//!   with `Retry-After` for clients that send `Prefer: retry-after`;
//! - topics followed per channel: Default: 65,536 ([`ChannelBuilder::DEFAULT_MAX_TOPICS`]);
//!   idle topics expire after [`ChannelBuilder::idle_topic_ttl`] (Default: off);
//! - replay: read a page at a time, at most Default: 256 events or 256 KiB
//!   ([`PageLimit::DEFAULT`](backend::PageLimit::DEFAULT)) per subscriber, the
//!   next page when the client took the previous one;
//! - memory backend ([`MemoryBackend`]), per topic: Default: 1,024 events
//!   ([`MemoryBackend::DEFAULT_MAX_EVENTS`]) and 1 MiB
//!   ([`MemoryBackend::DEFAULT_MAX_BYTES`]); topics: Default: 65,536;
//! - a `Last-Event-ID` value: Default (and only): 1 KiB ([`LastEventId::MAX_LEN`]).
//!
//! # Conformance
//!
//! Event ids are `<epoch>.<seq>` ([`EventId`]). A `Last-Event-ID` the
//! backend cannot resume from (trimmed, another epoch, unknown, ahead) gets a
//! [`RESET_EVENT`] carrying the current position: never a silent gap, and
//! never a 5xx, since "a client can be told to stop reconnecting using the
//! HTTP 204 No Content response code" and any other error status fails the
//! connection for good. Responses carry no `Connection` header (illegal in
//! HTTP/2). Graceful shutdown ([`Shutdown`]) ends open streams, so hyper's
//! and axum's own graceful shutdown completes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        reason = "a failing test panics"
    )
)]

#[cfg(feature = "axum")]
mod axum;
pub mod backend;
mod channel;
mod encoded;
mod erased;
mod error;
mod event_id;
mod keep_alive;
mod last_event_id;
mod memory;
#[cfg(feature = "relay")]
#[cfg_attr(docsrs, doc(cfg(feature = "relay")))]
pub mod relay;
mod shutdown;
mod sse;
mod stats;
mod subscription;
mod sync;

#[cfg(feature = "axum")]
pub use crate::axum::LastEventIdParam;
pub use crate::channel::{Channel, ChannelBuilder, RESET_EVENT};
pub use crate::encoded::{Encoded, IntoEncoded};
pub use crate::error::Error;
pub use crate::event_id::{EventId, ParseEventIdError, random_epoch};
pub use crate::keep_alive::KeepAlive;
pub use crate::last_event_id::LastEventId;
pub use crate::memory::MemoryBackend;
pub use crate::shutdown::Shutdown;
pub use crate::sse::{CONTENT_TYPE_EVENT_STREAM, Sse};
pub use crate::stats::{ResetReason, Stats};
pub use crate::subscription::Subscription;
#[cfg(feature = "serde")]
pub use bourn_codec::JsonError;
pub use bourn_codec::{
    ByteString, EncodeError, Event, EventBuilder, EventType, Frame, Id, MessageEvent,
};

/// The crate README's example, compiled as a doctest (it ships in the package).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
