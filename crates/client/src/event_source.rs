//! The event source: a `Stream` that connects, decodes and reconnects.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use rill_codec::{ByteString, Decoder, Frame};
use tokio::time::Sleep;

use crate::builder::Builder;
use crate::config::Config;
use crate::connect::{self, Outcome};
use crate::connection::{Connection, Step};
use crate::error::{Error, Kind};
use crate::handle::{Handle, ReadyState, Shared};
use crate::item::Item;

type Attempt = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// An `EventSource` for Rust: a [`Stream`] of [`Item`]s that follows the
/// WHATWG processing model, reconnecting with `Last-Event-ID` until it is
/// closed or fails.
///
/// The stream yields [`Item::Open`] for each connection that opens,
/// [`Item::Event`] for each event, and an [`Error`] for each failure. After
/// an error that is not [fatal](Error::is_fatal) it goes on (reconnecting
/// when the connection was lost); it ends after a fatal error, a `204`, the
/// end of a one-shot stream, the done sentinel, or [`close`](EventSource::close).
///
/// Connecting starts when the stream is first polled. Polling needs a Tokio
/// runtime with timers and I/O enabled.
pub struct EventSource {
    config: Arc<Config>,
    shared: Arc<Shared>,
    state: State,
    /// The spec's reconnection time: the policy's, then the server's `retry:`.
    reconnect_time: Duration,
    /// Consecutive attempts that failed without opening.
    failures: u32,
    /// The last event ID string, the stream's own copy (`Shared` has the
    /// one handles read).
    last_event_id: ByteString,
}

enum State {
    /// About to start an attempt.
    Start,
    Connecting(Attempt),
    Open(Box<Connection>),
    /// Waiting the reconnection delay.
    Waiting(Pin<Box<Sleep>>),
    Done,
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSource")
            .field("url", &self.config.uri)
            .field("ready_state", &self.ready_state())
            .field("last_event_id", &self.last_event_id)
            .field("reconnect_time", &self.reconnect_time)
            .finish()
    }
}

impl EventSource {
    /// Starts configuring an event source for `url`.
    pub fn builder(url: impl AsRef<str>) -> Builder {
        Builder::new(url.as_ref())
    }

    /// An event source for `url` with the defaults (`GET`, reconnect for ever).
    ///
    /// # Errors
    ///
    /// [`Error::is_builder`] when `url` is not an absolute `http(s)` URL.
    pub fn new(url: impl AsRef<str>) -> Result<EventSource, Error> {
        EventSource::builder(url).build()
    }

    pub(crate) fn new_from(config: Config, last_event_id: String) -> EventSource {
        let last_event_id = ByteString::from(last_event_id);
        EventSource {
            reconnect_time: config.policy.get_reconnect_time(),
            config: Arc::new(config),
            shared: Arc::new(Shared::new(last_event_id.clone())),
            state: State::Start,
            failures: 0,
            last_event_id,
        }
    }

    /// `Connecting`, `Open` or `Closed`.
    pub fn ready_state(&self) -> ReadyState {
        self.shared.ready_state()
    }

    /// The last event ID string: what the next reconnection sends as
    /// `Last-Event-ID` (nothing when empty).
    pub fn last_event_id(&self) -> String {
        self.shared.last_event_id()
    }

    /// Closes the source for good (see [`Handle::close`]).
    pub fn close(&self) {
        self.shared.close();
    }

    /// A handle to read the state and close the source from another task.
    pub fn handle(&self) -> Handle {
        Handle::new(Arc::clone(&self.shared))
    }

    /// The reconnection time in force: the policy's until the server sends `retry:`.
    pub fn reconnect_time(&self) -> Duration {
        self.reconnect_time
    }

    fn start_attempt(&mut self) {
        self.shared.set_state(ReadyState::Connecting);
        let attempt = connect::attempt(Arc::clone(&self.config), self.last_event_id.clone());
        self.state = State::Connecting(Box::pin(attempt));
    }

    /// Ends the stream for good.
    fn finish(&mut self) {
        self.state = State::Done;
        self.shared.finish();
    }

    /// After an attempt that did not open: wait and retry, or give up.
    fn attempt_failed(&mut self, error: Error, retry_after: Option<Duration>) -> Error {
        self.failures = self.failures.saturating_add(1);
        if self.config.one_shot || self.config.policy.exhausted(self.failures) {
            self.finish();
            return error.fatal();
        }
        let delay = retry_after
            .unwrap_or_else(|| self.config.policy.delay(self.reconnect_time, self.failures));
        self.wait(delay);
        error.reconnecting(delay)
    }

