//! What the server saw of one request.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Method};

/// One request as the server received it, in arrival order.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The request method.
    pub method: Method,
    /// The path and query (`/stream?x=1`).
    pub path: String,
    /// The request target as received: the path and query for an ordinary
    /// request, the whole URL (`http://host/path`) when the client took the
    /// server for a forward proxy, `host:port` for a `CONNECT`.
    pub target: String,
    /// Every request header.
    pub headers: HeaderMap,
    /// The whole request body.
    pub body: Bytes,
    /// 0 for the first request the server received, then 1, 2, ...
    pub index: usize,
    /// When the request's head and body had arrived.
    pub received_at: Instant,
}

impl Recorded {
    /// A header's value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Last-Event-ID` header, if the client sent one.
    pub fn last_event_id(&self) -> Option<&str> {
        self.header("last-event-id")
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
