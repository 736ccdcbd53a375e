//! No hot loops, no silent hangs: the backoff reset threshold, the
//! default idle timeout, failing on the first connection.

use std::time::Duration;

use bourn_client::{DEFAULT_IDLE_TIMEOUT, EventSource, Item, RetryPolicy};
use bourn_testkit::{Reply, Server};
use futures_util::StreamExt;

use crate::util::*;

#[tokio::test]
async fn retry_0_and_an_immediate_close_slow_below_two_a_second_within_ten_attempts() {
    // Before: the backoff reset on every open, so this reconnected
    // thousands of times a second.
    let server = Server::start(|_| Reply::sse("retry: 0\ndata: x\n\n"))
        .await
        .unwrap();
    let mut source = EventSource::new(server.url()).unwrap();
    let mut waits = Vec::new();
    while waits.len() < 7 {
        let item = tokio::time::timeout(Duration::from_secs(10), source.next())
            .await
            .unwrap()
            .unwrap();
        if let Err(e) = item {
            waits.push(e.reconnect_in().unwrap());
        }
    }
    source.close();
    // "retry: 0 must really mean 0 the first time."
    assert_eq!(waits[0], Duration::ZERO);
    let r = server.requests();
    let gaps: Vec<_> = r
        .windows(2)
        .map(|w| w[1].received_at - w[0].received_at)
        .collect();
    assert!(gaps[0] < Duration::from_millis(250), "{gaps:?}");
    // From 100 ms (jittered to half at least), doubling: the 6th wait is
    // at least 800 ms, so the rate is already below 2/s.
    assert!(waits[5] >= Duration::from_millis(800), "{waits:?}");
    assert!(gaps[5] >= Duration::from_millis(500), "{gaps:?}");
    assert!(
        waits.windows(2).skip(1).all(|w| w[1] >= w[0] / 2),
        "{waits:?}"
    );
}

#[tokio::test]
async fn the_first_reconnect_honours_a_short_retry_exactly() {
    let server = Server::replies([
        Reply::sse("retry: 2\ndata: a\n\n"),
        Reply::sse("data: b\n\n"),
    ])
    .await
    .unwrap();
    let items = all(EventSource::new(server.url()).unwrap()).await;
    assert_eq!(
        errors(&items)[0].reconnect_in(),
        Some(Duration::from_millis(2))
    );
    let r = server.requests();
    assert!(r[1].received_at - r[0].received_at < Duration::from_millis(250));
}

#[tokio::test]
async fn a_connection_open_past_the_threshold_resets_the_backoff() {
    let body = "retry: 1\ndata: x\n\n";
    let server = Server::start(move |r| match r.index {
        0..3 => Reply::sse(body),
        3 => Reply::sse(body)
            .head_delay(Duration::ZERO)
            .chunk_delay(60 * MS)
            .chunks([5]),
        _ => Reply::status(204),
    })
    .await
    .unwrap();
    let policy = RetryPolicy::new()
        .reconnect_time(MS)
        .min_backoff(5 * MS)
        .jitter(false)
        .reset_threshold(50 * MS);
    let items = all(EventSource::builder(server.url())
        .retry_policy(policy)
        .build()
        .unwrap())
    .await;
    let waits: Vec<_> = errors(&items).iter().map(|e| e.reconnect_in()).collect();
    // Short connections: 1 ms exactly, then 5, 10; the fourth stayed open
    // 60 ms: back to the reconnection time.
    assert_eq!(waits, [Some(MS), Some(5 * MS), Some(10 * MS), Some(MS)]);
}

#[test]
fn the_idle_timeout_is_on_by_default() {
    // Before, a half-open connection was waited on for ever by default.
    // (idle.rs checks what the timeout does, with short values.)
    assert_eq!(DEFAULT_IDLE_TIMEOUT, Duration::from_secs(300));
    let builder = EventSource::builder("http://127.0.0.1:9/");
    let shown = format!("{builder:?}");
    assert!(shown.contains("idle_timeout: Some(300s)"), "{shown}");
    let shown = format!("{:?}", builder.idle_timeout(None));
    assert!(shown.contains("idle_timeout: None"), "{shown}");
}

#[tokio::test]
async fn retry_first_connect_false_fails_a_refused_first_connection_at_once() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", unused.local_addr().unwrap());
    drop(unused);
    let source = builder(&url).retry_first_connect(false).build().unwrap();
    let items = all(source).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let err = errors(&items)[0];
    assert!(err.is_connect() && err.is_fatal(), "{err}");

    // Once a connection opened, losses are retried as usual.
    let server = Server::replies([
        Reply::sse("data: a\n\n"),
        Reply::status(503),
        Reply::sse("data: b\n\n"),
    ])
    .await
    .unwrap();
    let source = builder(server.url())
        .retry_first_connect(false)
        .retry_policy(fast().retry_http_errors(true))
        .build()
        .unwrap();
    let items = all(source).await;
    assert_eq!(data(&items), ["a", "b"]);
    assert!(
        items
            .iter()
            .filter(|i| matches!(i, Ok(Item::Open { .. })))
            .count()
            == 2
    );
}
