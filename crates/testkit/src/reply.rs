//! A scripted answer to one request.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// How the body ends once its bytes are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The response ends normally (a clean end of stream).
    Clean,
    /// The connection is torn down without ending the response.
    Drop,
    /// Nothing more is sent, and the connection stays open.
    Stall,
}

/// A scripted response: status, headers, body bytes and how they are sent.
///
/// ```
/// use std::time::Duration;
/// use bourn_testkit::Reply;
///
/// // 200 text/event-stream, body in 4-byte chunks, connection dropped at byte 10.
/// let reply = Reply::sse("data: first\n\ndata: second\n\n").chunk_size(4).drop_at(10);
/// // A 503 asking the client to come back in 2 s.
/// let busy = Reply::status(503).header("retry-after", "2");
/// // One byte at a time, 1 ms apart.
/// let slow = Reply::sse("data: x\n\n").trickle(Duration::from_millis(1));
/// # let _ = (reply, busy, slow);
/// ```
#[derive(Debug, Clone)]
pub struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) chunks: Vec<usize>,
    pub(crate) chunk_size: Option<usize>,
    pub(crate) chunk_delay: Duration,
    pub(crate) head_delay: Duration,
    pub(crate) cut_at: Option<usize>,
    pub(crate) end: End,
    pub(crate) tunnel: bool,
}

impl Reply {
    /// `200 OK`, `Content-Type: text/event-stream`, with this body sent whole.
    pub fn sse(body: impl Into<Bytes>) -> Reply {
        Reply::new(StatusCode::OK, body.into()).content_type("text/event-stream")
    }

    /// This status with an empty `text/plain` body.
    ///
    /// # Panics
    ///
    /// If `code` is not a valid status code (100..=999).
    pub fn status(code: u16) -> Reply {
        Reply::new(status_code(code), Bytes::new()).content_type("text/plain")
    }

    /// A redirect: this status and a `Location` header.
    ///
    /// # Panics
    ///
    /// If `code` is not a valid status code or `location` is not a valid header value.
    pub fn redirect(code: u16, location: &str) -> Reply {
        Reply::status(code).header(LOCATION.as_str(), location)
    }

    fn new(status: StatusCode, body: Bytes) -> Reply {
        Reply {
            status,
            headers: HeaderMap::new(),
            body,
            chunks: Vec::new(),
            chunk_size: None,
            chunk_delay: Duration::ZERO,
            head_delay: Duration::ZERO,
            cut_at: None,
            end: End::Clean,
            tunnel: false,
        }
    }

    /// The answer of an HTTP proxy to `CONNECT host:port`: `200`, then the
    /// connection is relayed byte for byte to `host:port` (so a client can
    /// reach a TLS server through the tunnel). To any other method it is a
    /// plain `200` with an empty body.
    pub fn tunnel() -> Reply {
        let mut reply = Reply::new(StatusCode::OK, Bytes::new());
        reply.tunnel = true;
        reply
    }

    /// Replaces the status.
    ///
    /// # Panics
    ///
    /// If `code` is not a valid status code.
    pub fn with_status(mut self, code: u16) -> Reply {
        self.status = status_code(code);
        self
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Reply {
        self.body = body.into();
        self
    }

    /// Sets `Content-Type`.
    ///
    /// # Panics
    ///
    /// If `value` is not a valid header value.
    pub fn content_type(self, value: &str) -> Reply {
        self.header(CONTENT_TYPE.as_str(), value)
    }

    /// Removes `Content-Type`.
    pub fn without_content_type(mut self) -> Reply {
        self.headers.remove(CONTENT_TYPE);
        self
    }

    /// Sets a header, replacing any previous value.
    ///
    /// # Panics
    ///
    /// If `name` or `value` is not valid in a header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        let name = HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|_| panic!("header name {name:?}"));
        let value =
            HeaderValue::from_str(value).unwrap_or_else(|_| panic!("header value {value:?}"));
        self.headers.insert(name, value);
        self
    }

