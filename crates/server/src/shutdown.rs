//! `Shutdown`: one signal that ends every open event stream.

use std::future::Future;
use std::time::Duration;

use bourn_codec::Event;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::encoded::Encoded;

/// A graceful-shutdown signal for event streams.
///
/// An open SSE response never ends by itself, so it blocks hyper's and
/// axum's graceful shutdown (hyper #2787, axum #2673). Attach a `Shutdown` to
/// each [`Sse`](crate::Sse) body (or give it to a
/// [`Channel`](crate::Channel)); [`trigger`](Shutdown::trigger) then makes
/// every attached body write its farewell, if any, and end cleanly (the
/// terminating chunk on HTTP/1.1, `END_STREAM` on HTTP/2), so the server's
/// own graceful shutdown can complete.
///
/// The farewell is an optional final event and an optional `retry:` hint
/// telling clients when to reconnect, encoded once and shared by all streams.
/// Default: no farewell.
///
/// Ending the streams is immediate; flushing them is the server's job. A
/// client that stopped reading can still hold its connection, so bound the
/// server's wait, e.g. `tokio::time::timeout(grace, graceful.shutdown())`
/// with hyper-util's `GracefulShutdown` (see `examples/hyper.rs`).
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    farewell: Option<Encoded>,
}

impl Shutdown {
    /// A signal with no farewell, not yet triggered.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Sets the farewell: `event` (if any) then a `retry:` hint (if any),
    /// written by every stream just before it ends. Default: none.
    ///
    /// With both, the hint becomes the event's `retry` field (one block).
    pub fn farewell(mut self, event: Option<Event>, retry: Option<Duration>) -> Shutdown {
        let event = match (event, retry) {
            (Some(event), Some(retry)) => Some(event.into_builder().retry(retry).build()),
            (None, Some(retry)) => Some(Event::builder().retry(retry).build()),
            (event, None) => event,
        };
        self.farewell = event.map(Encoded::from);
        self
    }

    /// Ends every stream attached to this signal (and to its clones). Idempotent.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether [`trigger`](Shutdown::trigger) was called.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes once the signal is triggered: pass it to hyper's or axum's
    /// graceful-shutdown hook, or `select!` on it in an accept loop.
    pub fn triggered(&self) -> impl Future<Output = ()> + Send + 'static {
        self.token.clone().cancelled_owned()
    }

    pub(crate) fn wait(&self) -> WaitForCancellationFutureOwned {
        self.token.clone().cancelled_owned()
    }

    pub(crate) fn farewell_bytes(&self) -> Option<&Encoded> {
        self.farewell.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use bourn_codec::EventType;

    use super::*;

    #[test]
    fn farewell_is_one_encoded_block() {
        let event = Event::builder()
            .event(EventType::from_static("bye"))
            .data("x")
            .build();
        let cases = [
            (None, None, None),
            (None, Some(2), Some("retry: 2000\n\n")),
            (Some(event.clone()), None, Some("event: bye\ndata: x\n\n")),
            (
                Some(event),
                Some(1),
                Some("event: bye\nretry: 1000\ndata: x\n\n"),
            ),
        ];
        for (event, retry, expected) in cases {
            let shutdown = Shutdown::new().farewell(event, retry.map(Duration::from_secs));
            let got = shutdown.farewell_bytes().map(|e| e.as_bytes().clone());
            assert_eq!(got.as_deref(), expected.map(str::as_bytes));
        }
    }

    #[tokio::test]
    async fn trigger_completes_every_waiter() {
        let shutdown = Shutdown::new();
        let waiter = shutdown.clone().triggered();
        assert!(!shutdown.is_triggered());
        shutdown.trigger();
        shutdown.trigger();
        waiter.await;
        assert!(shutdown.is_triggered());
    }
}
