//! A write deadline on a connection: a socket that takes no byte for
//! `--write-timeout` while the hub has bytes for it fails the connection.
//!
//! Only bytes the socket accepts count as progress, so a keep-alive comment
//! waiting in hyper's buffer behind a full socket never keeps a stalled
//! subscriber alive. When the deadline passes, the socket is set to close
//! with a reset (`SO_LINGER` 0): the kernel drops its send queue at once
//! instead of probing a zero window for what it holds.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::metrics::Metrics;

/// Largest kernel send buffer asked for each connection (Linux doubles it
/// for its bookkeeping): bounds what a stalled peer pins in kernel memory.
pub const SEND_BUFFER: usize = 256 * 1024;

/// Sets the socket options that bound a stalled peer: a capped send buffer
/// and, where the platform has it, `TCP_USER_TIMEOUT` (sent data left
/// unacknowledged for `timeout` ends the connection in the kernel).
pub fn configure(stream: &TcpStream, timeout: Duration) {
    let socket = SockRef::from(stream);
    if let Err(error) = socket.set_send_buffer_size(SEND_BUFFER) {
        tracing::debug!(%error, "cannot cap the send buffer");
    }
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
    if let Err(error) = socket.set_tcp_user_timeout(Some(timeout)) {
        tracing::debug!(%error, "cannot set TCP_USER_TIMEOUT");
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "fuchsia")))]
    let _ = timeout;
}

/// `TcpStream` whose writes fail after `timeout` without progress.
#[derive(Debug)]
pub struct Stall {
    inner: TcpStream,
    timeout: Duration,
    /// Made at the first pending write and reset after, so a connection
    /// that never stalls never allocates it.
    sleep: Option<Pin<Box<Sleep>>>,
    /// Whether `sleep` is counting for the current pending write.
    armed: bool,
    /// Where a timeout is counted.
    metrics: Arc<Metrics>,
}

impl Stall {
    pub fn new(inner: TcpStream, timeout: Duration, metrics: Arc<Metrics>) -> Stall {
        Stall {
            inner,
            timeout,
            sleep: None,
            armed: false,
            metrics,
        }
    }

    /// The socket, to wait for it to be readable without reading.
    pub fn get_ref(&self) -> &TcpStream {
        &self.inner
    }

    /// After a write made progress (or failed): the next pending write
    /// starts a new wait.
    fn progressed<T>(&mut self, result: T) -> Poll<T> {
        self.armed = false;
        Poll::Ready(result)
    }

    /// A write is pending: start the wait if it is the first, fail once it
    /// has lasted `timeout`.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let deadline = Instant::now() + self.timeout;
        let sleep = match &mut self.sleep {
            Some(sleep) => {
                if !self.armed {
                    sleep.as_mut().reset(deadline);
                }
                sleep
            }
            None => self
                .sleep
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        self.armed = true;
        ready!(sleep.as_mut().poll(cx));
        // Close with a reset: drop what the kernel still holds for this peer.
        let _ = SockRef::from(&self.inner).set_linger(Some(Duration::ZERO));
        self.metrics.write_timeouts.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(timeout = ?self.timeout, "the peer took no bytes; closing (--write-timeout)");
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer took no bytes within --write-timeout",
        )))
    }
}

impl AsyncRead for Stall {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stall {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(result) => this.progressed(result),
            Poll::Pending => this.pending(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => this.progressed(result),
            Poll::Pending => this.pending(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(result) => Poll::Ready(result),
            Poll::Pending => this.pending(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Ready(result) => Poll::Ready(result),
            Poll::Pending => this.pending(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A peer that never reads: writes stop making progress and fail after
    /// the timeout, not before.
    #[tokio::test]
    async fn a_peer_that_never_reads_fails_the_write_after_the_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _peer = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let metrics = Arc::new(Metrics::default());
        let mut stall = Stall::new(stream, Duration::from_millis(300), Arc::clone(&metrics));
        let chunk = vec![b'x'; 64 * 1024];
        let start = std::time::Instant::now();
        let error = loop {
            if let Err(error) = stall.write_all(&chunk).await {
                break error;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "never failed");
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(300));
        assert_eq!(metrics.write_timeouts.load(Ordering::Relaxed), 1);
    }
}
