//! `bourn serve` + `bourn listen` + `bourn publish` through loopback.

use super::support::{Hub, Listen, run};

#[test]
fn publish_and_listen_through_the_hub() {
    let hub = Hub::start(&[]);
    let topic = hub.url("/topics/news");
    let mut listen = Listen::start(&["--json", "--max-events", "4", &topic]);
    listen.stderr.until("connected (200 OK)");
    hub.wait_metric("bourn_subscribers", 1);

    // One event with a type, from flags.
    let one = run(
        &[
            "publish",
            &topic,
            "--event",
            "headline",
            "--data",
            "rain in\nspain",
        ],
        b"",
    );
    assert_eq!(one.code(), Some(0), "{one:?}");
    let first_id = one.stdout.trim().to_owned();
    // Data from stdin (one final line break dropped).
    let two = run(&["publish", &topic], b"from stdin\n");
    assert_eq!(two.code(), Some(0), "{two:?}");
    // One event per line.
    let lines = run(
        &["publish", "--lines", "--event", "log", &topic],
        b"l1\nl2\n",
    );
    assert_eq!(lines.code(), Some(0), "{lines:?}");
    let ids: Vec<&str> = [one.stdout.trim(), two.stdout.trim()]
        .into_iter()
        .chain(lines.stdout.lines())
        .collect();
    assert_eq!(ids.len(), 4);
    // `<epoch>.<seq>`: one epoch, seq 1..=4.
    let epoch = first_id.split_once('.').unwrap().0;
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(*id, format!("{epoch}.{}", n + 1));
    }

    let expected = [
        ("headline", "rain in\nspain"),
        ("message", "from stdin"),
        ("log", "l1"),
        ("log", "l2"),
    ];
    for ((event_type, data), id) in expected.into_iter().zip(&ids) {
        let event = listen.event();
        assert_eq!(event["type"], event_type);
        assert_eq!(event["data"], data);
        assert_eq!(event["id"], *id);
        assert_eq!(event["last_event_id"], *id);
    }
    assert_eq!(listen.wait().code(), Some(0), "--max-events ends with 0");

    // The JSON form, answered in JSON when asked.
    let response = hub.request(
        "POST",
        "/topics/news",
        &[
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        br#"{"event":"obj","data":{"k":[1,2]}}"#,
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let answer: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(answer["id"], format!("{epoch}.5"));
    // The type from the query and from the header.
    let query = hub.request("POST", "/topics/news?event=q", &[], b"x");
    let header = hub.request("POST", "/topics/news", &[("bourn-event", "h")], b"y");
    assert_eq!((query.status, header.status), (200, 200));

    // A late subscriber resumes after the first event: everything else is
    // replayed from the log, in order, with the JSON data as compact text.
    let replay = run(
        &[
            "listen",
            "--json",
            "--last-event-id",
            &first_id,
            "--max-events",
            "6",
            &topic,
        ],
        b"",
    );
    assert_eq!(replay.code(), Some(0), "{replay:?}");
    let replayed: Vec<serde_json::Value> = replay
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let got: Vec<(&str, &str)> = replayed
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["data"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("message", "from stdin"),
            ("log", "l1"),
            ("log", "l2"),
            ("obj", r#"{"k":[1,2]}"#),
            ("q", "x"),
            ("h", "y")
        ]
    );

    // The page, health and metrics.
    let page = hub.request("GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().contains("id=\"publish-form\""));
    assert_eq!(hub.request("GET", "/health", &[], b"").text(), "ok\n");
    assert_eq!(hub.metric("bourn_published_total"), 7);
    assert_eq!(hub.metric("bourn_replayed_total"), 6);
    assert_eq!(hub.metric("bourn_delivered_total"), 10);
    assert_eq!(hub.metric("bourn_subscriptions_total"), 2);
    let topics: serde_json::Value =
        serde_json::from_slice(&hub.request("GET", "/topics", &[], b"").body).unwrap();
    assert_eq!(topics["topics"][0]["name"], "news");
    assert_eq!(topics["topics"][0]["last_id"], format!("{epoch}.7"));
}

#[test]
fn human_output_names_type_id_and_data() {
    let hub = Hub::start(&[]);
    let topic = hub.url("/topics/h");
    let mut listen = Listen::start(&["--human", "--color", "never", "--max-events", "1", &topic]);
    hub.wait_metric("bourn_subscribers", 1);
    let id = run(&["publish", &topic, "-e", "greet", "-d", "hi\nthere"], b"").stdout;
    assert_eq!(listen.stdout.next(), format!("greet id {}", id.trim()));
    assert_eq!(listen.stdout.next(), "  hi");
    assert_eq!(listen.stdout.next(), "  there");
    assert_eq!(listen.wait().code(), Some(0));
}

#[test]
fn sigterm_ends_open_streams_and_the_hub_exits_cleanly() {
    let mut hub = Hub::start(&["--grace", "2s"]);
    let mut listen = Listen::start(&["--json", "--once", &hub.url("/topics/t")]);
    hub.wait_metric("bourn_subscribers", 1);
    let status = hub.terminate();
    assert_eq!(status.code(), Some(0), "graceful exit: {status:?}");
    hub.stderr.until("shutting down");
    // With --once, the end of the stream is the normal end.
    assert_eq!(listen.wait().code(), Some(0));
}

