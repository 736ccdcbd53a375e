use std::time::Duration;

use bourn_codec::{Event, EventType, Frame};
use bourn_server::{Channel, KeepAlive, Shutdown, Sse};
use futures_util::stream;
use http::{StatusCode, Version};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;

use crate::support::{Client, Reader, Server, boxed, within};

const VERSIONS: [Version; 2] = [Version::HTTP_11, Version::HTTP_2];

async fn channel_server(channel: &Channel) -> Server {
    let channel = channel.clone();
    Server::start(move |request| boxed(channel.respond_to("t", &request))).await
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    within(what, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn events_and_headers_over_http1_and_http2() {
    let channel = Channel::builder()
        .retry(Duration::from_millis(1500))
        .build()
        .unwrap();
    let server = channel_server(&channel).await;
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let response = client.get("/events", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.version(), version);
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/event-stream");
        assert_eq!(headers["cache-control"], "no-cache");
        assert_eq!(headers["x-accel-buffering"], "no");
        assert!(headers.get("connection").is_none());
        assert!(headers.get("content-encoding").is_none());
        let mut reader = Reader::new(response);
        assert_eq!(
            reader.next().await,
            Some(Frame::Retry(Duration::from_millis(1500)))
        );
        wait_for("subscribed", || channel.subscriber_count() == 1).await;
        let custom = Event::builder()
            .event(EventType::from_static("price"))
            .data("a\nb")
            .build();
        let first = channel.publish("t", custom).await.unwrap();
        let second = channel.publish("t", Event::message("c")).await.unwrap();
        let event = reader.event().await.unwrap();
        assert_eq!((event.event_type(), event.data()), ("price", "a\nb"));
        assert_eq!(event.id(), Some(&*first.to_string()));
        let event = reader.event().await.unwrap();
        assert_eq!((event.event_type(), event.data()), ("message", "c"));
        assert_eq!(reader.last_event_id(), second.to_string());
        drop(reader);
        client.close();
        wait_for("unsubscribed", || channel.subscriber_count() == 0).await;
    }
}

#[tokio::test]
async fn last_event_id_header_and_query_resume_over_http() {
    let channel = Channel::new();
    let server = channel_server(&channel).await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(
            channel
                .publish("t", Event::message(n.to_string()))
                .await
                .unwrap(),
        );
    }
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let header = ids[0].to_string();
        let response = client.get("/events", &[("last-event-id", &header)]).await;
        let mut reader = Reader::new(response);
        assert_eq!(reader.event().await.unwrap().data(), "2");
        assert_eq!(reader.event().await.unwrap().data(), "3");
        // HTTP/1.1 has one response at a time: a second connection.
        let mut client = Client::connect(server.addr, version).await;
        let path = format!("/events?lastEventId={}", ids[1]);
        let mut reader = Reader::new(client.get(&path, &[]).await);
        assert_eq!(reader.event().await.unwrap().data(), "3");
        client.close();
    }
}

#[tokio::test]
async fn keep_alive_comments_when_idle_over_the_wire() {
    let server = Server::start(|_| {
        let keep_alive = KeepAlive::every(Duration::from_millis(50)).text("ka");
        boxed(
            Sse::new(stream::pending::<Event>())
                .keep_alive(keep_alive)
                .into_http_response(),
        )
    })
    .await;
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let mut reader = Reader::new(client.get("/", &[]).await);
        for _ in 0..2 {
            assert_eq!(reader.next().await, Some(Frame::Comment("ka".into())));
        }
        client.close();
    }
}

