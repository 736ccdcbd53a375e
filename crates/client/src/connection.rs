//! An open connection: the response body fed through a fresh decoder.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bourn_codec::{DecodeError, Decoder, Frame};
use bytes::BytesMut;
use http_body::Body;
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

/// What reading the body produced, when it was not more bytes.
pub(crate) enum Read {
    /// The server ended the response.
    Eof,
    /// The body failed: reset, or closed before the message was complete.
    Lost(hyper::Error),
    /// No byte within the idle timeout.
    Idle,
}

/// One open response. A new connection gets a new `Connection` and so a new
/// decoder: whatever an interrupted connection left unfinished (half an
/// event, half a line) is discarded, as the spec requires at end of stream.
///
/// The event source drives it: [`decode`](Connection::decode) until it
/// returns `Ok(None)`, then [`poll_read`](Connection::poll_read) for more
/// bytes. Frames go from the decoder to the caller without passing through
/// an enum of this module, so an `Event` (176 bytes) is moved as few times
/// as the codec allows.
pub(crate) struct Connection {
    body: Incoming,
    decoder: Decoder,
    buf: BytesMut,
    /// Bytes arrived since the decoder last returned `Ok(None)`: only then
    /// can another `decode` call find a frame.
    unread: bool,
    idle: Option<Idle>,
}

/// The idle timer. Arrivals only record the time; the timer is re-armed
/// when it fires early, so a busy stream costs one clock read per chunk.
struct Idle {
    timeout: Duration,
    last: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl Connection {
    pub(crate) fn new(
        body: Incoming,
        decoder: Decoder,
        idle_timeout: Option<Duration>,
    ) -> Connection {
        let idle = idle_timeout.map(|timeout| {
            let last = Instant::now();
            Idle {
                timeout,
                last,
                sleep: Box::pin(tokio::time::sleep_until(last + timeout)),
            }
        });
        Connection {
            body,
            decoder,
            buf: BytesMut::new(),
            unread: false,
            idle,
        }
    }

    /// The next frame from the bytes read so far; `Ok(None)` when there is
    /// none until [`poll_read`](Connection::poll_read) brings more.
    #[inline]
    pub(crate) fn decode(&mut self) -> Result<Option<Frame>, DecodeError> {
        if !self.unread {
            return Ok(None);
        }
        let decoded = self.decoder.decode(&mut self.buf);
        if let Ok(None) = decoded {
            self.unread = false;
        }
        decoded
    }

    /// The decoder, for its last event ID.
    #[inline]
    pub(crate) fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Reads body frames until one brings bytes (`Ready(Ok(()))`), the body
    /// ends or fails, or the idle timeout passes.
    pub(crate) fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Read>> {
        loop {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // trailers
                    };
                    if data.is_empty() {
                        continue;
                    }
                    if let Some(idle) = &mut self.idle {
                        idle.last = Instant::now();
                    }
                    // The codec reads a `BytesMut`; hyper's chunk is a shared
                    // `Bytes` slice of its read buffer, so this is a copy.
                    self.buf.extend_from_slice(&data);
                    self.unread = true;
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Err(Read::Lost(error))),
                Poll::Ready(None) => return Poll::Ready(Err(Read::Eof)),
                Poll::Pending => {
                    let expired = self.idle.as_mut().is_some_and(|idle| idle.poll_expired(cx));
                    return if expired {
                        Poll::Ready(Err(Read::Idle))
                    } else {
                        Poll::Pending
                    };
                }
            }
        }
    }
}

impl Idle {
    /// Whether `timeout` has passed since the last byte; otherwise the timer
    /// is armed for the moment it would.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return false;
            }
            let deadline = self.last + self.timeout;
            if deadline <= Instant::now() {
                return true;
            }
            self.sleep.as_mut().reset(deadline);
        }
    }
}
