//! The accept loop: hyper's connection builder with a timer (so the
//! header-read timeout applies), a cap on open connections, graceful
//! shutdown, and the open-file limit raised at start.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use bourn_server::Shutdown;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::h2;
use super::lean;
use super::metrics::Metrics;
use super::stall::{self, Stall};

/// Descriptors kept free for the store, logs and the listener itself when
/// the connection cap is derived from the open-file limit.
const SPARE_FDS: u64 = 64;
/// What a client speaking HTTP/2 over cleartext with prior knowledge sends
/// first (RFC 9113, section 3.4: "the connection preface starts with the
/// string `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`").
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// How often a connection whose first bytes are a strict prefix of
/// [`H2_PREFACE`] is looked at again (`peek` does not wait for more bytes).
const PREFACE_POLL: Duration = Duration::from_millis(10);
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
    // One builder per protocol rather than hyper-util's `auto` builder: that
    // one reads the first bytes to tell the protocols apart and hands them
    // back through a rewinding reader, so hyper's HTTP/1.1 read buffer
    // starts with 24 bytes in it and is reallocated (and copied) to 16 KiB
    // at its next read: 8 KiB of RSS more per subscriber, kept for the
    // connection's life. `protocol` peeks instead, consuming nothing.
    let mut h1 = http1::Builder::new();
    h1.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new());
    let builders = Arc::new((h1, h2));
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
        let builders = Arc::clone(&builders);
        let router = router.clone();
        let shutdown = shutdown.clone();
        let metrics = Arc::clone(&metrics);
        let open = Open::new(Arc::clone(&metrics), permit);
        tokio::spawn(async move {
            // hyper's header timer starts at the first byte: a connection
            // that sends nothing would hold its place for ever.
            let http2 = tokio::select! {
                () = shutdown.triggered() => return,
                first = tokio::time::timeout(limits.header_timeout, protocol(&stream)) => {
                    match first {
                        Ok(Ok(Some(http2))) => http2,
                        Ok(_) => return,
                        Err(_) => {
                            metrics.idle_closed.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(%peer, "no request within --header-timeout; closing");
                            return;
                        }
                    }
                }
            };
            let subscription = if http2 {
                None
            } else {
                lean::peek_subscription(&stream).await
            };
            if let Some((request, head_len)) = subscription {
                let io = Stall::new(stream, limits.write_timeout, metrics);
                lean::serve(io, request, head_len, router).await;
                drop(open);
                return;
            }
            let io = TokioIo::new(Stall::new(
                stream,
                limits.write_timeout,
                Arc::clone(&metrics),
            ));
            let (h1, h2) = &*builders;
            let ended = if http2 {
                drop(watcher);
                serve_http2(h2, io, router, &shutdown, limits.header_timeout, &metrics).await
            } else {
                watcher
                    .watch(h1.serve_connection(io, TowerToHyperService::new(router)))
                    .await
            };
            if let Err(error) = ended {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(open);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    // Subscriptions on the lean path are not hyper connections: they end
    // with their streams (the shutdown ends those). Every connection holds
    // a permit until it is closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// Serves one HTTP/2 connection until it ends: closed (`GOAWAY`) at
/// shutdown, or when it has held no request for `idle` (see [`h2`]), and
/// dropped if it is still open `idle` after that.
async fn serve_http2(
    builder: &http2::Builder<TokioExecutor>,
    io: TokioIo<Stall>,
    router: Router,
    shutdown: &Shutdown,
    idle: Duration,
    metrics: &Metrics,
) -> Result<(), hyper::Error> {
    let activity = Arc::new(h2::Activity::default());
    let service = h2::Counted::new(router, Arc::clone(&activity));
    let connection = builder.serve_connection(io, TowerToHyperService::new(service));
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            ended = connection.as_mut() => return ended,
            () = shutdown.triggered(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = activity.idle_for(idle) => {
                if closing {
                    tracing::debug!("HTTP/2 connection still open after its GOAWAY; dropping it");
                    return Ok(());
                }
                metrics.idle_closed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("HTTP/2 connection without a request within --header-timeout; closing");
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Which protocol the connection speaks, from its first bytes, consuming
/// none: `Some(true)` for HTTP/2 (its preface), `Some(false)` for HTTP/1.x,
/// `None` if the peer closed before sending anything.
///
/// `peek`, not `readable()`: readiness can be reported before any byte is
/// there.
async fn protocol(stream: &TcpStream) -> std::io::Result<Option<bool>> {
    let mut head = [0; H2_PREFACE.len()];
    loop {
        let n = stream.peek(&mut head).await?;
        if n == 0 {
            return Ok(None);
        }
        // Every HTTP/1.x request line differs from the preface within its
        // first bytes ("PRI" is not a method a client sends otherwise).
        if head[..n] != H2_PREFACE[..n] {
            return Ok(Some(false));
        }
        if n == H2_PREFACE.len() {
            return Ok(Some(true));
        }
        // A strict prefix so far: the rest has not arrived. The caller's
        // header timeout bounds this.
        tokio::time::sleep(PREFACE_POLL).await;
    }
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

    #[tokio::test]
    async fn the_protocol_comes_from_the_first_bytes_and_none_are_consumed() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cases: [(&[&[u8]], Option<bool>); 5] = [
            (&[b"GET / HTTP/1.1\r\n"], Some(false)),
            (&[b"P", b"OST /topics/a HTTP/1.1\r\n"], Some(false)),
            (&[H2_PREFACE], Some(true)),
            (&[b"PRI * HT", b"TP/2.0\r\n\r\nSM\r\n\r\n"], Some(true)),
            (&[], None),
        ];
        for (parts, expected) in cases {
            let client = tokio::spawn(async move {
                let mut client = TcpStream::connect(addr).await.unwrap();
                client.set_nodelay(true).unwrap();
                for part in parts {
                    client.write_all(part).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(30)).await;
                }
            });
            let (mut stream, _) = listener.accept().await.unwrap();
            let found = tokio::time::timeout(Duration::from_secs(5), protocol(&stream))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(found, expected, "{parts:?}");
            client.await.unwrap();
            let mut all = Vec::new();
            stream.read_to_end(&mut all).await.unwrap();
            assert_eq!(all, parts.concat(), "nothing consumed");
        }
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
