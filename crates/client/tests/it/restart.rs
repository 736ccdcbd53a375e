//! Handle::restart, Builder: Clone, and a handle whose source is gone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bourn_client::{EventSource, Item, ReadyState, RequestReason};
use bourn_testkit::{Reply, Server};
use futures_util::StreamExt;
use http::Request;

use crate::util::*;

#[tokio::test]
async fn restart_reconnects_now_with_last_event_id_and_no_error_item() {
    let server = Server::replies([
        // A long reconnection time: only restart() can make it reconnect soon.
        Reply::sse("retry: 60000\nid: 7\ndata: a\n\n").then_stall(),
        Reply::sse("data: b\n\n").then_stall(),
    ])
    .await
    .unwrap();
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&reasons);
    let mut source = builder(server.url())
        .on_request(move |request: Request<()>, reason: RequestReason| {
            seen.lock().unwrap().push(format!("{reason:?}"));
            async move { Ok(request) }
        })
        .build()
        .unwrap();
    let handle = source.handle();
    let first = take(&mut source, 2).await;
    assert_eq!(data(&first), ["a"]);
    assert_eq!(source.reconnect_time(), Duration::from_secs(60));

    handle.restart();
    let second = take(&mut source, 2).await;
    assert!(matches!(second[0], Ok(Item::Open { .. })), "{second:?}");
    assert_eq!(data(&second), ["b"], "no error item in between");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].last_event_id(), Some("7"));
    // The server's retry: is kept.
    assert_eq!(source.reconnect_time(), Duration::from_secs(60));
    assert_eq!(*reasons.lock().unwrap(), ["Initial", "Reconnect"]);
    assert_eq!(source.ready_state(), ReadyState::Open);
    source.close();
}

#[tokio::test]
async fn restart_while_waiting_to_reconnect_starts_the_attempt_at_once() {
    let server = Server::replies([
        Reply::sse("retry: 60000\ndata: a\n\n"),
        Reply::sse("data: b\n\n"),
    ])
    .await
    .unwrap();
    let mut source = builder(server.url()).build().unwrap();
    let handle = source.handle();
    let items = take(&mut source, 3).await;
    let err = errors(&items)[0];
    assert_eq!(err.reconnect_in(), Some(Duration::from_secs(60)));
    handle.restart();
    let items = take(&mut source, 2).await;
    assert_eq!(data(&items), ["b"]);
}

#[tokio::test]
async fn one_cloned_builder_starts_several_sources() {
    let server = Server::start(|r| match r.index {
        0 | 1 => Reply::sse("data: hello\n\n"),
        _ => Reply::status(204),
    })
    .await
    .unwrap();
    let builder = builder(server.url()).header("x-app", "1");
    let a = builder.clone().build().unwrap();
    let b = builder.build().unwrap();
    let (a, b) = tokio::join!(all(a), all(b));
    assert_eq!(data(&a), ["hello"]);
    assert_eq!(data(&b), ["hello"]);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("x-app") == Some("1"))
    );
}

#[tokio::test]
async fn a_handle_whose_source_was_dropped_reports_closed() {
    let server = Server::replies([Reply::sse("data: a\n\n").then_stall()])
        .await
        .unwrap();
    let mut source = builder(server.url()).build().unwrap();
    let handle = source.handle();
    let _ = take(&mut source, 1).await;
    assert_eq!(handle.ready_state(), ReadyState::Open);
    drop(source);
    assert_eq!(handle.ready_state(), ReadyState::Closed);
    // And one never polled.
    let source = EventSource::new(server.url()).unwrap();
    let handle = source.handle();
    assert_eq!(handle.ready_state(), ReadyState::Connecting);
    drop(source);
    assert_eq!(handle.ready_state(), ReadyState::Closed);
}

#[tokio::test]
async fn restart_on_a_closed_source_does_nothing() {
    let server = Server::replies([]).await.unwrap();
    let mut source = builder(server.url()).build().unwrap();
    let handle = source.handle();
    while source.next().await.is_some() {}
    handle.restart();
    assert!(source.next().await.is_none());
    assert_eq!(server.request_count(), 1);
}