#[test]
fn an_idempotency_key_publishes_once() {
    let hub = Hub::start(&[]);
    let key = ("idempotency-key", "order-42");
    let first = hub.request("POST", "/topics/k", &[key], b"once");
    assert_eq!(first.status, 200, "{}", first.text());
    let again = hub.request("POST", "/topics/k", &[key], b"once");
    assert_eq!(again.text(), first.text(), "a retry answers the first id");
    let other = hub.request("POST", "/topics/k", &[], b"other");
    let seq = |text: &str| {
        text.trim()
            .rsplit('.')
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(
        seq(&other.text()),
        seq(&first.text()) + 1,
        "the retry stored nothing"
    );
    assert_eq!(hub.metric("bourn_published_total"), 3);
    let bad = hub.request("POST", "/topics/k", &[("idempotency-key", "")], b"x");
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert!(bad.text().contains("Idempotency-Key"), "{}", bad.text());
}

#[test]
fn health_is_liveness_and_ready_says_whether_to_send_clients() {
    let mut hub = Hub::start(&["--store", "memory", "--max-subscribers", "1"]);
    let get = |path: &str| hub.request("GET", path, &[], b"");
    assert_eq!(
        (get("/health").status, get("/health").text()),
        (200, "ok\n".to_owned())
    );
    assert_eq!(
        (get("/ready").status, get("/ready").text()),
        (200, "ready\n".to_owned())
    );

    // At --max-subscribers, not ready (new clients would be turned away),
    // still alive.
    let (response, stream) = super::support::open_stream(hub.addr, "/topics/t", &[]);
    assert_eq!(response.status, 200);
    hub.wait_metric("bourn_subscribers", 1);
    let full = get("/ready");
    assert_eq!(full.status, 503, "{}", full.text());
    assert!(full.text().contains("--max-subscribers"), "{}", full.text());
    assert_eq!(get("/health").status, 200);
    drop(stream);
    hub.wait_metric("bourn_subscribers", 0);
    assert_eq!(get("/ready").status, 200);
    assert!(hub.terminate().success());
}

#[test]
fn http2_with_prior_knowledge_is_served_beside_http1() {
    use http_body_util::BodyExt;
    let hub = Hub::start(&["--store", "memory"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = super::support::http2_get(hub.addr, "/health").await;
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"ok\n");
    });
    // And HTTP/1.1 on the same hub.
    assert_eq!(hub.request("GET", "/health", &[], b"").status, 200);
}

/// Reads from `stream` until `needle` has arrived (bounded by the stream's
/// read timeout); returns everything read.
fn read_until(stream: &mut std::net::TcpStream, needle: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let mut buf = [0; 1024];
    while !bytes.windows(needle.len()).any(|w| w == needle) {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed before {needle:?}: {bytes:?}");
        bytes.extend_from_slice(&buf[..n]);
    }
    bytes
}

#[test]
fn a_subscription_is_answered_alike_whether_its_head_arrives_whole_or_in_pieces() {
    use std::io::{Read, Write};
    use std::time::Duration;
    let hub = Hub::start(&["--store", "memory", "--subscribe-token", "s3cret"]);
    let head = format!(
        "GET /topics/t?token=s3cret HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        hub.addr
    );
    let subscribe = |pieces: usize| {
        let mut stream = std::net::TcpStream::connect(hub.addr).unwrap();
        stream.set_read_timeout(Some(super::support::WAIT)).unwrap();
        stream.set_nodelay(true).unwrap();
        // In pieces, the head is not whole when the hub first looks at it.
        let cut = head.len() / pieces;
        stream.write_all(&head.as_bytes()[..cut]).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        stream.write_all(&head.as_bytes()[cut..]).unwrap();
        let response = read_until(&mut stream, b"\r\n\r\n");
        (super::support::parse_response(&response), stream)
    };
    let (whole, mut whole_stream) = subscribe(1);
    let (pieces, mut pieces_stream) = subscribe(2);
    for response in [&whole, &pieces] {
        assert_eq!(response.status, 200);
        for (name, value) in [
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
            ("transfer-encoding", "chunked"),
        ] {
            assert_eq!(response.header(name).as_deref(), Some(value), "{name}");
        }
        assert!(response.header("date").is_some());
        assert!(response.header("connection").is_none());
    }
    hub.wait_metric("bourn_subscribers", 2);
    let id = hub
        .request("POST", "/topics/t", &[], b"hello")
        .text()
        .trim()
        .to_owned();
    // The same chunk on both: chunk size, the event, CRLF.
    let event = format!("id: {id}\ndata: hello\n\n");
    let chunk = format!("{:x}\r\n{event}\r\n", event.len());
    for stream in [&mut whole_stream, &mut pieces_stream] {
        let bytes = read_until(stream, chunk.as_bytes());
        assert!(
            String::from_utf8_lossy(&bytes).ends_with(&chunk),
            "{bytes:?}"
        );
    }

    // Refused on either path: the same status, a body, and the connection
    // ends.
    for pieces in [1, 2] {
        let mut stream = std::net::TcpStream::connect(hub.addr).unwrap();
        stream.set_read_timeout(Some(super::support::WAIT)).unwrap();
        let bad = format!(
            "GET /topics/t HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            hub.addr
        );
        let cut = bad.len() / pieces;
        stream.write_all(&bad.as_bytes()[..cut]).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        stream.write_all(&bad.as_bytes()[cut..]).unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        let response = super::support::parse_response(&bytes);
        assert_eq!(response.status, 401, "{pieces}: {}", response.text());
        assert!(response.text().contains("token"), "{}", response.text());
    }

    // A subscriber that hangs up is let go at once, not at the next write.
    drop(whole_stream);
    drop(pieces_stream);
    hub.wait_metric("bourn_subscribers", 0);
}
