//! close() from another task, in every state.

use std::time::{Duration, Instant};

use bourn_client::ReadyState;
use bourn_testkit::{Reply, Server};
use futures_util::StreamExt;

use crate::util::*;

/// Closes from another task after `after`, and checks the stream ends at once.
async fn close_while(
    source: bourn_client::EventSource,
    after: Duration,
) -> Vec<Result<bourn_client::Item, bourn_client::Error>> {
    let handle = source.handle();
    let closer = tokio::spawn(async move {
        tokio::time::sleep(after).await;
        handle.close();
        assert_eq!(handle.ready_state(), ReadyState::Closed);
    });
    let start = Instant::now();
    let items = all(source).await;
    assert!(
        start.elapsed() < after + Duration::from_secs(1),
        "ended promptly"
    );
    closer.await.unwrap();
    items
}

#[tokio::test]
async fn close_while_connecting() {
    let server = Server::replies([Reply::sse("data: a\n\n").head_delay(Duration::from_secs(30))])
        .await
        .unwrap();
    let items = close_while(builder(server.url()).build().unwrap(), 50 * MS).await;
    assert!(items.is_empty(), "{items:?}");
}

#[tokio::test]
async fn close_while_open() {
    let server = Server::replies([Reply::sse("data: a\n\n").then_stall()])
        .await
        .unwrap();
    let items = close_while(builder(server.url()).build().unwrap(), 50 * MS).await;
    assert_eq!(data(&items), ["a"]);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn close_while_waiting_to_reconnect() {
    let server = Server::replies([Reply::sse("data: a\n\n")]).await.unwrap();
    let policy = fast().reconnect_time(Duration::from_secs(30));
    let items = close_while(
        builder(server.url()).retry_policy(policy).build().unwrap(),
        50 * MS,
    )
    .await;
    assert_eq!(data(&items), ["a"]);
    assert_eq!(
        errors(&items).len(),
        1,
        "the end of the stream, then nothing"
    );
    assert_eq!(server.request_count(), 1, "no reconnection after close");
}

#[tokio::test]
async fn close_before_the_first_poll_never_connects() {
    let server = Server::replies([Reply::sse("data: a\n\n")]).await.unwrap();
    let mut source = builder(server.url()).build().unwrap();
    source.close();
    assert!(source.next().await.is_none());
    assert_eq!(server.request_count(), 0);
}
