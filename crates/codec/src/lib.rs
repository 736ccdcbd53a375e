//! A zero-copy, incremental decoder and an encoder for `text/event-stream`,
//! the Server-Sent Events format of the WHATWG HTML standard. No I/O: feed it
//! bytes in any chunks and get the frames the spec defines; build events and
//! get their bytes.
//!
//! ```
//! use bytes::BytesMut;
//! use bourn_codec::{Decoder, Event, EventType, Frame, Id};
//!
//! // Encode: an event with a type, an id and two lines of data.
//! let event = Event::builder()
//!     .event(EventType::from_static("price"))
//!     .id(Id::new("42")?)
//!     .data("YHOO\n+2")
//!     .build();
//! let mut wire = BytesMut::new();
//! event.encode(&mut wire);
//! assert_eq!(wire, "event: price\nid: 42\ndata: YHOO\ndata: +2\n\n");
//!
//! // Decode, here one byte at a time: the result does not depend on chunking.
//! let mut decoder = Decoder::new();
//! let (mut buf, mut frames) = (BytesMut::new(), Vec::new());
//! for byte in wire.iter() {
//!     buf.extend_from_slice(&[*byte]);
//!     while let Some(frame) = decoder.decode(&mut buf).unwrap() {
//!         frames.push(frame);
//!     }
//! }
//! let Frame::Event(decoded) = &frames[0] else { panic!("an event") };
//! assert_eq!(decoded.event_type(), "price");
//! assert_eq!(decoded.data(), "YHOO\n+2");
//! assert_eq!(decoder.last_event_id(), "42");
//! # Ok::<(), bourn_codec::EncodeError>(())
//! ```
//!
//! Two event types, one per direction, as in axum and in
//! `reqwest-eventsource`: an [`Event`] is what a server writes (`event`,
//! `id`, `retry`, `data`, comments; built with [`Event::builder`], which
//! cannot fail), a [`MessageEvent`] what a decoder receives (type, data,
//! `id`, last event ID). The `event` and `id` values of an outgoing event
//! are an [`EventType`] and an [`Id`], checked once when made
//! ([`EventType::new`] fails on a line break, [`Id::new`] also on NUL;
//! `from_static` checks literals at compile time in a `const`).
//!
//! The decoder yields [`Frame`]s in stream order: [`Frame::Event`] for each
//! dispatched event, [`Frame::Retry`] for a valid `retry` field and
//! [`Frame::Comment`] for comment lines (keep-alives), so stream state is never
//! lost by hanging it on an event. The last event ID, which an `id`-only block
//! moves too, is [`Decoder::last_event_id`].
//!
//! A single-line `data`, `event` or `id` value is a slice of the input
//! ([`bytes::Bytes`] under a [`ByteString`]): decoding it copies and allocates
//! nothing. Multi-line `data` is joined into one new buffer, the only copy.
//!
//! On a stream of byte chunks (hyper, reqwest), [`EventStreamExt`] gives
//! `.sse_events()` (events only) and `.sse_frames()`:
//!
//! ```
//! # #[cfg(feature = "stream")] {
//! use futures_util::{StreamExt, stream};
//! use bourn_codec::EventStreamExt;
//!
//! let body = stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("data: hi\n\n"))]);
//! let mut events = body.sse_events();
//! let first = futures_executor::block_on(events.next()).unwrap().unwrap();
//! assert_eq!(first.data(), "hi");
//! # }
//! ```
//!
//! Callers that consume events in place can use [`RefDecoder`] instead: it
//! reads each chunk where it lies (no `BytesMut` to append to) and hands
//! [`FrameRef`]s, whose `&str` borrow the chunk or the decoder, to a
//! callback. The frames are the same as [`Decoder`]'s under any chunking.
//!
//! # Features
//!
//! - `std` (default): lets memchr pick AVX2 line scanning at run time
//!   (without it, SSE2). The code itself needs only `alloc`.
//! - `stream` (default): [`EventStream`], [`Events`] and [`EventStreamExt`],
//!   turning any `Stream<Item = Result<impl Into<Bytes>, E>>` (hyper,
//!   reqwest, ...) into frames or events.
//! - `tokio-util`: [`SseCodec`], a `tokio_util::codec` `Decoder` and `Encoder`.
//! - `serde`: [`EventBuilder::json`], an event whose data is a value
//!   serialized as JSON, with one error type ([`JsonError`]).
//!
//! The crate is `#![no_std]` (it needs `alloc`): build it with
//! `default-features = false` (and `stream` if wanted) for targets without
//! `std`; `tokio-util` and `serde` bring in `std`.
//!
//! # Types from other crates
//!
//! These types of other crates are part of this crate's public API (its
//! signatures name them), so their major versions are part of ours:
//!
//! | crate | types | where |
//! |---|---|---|
//! | `bytes` 1 | `Bytes`, `BytesMut`, the `BufMut` trait | decoder input, encoder output, stream chunks |
//! | `bytestring` 1 | `ByteString` (re-exported here) | every shared string |
//! | `futures-core` 0.3 | the `Stream` trait | feature `stream` |
//! | `tokio-util` 0.7 | `codec::{Decoder, Encoder}` traits | feature `tokio-util` |
//! | `serde` 1 | the `Serialize` trait (defined in `serde_core`) | feature `serde` |
//!
//! No other crate's type appears in the API: the workspace's `cargo xtask
//! api-check` fails when one does, and when the API differs from the
//! recorded 0.1 listing (`xtask/api/bourn-codec.txt` in the repository).
//!
//! # Limits
//!
//! Every buffer is bounded ([`Limits`]):
//! - the longest line: Default: 16 MiB ([`DEFAULT_MAX_LINE_LEN`]);
//! - the largest event `data`: Default: 16 MiB ([`DEFAULT_MAX_EVENT_LEN`]).
//!
//! Exceeding one gives a [`DecodeError`] naming the limit and where; the event
//! is discarded, decoding resumes after the next blank line, and the frames
//! are the same under any chunking. The decoder holds at most about two lines
//! beyond the pending event's data.
//!
//! # Conformance
//!
//! Behaviour follows "9.2.6 Interpreting an event stream" exactly: CRLF, LF and
//! CR line endings (a CR at the end of the input ends its line at once), one
//! leading BOM, UTF-8 decoding with replacement, `data` joined with LF, no
//! dispatch without data (the event type is still reset), the last event ID
//! committed at every blank line, `id` containing NUL ignored, `retry` of ASCII
//! digits only, and an unfinished event at end of stream discarded. Two choices
//! the text leaves open: an empty `retry` value is ignored, and a decoder
//! created with [`Decoder::with_last_event_id`] starts from that ID, as
//! browsers do on reconnection. The `bourn-conformance` crate runs the shared
//! vectors at every split point and checks the decoder against a spec-literal
//! model with proptest.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(any(test, feature = "tokio-util", feature = "serde"))]
extern crate std;

