//! The listening server.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::{Method, Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::body::ScriptBody;
use crate::recorded::Recorded;
use crate::reply::Reply;

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// A scripted HTTP/1.1 server on `127.0.0.1:0`.
///
/// Each request is recorded, then answered with the [`Reply`] the handler
/// returns for it. Dropping the server stops it and every open connection.
pub struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// Starts a server that answers each request with `handler(&request)`.
    ///
    /// Must be called inside a Tokio runtime.
    ///
    /// # Errors
    ///
    /// If the listener cannot bind `127.0.0.1:0`.
    pub async fn start<H>(handler: H) -> io::Result<Server>
    where
        H: Fn(&Recorded) -> Reply + Send + Sync + 'static,
    {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let accept = tokio::spawn(accept_loop(listener, handler, Arc::clone(&requests)));
        Ok(Server {
            addr,
            requests,
            accept,
        })
    }

    /// Starts a server that answers the n-th request with the n-th reply,
    /// and `204 No Content` once the list is used up.
    ///
    /// # Errors
    ///
    /// If the listener cannot bind `127.0.0.1:0`.
    pub async fn replies(replies: impl IntoIterator<Item = Reply>) -> io::Result<Server> {
        let replies: Vec<Reply> = replies.into_iter().collect();
        Server::start(move |request| {
            replies
                .get(request.index)
                .cloned()
                .unwrap_or_else(|| Reply::status(204))
        })
        .await
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// `http://127.0.0.1:PORT` followed by `path` (which should start with `/`).
    pub fn url_for(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Waits until at least `n` requests were received, or `timeout` passed;
    /// returns whether they were.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.request_count() < n {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The accept task owns the connections' JoinSet: aborting it ends them too.
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    handler: Arc<Handler>,
    requests: Arc<Mutex<Vec<Recorded>>>,
) {
    let mut connections = JoinSet::new();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        // Reap finished connections so the set stays small in long tests.
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        let handler = Arc::clone(&handler);
        let requests = Arc::clone(&requests);
        connections.spawn(async move {
            let service = service_fn(move |request| {
                answer(request, Arc::clone(&handler), Arc::clone(&requests))
            });
            // Connection errors are the point of many scripts; nothing to report.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

async fn answer(
    mut request: Request<Incoming>,
    handler: Arc<Handler>,
    requests: Arc<Mutex<Vec<Recorded>>>,
) -> Result<Response<ScriptBody>, Infallible> {
    {
        let upgrade = hyper::upgrade::on(&mut request);
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let recorded = {
            let mut log = requests.lock().unwrap_or_else(PoisonError::into_inner);
            let recorded = Recorded {
                method: parts.method,
                path: parts
                    .uri
                    .path_and_query()
                    .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
                target: parts.uri.to_string(),
                headers: parts.headers,
                body,
                index: log.len(),
                received_at: std::time::Instant::now(),
            };
            log.push(recorded.clone());
            recorded
        };
        let reply = handler(&recorded);
        if reply.tunnel && recorded.method == Method::CONNECT {
            tokio::spawn(relay(upgrade, recorded.target.clone()));
        }
        if !reply.head_delay.is_zero() {
            tokio::time::sleep(reply.head_delay).await;
        }
        let chunks = reply.planned_chunks();
        let mut response = Response::new(ScriptBody::new(chunks, reply.chunk_delay, reply.end));
        *response.status_mut() = reply.status;
        *response.headers_mut() = reply.headers;
        Ok(response)
    }
}

/// A `CONNECT` tunnel: once hyper hands the connection over, bytes go both
/// ways between it and `authority`. Failures just end the tunnel.
async fn relay(upgrade: hyper::upgrade::OnUpgrade, authority: String) {
    let Ok(upgraded) = upgrade.await else { return };
    let Ok(mut target) = tokio::net::TcpStream::connect(authority.as_str()).await else {
        return;
    };
    let mut client = TokioIo::new(upgraded);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut target).await;
}
