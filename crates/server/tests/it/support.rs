use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bourn_codec::{Decoder, Frame};
use bytes::{Bytes, BytesMut};
use http::{Request, Response, Version};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub type Body = UnsyncBoxBody<Bytes, bourn_server::Error>;

/// Every wait in these tests is bounded by this.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// A hyper server (HTTP/1.1 and HTTP/2 prior knowledge) on 127.0.0.1:0
/// whose connections are watched by hyper-util's `GracefulShutdown`.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    accept: Option<JoinHandle<GracefulShutdown>>,
}

impl Server {
    pub async fn start<F>(handler: F) -> Server
    where
        F: Fn(Request<Incoming>) -> Response<Body> + Clone + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, mut stopped) = oneshot::channel();
        let accept = tokio::spawn(async move {
            let graceful = GracefulShutdown::new();
            let builder = auto::Builder::new(TokioExecutor::new());
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let (stream, _) = accepted.unwrap();
                        let handler = handler.clone();
                        let service = service_fn(move |request| {
                            let response = handler(request);
                            async move { Ok::<_, Infallible>(response) }
                        });
                        let connection = builder.serve_connection(TokioIo::new(stream), service);
                        tokio::spawn(graceful.watch(connection.into_owned()));
                    }
                    _ = &mut stopped => return graceful,
                }
            }
        });
        Server {
            addr,
            stop: Some(stop),
            accept: Some(accept),
        }
    }

    /// Stops accepting, then runs hyper-util's graceful shutdown; whether
    /// it completed within `grace`.
    pub async fn graceful_shutdown(&mut self, grace: Duration) -> bool {
        let _ = self.stop.take().unwrap().send(());
        let graceful = self.accept.take().unwrap().await.unwrap();
        tokio::time::timeout(grace, graceful.shutdown())
            .await
            .is_ok()
    }
}

/// A client connection of the given HTTP version; dropping it (or calling
/// `close`) closes the TCP connection.
pub struct Client {
    send: Sender,
    task: JoinHandle<()>,
}

enum Sender {
    H1(hyper::client::conn::http1::SendRequest<http_body_util::Empty<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<http_body_util::Empty<Bytes>>),
}

impl Client {
    pub async fn connect(addr: SocketAddr, version: Version) -> Client {
        let io = TokioIo::new(TcpStream::connect(addr).await.unwrap());
        if version == Version::HTTP_2 {
            let (send, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .unwrap();
            let task = tokio::spawn(async move {
                let _ = connection.await;
            });
            Client {
                send: Sender::H2(send),
                task,
            }
        } else {
            let (send, connection) = hyper::client::conn::http1::handshake(io).await.unwrap();
            let task = tokio::spawn(async move {
                let _ = connection.await;
            });
            Client {
                send: Sender::H1(send),
                task,
            }
        }
    }

    pub async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Response<Incoming> {
        let h2 = matches!(self.send, Sender::H2(_));
        let mut request = Request::builder();
        request = if h2 {
            request
                .uri(format!("http://localhost{path}"))
                .version(Version::HTTP_2)
        } else {
            request.uri(path).header("host", "localhost")
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(http_body_util::Empty::new()).unwrap();
        let response = match &mut self.send {
            Sender::H1(send) => within("response", send.send_request(request)).await,
            Sender::H2(send) => within("response", send.send_request(request)).await,
        };
        response.unwrap()
    }

    pub fn close(self) {
        self.task.abort();
    }
}

/// Reads an event-stream body with `bourn-codec`'s decoder.
pub struct Reader {
    body: Incoming,
    decoder: Decoder,
    buf: BytesMut,
    pub ended: bool,
}

impl Reader {
    pub fn new(response: Response<Incoming>) -> Reader {
        Reader {
            body: response.into_body(),
            decoder: Decoder::new(),
            buf: BytesMut::new(),
            ended: false,
        }
    }

    /// The next frame, or `None` at the end of the body.
    pub async fn next(&mut self) -> Option<Frame> {
        within("next frame", self.next_unbounded()).await
    }

    pub async fn next_unbounded(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf).unwrap() {
                return Some(frame);
            }
            if self.ended {
                return None;
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                Some(Err(_)) | None => self.ended = true,
            }
        }
    }

    /// The next event, skipping comments and `retry` frames.
    pub async fn event(&mut self) -> Option<bourn_codec::MessageEvent> {
        loop {
            match self.next().await? {
                Frame::Event(event) => return Some(event),
                _ => continue,
            }
        }
    }

    pub fn last_event_id(&self) -> &str {
        self.decoder.last_event_id()
    }
}

pub fn boxed<B>(response: Response<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes, Error = bourn_server::Error> + Send + 'static,
{
    response.map(BodyExt::boxed_unsync)
}
