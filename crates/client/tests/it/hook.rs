//! The request hook: before every request, with its reason; 401/403 refresh.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bourn_client::{BoxError, ErrorKind, HookFuture, Item, ReadyState, RequestReason};
use bourn_testkit::{Reply, Server};
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request};

use crate::util::*;

/// A hook that records each reason and sets `Authorization: Bearer tok-N`
/// from a counter that goes up on every `Unauthorized`.
fn rotating(
    log: Arc<Mutex<Vec<String>>>,
    generation: Arc<AtomicUsize>,
) -> impl Fn(Request<()>, RequestReason) -> HookFuture + Send + Sync + 'static {
    move |mut request, reason| {
        let log = Arc::clone(&log);
        let generation = Arc::clone(&generation);
        Box::pin(async move {
            let what = match &reason {
                RequestReason::Initial => "initial".to_owned(),
                RequestReason::Reconnect => "reconnect".to_owned(),
                RequestReason::Redirect(status) => format!("redirect {}", status.as_u16()),
                RequestReason::Unauthorized { status, headers } => {
                    generation.fetch_add(1, Ordering::SeqCst);
                    let challenge = headers
                        .get("www-authenticate")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    format!("unauthorized {} {challenge}", status.as_u16())
                }
                other => format!("{other:?}"),
            };
            log.lock().unwrap().push(what);
            let token = format!("Bearer tok-{}", generation.load(Ordering::SeqCst));
            request
                .headers_mut()
                .insert(AUTHORIZATION, HeaderValue::from_str(&token)?);
            Ok(request)
        })
    }
}

#[tokio::test]
async fn the_hook_runs_before_the_first_request_each_reconnect_and_each_redirect() {
    let server = Server::start(|r| match r.index {
        0 => Reply::sse("id: 1\ndata: a\n\n"),
        1 => Reply::redirect(307, "/elsewhere"),
        2 => Reply::sse("data: b\n\n"),
        _ => Reply::status(204),
    })
    .await
    .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let source = builder(server.url())
        .on_request(rotating(Arc::clone(&log), Arc::new(AtomicUsize::new(0))))
        .build()
        .unwrap();
    let items = all(source).await;
    assert_eq!(data(&items), ["a", "b"]);
    assert_eq!(
        *log.lock().unwrap(),
        ["initial", "reconnect", "redirect 307", "reconnect"]
    );
    for r in server.requests() {
        assert_eq!(r.header("authorization"), Some("Bearer tok-0"));
        // The hook sees the request after the source's own headers.
        assert_eq!(r.header("accept"), Some("text/event-stream"));
    }
    assert_eq!(server.requests()[1].last_event_id(), Some("1"));
}

#[tokio::test]
async fn the_hook_can_change_the_url_for_every_attempt() {
    // A signed URL: each attempt gets a fresh signature.
    let server = Server::replies([Reply::sse("data: a\n\n"), Reply::sse("data: b\n\n")])
        .await
        .unwrap();
    let base = server.url_for("/stream");
    let counter = Arc::new(AtomicUsize::new(0));
    let source = builder(server.url_for("/unsigned"))
        .on_request(move |mut request: Request<()>, _| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let url = format!("{base}?sig={n}");
            async move {
                *request.uri_mut() = url.parse()?;
                Ok(request)
            }
        })
        .build()
        .unwrap();
    let items = all(source).await;
    assert_eq!(data(&items), ["a", "b"]);
    let paths: Vec<_> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/stream?sig=0", "/stream?sig=1", "/stream?sig=2"]);
}

