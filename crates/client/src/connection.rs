//! An open connection: the response body fed through a fresh decoder.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bourn_codec::{DecodeError, Decoder, Frame};
use bytes::Bytes;
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
    /// The body chunk being decoded: `Decoder::decode_bytes` slices the
    /// complete lines of a large chunk instead of copying them.
    chunk: Bytes,
    /// Bytes arrived since the decoder last returned `Ok(None)`: only then
    /// can another `decode` call find a frame.
    unread: bool,
    idle: Option<Idle>,
}

/// The idle timer, cheap enough for every chunk: an arrival only sets a
/// flag (no clock read), and the timer is polled only when the task's
/// waker changed or the timer has fired. It fires every quarter of the
/// timeout; a quarter without a byte counts as silent, and four silent
/// quarters in a row expire it. So a stream is reconnected between
/// `timeout` and 1.25 × `timeout` after its last byte, never sooner.
/// (Reading the clock on every chunk and polling the timer on every
/// `Pending` cost 12 % CPU per event on one-event chunks; measured with
/// `benches/benches/client.rs`.)
struct Idle {
    timeout: Duration,
    period: Duration,
    /// A byte arrived since the timer last fired.
    active: bool,
    /// How long the stream has been silent, in whole periods.
    silent: Duration,
    sleep: Pin<Box<Sleep>>,
    /// The waker the timer was last polled with.
    waker: Option<Waker>,
}

/// The idle timer fires this many times per timeout.
const IDLE_TICKS: u32 = 4;

impl Connection {
    pub(crate) fn new(
        body: Incoming,
        decoder: Decoder,
        idle_timeout: Option<Duration>,
    ) -> Connection {
        let idle = idle_timeout.map(|timeout| {
            let period = (timeout / IDLE_TICKS).max(Duration::from_millis(1));
            Idle {
                timeout,
                period,
                active: false,
                silent: Duration::ZERO,
                sleep: Box::pin(tokio::time::sleep(period)),
                waker: None,
            }
        });
        Connection {
            body,
            decoder,
            chunk: Bytes::new(),
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
        let decoded = self.decoder.decode_bytes(&mut self.chunk);
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
        if !self.chunk.is_empty() {
            // The last chunk is not used up: decode it first.
            self.unread = true;
            return Poll::Ready(Ok(()));
        }
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
                        idle.active = true;
                    }
                    // hyper's chunk is a shared `Bytes` slice of its read
                    // buffer: the decoder slices its lines (large chunks) or
                    // copies them (small ones).
                    self.chunk = data;
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
    /// Whether the stream has been silent for the timeout; otherwise the
    /// timer is armed and will wake the task.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if !self.sleep.is_elapsed() {
                let registered = self
                    .waker
                    .as_ref()
                    .is_some_and(|waker| waker.will_wake(cx.waker()));
                if registered {
                    return false;
                }
                if self.sleep.as_mut().poll(cx).is_pending() {
                    self.waker = Some(cx.waker().clone());
                    return false;
                }
            }
            // A tick: was the last period silent?
            if self.active {
                self.active = false;
                self.silent = Duration::ZERO;
            } else {
                self.silent += self.period;
                if self.silent >= self.timeout {
                    return true;
                }
            }
            // From now, not from the old deadline: a task that was busy
            // elsewhere must not count the missed ticks as silence.
            self.sleep.as_mut().reset(Instant::now() + self.period);
            self.waker = None;
        }
    }
}
