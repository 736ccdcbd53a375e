//! The event source: a `Stream` that connects, decodes and reconnects.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bourn_codec::{ByteString, Decoder, Frame};
use futures_core::Stream;
use http::Uri;
use tokio::time::{Instant, Sleep};

use crate::builder::Builder;
use crate::config::Config;
use crate::connect::{self, Outcome, Target};
use crate::connection::{Connection, Read};
use crate::error::{Error, Kind};
use crate::handle::{Handle, ReadyState, Shared};
use crate::hook::RequestReason;
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
#[must_use = "an event source does nothing unless polled"]
pub struct EventSource {
    config: Arc<Config>,
    shared: Arc<Shared>,
    state: State,
    /// The spec's reconnection time: the policy's, then the server's `retry:`.
    reconnect_time: Duration,
    /// The backoff exponent: attempts that failed, and connections that
    /// closed before the policy's reset threshold, since the last
    /// connection that stayed open that long.
    failures: u32,
    /// Consecutive attempts that failed without opening (for `max_retries`).
    failed_attempts: u32,
    /// When the open connection opened.
    opened_at: Option<Instant>,
    /// Whether a connection ever opened, or an attempt ever started.
    started: bool,
    /// Where the next attempt goes.
    target: Target,
    /// Whether a connection ever opened.
    opened_any: bool,
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
        let target = Target {
            uri: config.uri.clone(),
            method: config.method.clone(),
            body: config.body.clone(),
        };
        EventSource {
            reconnect_time: config.policy.get_reconnect_time(),
            shared: Arc::new(Shared::new(last_event_id.clone(), config.uri.clone())),
            config: Arc::new(config),
            state: State::Start,
            failures: 0,
            failed_attempts: 0,
            opened_at: None,
            started: false,
            opened_any: false,
            target,
            last_event_id,
        }
    }

    /// The URL the next connection goes to: the final URL, after
    /// redirects, of the last connection that opened (the builder's until
    /// then). Reconnections go there, as a browser's do.
    pub fn url(&self) -> &Uri {
        &self.target.uri
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
        let reason = if self.started {
            RequestReason::Reconnect
        } else {
            RequestReason::Initial
        };
        self.started = true;
        let attempt = connect::attempt(
            Arc::clone(&self.config),
            self.target.clone(),
            self.last_event_id.clone(),
            reason,
        );
        self.state = State::Connecting(Box::pin(attempt));
    }

    /// `Handle::restart`: abandon the connection, attempt or wait, and
    /// start a new attempt now. The backoff state and reconnection time stay.
    fn restart(&mut self) {
        match self.state {
            State::Connecting(_) | State::Open(_) | State::Waiting(_) => {
                self.opened_at = None;
                self.state = State::Start;
            }
            State::Start | State::Done => {}
        }
    }

    /// Ends the stream for good.
    fn finish(&mut self) {
        self.state = State::Done;
        self.shared.finish();
    }

    /// After an attempt that did not open: wait and retry, or give up.
    fn attempt_failed(&mut self, error: Error, retry_after: Option<Duration>) -> Error {
        self.failures = self.failures.saturating_add(1);
        self.failed_attempts = self.failed_attempts.saturating_add(1);
        // The very first attempt, with `retry_first_connect(false)`: a
        // refused port or a wrong host name fails at once.
        let first = self.failed_attempts == 1 && !self.ever_opened();
        if self.config.one_shot
            || self.config.policy.exhausted(self.failed_attempts)
            || (first && !self.config.retry_first_connect)
        {
            self.finish();
            return error.fatal();
        }
        let delay = retry_after
            .unwrap_or_else(|| self.config.policy.delay(self.reconnect_time, self.failures));
        self.wait(delay);
        error.reconnecting(delay)
    }

    fn ever_opened(&self) -> bool {
        // The target moves off the builder's request only when a
        // connection opens; `Open` items are the other witness.
        self.opened_any
    }

    /// After an open connection was lost: "reestablish the connection".
    ///
    /// The first reconnection waits the reconnection time exactly (the
    /// server's `retry:`, 0 included). A connection that closed before the
    /// policy's reset threshold counts towards the backoff, so a server
    /// that opens and closes at once is reconnected to ever more slowly;
    /// one that stayed open that long resets it.
    fn connection_lost(&mut self, error: Error) -> Error {
        if self.config.one_shot {
            self.finish();
            return error.fatal();
        }
        let lived = self.opened_at.take().map(|at| at.elapsed());
        let delay = if lived.is_some_and(|lived| lived >= self.config.policy.get_reset_threshold())
        {
            self.failures = 0;
            self.reconnect_time
        } else {
            let delay = self.config.policy.delay(self.reconnect_time, self.failures);
            self.failures = self.failures.saturating_add(1);
            delay
        };
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

    /// What every `Pending` return goes through: the waker is registered
    /// for `close()` only when the stream is about to wait, which keeps two
    /// atomic read-modify-writes off every ready item.
    fn pending(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Item, Error>>> {
        self.shared.register(cx.waker());
        // `close()` sets the flag, then wakes the registered waker: a close
        // before the registration is seen here, one after it wakes the task.
        if self.shared.is_closed() {
            self.state = State::Done;
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    /// Runs the state machine until it yields an item or waits.
    fn poll_state(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Item, Error>>> {
        loop {
            match &mut self.state {
                State::Start => self.start_attempt(),
                State::Connecting(attempt) => {
                    let outcome = match attempt.as_mut().poll(cx) {
                        Poll::Ready(outcome) => outcome,
                        Poll::Pending => return self.pending(cx),
                    };
                    match outcome {
                        Outcome::Open(opened) => {
                            let (response, target) = *opened;
                            // "Announce the connection". The backoff is reset
                            // only once it has stayed open a while.
                            self.failed_attempts = 0;
                            self.opened_any = true;
                            self.opened_at = Some(Instant::now());
                            self.shared.set_url(&target.uri);
                            let url = target.uri.clone();
                            self.target = target;
                            let (parts, body) = response.into_parts();
                            let decoder = Decoder::with_limits(self.config.limits)
                                .with_last_event_id(self.last_event_id.clone());
                            self.state = State::Open(Box::new(Connection::new(
                                body,
                                decoder,
                                self.config.idle_timeout,
                            )));
                            self.shared.set_state(ReadyState::Open);
                            return Poll::Ready(Some(Ok(Item::Open {
                                status: parts.status,
                                headers: parts.headers,
                                url,
                            })));
                        }
                        Outcome::Retry(error, retry_after) => {
                            return Poll::Ready(Some(Err(self.attempt_failed(error, retry_after))));
                        }
                        Outcome::Fail(error) => {
                            self.finish();
                            return Poll::Ready(Some(Err(error.fatal())));
                        }
                    }
                }
                State::Open(_) => return self.poll_open(cx),
                State::Waiting(sleep) => {
                    if sleep.as_mut().poll(cx).is_pending() {
                        return self.pending(cx);
                    }
                    self.start_attempt();
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }

    /// Reads the open connection: decoded frames first, then more bytes.
    ///
    /// The event goes from the decoder's return value straight into the
    /// item returned: no intermediate enum, so no extra 176-byte moves.
    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Item, Error>>> {
        let lost = loop {
            let State::Open(connection) = &mut self.state else {
                return Poll::Ready(None);
            };
            let decoded = connection.decode();
            // After every decoder call, even one without a frame: an
            // `id`-only block moves the last event ID without one.
            self.shared.sync_last_event_id(
                &mut self.last_event_id,
                connection.decoder().last_event_id_shared(),
            );
            match decoded {
                Ok(Some(Frame::Event(event))) => {
                    if self.config.done.as_deref() == Some(event.data()) {
                        self.finish();
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(Item::Event(event))));
                }
                // "If the field value consists of only ASCII digits, then
                // [...] set the event stream's reconnection time to that integer."
                Ok(Some(Frame::Retry(time))) => self.reconnect_time = time,
                // Comments are keep-alives: their bytes reset the idle timer.
                Ok(Some(Frame::Comment(comment))) => {
                    if self.config.comments {
                        return Poll::Ready(Some(Ok(Item::Comment(String::from(&*comment)))));
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => match connection.poll_read(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(lost)) => break lost,
                    Poll::Pending => return self.pending(cx),
                },
                Err(error) => {
                    return Poll::Ready(Some(Err(Error::new(Kind::Decode(error)).non_fatal())));
                }
            }
        };
        let error = match lost {
            Read::Eof if self.config.one_shot => {
                // One-shot: the end of the response is the end of the stream.
                self.finish();
                return Poll::Ready(None);
            }
            Read::Eof => Error::new(Kind::Eof),
            Read::Lost(source) => Error::new(Kind::Disconnected).with_source(source),
            Read::Idle => Error::new(Kind::IdleTimeout),
        };
        Poll::Ready(Some(Err(self.connection_lost(error))))
    }
}

impl Stream for EventSource {
    type Item = Result<Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.shared.is_closed() {
            // close(): drop the connection or timer now.
            this.state = State::Done;
            return Poll::Ready(None);
        }
        if this.shared.take_restart() {
            this.restart();
        }
        this.poll_state(cx)
    }
}

impl Drop for EventSource {
    /// A handle whose source is gone reports `Closed`: nothing will
    /// connect again.
    fn drop(&mut self) {
        self.shared.finish();
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
