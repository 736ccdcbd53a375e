//! The accept loop: hyper's connection builder with a timer (so the
//! header-read timeout applies), a cap on open connections, graceful
//! shutdown, and the open-file limit raised at start.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use bourn_server::Shutdown;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::metrics::Metrics;
use super::stall::{self, Stall};

/// Descriptors kept free for the store, logs and the listener itself when
/// the connection cap is derived from the open-file limit.
const SPARE_FDS: u64 = 64;
/// At most one "limit reached" or accept-error line per this long.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// The pause after an accept error (e.g. EMFILE), so it never spins.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the accept loop enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed for an HTTP/1.1 request head to arrive.
    pub header_timeout: Duration,
    /// Most open connections.
    pub max_connections: usize,
    /// Time a socket may take no bytes while the hub has bytes for it.
    pub write_timeout: Duration,
}

/// Raises the soft open-file limit to the hard limit and returns the soft
/// limit in force (`None` if it cannot be read).
pub fn raise_fd_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            tracing::info!(limit, "open-file limit (soft, raised to the hard limit)");
            Some(limit)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot raise the open-file limit");
            None
        }
    }
}

/// The connection cap in force: `wanted`, kept under the open-file limit.
pub fn connection_cap(wanted: usize, fd_limit: Option<u64>) -> usize {
    let Some(limit) = fd_limit else {
        return wanted;
    };
    let room = usize::try_from(limit.saturating_sub(SPARE_FDS).max(1)).unwrap_or(usize::MAX);
    if room < wanted {
        tracing::warn!(
            wanted,
            cap = room,
            fd_limit = limit,
            "--max-connections is above the open-file limit; using the lower cap"
        );
    }
    wanted.min(room)
}

/// One open connection: counted in `bourn_connections` and holding its
/// place under --max-connections until dropped.
struct Open {
    metrics: Arc<Metrics>,
    _permit: OwnedSemaphorePermit,
}

impl Open {
    fn new(metrics: Arc<Metrics>, permit: OwnedSemaphorePermit) -> Open {
        metrics.connections.fetch_add(1, Ordering::Relaxed);
        Open {
            metrics,
            _permit: permit,
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.metrics.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Logs at most once per [`LOG_EVERY`], counting what it skipped.
struct RateLimited {
    last: Option<Instant>,
    skipped: u64,
}

impl RateLimited {
    fn new() -> RateLimited {
        RateLimited {
            last: None,
            skipped: 0,
        }
    }

    /// `Some(skipped since the last line)` when a line may be written now.
    fn ready(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < LOG_EVERY)
        {
            self.skipped += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.skipped))
    }
}

/// Serves `router` on `listener` until `shutdown` triggers, then waits for
/// the open connections to finish (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
    limits: Limits,
    metrics: Arc<Metrics>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut full_log = RateLimited::new();
    let mut error_log = RateLimited::new();
    loop {
        let accepted = tokio::select! {
            () = shutdown.triggered() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                if let Some(skipped) = error_log.ready() {
                    tracing::warn!(%error, skipped, "accept error; pausing accepts");
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // Closed at once: the peer sees the connection end, and the
            // backlog never fills with connections nobody will serve.
            drop(stream);
            metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
            if let Some(skipped) = full_log.ready() {
                tracing::warn!(
                    max = limits.max_connections,
                    %peer,
                    refused_since_last_line = skipped,
                    "the hub has its maximum of open connections (--max-connections): closing new ones"
                );
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        stall::configure(&stream, limits.write_timeout);
        let watcher = graceful.watcher();
        let builder = Arc::clone(&builder);
        let router = router.clone();
        let shutdown = shutdown.clone();
        let metrics = Arc::clone(&metrics);
        let open = Open::new(Arc::clone(&metrics), permit);
        tokio::spawn(async move {
            // hyper's header timer starts at the first byte: a connection
            // that sends nothing would hold its place for ever.
            let mut first_byte = [0; 1];
            tokio::select! {
                () = shutdown.triggered() => return,
                // `peek`, not `readable()`: readiness can be reported
                // before any byte is there.
                first = tokio::time::timeout(limits.header_timeout, stream.peek(&mut first_byte)) => {
                    if first.is_err() {
                        metrics.idle_closed.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%peer, "no request within --header-timeout; closing");
                    }
                    if !matches!(first, Ok(Ok(1..))) {
                        return;
                    }
                }
            }
            let io = TokioIo::new(Stall::new(stream, limits.write_timeout, metrics));
            let service = TowerToHyperService::new(router);
            let connection = builder
                .serve_connection_with_upgrades(io, service)
                .into_owned();
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(open);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_under_the_fd_limit() {
        assert_eq!(connection_cap(100, None), 100);
        assert_eq!(connection_cap(100, Some(1024)), 100);
        assert_eq!(connection_cap(5000, Some(1024)), 1024 - SPARE_FDS as usize);
        assert_eq!(connection_cap(5000, Some(10)), 1);
    }

    #[test]
    fn rate_limited_lines_count_what_they_skip() {
        let mut log = RateLimited::new();
        assert_eq!(log.ready(), Some(0));
        assert_eq!(log.ready(), None);
        assert_eq!(log.ready(), None);
        log.last = Instant::now().checked_sub(LOG_EVERY);
        assert_eq!(log.ready(), Some(2));
    }
}
