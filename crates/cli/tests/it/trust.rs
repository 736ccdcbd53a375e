//! The default trust model against the real binary: cross-site publishes
//! (CSRF), DNS rebinding on a loopback bind, and event types a publisher may
//! not send.

use std::io::{Read, Write};
use std::net::TcpStream;

use super::support::{Hub, Response, WAIT, parse_response};

/// A raw request with exactly these header lines (the Host included).
fn raw(hub: &Hub, head: &str, body: &[u8]) -> Response {
    let mut stream = TcpStream::connect(hub.addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    parse_response(&bytes)
}

#[test]
fn browsers_on_other_sites_cannot_publish() {
    let hub = Hub::start(&["--store", "memory", "--cors-origin", "https://app.example"]);
    let host = hub.addr.to_string();
    let post = |extra: &str| {
        raw(
            &hub,
            &format!(
                "POST /topics/t HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\n{extra}\r\n"
            ),
            b"x",
        )
    };
    // What `fetch(url, {mode: 'no-cors', method: 'POST', body: 'x'})` sends from another page.
    let evil = post("Origin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\n");
    assert_eq!(evil.status, 403, "{}", evil.text());
    assert!(
        evil.text().contains("cross-origin publishing"),
        "{}",
        evil.text()
    );
    let opaque = post("Origin: null\r\n");
    assert_eq!(opaque.status, 403, "{}", opaque.text());
    let no_origin = post("Sec-Fetch-Site: cross-site\r\n");
    assert_eq!(no_origin.status, 403, "{}", no_origin.text());
    // The hub's own page, an allowed origin, and non-browser clients publish.
    assert_eq!(
        post(&format!(
            "Origin: http://{host}\r\nSec-Fetch-Site: same-origin\r\n"
        ))
        .status,
        200
    );
    assert_eq!(post("Origin: https://app.example\r\n").status, 200);
    assert_eq!(post("").status, 200);
    assert_eq!(hub.metric("bourn_published_total"), 3);
    assert_eq!(hub.metric("bourn_rejected_total{status=\"403\"}"), 3);
}

#[test]
fn a_loopback_hub_answers_loopback_host_names_only() {
    let hub = Hub::start(&["--store", "memory", "--allowed-host", "hub.internal"]);
    let port = hub.addr.port();
    let get = |host: &str| {
        raw(
            &hub,
            &format!("GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
            b"",
        )
    };
    // A DNS-rebound name of an attacker's page, resolving to 127.0.0.1.
    let rebound = get(&format!("evil.example:{port}"));
    assert_eq!(rebound.status, 421, "{}", rebound.text());
    assert!(
        rebound.text().contains("--allowed-host"),
        "{}",
        rebound.text()
    );
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("hub.internal:{port}"),
    ] {
        assert_eq!(get(&host).status, 200, "{host}");
    }
    assert_eq!(hub.metric("bourn_rejected_total{status=\"421\"}"), 1);
}

#[test]
fn reserved_and_unreadable_event_types_are_refused() {
    let hub = Hub::start(&["--store", "memory"]);
    let reserved = hub.request("POST", "/topics/t?event=bourn-reset", &[], b"x");
    assert_eq!(reserved.status, 400, "{}", reserved.text());
    assert!(reserved.text().contains("reserved"), "{}", reserved.text());
    let json = hub.request(
        "POST",
        "/topics/t",
        &[("content-type", "application/json")],
        br#"{"event":"bourn-reset","data":"x"}"#,
    );
    assert_eq!(json.status, 400, "{}", json.text());
    // Invalid UTF-8 in the query is not coerced to U+FFFD.
    let mangled = hub.request("POST", "/topics/t?event=%FF", &[], b"x");
    assert_eq!(mangled.status, 400, "{}", mangled.text());
    assert!(mangled.text().contains("UTF-8"), "{}", mangled.text());
    // A header that is not visible ASCII is not silently dropped to `message`.
    let host = hub.addr.to_string();
    let mut head = format!(
        "POST /topics/t HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1\r\nConnection: close\r\nBourn-Event: "
    )
    .into_bytes();
    head.extend_from_slice("é".as_bytes());
    head.extend_from_slice(b"\r\n\r\nx");
    let mut stream = TcpStream::connect(hub.addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(&head).unwrap();
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let header = parse_response(&bytes);
    assert_eq!(header.status, 400, "{}", header.text());
    assert!(header.text().contains("visible ASCII"), "{}", header.text());
    assert_eq!(hub.metric("bourn_published_total"), 0);
}

#[test]
fn metrics_can_require_a_token_and_the_start_says_what_is_open() {
    let hub = Hub::start(&[
        "--store",
        "memory",
        "--metrics-token",
        "m-secret",
        "--publish-token",
        "p-secret",
    ]);
    assert_eq!(hub.request("GET", "/metrics", &[], b"").status, 401);
    assert_eq!(
        hub.request("GET", "/metrics", &[("authorization", "Bearer wrong")], b"")
            .status,
        403
    );
    let ok = hub.request(
        "GET",
        "/metrics",
        &[("authorization", "Bearer m-secret")],
        b"",
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    let line = hub.stderr.until("access");
    assert!(
        line.contains("publish=\"token\"") || line.contains("publish=token"),
        "{line}"
    );
    assert!(
        line.contains("metrics=\"needs a token\"") || line.contains("needs a token"),
        "{line}"
    );
    assert!(
        !line.contains("secret"),
        "tokens never appear in logs: {line}"
    );
}
