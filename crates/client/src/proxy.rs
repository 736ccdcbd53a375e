//! A connector for plain-HTTP forward proxies: every connection goes to
//! the proxy and is marked as proxied, so hyper sends the request line in
//! absolute form (`GET http://host/path HTTP/1.1`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::error::BoxError;

/// Connects to the proxy, whatever the destination.
#[derive(Debug, Clone)]
pub(crate) struct ForwardProxy {
    proxy: Uri,
    inner: HttpConnector,
}

impl ForwardProxy {
    pub(crate) fn new(proxy: Uri, inner: HttpConnector) -> ForwardProxy {
        ForwardProxy { proxy, inner }
    }
}

type Connecting = Pin<Box<dyn Future<Output = Result<Proxied, BoxError>> + Send>>;

impl Service<Uri> for ForwardProxy {
    type Response = Proxied;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(BoxError::from)
    }

    fn call(&mut self, _destination: Uri) -> Connecting {
        let connecting = self.inner.call(self.proxy.clone());
        Box::pin(async move { Ok(Proxied(connecting.await?)) })
    }
}

/// A TCP connection to a proxy.
#[derive(Debug)]
pub(crate) struct Proxied(TokioIo<TcpStream>);

impl Connection for Proxied {
    fn connected(&self) -> Connected {
        self.0.connected().proxy(true)
    }
}

impl Read for Proxied {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl Write for Proxied {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }
}
