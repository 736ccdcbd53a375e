//! Counters for `GET /metrics`, and the subscriber stream that feeds them.
//!
//! `bourn-server`'s `Channel` tells how many subscribers are connected; the
//! rest is counted here: publishes in the publish handler, and deliveries,
//! replays, resets and lag disconnects by wrapping each `Subscription`.

use std::fmt::Write as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bourn_codec::{Decoder, Frame};
use bourn_server::{Encoded, RESET_EVENT, Subscription};
use bytes::BytesMut;
use futures_core::Stream;

/// The hub's counters (all since the process started).
#[derive(Debug, Default)]
pub struct Metrics {
    pub published: AtomicU64,
    pub delivered: AtomicU64,
    pub replayed: AtomicU64,
    pub dropped_for_lag: AtomicU64,
    pub resets: AtomicU64,
    pub subscriptions: AtomicU64,
    pub busy: AtomicU64,
    /// Requests refused with a 4xx, by status.
    pub rejected: [AtomicU64; REJECTED.len()],
}

/// The statuses counted in `bourn_rejected_total`.
pub const REJECTED: [u16; 7] = [400, 401, 403, 404, 413, 415, 429];

impl Metrics {
    /// Counts one refused request.
    pub fn reject(&self, status: u16) {
        if let Some(index) = REJECTED.iter().position(|&s| s == status) {
            self.rejected[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self, subscribers: usize, topics: usize) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            );
        };
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        metric(
            "bourn_subscribers",
            "gauge",
            "Subscribers connected now.",
            subscribers as u64,
        );
        metric(
            "bourn_topics",
            "gauge",
            "Topics in use (kept for the process's life).",
            topics as u64,
        );
        metric(
            "bourn_published_total",
            "counter",
            "Events published.",
            get(&self.published),
        );
        metric(
            "bourn_delivered_total",
            "counter",
            "Events handed to subscriber streams, replayed ones included.",
            get(&self.delivered),
        );
        metric(
            "bourn_replayed_total",
            "counter",
            "Events replayed from the log to subscribers resuming with Last-Event-ID.",
            get(&self.replayed),
        );
        metric(
            "bourn_dropped_for_lag_total",
            "counter",
            "Subscribers disconnected because their queue was full (they resume from the log).",
            get(&self.dropped_for_lag),
        );
        metric(
            "bourn_resets_total",
            "counter",
            "bourn-reset events sent: a Last-Event-ID the log could not resume from.",
            get(&self.resets),
        );
        metric(
            "bourn_subscriptions_total",
            "counter",
            "Subscriptions opened.",
            get(&self.subscriptions),
        );
        metric(
            "bourn_busy_total",
            "counter",
            "Subscribers turned away at a subscriber limit.",
            get(&self.busy),
        );
        let name = "bourn_rejected_total";
        let _ = write!(
            out,
            "# HELP {name} Requests refused, by status.\n# TYPE {name} counter\n"
        );
        for (status, counter) in REJECTED.iter().zip(&self.rejected) {
            let _ = writeln!(out, "{name}{{status=\"{status}\"}} {}", get(counter));
        }
        out
    }
}

/// A [`Subscription`] that counts what it yields.
///
/// A subscription yields, in order: a prelude (the id-only priming block for
/// a new subscriber, or a reset event for a resume that failed), the
/// replayed events, then live events. Its `size_hint` at the start is the
/// prelude plus the replay; which of the two it is shows in the first item.
/// It ends by itself only when the subscriber lagged.
#[derive(Debug)]
pub struct Counted {
    inner: Subscription,
    metrics: Arc<Metrics>,
    /// Items still to come from the start of the stream (prelude + replay).
    head: usize,
    /// Whether the subscriber resumed: its head is a reset or a replay.
    resumed: bool,
    /// Whether the head is a replay (decided at its first item).
    replaying: bool,
}

impl Counted {
    /// Counts `inner`, which was subscribed with (`resumed`) or without a
    /// `Last-Event-ID`.
    pub fn new(inner: Subscription, resumed: bool, metrics: Arc<Metrics>) -> Counted {
        metrics.subscriptions.fetch_add(1, Ordering::Relaxed);
        let head = inner.size_hint().0;
        Counted {
            inner,
            metrics,
            head,
            resumed,
            replaying: false,
        }
    }

    fn count(&mut self, item: &Encoded) {
        let metrics = &self.metrics;
        if self.head == 0 {
            metrics.delivered.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let first = !self.replaying;
        self.head -= 1;
        if first && !self.resumed {
            // The priming id-only block: not an event.
            return;
        }
        if first && is_reset(item) {
            metrics.resets.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.replaying = true;
        metrics.replayed.fetch_add(1, Ordering::Relaxed);
        metrics.delivered.fetch_add(1, Ordering::Relaxed);
    }
}

/// Whether an encoded block is the channel's reset event (read with the
/// codec, never by hand).
fn is_reset(item: &Encoded) -> bool {
    let mut buf = BytesMut::from(item.as_bytes().as_ref());
    let mut decoder = Decoder::new();
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(Frame::Event(event))) => return event.event_type() == RESET_EVENT,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return false,
        }
    }
}

impl Stream for Counted {
    type Item = Encoded;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Encoded>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(item)) => {
                this.count(&item);
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                this.metrics.dropped_for_lag.fetch_add(1, Ordering::Relaxed);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use bourn_codec::Event;
    use bourn_server::{Channel, LastEventId};
    use futures_util::StreamExt;

    use super::*;

    #[tokio::test]
    async fn counts_priming_replay_reset_live_and_lag() {
        let channel = Channel::builder().queue_len(1).build();
        let metrics = Arc::new(Metrics::default());
        let first = channel.publish("t", Event::message("1")).unwrap();
        channel.publish("t", Event::message("2")).unwrap();

        // New subscriber: priming block, then a live event.
        let mut fresh = Counted::new(
            channel.subscribe("t", None).unwrap(),
            false,
            Arc::clone(&metrics),
        );
        fresh.next().await.unwrap();
        // Resumed subscriber: one replayed event.
        let last = LastEventId::new(first.to_string()).unwrap();
        let mut resumed = Counted::new(
            channel.subscribe("t", Some(&last)).unwrap(),
            true,
            Arc::clone(&metrics),
        );
        resumed.next().await.unwrap();
        // Another epoch: a reset.
        let other = LastEventId::new("abc.1").unwrap();
        let mut reset = Counted::new(
            channel.subscribe("t", Some(&other)).unwrap(),
            true,
            Arc::clone(&metrics),
        );
        reset.next().await.unwrap();

        channel.publish("t", Event::message("3")).unwrap();
        fresh.next().await.unwrap();
        resumed.next().await.unwrap();
        // `reset` does not read: the next publish overflows its queue of 1.
        channel.publish("t", Event::message("4")).unwrap();
        assert!(reset.next().await.is_none());

        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        assert_eq!(get(&metrics.subscriptions), 3);
        assert_eq!(get(&metrics.replayed), 1);
        assert_eq!(get(&metrics.resets), 1);
        assert_eq!(get(&metrics.dropped_for_lag), 1);
        assert_eq!(get(&metrics.delivered), 3);
        let text = metrics.render(channel.subscriber_count(), 1);
        assert!(text.contains("\nbourn_replayed_total 1\n"), "{text}");
        assert!(
            text.contains("bourn_rejected_total{status=\"413\"} 0\n"),
            "{text}"
        );
    }
}
