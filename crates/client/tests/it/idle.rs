//! The idle timeout: a silent connection is reconnected; any byte is activity.

use std::time::Duration;

use bourn_testkit::{Reply, Server};

use crate::util::*;

#[tokio::test]
async fn a_silent_connection_is_reconnected() {
    let server = Server::replies([
        Reply::sse("id: 1\ndata: a\n\n").then_stall(),
        Reply::sse("id: 1\ndata: a\n\ndata: partial").stall_at(20),
        Reply::sse("data: b\n\n"),
    ])
    .await
    .unwrap();
    let source = builder(server.url()).idle_timeout(60 * MS).build().unwrap();
    let items = all(source).await;
    assert_eq!(data(&items), ["a", "a", "b"]);
    let errs = errors(&items);
    assert!(errs[0].is_idle_timeout() && errs[0].is_timeout() && !errs[0].is_fatal());
    assert!(errs[1].is_idle_timeout());
    let r = server.requests();
    // Never before the timeout; at most a quarter later (plus slack for a
    // loaded machine).
    let silent = r[1].received_at - r[0].received_at;
    assert!(silent >= 60 * MS, "{silent:?}");
    assert!(silent < 60 * MS + 15 * MS + 400 * MS, "{silent:?}");
    assert_eq!(r[1].last_event_id(), Some("1"));
}

#[tokio::test]
async fn trickled_bytes_and_keep_alive_comments_keep_it_open() {
    // 40 bytes, one every 10 ms: 400 ms in all, far past the 60 ms timeout.
    let body = format!(": keep-alive\n: keep-alive\n{}", "data: slow\n\n");
    let server = Server::replies([Reply::sse(body).trickle(10 * MS)])
        .await
        .unwrap();
    let source = builder(server.url()).idle_timeout(60 * MS).build().unwrap();
    let items = all(source).await;
    assert_eq!(data(&items), ["slow"]);
    assert!(errors(&items).iter().all(|e| !e.is_timeout()), "{items:?}");

    let comments = ": ping\n\n".repeat(8);
    let server = Server::replies([Reply::sse(format!("{comments}data: x\n\n"))
        .chunk_size(8)
        .chunk_delay(30 * MS)])
    .await
    .unwrap();
    let items = all(builder(server.url()).idle_timeout(60 * MS).build().unwrap()).await;
    assert_eq!(data(&items), ["x"]);
    assert!(errors(&items).iter().all(|e| !e.is_timeout()));
}

#[tokio::test]
async fn the_connect_timeout_bounds_the_wait_for_the_head() {
    let server = Server::replies([
        Reply::sse("data: late\n\n").head_delay(Duration::from_secs(5)),
        Reply::sse("data: b\n\n"),
    ])
    .await
    .unwrap();
    let source = builder(server.url())
        .connect_timeout(50 * MS)
        .build()
        .unwrap();
    let items = all(source).await;
    let err = errors(&items)[0];
    assert!(
        err.is_timeout() && err.is_connect() && !err.is_fatal(),
        "{err}"
    );
    assert_eq!(data(&items), ["b"]);
}
