//! A lean path for HTTP/1.1 subscriptions: the request head is parsed with
//! `httparse` (hyper's own parser), answered by the same router as every
//! other request (host check, CORS, tokens, limits, metrics), and the
//! answer is written here; the connection then keeps only its socket, the
//! response body (the subscription) and, while a write is under way, one
//! chunk.
//!
//! Why: hyper's HTTP/1.1 connection keeps an 8 KiB read buffer and an
//! 8 KiB write buffer for its whole life, most of a subscriber's memory
//! (11 KB of RSS per idle subscriber behind bare hyper). A subscription
//! never sends another request, so neither buffer is needed once its head
//! is read.
//!
//! Only a request whose whole head is already in the socket, is
//! `GET /topics/…` over HTTP/1.1 and has nothing after its head (no body,
//! no pipelined request, no upgrade) takes this path; its head is read from
//! the socket only once that is known (`peek` first), so every other
//! connection goes to hyper untouched.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::Poll;
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, DATE, EXPECT, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderName, HeaderValue, Method, Request, Version};
use http_body::Body as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower_service::Service;

use super::stall::Stall;

/// Most bytes looked at for a request head; a longer one goes to hyper.
const PEEK_LEN: usize = 4096;
/// Most headers in a request taking this path.
const MAX_HEADERS: usize = 32;

/// The subscription request at the start of `stream`, if its whole head is
/// there and this path can answer it, and the head's length in bytes.
/// Consumes nothing.
pub async fn peek_subscription(stream: &TcpStream) -> Option<(Request<Body>, usize)> {
    let mut bytes = vec![0; PEEK_LEN];
    let n = stream.peek(&mut bytes).await.ok()?;
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    let len = match head.parse(&bytes[..n]) {
        Ok(httparse::Status::Complete(len)) => len,
        _ => return None,
    };
    // Anything after the head (a body, a pipelined request) is hyper's.
    if len != n || head.method != Some("GET") || head.version != Some(1) {
        return None;
    }
    let path = head.path?;
    if !path.starts_with("/topics/") {
        return None;
    }
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .version(Version::HTTP_11);
    for header in head.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        let body = (name == CONTENT_LENGTH && header.value != b"0") || name == TRANSFER_ENCODING;
        if body || name == UPGRADE || name == EXPECT {
            return None;
        }
        request = request.header(name, HeaderValue::from_bytes(header.value).ok()?);
    }
    let request = request.body(Body::empty()).ok()?;
    Some((request, len))
}

/// Answers `request` (whose head, `head_len` bytes, is still in `io`) with
/// `router`, then writes the response; returns when it has ended or the
/// peer has gone. The connection is closed after it.
pub async fn serve(mut io: Stall, request: Request<Body>, head_len: usize, router: Router) {
    if let Err(error) = answer(&mut io, request, head_len, router).await {
        tracing::debug!(%error, "subscription connection ended");
    }
    let _ = io.shutdown().await;
}