    /// After an open connection was lost: "reestablish the connection".
    fn connection_lost(&mut self, error: Error) -> Error {
        if self.config.one_shot {
            self.finish();
            return error.fatal();
        }
        let delay = self.config.policy.delay(self.reconnect_time, self.failures);
        self.wait(delay);
        error.reconnecting(delay)
    }

    fn wait(&mut self, delay: Duration) {
        // "Set the readyState attribute to CONNECTING."
        self.shared.set_state(ReadyState::Connecting);
        self.state = if delay.is_zero() {
            State::Start
        } else {
            State::Waiting(Box::pin(tokio::time::sleep(delay)))
        };
    }

    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Item, Error>>> {
        loop {
            let State::Open(connection) = &mut self.state else {
                return Poll::Ready(None);
            };
            let (shared, mirror) = (&self.shared, &mut self.last_event_id);
            let step = match connection.poll_step(cx, |decoder| {
                shared.sync_last_event_id(mirror, decoder.last_event_id_shared());
            }) {
                Poll::Ready(step) => step,
                Poll::Pending => return Poll::Pending,
            };
            match step {
                Step::Frame(Frame::Event(event)) => {
                    if self.config.done.as_deref() == Some(event.data()) {
                        self.finish();
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(Item::Event(event))));
                }
                // "If the field value consists of only ASCII digits, then
                // [...] set the event stream's reconnection time to that integer."
                Step::Frame(Frame::Retry(time)) => self.reconnect_time = time,
                // Comments are keep-alives: their bytes reset the idle timer.
                Step::Frame(_) => {}
                Step::Decode(error) => {
                    return Poll::Ready(Some(Err(Error::new(Kind::Decode(error)).non_fatal())));
                }
                Step::Eof if self.config.one_shot => {
                    // One-shot: the end of the response is the end of the stream.
                    self.finish();
                    return Poll::Ready(None);
                }
                Step::Eof => {
                    let error = self.connection_lost(Error::new(Kind::Eof));
                    return Poll::Ready(Some(Err(error)));
                }
                Step::Lost(source) => {
                    let error =
                        self.connection_lost(Error::new(Kind::Disconnected).with_source(source));
                    return Poll::Ready(Some(Err(error)));
                }
                Step::Idle => {
                    let error = self.connection_lost(Error::new(Kind::IdleTimeout));
                    return Poll::Ready(Some(Err(error)));
                }
            }
        }
    }
}

impl Stream for EventSource {
    type Item = Result<Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.shared.register(cx.waker());
        if this.shared.is_closed() {
            // close(): drop the connection or timer now.
            this.state = State::Done;
            return Poll::Ready(None);
        }
        loop {
            match &mut this.state {
                State::Start => this.start_attempt(),
                State::Connecting(attempt) => {
                    let outcome = match attempt.as_mut().poll(cx) {
                        Poll::Ready(outcome) => outcome,
                        Poll::Pending => return Poll::Pending,
                    };
                    match outcome {
                        Outcome::Open(response) => {
                            // "Announce the connection": a good open resets the backoff.
                            this.failures = 0;
                            let (parts, body) = response.into_parts();
                            let decoder = Decoder::with_limits(this.config.limits)
                                .with_last_event_id(this.last_event_id.clone());
                            this.state = State::Open(Box::new(Connection::new(
                                body,
                                decoder,
                                this.config.idle_timeout,
                            )));
                            this.shared.set_state(ReadyState::Open);
                            return Poll::Ready(Some(Ok(Item::Open {
                                status: parts.status,
                                headers: parts.headers,
                            })));
                        }
                        Outcome::NoContent => {
                            this.finish();
                            return Poll::Ready(None);
                        }
                        Outcome::Retry(error, retry_after) => {
                            return Poll::Ready(Some(Err(this.attempt_failed(error, retry_after))));
                        }
                        Outcome::Fail(error) => {
                            this.finish();
                            return Poll::Ready(Some(Err(error.fatal())));
                        }
                    }
                }
                State::Open(_) => return this.poll_open(cx),
                State::Waiting(sleep) => {
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.start_attempt();
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_send_and_unpin() {
        fn assert_send<T: Send + Unpin>() {}
        assert_send::<EventSource>();
    }
}
