//! Statuses and content types: open, close for good, fail, or retry.

use std::time::{Duration, Instant, SystemTime};

use bourn_client::{Item, ReadyState};
use bourn_testkit::{Reply, Server};
use http::StatusCode;

use crate::util::*;

#[tokio::test]
async fn ok_with_event_stream_and_parameters_opens() {
    for content_type in [
        "text/event-stream",
        "text/event-stream; charset=utf-8",
        "Text/Event-Stream;charset=UTF-8",
    ] {
        let server = Server::replies([Reply::sse("data: a\n\n")
            .content_type(content_type)
            .header("x-server", "s")])
        .await
        .unwrap();
        let source = builder(server.url()).build().unwrap();
        let items = all(source).await;
        match &items[0] {
            Ok(Item::Open {
                status, headers, ..
            }) => {
                assert_eq!(*status, StatusCode::OK);
                assert_eq!(headers["x-server"], "s");
            }
            other => panic!("{content_type}: {other:?}"),
        }
        assert_eq!(data(&items), ["a"], "{content_type}");
    }
}

#[tokio::test]
async fn no_content_fails_the_connection_with_an_error_that_says_204() {
    // "if res's status is not 200 [...] then fail the connection": an
    // error item, CLOSED, no reconnection. Before, a 204 ended the stream
    // silently, exactly like close().
    let server = Server::replies([Reply::status(204).body("bye")])
        .await
        .unwrap();
    let mut source = builder(server.url()).build().unwrap();
    let items = take(&mut source, 10).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let err = items[0].as_ref().unwrap_err();
    assert!(err.is_fatal() && err.is_status(), "{err}");
    assert_eq!(err.kind(), bourn_client::ErrorKind::NoContent);
    assert_eq!(err.status(), Some(StatusCode::NO_CONTENT));
    assert!(err.to_string().contains("204 No Content"), "{err}");
    assert_eq!(source.ready_state(), ReadyState::Closed);
    tokio::time::sleep(30 * MS).await;
    assert_eq!(server.request_count(), 1, "no reconnection after 204");
}

#[tokio::test]
async fn a_refused_body_s_first_line_is_in_the_error_message() {
    let server = Server::replies([Reply::status(401)
        .content_type("application/json")
        .body("{\"error\":\"invalid api key\"}\n{\"more\":1}")])
    .await
    .unwrap();
    let items = all(builder(server.url()).build().unwrap()).await;
    let err = errors(&items)[0];
    assert_eq!(err.kind(), bourn_client::ErrorKind::Status);
    assert_eq!(
        err.to_string(),
        "unexpected status 401 Unauthorized: {\"error\":\"invalid api key\"}"
    );
}

#[tokio::test]
async fn other_statuses_fail_with_status_headers_and_body_head() {
    for code in [404, 500, 503, 429, 401, 201, 206] {
        let server = Server::replies([Reply::status(code)
            .header("x-why", "because")
            .content_type("text/event-stream")
            .body("x".repeat(10_000))])
        .await
        .unwrap();
        let mut source = builder(server.url()).build().unwrap();
        let items = take(&mut source, 10).await;
        assert_eq!(items.len(), 1, "{code}: {items:?}");
        let err = items[0].as_ref().unwrap_err();
        assert!(
            err.is_status() && err.is_fatal() && err.reconnect_in().is_none(),
            "{code}"
        );
        assert_eq!(err.status().map(|s| s.as_u16()), Some(code));
        assert_eq!(err.headers().unwrap()["x-why"], "because");
        assert_eq!(err.body().unwrap().len(), bourn_client::BODY_HEAD_LEN);
        assert!(err.body().unwrap().iter().all(|&b| b == b'x'));
        assert_eq!(source.ready_state(), ReadyState::Closed);
        tokio::time::sleep(20 * MS).await;
        assert_eq!(server.request_count(), 1, "{code}: no reconnection");
    }
}

#[tokio::test]
async fn wrong_or_missing_content_type_fails() {
    for reply in [
        Reply::sse("data: a\n\n").content_type("text/plain"),
        Reply::sse("data: a\n\n").content_type("application/json"),
        Reply::sse("data: a\n\n").without_content_type(),
    ] {
        let server = Server::replies([reply]).await.unwrap();
        let mut source = builder(server.url()).build().unwrap();
        let items = take(&mut source, 10).await;
        assert_eq!(items.len(), 1, "{items:?}");
        let err = items[0].as_ref().unwrap_err();
        assert!(err.is_content_type() && err.is_fatal(), "{err}");
        assert_eq!(err.status(), Some(StatusCode::OK));
        assert_eq!(err.body().map(|b| &b[..]), Some(&b"data: a\n\n"[..]));
        tokio::time::sleep(20 * MS).await;
        assert_eq!(server.request_count(), 1);
    }
}

#[tokio::test]
async fn opted_in_retry_of_5xx_and_429_honours_retry_after_seconds() {
    let server = Server::replies([
        Reply::status(503).header("retry-after", "0"),
        Reply::status(429).header("retry-after", "1"),
        Reply::sse("data: a\n\n"),
    ])
    .await
    .unwrap();
    let policy = fast()
        .retry_http_errors(true)
        .max_delay(Duration::from_secs(5));
    let source = builder(server.url()).retry_policy(policy).build().unwrap();
    let items = all(source).await;
    let errs = errors(&items);
    assert_eq!(errs.len(), 3, "503, 429, then the end of the stream");
    assert!(errs[..2].iter().all(|e| e.is_status() && !e.is_fatal()));
    assert_eq!(errs[0].reconnect_in(), Some(Duration::ZERO));
    assert_eq!(errs[1].reconnect_in(), Some(Duration::from_secs(1)));
    assert_eq!(data(&items), ["a"]);
    let r = server.requests();
    let waited = r[2].received_at - r[1].received_at;
    assert!(waited >= Duration::from_millis(990), "{waited:?}");
}

#[tokio::test]
async fn retry_after_date_is_honoured_and_capped() {
    let later = httpdate_in(Duration::from_secs(3600));
    let server = Server::replies([
        Reply::status(502).header("retry-after", &later),
        Reply::sse("data: a\n\n"),
    ])
    .await
    .unwrap();
    let policy = fast().retry_http_errors(true).max_delay(80 * MS);
    let start = Instant::now();
    let items = all(builder(server.url()).retry_policy(policy).build().unwrap()).await;
    assert_eq!(
        errors(&items)[0].reconnect_in(),
        Some(80 * MS),
        "an hour, capped"
    );
    assert_eq!(data(&items), ["a"]);
    assert!(start.elapsed() >= 80 * MS);
}

#[tokio::test]
async fn retried_errors_back_off_and_give_up_at_max_retries() {
    let server = Server::start(|_| Reply::status(500)).await.unwrap();
    let policy = fast()
        .retry_http_errors(true)
        .jitter(false)
        .max_retries(Some(3));
    let items = all(builder(server.url()).retry_policy(policy).build().unwrap()).await;
    let errs = errors(&items);
    assert_eq!(errs.len(), 4);
    let waits: Vec<_> = errs.iter().map(|e| e.reconnect_in()).collect();
    assert_eq!(waits, [Some(5 * MS), Some(10 * MS), Some(20 * MS), None]);
    assert!(errs[3].is_fatal());
    assert_eq!(server.request_count(), 4);
}

fn httpdate_in(d: Duration) -> String {
    httpdate::fmt_http_date(SystemTime::now() + d)
}
