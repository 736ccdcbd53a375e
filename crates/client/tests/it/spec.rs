//! Spec behaviours: non-ASCII Last-Event-ID, comments as they arrive.

use bourn_client::{EventSource, Item};
use bourn_testkit::{Reply, Server};

use crate::util::*;

const ELLIPSIS: &str = "\u{2026}";

#[tokio::test]
async fn a_non_ascii_last_event_id_is_sent_as_its_utf8_bytes() {
    // With http >= 1.6 `HeaderValue::from_str` refuses non-ASCII, and the
    // header was silently dropped.
    let server = Server::replies([
        Reply::sse(format!("id: a{ELLIPSIS}\ndata: x\n\n")),
        Reply::sse("data: y\n\n"),
    ])
    .await
    .unwrap();
    let items = all(builder(server.url()).build().unwrap()).await;
    assert_eq!(data(&items), ["x", "y"]);
    let sent = server.requests()[1]
        .headers
        .get("last-event-id")
        .map(|v| v.as_bytes().to_vec());
    assert_eq!(sent.as_deref(), Some(format!("a{ELLIPSIS}").as_bytes()));

    // The builder's initial ID too.
    let server = Server::replies([Reply::sse("data: x\n\n")]).await.unwrap();
    let source = builder(server.url())
        .last_event_id(ELLIPSIS)
        .build()
        .unwrap();
    let _ = all(source).await;
    let sent = server.requests()[0].headers.get("last-event-id").cloned();
    assert_eq!(
        sent.map(|v| v.as_bytes().to_vec()),
        Some(ELLIPSIS.as_bytes().to_vec())
    );
}

#[tokio::test]
async fn comments_are_items_when_asked_for_as_soon_as_the_line_arrives() {
    // The comment line, then half an event and a stall: the comment must
    // come out before any blank line dispatches anything.
    let server = Server::replies([Reply::sse(": keep-alive\n:\ndata: pending").then_stall()])
        .await
        .unwrap();
    let mut source = builder(server.url()).comments(true).build().unwrap();
    let items = take(&mut source, 3).await;
    assert!(matches!(items[0], Ok(Item::Open { .. })));
    let comments: Vec<_> = items[1..]
        .iter()
        .map(|i| match i {
            Ok(Item::Comment(text)) => text.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(comments, ["keep-alive", ""]);
    source.close();

    // Off by default.
    let server = Server::replies([Reply::sse(": keep-alive\ndata: a\n\n")])
        .await
        .unwrap();
    let items = all(EventSource::builder(server.url()).build().unwrap()).await;
    assert!(!items.iter().any(|i| matches!(i, Ok(Item::Comment(_)))));
    assert_eq!(data(&items), ["a"]);
}