async fn answer(
    io: &mut Stall,
    request: Request<Body>,
    head_len: usize,
    mut router: Router,
) -> io::Result<()> {
    let mut head = vec![0; head_len];
    io.read_exact(&mut head).await?;
    drop(head);
    let response = match router.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    drop(router);
    let (parts, mut body) = response.into_parts();
    let chunked = !parts.headers.contains_key(CONTENT_LENGTH);
    let event_stream = parts
        .headers
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(parts.status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(
        parts
            .status
            .canonical_reason()
            .unwrap_or_default()
            .as_bytes(),
    );
    head.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !parts.headers.contains_key(DATE) {
        head.extend_from_slice(b"date: ");
        head.extend_from_slice(httpdate::fmt_http_date(SystemTime::now()).as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if chunked {
        head.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    if !event_stream {
        // Not a stream that ends with the connection: say it closes.
        head.extend_from_slice(b"connection: close\r\n");
    }
    head.extend_from_slice(b"\r\n");
    drop(parts);
    io.write_all(&head).await?;
    io.flush().await?;
    drop(head);
    loop {
        // Either the next frame of the body, or the peer: a subscriber
        // that hangs up must be let go at once, not at the next write.
        // `poll_read_ready` keeps the socket's one reader waker, where a
        // `readable()` future would join and leave a waiter list at every
        // event (measured: 2 % of the hub's CPU at 10,000 subscribers).
        let step = std::future::poll_fn(|cx| {
            if let Poll::Ready(frame) = Pin::new(&mut body).poll_frame(cx) {
                return Poll::Ready(Step::Frame(frame));
            }
            io.get_ref().poll_read_ready(cx).map(Step::Readable)
        })
        .await;
        match step {
            Step::Frame(None) => {
                if chunked {
                    io.write_all(b"0\r\n\r\n").await?;
                    io.flush().await?;
                }
                return Ok(());
            }
            Step::Frame(Some(Err(error))) => {
                // Ended without the last chunk: the client sees a broken
                // stream, not a complete one.
                return Err(io::Error::other(error));
            }
            Step::Frame(Some(Ok(frame))) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                if data.is_empty() {
                    continue;
                }
                if chunked {
                    io.write_all(&chunk_of(&data)).await?;
                } else {
                    io.write_all(&data).await?;
                }
                io.flush().await?;
            }
            Step::Readable(ready) => {
                ready?;
                let mut scratch = [0; 256];
                match io.get_ref().try_read(&mut scratch) {
                    Ok(0) => return Ok(()),
                    // A client has nothing more to say on this connection;
                    // what it sends anyway is dropped.
                    Ok(_) => {}
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(error) => return Err(error),
                }
            }
        }
    }
}

thread_local! {
    /// The last data framed as a chunk on this thread, and its chunk.
    static LAST_CHUNK: RefCell<Option<(Bytes, Bytes)>> = const { RefCell::new(None) };
}

/// `data` framed as one HTTP/1.1 chunk (size line, data, CRLF).
///
/// Every subscriber of a topic is handed the same `Bytes` for an event, so
/// the chunk is made once per event and worker thread and shared, not
/// allocated and copied once per subscriber. The cache keeps `data` alive,
/// so its address cannot be reused for other bytes while it is cached, and
/// the same address and length mean the same bytes. It holds at most one
/// event per thread.
fn chunk_of(data: &Bytes) -> Bytes {
    LAST_CHUNK.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((source, chunk)) = last.as_ref() {
            if source.as_ptr() == data.as_ptr() && source.len() == data.len() {
                return chunk.clone();
            }
        }
        let mut chunk = BytesMut::with_capacity(data.len() + 20);
        chunk.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        chunk.extend_from_slice(data);
        chunk.extend_from_slice(b"\r\n");
        let chunk = chunk.freeze();
        *last = Some((data.clone(), chunk.clone()));
        chunk
    })
}

/// What woke the response loop.
enum Step<F> {
    Frame(Option<Result<F, axum::Error>>),
    Readable(io::Result<()>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_is_shared_for_the_same_bytes_and_made_anew_for_others() {
        let event = Bytes::from_static(b"data: one\n\n");
        let first = chunk_of(&event);
        assert_eq!(&first[..], b"b\r\ndata: one\n\n\r\n");
        // Another handle on the same bytes: the same chunk, not a copy.
        let again = chunk_of(&event.clone());
        assert_eq!(again.as_ptr(), first.as_ptr());
        // The same content elsewhere, a shorter slice of the same bytes,
        // and other bytes each get their own chunk.
        let copy = Bytes::copy_from_slice(&event);
        assert_eq!(&chunk_of(&copy)[..], &first[..]);
        assert_eq!(&chunk_of(&event.slice(..6))[..], b"6\r\ndata: \r\n");
        let long = Bytes::from(vec![b'x'; 300]);
        let chunk = chunk_of(&long);
        assert_eq!(&chunk[..5], b"12c\r\n");
        assert_eq!(chunk.len(), 5 + 300 + 2);
        assert_eq!(&chunk_of(&event)[..], &first[..]);
    }

    #[tokio::test]
    async fn only_whole_bodiless_http11_subscription_heads_take_this_path() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let get = "GET /topics/t?lastEventId=a.1 HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: a.2\r\n\r\n";
        let cases: [(String, bool); 9] = [
            (get.to_owned(), true),
            (get.replace("Host:", "Content-Length: 0\r\nHost:"), true),
            (get[..get.len() - 2].to_owned(), false),
            (format!("{get}GET /topics/t HTTP/1.1\r\n\r\n"), false),
            (get.replace("GET", "POST"), false),
            (get.replace("/topics/t", "/health"), false),
            (get.replace("HTTP/1.1", "HTTP/1.0"), false),
            (get.replace("Host:", "Upgrade: websocket\r\nHost:"), false),
            (
                get.replace("Host:", "Transfer-Encoding: chunked\r\nHost:"),
                false,
            ),
        ];
        for (head, lean) in cases {
            let mut client = TcpStream::connect(addr).await.unwrap();
            client.write_all(head.as_bytes()).await.unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            // Wait until every byte is there to peek at.
            while stream.peek(&mut vec![0; head.len() + 1]).await.unwrap() < head.len() {
                tokio::task::yield_now().await;
            }
            let found = peek_subscription(&stream).await;
            assert_eq!(found.is_some(), lean, "{head:?}");
            if let Some((request, len)) = found {
                assert_eq!(len, head.len());
                assert_eq!(request.uri(), "/topics/t?lastEventId=a.1");
                assert_eq!(request.headers()["last-event-id"], "a.2");
            }
            drop(client);
        }
    }
}
