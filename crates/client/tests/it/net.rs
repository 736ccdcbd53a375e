//! Networking parity: post/bearer_auth/the http re-export, cookies,
//! credentials across origins, non-ASCII redirects, HTTP proxies.

use bourn_client::http::Method;
use bourn_client::{EventSource, Item};
use bourn_testkit::{Reply, Server};
use futures_util::StreamExt;

use crate::util::*;

#[tokio::test]
async fn post_bearer_auth_and_a_method_from_the_reexported_http() {
    let server = Server::replies([Reply::sse("data: a\n\n"), Reply::sse("data: b\n\n")])
        .await
        .unwrap();
    let source = builder(server.url())
        .post()
        .bearer_auth("sk-test")
        .body("{}")
        .one_shot(true)
        .build()
        .unwrap();
    assert_eq!(data(&all(source).await), ["a"]);
    let report = Method::from_bytes(b"REPORT").unwrap();
    let source = builder(server.url())
        .method(report.clone())
        .one_shot(true)
        .build()
        .unwrap();
    assert_eq!(data(&all(source).await), ["b"]);
    let r = server.requests();
    assert_eq!(r[0].method, Method::POST);
    assert_eq!(r[0].header("authorization"), Some("Bearer sk-test"));
    assert_eq!(r[0].body_text(), "{}");
    assert_eq!(r[1].method, report);
}

#[cfg(feature = "cookies")]
#[tokio::test]
async fn the_cookie_store_sends_cookies_the_server_set_on_reconnects() {
    let server = Server::replies([
        Reply::sse("data: a\n\n").header("set-cookie", "session=abc; Path=/"),
        Reply::sse("data: b\n\n").header("set-cookie", "lb=node2"),
        Reply::sse("data: c\n\n"),
    ])
    .await
    .unwrap();
    let source = builder(server.url()).cookie_store(true).build().unwrap();
    assert_eq!(data(&all(source).await), ["a", "b", "c"]);
    let cookies: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("cookie").map(str::to_owned))
        .collect();
    assert_eq!(cookies[0], None);
    assert_eq!(cookies[1].as_deref(), Some("session=abc"));
    let third = cookies[2].clone().unwrap();
    assert!(
        third.contains("session=abc") && third.contains("lb=node2"),
        "{third}"
    );

    // Off by default.
    let server = Server::replies([
        Reply::sse("data: a\n\n").header("set-cookie", "session=abc"),
        Reply::sse("data: b\n\n"),
    ])
    .await
    .unwrap();
    let _ = all(builder(server.url()).build().unwrap()).await;
    assert_eq!(server.requests()[1].header("cookie"), None);
}

#[tokio::test]
async fn authorization_and_cookie_never_follow_a_cross_origin_redirect() {
    // Two servers: two origins (another port). CVE-2022-1650.
    let other = Server::replies([Reply::sse("data: there\n\n")])
        .await
        .unwrap();
    let target = other.url_for("/landing");
    let first = Server::start(move |r| match r.index {
        0 => Reply::redirect(302, "/same").header("set-cookie", "mine=1"),
        1 => Reply::redirect(307, &target),
        _ => Reply::status(204),
    })
    .await
    .unwrap();
    let mut b = builder(first.url())
        .bearer_auth("secret")
        .header("cookie", "user=me")
        .one_shot(true);
    if cfg!(feature = "cookies") {
        b = b.cookie_store(true);
    }
    let mut source = b.build().unwrap();
    let items = take(&mut source, 2).await;
    assert_eq!(data(&items), ["there"]);
    let Some(Ok(Item::Open { url, .. })) = items.first() else {
        panic!("{items:?}")
    };
    assert_eq!(url.to_string(), other.url_for("/landing"));
    // The same origin keeps them.
    let same = &first.requests()[1];
    assert_eq!(same.header("authorization"), Some("Bearer secret"));
    assert!(same.header("cookie").unwrap().contains("user=me"));
    // The other origin gets neither the caller's Authorization nor its
    // Cookie header.
    let landed = &other.requests()[0];
    assert_eq!(landed.header("authorization"), None);
    let cookie = landed.header("cookie");
    assert!(
        !cookie.unwrap_or_default().contains("user=me"),
        "{cookie:?}"
    );
    // Only the store's own cookies: they are scoped to the host, not the
    // port (RFC 6265, as in browsers), and both servers are 127.0.0.1.
    if cfg!(feature = "cookies") {
        assert_eq!(cookie, Some("mine=1"));
    } else {
        assert_eq!(cookie, None);
    }
    assert_eq!(landed.path, "/landing");
}

