//! Integration tests of bourn-server: channels in process, and responses over
//! real HTTP/1.1 and HTTP/2 connections on 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

// Shared: a hyper server on 127.0.0.1:0, hyper clients, an SSE reader.
mod support;

// Fan-out, ids, resume, reset events, limits and lag, without HTTP.
mod channel;
// The follower (gaps, repeats, epochs, lost histories) and the failure
// model, against a scripted backend.
mod follow;
// Over the wire: headers, both HTTP versions, keep-alive, disconnects, a
// stalled reader, busy answers, graceful shutdown.
mod http;
// The relay: one upstream response into a topic, with a typed end.
#[cfg(feature = "relay")]
mod relay;
