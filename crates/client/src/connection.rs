//! An open connection: the response body fed through a fresh decoder.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use http_body::Body;
use hyper::body::Incoming;
use rill_codec::{DecodeError, Decoder, Frame};
use tokio::time::{Instant, Sleep};

/// What the connection produced.
pub(crate) enum Step {
    /// A frame from the decoder.
    Frame(Frame),
    /// The decoder discarded an event over a limit; decoding goes on.
    Decode(DecodeError),
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
pub(crate) struct Connection {
    body: Incoming,
    decoder: Decoder,
    buf: BytesMut,
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
            idle,
        }
    }

    /// Decodes what is buffered, reading more from the body when needed.
    /// `on_decode` runs after every decoder call, even one that yields no
    /// frame (an `id:`-only block moves the last event ID without one).
    pub(crate) fn poll_step(
        &mut self,
        cx: &mut Context<'_>,
        mut on_decode: impl FnMut(&Decoder),
    ) -> Poll<Step> {
        loop {
            let decoded = self.decoder.decode(&mut self.buf);
            on_decode(&self.decoder);
            match decoded {
                Ok(Some(frame)) => return Poll::Ready(Step::Frame(frame)),
                Ok(None) => {}
                Err(error) => return Poll::Ready(Step::Decode(error)),
            }
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        if let Some(idle) = &mut self.idle {
                            idle.last = Instant::now();
                        }
                        self.buf.extend_from_slice(&data);
                    }
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Step::Lost(error)),
                Poll::Ready(None) => return Poll::Ready(Step::Eof),
                Poll::Pending => {
                    let expired = self.idle.as_mut().is_some_and(|idle| idle.poll_expired(cx));
                    return if expired {
                        Poll::Ready(Step::Idle)
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
