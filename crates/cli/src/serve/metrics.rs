//! `GET /metrics`: the channel's own statistics ([`bourn_server::Stats`]),
//! plus what only the HTTP edge sees (refused requests by status,
//! subscriptions opened).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use bourn_server::{ResetReason, Stats};

/// The hub's own counters (all since the process started).
#[derive(Debug, Default)]
pub struct Metrics {
    pub subscriptions: AtomicU64,
    /// Connections open now (accepted and under --max-connections).
    pub connections: AtomicU64,
    /// Connections closed at accept: --max-connections was reached.
    pub connections_refused: AtomicU64,
    /// Connections closed because no request (head) came within
    /// --header-timeout before its first byte, and HTTP/2 connections
    /// closed for holding no request for --header-timeout.
    pub idle_closed: AtomicU64,
    /// Connections closed because their socket took no bytes within
    /// --write-timeout.
    pub write_timeouts: AtomicU64,
    /// Requests refused, by status.
    pub rejected: [AtomicU64; REJECTED.len()],
}

/// The statuses counted in `bourn_rejected_total`: 4xx refusals and the
/// 5xx answers of publishes (503: the backend refused, nothing published;
/// 504: the outcome is unknown).
pub const REJECTED: [u16; 11] = [400, 401, 403, 404, 408, 413, 415, 421, 429, 503, 504];

impl Metrics {
    /// Counts one refused request.
    pub fn reject(&self, status: u16) {
        if let Some(index) = REJECTED.iter().position(|&s| s == status) {
            self.rejected[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition (format 0.0.4) of `stats` and these
    /// counters; `topics` counts the topics the hub lists.
    pub fn render(&self, stats: &Stats, topics: usize) -> String {
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
            stats.subscribers as u64,
        );
        metric(
            "bourn_topics",
            "gauge",
            "Topics the hub lists (published to or subscribed since start, bounded by --max-topics).",
            topics as u64,
        );
        metric(
            "bourn_active_topics",
            "gauge",
            "Topics with subscribers on this hub now.",
            stats.topics as u64,
        );
        metric(
            "bourn_backend_up",
            "gauge",
            "1 while the backend reports itself healthy, else 0 (see /health for the reason).",
            u64::from(stats.backend_health.is_healthy()),
        );
        metric(
            "bourn_published_total",
            "counter",
            "Events published through this hub and acknowledged by the backend.",
            stats.published,
        );
        metric(
            "bourn_publish_failures_total",
            "counter",
            "Publishes the backend refused (nothing was published).",
            stats.publish_failures,
        );
        metric(
            "bourn_publish_unknown_total",
            "counter",
            "Publishes whose outcome is unknown (the backend did not answer).",
            stats.publish_unknown,
        );
        metric(
            "bourn_delivered_total",
            "counter",
            "Events handed to subscriber streams, replayed ones included.",
            stats.delivered + stats.replayed,
        );
        metric(
            "bourn_replayed_total",
            "counter",
            "Events replayed from the backend to subscribers resuming with Last-Event-ID.",
            stats.replayed,
        );
        metric(
            "bourn_dropped_for_lag_total",
            "counter",
            "Subscribers disconnected because their queue was full (they resume from the backend).",
            stats.lag_disconnects,
        );
        metric(
            "bourn_resets_total",
            "counter",
            "bourn-reset events sent, all reasons (see bourn_resets_by_reason_total).",
            stats.resets.iter().map(|(_, n)| n).sum(),
        );
        let name = "bourn_resets_by_reason_total";
        let _ = write!(
            out,
            "# HELP {name} bourn-reset events sent, by reason.\n# TYPE {name} counter\n"
        );
        for reason in [
            ResetReason::Trimmed,
            ResetReason::Epoch,
            ResetReason::Unknown,
            ResetReason::Ahead,
            ResetReason::Unavailable,
            ResetReason::Removed,
        ] {
            let _ = writeln!(
                out,
                "{name}{{reason=\"{}\"}} {}",
                reason.as_str(),
                stats.resets(reason)
            );
        }
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            );
        };
        metric(
            "bourn_subscriptions_total",
            "counter",
            "Subscriptions opened.",
            get(&self.subscriptions),
        );
        metric(
            "bourn_busy_total",
            "counter",
            "Subscribers turned away at a subscriber or topic limit.",
            stats.busy,
        );
        metric(
            "bourn_expired_topics_total",
            "counter",
            "Topics removed because they were idle.",
            stats.expired_topics,
        );
        metric(
            "bourn_connections",
            "gauge",
            "Connections open now.",
            get(&self.connections),
        );
        metric(
            "bourn_connections_refused_total",
            "counter",
            "Connections closed at accept because --max-connections was reached.",
            get(&self.connections_refused),
        );
        metric(
            "bourn_idle_connections_closed_total",
            "counter",
            "Connections closed for sending no request within --header-timeout.",
            get(&self.idle_closed),
        );
        metric(
            "bourn_write_timeouts_total",
            "counter",
            "Connections closed because the peer took no bytes within --write-timeout (stalled subscribers).",
            get(&self.write_timeouts),
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