    /// Sets a header from raw bytes (non-ASCII included, as some servers
    /// send in `Location`), replacing any previous value.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid header name or `value` holds a control byte.
    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Reply {
        let name = HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|_| panic!("header name {name:?}"));
        let value =
            HeaderValue::from_bytes(value).unwrap_or_else(|_| panic!("header value {value:?}"));
        self.headers.append(name, value);
        self
    }

    /// Sends the body in chunks of these sizes, in order; whatever is left
    /// after them goes as one more chunk (or in [`chunk_size`](Reply::chunk_size) pieces).
    pub fn chunks(mut self, sizes: impl IntoIterator<Item = usize>) -> Reply {
        self.chunks = sizes.into_iter().filter(|&n| n > 0).collect();
        self
    }

    /// Sends the body in chunks of `size` bytes (the last may be shorter).
    pub fn chunk_size(mut self, size: usize) -> Reply {
        self.chunk_size = Some(size.max(1));
        self
    }

    /// Waits this long before each chunk after the first.
    pub fn chunk_delay(mut self, delay: Duration) -> Reply {
        self.chunk_delay = delay;
        self
    }

    /// Sends the body one byte per chunk, `delay` apart.
    pub fn trickle(self, delay: Duration) -> Reply {
        self.chunk_size(1).chunk_delay(delay)
    }

    /// Waits this long before sending the status line and headers.
    pub fn head_delay(mut self, delay: Duration) -> Reply {
        self.head_delay = delay;
        self
    }

    /// Sends the first `at` body bytes, then tears the connection down
    /// without ending the response (the client sees an incomplete message).
    pub fn drop_at(mut self, at: usize) -> Reply {
        self.cut_at = Some(at);
        self.end = End::Drop;
        self
    }

    /// Tears the connection down after the whole body.
    pub fn then_drop(mut self) -> Reply {
        self.end = End::Drop;
        self
    }

    /// Sends the first `at` body bytes, then nothing more, keeping the
    /// connection open until the client leaves.
    pub fn stall_at(mut self, at: usize) -> Reply {
        self.cut_at = Some(at);
        self.end = End::Stall;
        self
    }

    /// Sends the whole body, then stalls (no end of stream).
    pub fn then_stall(mut self) -> Reply {
        self.end = End::Stall;
        self
    }

    /// The body split as scripted, up to the cut point.
    pub(crate) fn planned_chunks(&self) -> Vec<Bytes> {
        let body = match self.cut_at {
            Some(at) => self.body.slice(..at.min(self.body.len())),
            None => self.body.clone(),
        };
        let mut out = Vec::new();
        let mut rest = body;
        for &size in &self.chunks {
            if rest.is_empty() {
                break;
            }
            out.push(rest.split_to(size.min(rest.len())));
        }
        match self.chunk_size {
            Some(size) => {
                while !rest.is_empty() {
                    out.push(rest.split_to(size.min(rest.len())));
                }
            }
            None if !rest.is_empty() => out.push(rest),
            None => {}
        }
        out
    }
}

fn status_code(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or_else(|_| panic!("status code {code}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_plans() {
        let r = Reply::sse("abcdefghij");
        assert_eq!(r.planned_chunks(), vec![Bytes::from("abcdefghij")]);
        let r = Reply::sse("abcdefghij").chunks([2, 3]);
        assert_eq!(r.planned_chunks(), vec!["ab", "cde", "fghij"]);
        let r = Reply::sse("abcdefghij").chunk_size(4);
        assert_eq!(r.planned_chunks(), vec!["abcd", "efgh", "ij"]);
        let r = Reply::sse("abcdefghij")
            .chunks([1])
            .chunk_size(4)
            .drop_at(7);
        assert_eq!(r.planned_chunks(), vec!["a", "bcde", "fg"]);
        let r = Reply::sse("abc").drop_at(0);
        assert!(r.planned_chunks().is_empty());
        let r = Reply::sse("abc").stall_at(99);
        assert_eq!(r.planned_chunks(), vec!["abc"]);
    }
}