#[tokio::test]
async fn a_401_asks_the_hook_to_refresh_and_the_stream_goes_on_with_its_state() {
    // The server wants `Bearer tok-<connection generation>`: each token is
    // good for one connection, so every reconnection is refused once.
    let generation = Arc::new(AtomicUsize::new(0));
    let server_generation = Arc::new(AtomicUsize::new(0));
    let expected = Arc::clone(&server_generation);
    let server = Server::start(move |r| {
        let wanted = format!("Bearer tok-{}", expected.load(Ordering::SeqCst));
        if r.header("authorization") != Some(wanted.as_str()) {
            return Reply::status(401)
                .header("www-authenticate", "Bearer realm=\"test\"")
                .body("{\"error\":\"token expired\"}");
        }
        let g = expected.fetch_add(1, Ordering::SeqCst);
        match g {
            0 => Reply::sse("retry: 7\nid: 1\ndata: a\n\n"),
            1 => Reply::sse("id: 2\ndata: b\n\n"),
            _ => Reply::status(204),
        }
    })
    .await
    .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut source = builder(server.url())
        .on_request(rotating(Arc::clone(&log), Arc::clone(&generation)))
        .build()
        .unwrap();
    let first = take(&mut source, 2).await;
    assert_eq!(data(&first), ["a"]);
    let rest = all(source).await;
    assert_eq!(data(&rest), ["b"]);
    // No error item for the refreshed 401s: only the ends of the streams.
    let errs = errors(&rest);
    assert!(errs.iter().all(|e| e.is_disconnect()), "{errs:?}");
    // The server's retry: 7 was kept: the reconnection waited 7 ms.
    assert_eq!(errs[0].reconnect_in(), Some(7 * MS));
    assert_eq!(
        *log.lock().unwrap(),
        [
            "initial",
            "reconnect",
            "unauthorized 401 Bearer realm=\"test\"",
            "reconnect",
            "unauthorized 401 Bearer realm=\"test\"",
        ]
    );
    let requests = server.requests();
    // The retried request kept the Last-Event-ID.
    assert_eq!(requests[1].last_event_id(), Some("1"));
    assert_eq!(requests[2].last_event_id(), Some("1"));
    assert_eq!(requests[2].header("authorization"), Some("Bearer tok-1"));
    assert_eq!(requests[4].last_event_id(), Some("2"));
}

#[tokio::test]
async fn a_refusal_after_the_refresh_is_fatal_and_so_is_one_without_a_hook() {
    for code in [401u16, 403] {
        // Without a hook: fatal at once, as the spec says.
        let server = Server::start(move |_| Reply::status(code).body("nope"))
            .await
            .unwrap();
        let items = all(builder(server.url()).build().unwrap()).await;
        assert_eq!(items.len(), 1);
        let err = errors(&items)[0];
        assert!(err.is_fatal() && err.is_status(), "{err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(code));
        assert_eq!(server.request_count(), 1);

        // With a hook: refreshed once, then fatal.
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut source = builder(server.url())
            .on_request(rotating(Arc::clone(&log), Arc::new(AtomicUsize::new(0))))
            .build()
            .unwrap();
        let items = take(&mut source, 5).await;
        assert_eq!(items.len(), 1, "{items:?}");
        assert!(errors(&items)[0].is_fatal());
        assert_eq!(source.ready_state(), ReadyState::Closed);
        assert_eq!(
            server.request_count(),
            3,
            "{code}: the first, then one retry"
        );
        assert_eq!(log.lock().unwrap().len(), 2);

        // auth_retries(3): three refreshes; auth_retries(0): none.
        for (retries, requests) in [(3u32, 4usize), (0, 1)] {
            let server = Server::start(move |_| Reply::status(code)).await.unwrap();
            let source = builder(server.url())
                .on_request(rotating(
                    Arc::new(Mutex::new(Vec::new())),
                    Arc::new(AtomicUsize::new(0)),
                ))
                .auth_retries(retries)
                .build()
                .unwrap();
            let items = all(source).await;
            assert!(errors(&items)[0].is_fatal());
            assert_eq!(server.request_count(), requests);
        }
    }
}

#[tokio::test]
async fn an_error_from_the_hook_fails_the_source() {
    let server = Server::replies([Reply::sse("data: a\n\n")]).await.unwrap();
    let source = builder(server.url())
        .on_request(|_: Request<()>, _| async {
            Err::<Request<()>, BoxError>("vault is sealed".into())
        })
        .build()
        .unwrap();
    let items = all(source).await;
    assert_eq!(items.len(), 1);
    let err = errors(&items)[0];
    assert!(err.is_hook() && err.is_fatal() && err.kind() == ErrorKind::Hook);
    assert_eq!(
        std::error::Error::source(err)
            .map(ToString::to_string)
            .as_deref(),
        Some("vault is sealed")
    );
    assert_eq!(server.request_count(), 0);
    // A URL the hook sets must stay absolute http(s).
    let source = builder(server.url())
        .on_request(|mut request: Request<()>, _| async move {
            *request.uri_mut() = "/relative".parse()?;
            Ok(request)
        })
        .build()
        .unwrap();
    let items = all(source).await;
    assert!(errors(&items)[0].is_hook());
    assert!(!items.iter().any(|i| matches!(i, Ok(Item::Open { .. }))));
}
