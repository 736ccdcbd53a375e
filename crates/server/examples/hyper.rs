//! A plain hyper 1 server (HTTP/1.1 and HTTP/2 on one port) with a
//! `Channel`, graceful shutdown, and a browser page that shows resume.
//!
//! ```text
//! cargo run -p bourn-server --example hyper [ADDR]     # default 127.0.0.1:3000
//! ```
//!
//! - `GET /events?topic=T` subscribes to topic `T` (default `ticks`; a
//!   publisher sends a `tick` there every second);
//! - `GET /` is a page whose `EventSource` shows the resume: its stream
//!   (`/demo/events`) carries three events, then the server ends it and
//!   publishes three more while the browser is away; the browser reconnects
//!   by itself with `Last-Event-ID`, is replayed exactly those three, then
//!   gets a final `done` event. `cargo xtask e2e` checks this in Chromium.
//!
//! Ctrl-C ends every open stream with a farewell `retry:` hint, then hyper's
//! graceful shutdown completes (bounded by a 5 s grace period).
#![expect(clippy::print_stdout, reason = "an example reports its address")]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bourn_codec::{Event, EventType};
use bourn_server::{Channel, LastEventId, Shutdown, Sse, Subscription};
use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpSocket;

type Body = UnsyncBoxBody<Bytes, bourn_server::Error>;

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>bourn resume demo</title>
<pre id="log"></pre>
<p id="status">waiting</p>
<script>
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const topic = "demo-" + Math.random().toString(36).slice(2);
  const source = new EventSource("/demo/events?topic=" + topic);
  let opens = 0;
  const record = (e) => { log.textContent += e.type + " " + e.data + " " + e.lastEventId + "\n"; };
  source.onopen = () => { opens += 1; };
  source.onmessage = record;
  source.addEventListener("tick", record);
  source.addEventListener("bourn-reset", record);
  source.addEventListener("done", (e) => {
    record(e);
    source.close();
    status.textContent = "done opens=" + opens;
  });
</script>
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
        .parse()?;
    let shutdown = Shutdown::new().farewell(None, Some(Duration::from_secs(2)));
    let channel = Channel::builder().shutdown(&shutdown).build()?;

    let ticker = channel.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        for n in 0u64.. {
            interval.tick().await;
            let tick = Event::builder()
                .event(EventType::from_static("tick"))
                .data(n.to_string())
                .build();
            let _ = ticker.publish("ticks", tick).await;
        }
    });

    // A large backlog: tokio's `TcpListener::bind` uses 1024, and thousands
    // of clients connecting at once would overflow it (1 s SYN retries).
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(8192)?;
    println!("listening on http://{}", listener.local_addr()?);

    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let channel = channel.clone();
                let service = service_fn(move |request| {
                    let channel = channel.clone();
                    async move { Ok::<_, Infallible>(route(&channel, request).await) }
                });
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection.into_owned());
                tokio::spawn(connection);
            }
            _ = &mut ctrl_c => break,
        }
    }
    drop(listener);
    shutdown.trigger();
    if tokio::time::timeout(Duration::from_secs(5), graceful.shutdown())
        .await
        .is_err()
    {
        println!("grace period over: closing the remaining connections");
    }
    Ok(())
}

async fn route(channel: &Channel, request: Request<Incoming>) -> Response<Body> {
    let topic = query(&request, "topic").unwrap_or("ticks").to_owned();
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/") => {
            let mut response = Response::new(Full::new(Bytes::from_static(PAGE.as_bytes())));
            response.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response.map(|body| body.map_err(|never| match never {}).boxed_unsync())
        }
        (&Method::GET, "/events") => channel
            .respond_to(&topic, &request)
            .map(BodyExt::boxed_unsync),
        (&Method::GET, "/demo/events") => demo(channel, &topic, &request).await,
        _ => {
            let mut response = Response::new(Full::new(Bytes::from_static(b"not found")));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response.map(|body| body.map_err(|never| match never {}).boxed_unsync())
        }
    }
}

/// The resume demo: see the module docs.
async fn demo(channel: &Channel, topic: &str, request: &Request<Incoming>) -> Response<Body> {
    let publish = async |kind: &'static str, data: &str| {
        let event = Event::builder()
            .event(EventType::from_static(kind))
            .data(data.to_owned())
            .build();
        let _ = channel.publish(topic, event).await;
    };
    let Some(last_event_id) = LastEventId::from_request(request, None) else {
        // First connection: subscribe, publish three events, end the stream
        // after them (1 priming id + 3 events), then publish three more
        // while the browser waits for its `retry:` to reconnect.
        let Ok(subscription) = channel.subscribe(topic, None) else {
            return Sse::<Subscription>::busy(request.headers(), Duration::from_secs(1))
                .map(BodyExt::boxed_unsync);
        };
        publish("message", "one").await;
        publish("tick", "two").await;
        publish("message", "three").await;
        let response = Sse::new(subscription.take(4))
            .retry(Duration::from_millis(300))
            .into_http_response();
        publish("message", "four").await;
        publish("tick", "five").await;
        publish("message", "six").await;
        return response.map(BodyExt::boxed_unsync);
    };
    // The browser is back with `Last-Event-ID`: replay, then live events.
    let response = channel.respond(topic, Some(&last_event_id), request.headers());
    publish("done", "end").await;
    response.map(BodyExt::boxed_unsync)
}

fn query<'a, B>(request: &'a Request<B>, name: &str) -> Option<&'a str> {
    request.uri().query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then_some(value)
    })
}