mod borrowed;
#[cfg(feature = "tokio-util")]
mod codec;
mod decoder;
mod encoder;
mod error;
mod event;
#[cfg(feature = "stream")]
mod ext;
mod field;
mod frame;
#[cfg(feature = "serde")]
mod json;
mod limits;
mod line;
mod message_event;
#[cfg(feature = "stream")]
mod stream;

pub use bytestring::ByteString;

pub use crate::borrowed::{FrameRef, MessageEventRef, RefDecoder};
#[cfg(feature = "tokio-util")]
pub use crate::codec::SseCodec;
pub use crate::decoder::Decoder;
pub use crate::error::{DecodeError, EncodeError, Field};
pub use crate::event::{DEFAULT_EVENT_TYPE, Event, EventBuilder};
#[cfg(feature = "stream")]
pub use crate::ext::{EventStreamExt, Events};
pub use crate::field::{EventType, Id};
pub use crate::frame::Frame;
#[cfg(feature = "serde")]
pub use crate::json::JsonError;
pub use crate::limits::{DEFAULT_MAX_EVENT_LEN, DEFAULT_MAX_LINE_LEN, Limits};
pub use crate::message_event::MessageEvent;
#[cfg(feature = "stream")]
pub use crate::stream::{EventStream, StreamError};

/// The crate README's examples, compiled as doctests (it ships in the
/// package). One uses `.sse_events()`, so they need the `stream` feature.
#[cfg(all(doctest, feature = "stream"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
