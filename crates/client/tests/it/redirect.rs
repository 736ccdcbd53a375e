//! Redirects: followed up to the limit; a bad Location is an error.

use bourn_client::Item;
use bourn_testkit::{Reply, Server};
use http::Method;

use crate::util::*;

#[tokio::test]
async fn a_chain_of_relative_redirects_is_followed() {
    let server = Server::start(|r| match r.path.as_str() {
        "/a/start" => Reply::redirect(307, "next"),
        "/a/next" => Reply::redirect(308, "../final?x=1"),
        "/final?x=1" if r.index < 3 => Reply::sse("data: here\n\n"),
        _ => Reply::status(204),
    })
    .await
    .unwrap();
    let source = builder(server.url_for("/a/start"))
        .method(Method::POST)
        .body("q")
        .build()
        .unwrap();
    let items = all(source).await;
    assert_eq!(data(&items), ["here"]);
    let requests = server.requests();
    let paths: Vec<_> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(&paths[..3], ["/a/start", "/a/next", "/final?x=1"]);
    assert!(
        requests
            .iter()
            .all(|r| r.method == Method::POST && r.body_text() == "q")
    );
}

#[tokio::test]
async fn each_status_redirects() {
    for code in [301u16, 302, 303, 307, 308] {
        let server = Server::replies([Reply::redirect(code, "/there"), Reply::sse("data: ok\n\n")])
            .await
            .unwrap();
        let source = builder(server.url())
            .method(Method::POST)
            .body("b")
            .build()
            .unwrap();
        let items = all(source).await;
        assert_eq!(data(&items), ["ok"], "{code}");
        let second = &server.requests()[1];
        assert_eq!(second.path, "/there");
        if code == 303 {
            // 303 See Other turns into GET without a body.
            assert_eq!(second.method, Method::GET);
            assert!(second.body.is_empty());
        } else {
            assert_eq!(second.method, Method::POST);
            assert_eq!(second.body_text(), "b");
        }
    }
}

#[tokio::test]
async fn missing_or_empty_location_is_an_error_not_a_loop() {
    for reply in [
        Reply::status(302),
        Reply::redirect(302, ""),
        Reply::redirect(301, "   "),
    ] {
        let server = Server::start(move |_| reply.clone()).await.unwrap();
        let items = all(builder(server.url()).build().unwrap()).await;
        assert_eq!(items.len(), 1);
        let err = errors(&items)[0];
        assert!(err.is_redirect() && err.is_fatal(), "{err}");
        assert!(err.status().is_some_and(|s| s.is_redirection()));
        assert_eq!(server.request_count(), 1);
    }
}

#[tokio::test]
async fn the_redirect_limit_is_enforced() {
    let server = Server::start(|r| Reply::redirect(302, &format!("/hop{}", r.index)))
        .await
        .unwrap();
    let items = all(builder(server.url()).max_redirects(3).build().unwrap()).await;
    let err = errors(&items)[0];
    assert!(err.is_redirect() && err.is_fatal());
    assert_eq!(
        server.request_count(),
        4,
        "the first request and 3 redirects"
    );

    let server = Server::replies([Reply::redirect(307, "/x")]).await.unwrap();
    let items = all(builder(server.url()).max_redirects(0).build().unwrap()).await;
    assert!(errors(&items)[0].is_redirect());
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn reconnections_go_to_the_final_url_which_open_and_the_source_report() {
    // Fetch appends each redirect to the request's URL list, and the spec
    // reconnects by fetching that same request: the final URL.
    let server = Server::start(|r| match (r.index, r.path.as_str()) {
        (0, "/") => Reply::redirect(302, "/moved"),
        (1, "/moved") => Reply::sse("id: 5\ndata: a\n\n"),
        (2, "/moved") => Reply::sse("data: b\n\n"),
        _ => Reply::status(204),
    })
    .await
    .unwrap();
    let mut source = builder(server.url()).build().unwrap();
    let handle = source.handle();
    assert_eq!(source.url().to_string(), server.url());
    let first = take(&mut source, 1).await;
    let Some(Ok(Item::Open { url, .. })) = first.first() else {
        panic!("{first:?}");
    };
    let moved = server.url_for("/moved");
    assert_eq!(url.to_string(), moved);
    assert_eq!(source.url().to_string(), moved);
    assert_eq!(handle.url().to_string(), moved);
    let items = all(source).await;
    assert_eq!(data(&items), ["a", "b"]);
    assert!(ends_with_no_content(&items));
    let requests = server.requests();
    assert_eq!(requests[2].path, "/moved");
    assert_eq!(requests[2].last_event_id(), Some("5"));
}