#[tokio::test]
async fn client_disconnect_drops_the_subscription() {
    let channel = Channel::builder()
        .keep_alive(KeepAlive::every(Duration::from_millis(20)))
        .build()
        .unwrap();
    let server = channel_server(&channel).await;
    let mut clients = Vec::new();
    for version in [
        Version::HTTP_11,
        Version::HTTP_2,
        Version::HTTP_11,
        Version::HTTP_2,
    ] {
        let mut client = Client::connect(server.addr, version).await;
        let reader = Reader::new(client.get("/events", &[]).await);
        clients.push((client, reader));
    }
    wait_for("4 subscribers", || channel.subscriber_count() == 4).await;
    let (gone, kept): (Vec<_>, Vec<_>) = clients
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    for (_, (client, reader)) in gone {
        drop(reader);
        client.close();
    }
    // Nothing is published: the keep-alive write (HTTP/1.1) or the stream
    // reset (HTTP/2) is how hyper notices, and the body drops at once.
    wait_for("2 subscribers left", || channel.subscriber_count() == 2).await;
    assert_eq!(channel.topic_subscriber_count("t"), 2);
    drop(kept);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_reader_is_disconnected_and_never_slows_the_others() {
    let queue_len = 8;
    let channel = Channel::builder()
        .queue_len(queue_len)
        .no_keep_alive()
        .build()
        .unwrap();
    let server = channel_server(&channel).await;
    let mut fast = Vec::new();
    for version in [Version::HTTP_11, Version::HTTP_2, Version::HTTP_11] {
        let mut client = Client::connect(server.addr, version).await;
        let reader = Reader::new(client.get("/events", &[]).await);
        fast.push((client, reader));
    }
    // The stalled reader: a raw TCP client with a small receive buffer that
    // sends its request and never reads.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(server.addr).await.unwrap();
    stalled
        .write_all(b"GET /events HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    wait_for("4 subscribers", || channel.subscriber_count() == 4).await;

    let payload = "x".repeat(64 * 1024);
    let mut detached_at = None;
    for n in 0..400u64 {
        let id = channel
            .publish("t", Event::message(format!("{n} {payload}")))
            .await
            .unwrap();
        for (_, reader) in &mut fast {
            let event = reader.event().await.unwrap();
            assert_eq!(
                event.id(),
                Some(&*id.to_string()),
                "a fast reader missed or lagged"
            );
        }
        if detached_at.is_none() && channel.subscriber_count() == 3 {
            detached_at = Some(n);
        }
        if detached_at.is_some_and(|at| n >= at + 20) {
            break;
        }
    }
    let detached_at = detached_at.expect("the stalled reader was never disconnected");
    // The kernel buffers, hyper's write buffer and the 8-event queue filled.
    assert!(detached_at >= queue_len as u64, "{detached_at}");
    assert_eq!(channel.topic_subscriber_count("t"), 3);
    drop(stalled);
}

#[tokio::test]
async fn limits_answer_with_a_retry_hint_or_a_503_on_request() {
    let channel = Channel::builder()
        .max_topic_subscribers(1)
        .busy_retry(Duration::from_secs(2))
        .build()
        .unwrap();
    let server = channel_server(&channel).await;
    let mut first = Client::connect(server.addr, Version::HTTP_11).await;
    let _subscribed = Reader::new(first.get("/events", &[]).await);
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let response = client.get("/events", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut reader = Reader::new(response);
        assert_eq!(reader.next().await, Some(Frame::Comment("busy".into())));
        let Some(Frame::Retry(retry)) = reader.next().await else {
            panic!("a retry hint")
        };
        assert!(
            retry >= Duration::from_secs(2) && retry < Duration::from_secs(3),
            "{retry:?}"
        );
        assert_eq!(reader.next().await, None, "the short stream ends");

        let response = client.get("/events", &[("prefer", "retry-after")]).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let seconds: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((2..=3).contains(&seconds));
        client.close();
    }
    assert_eq!(channel.subscriber_count(), 1);
}

#[tokio::test]
async fn graceful_shutdown_is_not_blocked_by_open_streams() {
    // Without a `Shutdown`, open streams block hyper's graceful shutdown
    // (hyper #2787, axum #2673): it does not complete within 300 ms.
    let mut server =
        Server::start(|_| boxed(Sse::new(stream::pending::<Event>()).into_http_response())).await;
    let mut clients = Vec::new();
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let response = client.get("/", &[]).await;
        clients.push((client, response));
    }
    assert!(!server.graceful_shutdown(Duration::from_millis(300)).await);
    drop(clients);

    // With one: every stream writes the farewell and ends, and hyper's
    // graceful shutdown completes.
    let bye = Event::builder()
        .event(EventType::from_static("bye"))
        .data("later")
        .build();
    let shutdown = Shutdown::new().farewell(Some(bye), Some(Duration::from_secs(4)));
    let channel = Channel::builder().shutdown(&shutdown).build().unwrap();
    let mut server = channel_server(&channel).await;
    let mut readers = Vec::new();
    for version in [Version::HTTP_11, Version::HTTP_2, Version::HTTP_11] {
        let mut client = Client::connect(server.addr, version).await;
        let reader = Reader::new(client.get("/events", &[]).await);
        readers.push((client, reader));
    }
    wait_for("3 subscribers", || channel.subscriber_count() == 3).await;
    shutdown.trigger();
    let started = tokio::time::Instant::now();
    assert!(server.graceful_shutdown(Duration::from_secs(5)).await);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    for (_, reader) in &mut readers {
        let event = reader.event().await.unwrap();
        assert_eq!((event.event_type(), event.data()), ("bye", "later"));
        assert_eq!(reader.next().await, None, "the stream ended cleanly");
    }
    assert_eq!(channel.subscriber_count(), 0);
}
