//! Reconnection: Last-Event-ID, cut events, retry, backoff.

use std::time::Duration;

use bourn_client::{Item, ReadyState};
use bourn_testkit::{Reply, Server};

use crate::util::*;

#[tokio::test]
async fn clean_eof_reconnects_with_last_event_id() {
    let server = Server::replies([
        Reply::sse("id: 1\ndata: a\n\n"),
        Reply::sse("data: b\n\n"),
        Reply::sse("id: 3\ndata: c\n\n"),
    ])
    .await
    .unwrap();
    let source = builder(server.url()).build().unwrap();
    let items = all(source).await;
    assert_eq!(
        events(&items),
        [
            ("message".into(), "a".into(), "1".into()),
            // A new connection's events without `id` report the ID carried over.
            ("message".into(), "b".into(), "1".into()),
            ("message".into(), "c".into(), "3".into()),
        ]
    );
    let errs = errors(&items);
    assert_eq!(errs.len(), 3);
    assert!(errs.iter().all(|e| e.is_disconnect() && !e.is_fatal()));
    assert!(
        errs.iter().all(|e| std::error::Error::source(e).is_none()),
        "clean ends"
    );
    let ids: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.last_event_id().map(str::to_owned))
        .collect();
    assert_eq!(
        ids,
        [None, Some("1".into()), Some("1".into()), Some("3".into())]
    );
    assert_eq!(opens(&items), 3);
}

#[tokio::test]
async fn a_drop_mid_event_never_delivers_half_an_event() {
    let body = "id: 1\ndata: whole\n\nid: 2\ndata: half\ndata: more\n\n";
    let cut = body.find("more").unwrap();
    for at in [cut, body.len() - 1, body.find("id: 2").unwrap() + 3] {
        let server = Server::replies([
            Reply::sse(body).chunk_size(5).drop_at(at),
            Reply::sse("id: 2\ndata: half\ndata: more\n\n"),
        ])
        .await
        .unwrap();
        let items = all(builder(server.url()).build().unwrap()).await;
        assert_eq!(data(&items), ["whole", "half\nmore"], "drop at {at}");
        let lost = errors(&items)[0];
        assert!(
            lost.is_disconnect() && std::error::Error::source(lost).is_some(),
            "{lost:?}"
        );
        // `id: 2` was never committed: the reconnection resumes after 1.
        assert_eq!(
            server.requests()[1].last_event_id(),
            Some("1"),
            "drop at {at}"
        );
    }
}

#[tokio::test]
async fn id_only_block_moves_the_last_event_id_and_empty_id_clears_it() {
    let server = Server::replies([
        Reply::sse("id: 1\ndata: a\n\nid: 7\n\n"),
        Reply::sse("data: b\n\nid\n\n"),
        Reply::sse("data: c\n\n"),
    ])
    .await
    .unwrap();
    let mut source = builder(server.url()).build().unwrap();
    let handle = source.handle();
    let mut items = take(&mut source, 4).await; // open, a, eof, open
    items.extend(take(&mut source, 1).await); // b
    assert_eq!(handle.last_event_id(), "7");
    items.extend(all(source).await);
    assert_eq!(
        events(&items),
        [
            ("message".into(), "a".into(), "1".into()),
            ("message".into(), "b".into(), "7".into()),
            ("message".into(), "c".into(), "".into()),
        ]
    );
    let ids: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.last_event_id().map(str::to_owned))
        .collect();
    assert_eq!(ids, [None, Some("7".into()), None, None]);
    assert_eq!(handle.last_event_id(), "");
}

#[tokio::test]
async fn last_event_id_survives_many_reconnects() {
    let mut replies = vec![Reply::sse("id: 42\ndata: first\n\n")];
    replies.extend((0..5).map(|_| Reply::sse(": nothing but a comment\n\n")));
    replies.extend((0..3).map(|_| Reply::sse("data: x").drop_at(4)));
    let server = Server::replies(replies).await.unwrap();
    let items = all(builder(server.url()).build().unwrap()).await;
    assert_eq!(data(&items), ["first"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 10);
    assert!(
        requests[1..]
            .iter()
            .all(|r| r.last_event_id() == Some("42"))
    );
}

#[tokio::test]
async fn server_retry_sets_the_reconnection_time_zero_included() {
    let server = Server::replies([
        Reply::sse("retry: 0\ndata: a\n\n"),
        Reply::sse("retry: 120\n\ndata: b\n\n"),
        Reply::sse("data: c\n\n"),
    ])
    .await
    .unwrap();
    // A long default: only the server's retry can make this fast.
    let policy = fast().reconnect_time(Duration::from_secs(30));
    let mut source = builder(server.url()).retry_policy(policy).build().unwrap();
    let items = take(&mut source, 3).await;
    let lost = items[2].as_ref().unwrap_err();
    assert_eq!(lost.reconnect_in(), Some(Duration::ZERO));
    let items = take(&mut source, 3).await;
    assert_eq!(source.reconnect_time(), 120 * MS);
    assert_eq!(
        items[2].as_ref().unwrap_err().reconnect_in(),
        Some(120 * MS)
    );
    let rest = all(source).await;
    assert_eq!(data(&rest), ["c"]);
    let r = server.requests();
    assert!(r[1].received_at - r[0].received_at < 100 * MS);
    assert!(r[2].received_at - r[1].received_at >= 120 * MS);
}

#[tokio::test]
async fn backoff_grows_after_failures_and_resets_after_a_good_open() {
    // Refused connections: a port with nothing listening.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", unused.local_addr().unwrap());
    drop(unused);
    let policy = fast().jitter(false).max_delay(40 * MS).max_retries(Some(5));
    let items = all(builder(&url).retry_policy(policy).build().unwrap()).await;
    let waits: Vec<_> = errors(&items).iter().map(|e| e.reconnect_in()).collect();
    assert_eq!(
        waits,
        [
            Some(5 * MS),
            Some(10 * MS),
            Some(20 * MS),
            Some(40 * MS),
            Some(40 * MS),
            None
        ]
    );
    assert!(errors(&items).iter().all(|e| e.is_connect()));

    // Failures, an open, then failures again: the wait starts over.
    let server = Server::replies([
        Reply::status(503),
        Reply::status(503),
        Reply::sse("data: a\n\n"),
        Reply::status(503),
        Reply::sse("data: b\n\n"),
    ])
    .await
    .unwrap();
    // A threshold of 0: any open resets the backoff.
    let policy = fast()
        .jitter(false)
        .retry_http_errors(true)
        .reset_threshold(Duration::ZERO);
    let items = all(builder(server.url()).retry_policy(policy).build().unwrap()).await;
    let waits: Vec<_> = errors(&items).iter().map(|e| e.reconnect_in()).collect();
    assert_eq!(
        waits,
        [
            Some(5 * MS),
            Some(10 * MS),
            Some(5 * MS),
            Some(5 * MS),
            Some(5 * MS)
        ],
        "503, 503, open+eof (reconnection time), 503 (backoff from the start), open+eof"
    );
    assert_eq!(data(&items), ["a", "b"]);
}

#[tokio::test]
async fn ready_state_follows_the_connection() {
    let server = Server::replies([Reply::sse("data: a\n\n").then_stall()])
        .await
        .unwrap();
    let mut source = builder(server.url()).build().unwrap();
    assert_eq!(source.ready_state(), ReadyState::Connecting);
    let items = take(&mut source, 2).await;
    assert!(matches!(items[0], Ok(Item::Open { .. })));
    assert_eq!(source.ready_state(), ReadyState::Open);
    source.close();
    assert_eq!(source.ready_state(), ReadyState::Closed);
}
