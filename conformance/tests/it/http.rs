//! A loopback hyper server (HTTP/1.1 and HTTP/2 prior knowledge) and a raw
//! hyper client connection, for running the server writer over real HTTP.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use bourn_conformance::reference;
use bourn_conformance::vectors::Frame;

pub type Body = UnsyncBoxBody<Bytes, bourn_server::Error>;

/// Every wait is bounded by this.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub const VERSIONS: [Version; 2] = [Version::HTTP_11, Version::HTTP_2];

pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

pub fn boxed<B>(response: Response<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes, Error = bourn_server::Error> + Send + 'static,
{
    response.map(BodyExt::boxed_unsync)
}

/// A hyper server on 127.0.0.1:0; dropping it stops accepting.
pub struct Server {
    pub addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Server {
    pub async fn start<F>(handler: F) -> Server
    where
        F: Fn(Request<Incoming>) -> Response<Body> + Clone + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let service = service_fn(move |request| {
                    let response = handler(request);
                    async move { Ok::<_, Infallible>(response) }
                });
                let connection = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .into_owned();
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        });
        Server { addr, accept }
    }
}

/// One GET over a fresh connection of `version`; the response head and a
/// reader of its body.
pub async fn get(
    addr: SocketAddr,
    version: Version,
    headers: &[(&str, &str)],
) -> (StatusCode, Version, HeaderMap, Stream) {
    let io = TokioIo::new(TcpStream::connect(addr).await.unwrap());
    let mut request = Request::builder();
    request = if version == Version::HTTP_2 {
        request
            .uri("http://localhost/events")
            .version(Version::HTTP_2)
    } else {
        request.uri("/events").header("host", "localhost")
    };
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(http_body_util::Empty::<Bytes>::new()).unwrap();
    let (response, task) = if version == Version::HTTP_2 {
        let (mut send, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .unwrap();
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        (within("response", send.send_request(request)).await, task)
    } else {
        let (mut send, connection) = hyper::client::conn::http1::handshake(io).await.unwrap();
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        (within("response", send.send_request(request)).await, task)
    };
    let response = response.unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.version,
        parts.headers,
        Stream {
            body,
            bytes: BytesMut::new(),
            ended: false,
            _task: Abort(task),
        },
    )
}

struct Abort(JoinHandle<()>);

impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The body of an event stream, read as raw bytes and interpreted by the
/// spec-literal reference model (never by the codec under test).
pub struct Stream {
    body: Incoming,
    pub bytes: BytesMut,
    pub ended: bool,
    _task: Abort,
}

impl Stream {
    /// Reads one more body frame; false at the end of the body.
    pub async fn read(&mut self) -> bool {
        if self.ended {
            return false;
        }
        match self.body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    self.bytes.extend_from_slice(&data);
                }
                true
            }
            Some(Err(_)) | None => {
                self.ended = true;
                false
            }
        }
    }

    /// Reads to the end of the body.
    pub async fn read_to_end(&mut self) -> reference::Output {
        within("end of body", async { while self.read().await {} }).await;
        self.interpret()
    }

    /// Reads until the reference model's last event ID is `id`.
    pub async fn until_last_event_id(&mut self, id: &str) -> reference::Output {
        within("last event id", async {
            loop {
                let out = self.interpret();
                if out.last_event_id == id || !self.read().await {
                    return out;
                }
            }
        })
        .await
    }

    /// Frames seen within `wait` (the body is read meanwhile).
    pub async fn frames_for(&mut self, wait: Duration) -> reference::Output {
        let _ = tokio::time::timeout(wait, async { while self.read().await {} }).await;
        self.interpret()
    }

    pub fn interpret(&self) -> reference::Output {
        reference::interpret(&self.bytes, "")
    }
}

/// The events of `frames`, as `(type, data, id)`.
pub fn events(frames: &[Frame]) -> Vec<(String, String, Option<String>)> {
    frames
        .iter()
        .filter_map(|frame| match frame {
            Frame::Event(e) => Some((e.event_type.clone(), e.data.clone(), e.id.clone())),
            _ => None,
        })
        .collect()
}
