//! Bad input to every endpoint gets its documented status and a reason,
//! and the hub goes on serving everyone else.

use super::support::{Hub, Listen, Response, open_stream, run};

const PUB: (&str, &str) = ("authorization", "Bearer pub-secret");
const SUB: (&str, &str) = ("authorization", "Bearer sub-secret");

fn assert_refused(response: &Response, status: u16, reason: &str) {
    assert_eq!(response.status, status, "{}", response.text());
    assert!(
        response.text().contains(reason),
        "{status}: {:?} lacks {reason:?}",
        response.text()
    );
}

#[test]
fn bad_requests_get_clear_statuses_and_the_hub_keeps_serving() {
    let hub = Hub::start(&[
        "--publish-token",
        "pub-secret",
        "--subscribe-token",
        "sub-secret",
        "--max-body",
        "1024",
        "--max-topics",
        "3",
    ]);
    // A healthy subscriber that must see the good event at the end.
    let mut listen = Listen::start(&[
        "--json",
        "-H",
        "Authorization: Bearer sub-secret",
        &hub.url("/topics/ok"),
    ]);
    hub.wait_metric("bourn_subscribers", 1);

    // Huge bodies: with Content-Length, and larger than the limit.
    let huge = vec![b'x'; 64 * 1024];
    assert_refused(
        &hub.request("POST", "/topics/ok", &[PUB], &huge),
        413,
        "--max-body",
    );
    assert_refused(
        &hub.request("POST", "/topics/ok", &[PUB], &[b'y'; 1025]),
        413,
        "1024 bytes",
    );

    // Invalid topic names, for both methods.
    let long = format!("/topics/{}", "t".repeat(129));
    for path in [
        "/topics/a%20b",
        "/topics/%C3%A9",
        long.as_str(),
        "/topics/a*b",
    ] {
        assert_refused(
            &hub.request("POST", path, &[PUB], b"x"),
            400,
            "invalid topic name",
        );
        assert_refused(
            &hub.request("GET", path, &[SUB], b""),
            400,
            "invalid topic name",
        );
    }

    // Bad JSON and bad events.
    let json = ("content-type", "application/json");
    assert_refused(
        &hub.request("POST", "/topics/ok", &[PUB, json], b"{\"data\":"),
        400,
        "invalid JSON",
    );
    assert_refused(
        &hub.request("POST", "/topics/ok", &[PUB, json], b"{\"event\":\"e\"}"),
        400,
        "missing field `data`",
    );
    assert_refused(
        &hub.request(
            "POST",
            "/topics/ok",
            &[PUB, json],
            br#"{"data":"x","id":"7"}"#,
        ),
        400,
        "unknown field `id`",
    );
    assert_refused(
        &hub.request(
            "POST",
            "/topics/ok",
            &[PUB, json],
            br#"{"event":"a\nb","data":"x"}"#,
        ),
        400,
        "invalid event",
    );
    assert_refused(
        &hub.request("POST", "/topics/ok", &[PUB], b"\xff\xfe"),
        400,
        "not UTF-8",
    );

    // Tokens: missing (401, with a challenge), wrong (403), for each side.
    let missing = hub.request("POST", "/topics/ok", &[], b"x");
    assert_refused(&missing, 401, "Authorization: Bearer");
    assert_eq!(
        missing.header("www-authenticate").as_deref(),
        Some("Bearer realm=\"bourn\"")
    );
    assert_refused(
        &hub.request(
            "POST",
            "/topics/ok",
            &[("authorization", "Bearer nope")],
            b"x",
        ),
        403,
        "wrong token",
    );
    assert_refused(
        &hub.request("POST", "/topics/ok", &[SUB], b"x"),
        403,
        "wrong token",
    );
    assert_refused(
        &hub.request("GET", "/topics/ok", &[], b""),
        401,
        "needs a token",
    );
    assert_refused(
        &hub.request("GET", "/topics/ok?token=nope", &[], b""),
        403,
        "wrong token",
    );
    assert_refused(
        &hub.request("GET", "/topics/ok", &[PUB], b""),
        403,
        "wrong token",
    );
    assert_refused(
        &hub.request("GET", "/topics", &[], b""),
        401,
        "needs a token",
    );
    // Browsers pass the subscribe token in the query.
    let (head, stream) = open_stream(hub.addr, "/topics/ok?token=sub-secret", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-type").as_deref(),
        Some("text/event-stream")
    );
    drop(stream);

    // The topic limit: "ok" is one of 3.
    for topic in ["t2", "t3"] {
        assert_eq!(
            hub.request("POST", &format!("/topics/{topic}"), &[PUB], b"x")
                .status,
            200
        );
    }
    assert_refused(
        &hub.request("POST", "/topics/t4", &[PUB], b"x"),
        429,
        "--max-topics",
    );
    assert_refused(
        &hub.request("GET", "/topics/t4", &[SUB], b""),
        429,
        "--max-topics",
    );

    // Unknown endpoints and methods.
    assert_refused(
        &hub.request("GET", "/nope", &[], b""),
        404,
        "no such endpoint",
    );
    assert_eq!(hub.request("PUT", "/topics/ok", &[PUB], b"x").status, 405);
    assert_eq!(hub.request("DELETE", "/topics/ok", &[PUB], b"").status, 405);

    // Still serving: the good publish reaches the subscriber that was there
    // all along, and nothing refused reached it.
    let good = run(
        &[
            "publish",
            "--token",
            "pub-secret",
            &hub.url("/topics/ok"),
            "-d",
            "still here",
        ],
        b"",
    );
    assert_eq!(good.code(), Some(0), "{good:?}");
    let event = listen.event();
    assert_eq!(event["data"], "still here");
    assert_eq!(event["id"], good.stdout.trim());
    assert_eq!(hub.request("GET", "/health", &[], b"").status, 200);
    assert_eq!(hub.metric("bourn_rejected_total{status=\"413\"}"), 2);
    assert_eq!(hub.metric("bourn_rejected_total{status=\"401\"}"), 3);
    assert_eq!(hub.metric("bourn_published_total"), 3);
    // The publish token also comes from the environment.
    let from_env = super::support::bourn()
        .args(["publish", &hub.url("/topics/ok"), "-d", "env"])
        .env("BOURN_PUBLISH_TOKEN", "pub-secret")
        .output()
        .unwrap();
    assert!(from_env.status.success(), "{from_env:?}");
    assert_eq!(listen.event()["data"], "env");
    listen.child.kill().unwrap();
}

