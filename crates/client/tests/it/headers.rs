//! What every request carries.

use bourn_client::EventSource;
use bourn_testkit::{Reply, Server};
use http::Method;

use crate::util::*;

#[tokio::test]
async fn accept_and_cache_control_always_last_event_id_only_when_set() {
    let server = Server::replies([Reply::sse("data: a\n\n"), Reply::sse("data: b\n\n")])
        .await
        .unwrap();
    let source = builder(server.url())
        .header("x-custom", "1")
        .header("accept", "application/json")
        .header("last-event-id", "caller-set")
        .build()
        .unwrap();
    let items = all(source).await;
    assert_eq!(data(&items), ["a", "b"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "two streams, then the 204 that ends it");
    for r in &requests {
        assert_eq!(r.method, Method::GET);
        assert_eq!(r.headers.get_all("accept").iter().count(), 1);
        assert_eq!(r.header("accept"), Some("text/event-stream"));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        assert_eq!(r.header("x-custom"), Some("1"));
        // No id was ever seen: the header is not sent, not even empty.
        assert_eq!(r.last_event_id(), None);
    }
}

#[tokio::test]
async fn initial_last_event_id_is_sent_and_reported() {
    let server = Server::replies([Reply::sse("data: a\n\n")]).await.unwrap();
    let source = builder(server.url()).last_event_id("41").build().unwrap();
    let items = all(source).await;
    // Events without `id` report the seeded ID, as browsers do.
    assert_eq!(
        events(&items),
        [("message".into(), "a".into(), "41".into())]
    );
    assert_eq!(server.requests()[0].last_event_id(), Some("41"));
    assert_eq!(server.requests()[1].last_event_id(), Some("41"));
}

#[tokio::test]
async fn method_headers_and_body_are_sent_again_on_every_reconnect() {
    let server = Server::replies([
        Reply::sse("id: 1\ndata: a\n\n"),
        Reply::sse("data: b\n\n").drop_at(3),
        Reply::sse("data: c\n\n"),
    ])
    .await
    .unwrap();
    let source = builder(server.url_for("/v1/stream?x=1"))
        .method(Method::POST)
        .header("authorization", "Bearer t")
        .header("content-type", "application/json")
        .body(r#"{"q":1}"#)
        .build()
        .unwrap();
    let items = all(source).await;
    assert_eq!(data(&items), ["a", "c"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    for r in &requests {
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.path, "/v1/stream?x=1");
        assert_eq!(r.body_text(), r#"{"q":1}"#);
        assert_eq!(r.header("authorization"), Some("Bearer t"));
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    assert_eq!(requests[1].last_event_id(), Some("1"));
    assert_eq!(requests[2].last_event_id(), Some("1"));
}

#[tokio::test]
async fn builder_errors() {
    for url in ["not a url", "/relative", "ftp://x.test/", "http://"] {
        let err = EventSource::new(url).unwrap_err();
        assert!(err.is_builder() && err.is_fatal(), "{url}: {err}");
    }
    let err = EventSource::builder("http://127.0.0.1:9/")
        .header("bad header", "x")
        .build()
        .unwrap_err();
    assert!(err.is_builder());
    let err = EventSource::builder("http://127.0.0.1:9/")
        .last_event_id("a\nb")
        .build()
        .unwrap_err();
    assert!(err.is_builder());
}

#[tokio::test]
async fn a_caller_supplied_client_or_connector_carries_the_requests() {
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;

    let server = Server::replies([
        Reply::sse("data: via client\n\n"),
        Reply::status(204),
        Reply::sse("data: via connector\n\n"),
    ])
    .await
    .unwrap();
    let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let items = all(builder(server.url()).client(client).build().unwrap()).await;
    assert_eq!(data(&items), ["via client"]);
    let items = all(builder(server.url())
        .connector(HttpConnector::new())
        .build()
        .unwrap())
    .await;
    assert_eq!(data(&items), ["via connector"]);
    assert_eq!(server.request_count(), 4);
}
