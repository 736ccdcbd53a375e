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
// Over the wire: headers, both HTTP versions, keep-alive, disconnects, a
// stalled reader, busy answers, graceful shutdown.
mod http;
// The embedded store across a SIGKILL.
#[cfg(feature = "redb")]
mod file_store;
// The Redis Streams store over a throwaway redis-server.
#[cfg(feature = "redis")]
mod redis_server;
#[cfg(feature = "redis")]
mod redis_store;
