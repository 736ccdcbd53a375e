//! Conformance assets for `text/event-stream`: JSON vectors covering every
//! step of the WHATWG "Parsing an event stream" and "Interpreting an event
//! stream" text (plus the WPT `format-*` cases and bugs found in peer
//! libraries), a harness that runs them against any decoder at every
//! chunking, a spec-literal reference model, and the adapter for bourn-codec.
//!
//! ```
//! use bourn_conformance::codec::BournDecoder;
//! use bourn_conformance::{harness, vectors};
//!
//! let files = vectors::load_all()?;
//! // Every decoder case, whole and one byte at a time (the test suite runs the full matrix).
//! let report = harness::run_suite(&mut BournDecoder::new(), &files, |_| {
//!     vec![bourn_conformance::chunking::Chunking::Whole, bourn_conformance::chunking::Chunking::Every(1)]
//! });
//! assert_eq!(report.failed, 0, "{:#?}", report.groups);
//! assert!(report.passed >= 2 * 80);
//! # Ok::<(), vectors::LoadError>(())
//! ```
//!
//! # Using the suite for another decoder
//!
//! Implement [`harness::DecoderUnderTest`] for it (start, feed a chunk,
//! finish, last event ID) and declare what it can report in
//! [`harness::Capabilities`]; [`harness::run_suite`] then gives per-group
//! pass/fail counts over [`harness::full_matrix`] or any other plan. The
//! expected frames are projected onto the capabilities, so a parser without
//! comments or `retry` is judged on the rest.
//!
//! # Features
//!
//! - `backends`: the suite every bourn-server backend runs (the `backend` module).
//! - `adapters`: the runner for implementations in any language
//!   (`adapter`, the `conformance-adapter` binary) and bourn's own adapter
//!   (the `bourn-adapter` binary). Other implementations speak JSON lines
//!   over a child process's stdin/stdout: `conformance/PROTOCOL.md`.
//! - `clients`: the client suite for any `EventSource` implementation in
//!   Rust (`client::ClientUnderTest`: the client behaviour cases and every
//!   decoder vector over HTTP, against a bourn-testkit scripted server) and
//!   bourn-client's adapter (`bourn_client::BournClient`). The benches run
//!   the peer clients through it.
//!
//! Without features the crate is test support (`publish = false`): serde,
//! serde_json and base64 read the vectors; bourn-codec is the decoder it
//! ships an adapter for ([`codec::BournDecoder`]).
//!
//! # Vectors
//!
//! `conformance/vectors/*.json`, one file per area, found through this
//! crate's manifest directory ([`vectors::dir`]). See [`vectors`] for the
//! format. The expected frames follow bourn-codec's documented choices where
//! the text leaves room: an empty or out-of-range `retry` is ignored, a
//! comment is reported without one leading space, the unterminated last line
//! is discarded at end of stream (even `retry`), and after a limit error the
//! event is discarded, lines are skipped to the next blank line, and one
//! error is reported per discarded event.
//!
//! # Behaviour cases
//!
//! `conformance/vectors/behaviour/server.json` and `client.json` hold what
//! bourn-server and bourn-client must do over real HTTP, beyond the bytes of
//! one stream: response headers, `retry` on connect, keep-alives, resume and
//! resets for the server; the requests made, the items yielded, whether and
//! when to reconnect and when to fail for the client. The integration tests
//! (`tests/it/server.rs`, and `tests/clients.rs` with the `clients`
//! feature) run them on loopback, with
//! every encoder vector through an `Sse` body and a `Channel` topic over
//! HTTP/1.1 and HTTP/2, read back by the reference model. A case may carry
//! `expected_failure` with a reason; the run then fails if it passes.
//!
//! # End-to-end property
//!
//! [`e2e`] judges what a client read from a channel topic through
//! connection drops: exactly the published events, in order, none twice,
//! with a reset only where the replay log was trimmed (`tests/it/e2e.rs`).
//!
//! # Reference model
//!
//! [`reference`](mod@reference) is a slow, literal transcription of the spec over
//! `String`s, sharing no code with bourn-codec. The property tests check the
//! codec against it on arbitrary bytes and chunkings. It has no limits.
//!
//! # Limits
//!
//! The harness adds none: cases run with the codec's defaults (16 MiB lines
//! and events) unless they set `limits`.
//!
//! # Conformance
//!
//! `cargo run -p bourn-conformance --bin conformance-report` prints a table of
//! vector groups × pass/fail (cases × chunkings), then how many cases of each
//! group the codec, the server, the client and the backends run, and exits
//! non-zero on any failure; `--json PATH` also writes the report as JSON and
//! `--junit PATH` as JUnit XML.
//!
//! `conformance-adapter parser|client -- CMD...` (feature `adapters`) runs
//! the decoder vectors or the client cases against any implementation
//! through an adapter (`conformance/PROTOCOL.md`) and compares the run with
//! its expected-failures file; `cargo xtask conformance-peers` does so for
//! npm `eventsource-parser`, npm `eventsource`, pip `httpx-sse` and bourn.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "adapters")]
pub mod adapter;
#[cfg(feature = "backends")]
pub mod backend;
#[cfg(feature = "clients")]
pub mod bourn_client;
pub mod chunking;
#[cfg(feature = "clients")]
pub mod client;
pub mod client_cases;
pub mod codec;
pub mod e2e;
#[cfg(feature = "backends")]
pub mod faulty;
pub mod harness;
pub mod junit;
pub mod reference;
pub mod vectors;

/// The workspace README's Rust examples, compiled (and, unless `no_run`, run)
/// as doctests of this unpublished crate.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