#[tokio::test]
async fn a_non_ascii_location_is_percent_encoded_and_dot_segments_removed() {
    let server = Server::start(|r| match r.index {
        0 => Reply::status(302).header_bytes("location", "/a/./b/../caf\u{e9}".as_bytes()),
        1 => Reply::sse("data: ok\n\n"),
        _ => Reply::status(204),
    })
    .await
    .unwrap();
    let items = all(builder(server.url()).one_shot(true).build().unwrap()).await;
    assert_eq!(data(&items), ["ok"]);
    assert_eq!(server.requests()[1].path, "/a/caf%C3%A9");
}

#[tokio::test]
async fn an_explicit_proxy_carries_http_requests_in_absolute_form() {
    // The testkit server plays the proxy: it sees the whole URL.
    let proxy = Server::replies([Reply::sse("data: via proxy\n\n")])
        .await
        .unwrap();
    let proxy_url = format!("http://user:pa55@{}", proxy.addr());
    let source = EventSource::builder("http://stream.invalid/events?x=1")
        .proxy(proxy_url)
        .one_shot(true)
        .build()
        .unwrap();
    let items = all(source).await;
    assert_eq!(data(&items), ["via proxy"], "{items:?}");
    let r = &proxy.requests()[0];
    assert_eq!(r.target, "http://stream.invalid/events?x=1");
    assert_eq!(r.header("host"), Some("stream.invalid"));
    // user:pa55, Basic.
    assert_eq!(r.header("proxy-authorization"), Some("Basic dXNlcjpwYTU1"));

    // no_proxy() and a bad proxy URL.
    let err = EventSource::builder("http://x.test/")
        .proxy("socks5://127.0.0.1:1")
        .build()
        .unwrap_err();
    assert!(err.is_builder());
}

/// The error and every source, as one line.
fn error_chain(error: &bourn_client::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn the_address_filter_refuses_literals_names_and_redirects_to_refused_addresses() {
    let server = Server::replies([
        Reply::sse("data: a\n\n"),
        Reply::redirect(307, "http://127.0.0.2:9/elsewhere"),
    ])
    .await
    .unwrap();
    let port = server.addr().port();
    let no_loopback = |ip: std::net::IpAddr| !ip.is_loopback();
    // A literal, and a name that resolves to loopback only: never connected to.
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://localhost:{port}/"),
    ] {
        let mut source = builder(&url)
            .address_filter(no_loopback)
            .no_proxy()
            .one_shot(true)
            .build()
            .unwrap();
        let error = source.next().await.unwrap().unwrap_err();
        assert!(error.is_connect(), "{url}: {error}");
        let text = error_chain(&error);
        assert!(text.contains("address filter refuses"), "{text}");
    }
    assert_eq!(server.request_count(), 0);

    // Allowed: it connects; a redirect to a refused address is caught on
    // the redirect's own connection.
    let only_127_0_0_1 = |ip: std::net::IpAddr| ip == std::net::IpAddr::from([127, 0, 0, 1]);
    let source = builder(server.url())
        .address_filter(only_127_0_0_1)
        .no_proxy()
        .one_shot(true)
        .build()
        .unwrap();
    assert_eq!(data(&all(source).await), ["a"]);
    let mut source = builder(server.url())
        .address_filter(only_127_0_0_1)
        .no_proxy()
        .one_shot(true)
        .build()
        .unwrap();
    let error = source.next().await.unwrap().unwrap_err();
    let text = error_chain(&error);
    assert!(text.contains("127.0.0.2"), "{text}");
    assert_eq!(
        server.request_count(),
        2,
        "the redirect was fetched, its target never"
    );

    // A proxy would resolve the target itself: refused, not bypassed.
    let mut source = builder(server.url())
        .address_filter(|_| true)
        .proxy(format!("http://127.0.0.1:{port}"))
        .one_shot(true)
        .build()
        .unwrap();
    let error = source.next().await.unwrap().unwrap_err();
    let text = error_chain(&error);
    assert!(text.contains("no_proxy"), "{text}");
}
