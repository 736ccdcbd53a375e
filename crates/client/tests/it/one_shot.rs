//! One-shot mode for LLM APIs: POST once, the end is the end, `[DONE]`, serde.

use bourn_client::ReadyState;
use bourn_testkit::{Reply, Server};
use http::Method;

use crate::util::*;

const COMPLETION: &str = "data: {\"delta\":\"Hel\"}\n\ndata: {\"delta\":\"lo\"}\n\n";

#[tokio::test]
async fn the_end_of_the_response_is_the_normal_end() {
    let server = Server::replies([
        Reply::sse(COMPLETION).chunk_size(5),
        Reply::sse("data: never\n\n"),
    ])
    .await
    .unwrap();
    let mut source = builder(server.url())
        .method(Method::POST)
        .header("content-type", "application/json")
        .body(r#"{"stream":true}"#)
        .one_shot(true)
        .build()
        .unwrap();
    let handle = source.handle();
    let items = take(&mut source, 10).await;
    assert!(errors(&items).is_empty(), "{items:?}");
    assert_eq!(data(&items), [r#"{"delta":"Hel"}"#, r#"{"delta":"lo"}"#]);
    assert_eq!(handle.ready_state(), ReadyState::Closed);
    let r = server.requests();
    assert_eq!(r.len(), 1, "never reconnects");
    assert_eq!(
        (r[0].method.clone(), r[0].body_text()),
        (Method::POST, r#"{"stream":true}"#.to_owned())
    );
}

#[tokio::test]
async fn the_done_sentinel_ends_the_stream() {
    let body = format!("{COMPLETION}data: [DONE]\n\ndata: after\n\n");
    let server = Server::replies([Reply::sse(body).then_stall()])
        .await
        .unwrap();
    let items = all(builder(server.url())
        .one_shot(true)
        .done_sentinel("[DONE]")
        .build()
        .unwrap())
    .await;
    assert_eq!(data(&items).len(), 2);
    assert!(errors(&items).is_empty());

    // The sentinel works with reconnection on too: it ends the source for good.
    let server = Server::replies([Reply::sse("data: a\n\ndata: [DONE]\n\n").then_stall()])
        .await
        .unwrap();
    let items = all(builder(server.url())
        .done_sentinel("[DONE]")
        .build()
        .unwrap())
    .await;
    assert_eq!(data(&items), ["a"]);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn errors_are_fatal_in_one_shot_mode() {
    let server = Server::replies([Reply::sse(COMPLETION).drop_at(30)])
        .await
        .unwrap();
    let items = all(builder(server.url()).one_shot(true).build().unwrap()).await;
    assert_eq!(data(&items), [r#"{"delta":"Hel"}"#]);
    let err = errors(&items)[0];
    assert!(err.is_disconnect() && err.is_fatal() && err.reconnect_in().is_none());
    assert_eq!(server.request_count(), 1);

    let server = Server::replies([Reply::status(503)]).await.unwrap();
    let policy = fast().retry_http_errors(true);
    let items = all(builder(server.url())
        .one_shot(true)
        .retry_policy(policy)
        .build()
        .unwrap())
    .await;
    assert!(errors(&items)[0].is_status() && errors(&items)[0].is_fatal());
    assert_eq!(server.request_count(), 1);
}

#[cfg(feature = "serde")]
mod json {
    use futures_util::StreamExt;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Chunk {
        delta: String,
    }

    #[tokio::test]
    async fn data_decodes_as_json_and_errors_carry_the_event() {
        let body = format!(
            "{COMPLETION}event: oops\nid: 9\ndata: {{not json\n\ndata: {{\"delta\":\"!\"}}\n\ndata: [DONE]\n\n"
        );
        let server = Server::replies([Reply::sse(body)]).await.unwrap();
        let stream = builder(server.url())
            .method(Method::POST)
            .json_body(&serde_json::json!({"model": "m", "stream": true}))
            .one_shot(true)
            .done_sentinel("[DONE]")
            .build()
            .unwrap()
            .json::<Chunk>();
        let items: Vec<_> = stream.collect().await;
        assert_eq!(items.len(), 4);
        assert_eq!(
            items[0].as_ref().unwrap(),
            &Chunk {
                delta: "Hel".into()
            }
        );
        assert_eq!(items[1].as_ref().unwrap(), &Chunk { delta: "lo".into() });
        let err = items[2].as_ref().unwrap_err();
        assert!(err.is_json() && !err.is_fatal());
        let event = err.event().unwrap();
        assert_eq!(
            (event.event_type(), event.data(), event.id()),
            ("oops", "{not json", Some("9"))
        );
        assert!(
            std::error::Error::source(err)
                .unwrap()
                .is::<serde_json::Error>()
        );
        assert_eq!(items[3].as_ref().unwrap(), &Chunk { delta: "!".into() });
        let r = &server.requests()[0];
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.body_text(), r#"{"model":"m","stream":true}"#);
    }
}