#[test]
fn a_subscriber_limit_answers_busy_or_503() {
    let hub = Hub::start(&["--max-subscribers", "1", "--retry-hint", "2s"]);
    let (first, _held) = open_stream(hub.addr, "/topics/a", &[]);
    assert_eq!(first.status, 200);
    hub.wait_metric("bourn_subscribers", 1);

    // A browser gets a short 200 stream that tells it to come back later.
    let busy = hub.request("GET", "/topics/a", &[], b"");
    assert_eq!(busy.status, 200);
    let text = busy.text();
    assert!(
        text.starts_with(": busy\n") && text.contains("retry: "),
        "{text:?}"
    );
    // A client that prefers it gets 503 with Retry-After.
    let refused = hub.request("GET", "/topics/b", &[("prefer", "retry-after")], b"");
    assert_eq!(refused.status, 503);
    let after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((2..=3).contains(&after), "{after}");
    assert_eq!(hub.metric("bourn_busy_total"), 2);
    // Publishing is not limited by subscribers.
    assert_eq!(hub.request("POST", "/topics/a", &[], b"x").status, 200);
}

#[test]
fn cors_is_closed_by_default_and_open_to_configured_origins() {
    let closed = Hub::start(&[]);
    let origin = ("origin", "https://app.example");
    let response = closed.request("GET", "/health", &[origin], b"");
    assert_eq!(response.header("access-control-allow-origin"), None);

    let open = Hub::start(&["--cors-origin", "https://app.example"]);
    let response = open.request("GET", "/health", &[origin], b"");
    assert_eq!(
        response.header("access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    let other = open.request("GET", "/health", &[("origin", "https://evil.example")], b"");
    assert_eq!(other.header("access-control-allow-origin"), None);
    let preflight = open.request(
        "OPTIONS",
        "/topics/x",
        &[
            origin,
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "authorization"),
        ],
        b"",
    );
    assert_eq!(preflight.status, 200);
    assert!(
        preflight
            .header("access-control-allow-headers")
            .unwrap()
            .contains("authorization")
    );
}

#[test]
fn options_come_from_flags_then_env_then_the_file() {
    let dir = std::env::temp_dir().join(format!("bourn-it-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bourn.toml");
    std::fs::write(
        &file,
        "max-body = 10\nmax-topics = 1\npublish-token = \"from-file\"\n",
    )
    .unwrap();

    // The file alone.
    let hub = Hub::start(&["--config", file.to_str().unwrap()]);
    let auth = ("authorization", "Bearer from-file");
    assert_eq!(
        hub.request("POST", "/topics/a", &[auth], &[b'x'; 11])
            .status,
        413
    );
    assert_eq!(hub.request("POST", "/topics/a", &[auth], b"x").status, 200);
    assert_eq!(hub.request("POST", "/topics/b", &[auth], b"x").status, 429);
    drop(hub);

    // The environment over the file, a flag over the environment.
    let data = super::support::DataDir::new();
    let mut child = super::support::bourn_in(&data.path)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--config",
            file.to_str().unwrap(),
            "--max-body",
            "30",
        ])
        .env("BOURN_MAX_BODY", "20")
        .env("BOURN_MAX_TOPICS", "5")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = super::support::Lines::new(child.stdout.take().unwrap());
    let url = lines.next();
    let addr = url
        .split("http://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let request =
        |path: &str, body: &[u8]| super::support::request(addr, "POST", path, &[auth], body).status;
    assert_eq!(
        request("/topics/a", &[b'x'; 30]),
        200,
        "flag 30 beats env 20"
    );
    assert_eq!(request("/topics/a", &[b'x'; 31]), 413);
    assert_eq!(request("/topics/b", b"x"), 200, "env 5 topics beats file 1");
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    // A bad file is an error, not a silent default.
    let bad = run(&["serve", "--config", "/nonexistent/bourn.toml"], b"");
    assert_eq!(bad.code(), Some(1));
    assert!(
        bad.stderr.contains("/nonexistent/bourn.toml"),
        "{}",
        bad.stderr
    );
}
