//! Resumable runs (`POST /runs`) against the real binary and a mock LLM
//! upstream on loopback: one upstream request, followers that are killed
//! and resume, typed ends, abort, the safety rules, two nodes over Redis.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bourn_client::{EventSource, Item};
use bourn_testkit::redis::RedisServer;
use futures_util::StreamExt;
use rand::Rng;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::support::{Hub, runtime};

const WAIT: Duration = Duration::from_secs(30);

/// A runtime, a mock upstream playing `script`, and a hub (memory store)
/// whose upstream `mock` is it.
fn hub_with_mock(script: Script) -> (tokio::runtime::Runtime, Mock, Hub) {
    let runtime = runtime();
    let mock = runtime.block_on(Mock::start(script));
    let upstream = format!("mock={}", mock.url());
    let hub = Hub::start(&[
        "--store",
        "memory",
        "--upstream",
        &upstream,
        "--allow-private-upstreams",
    ]);
    (runtime, mock, hub)
}

/// What the mock upstream answers.
#[derive(Clone)]
enum Script {
    /// `count` tokens, one every `every`, then the end of the response.
    Tokens { count: usize, every: Duration },
    /// `count` tokens, then the provider's error event (Anthropic's shape).
    TokensThenError { count: usize },
    /// A status with a body, no stream.
    Status(u16, &'static str),
}

/// A mock LLM API: counts requests, keeps their heads, and notes when the
/// hub's connection closes.
struct Mock {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    heads: Arc<Mutex<Vec<String>>>,
    closed: Arc<Mutex<Vec<Instant>>>,
}

impl Mock {
    async fn start(script: Script) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mock = Mock {
            addr: listener.local_addr().unwrap(),
            requests: Arc::default(),
            heads: Arc::default(),
            closed: Arc::default(),
        };
        let (requests, heads, closed) = (
            Arc::clone(&mock.requests),
            Arc::clone(&mock.heads),
            Arc::clone(&mock.closed),
        );
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                requests.fetch_add(1, Ordering::SeqCst);
                let (heads, closed, script) =
                    (Arc::clone(&heads), Arc::clone(&closed), script.clone());
                tokio::spawn(async move {
                    let (mut read, mut write) = socket.into_split();
                    let mut head = Vec::new();
                    let mut buf = [0; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match read.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    heads
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).into_owned());
                    // The rest of the request body, if any, then EOF when the
                    // hub closes the connection.
                    let watch = tokio::spawn(async move {
                        loop {
                            match read.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(_) => {}
                            }
                        }
                        closed.lock().unwrap().push(Instant::now());
                    });
                    let sse = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
                    match script {
                        Script::Tokens { count, every } => {
                            let _ = write.write_all(sse.as_bytes()).await;
                            for i in 0..count {
                                let token = format!("data: {{\"text\":\"t{i} \"}}\n\n");
                                if write.write_all(token.as_bytes()).await.is_err() {
                                    return;
                                }
                                tokio::time::sleep(every).await;
                            }
                        }
                        Script::TokensThenError { count } => {
                            let mut body = sse.to_owned();
                            for i in 0..count {
                                body.push_str(&format!("data: {{\"text\":\"t{i} \"}}\n\n"));
                            }
                            body.push_str("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
                            let _ = write.write_all(body.as_bytes()).await;
                        }
                        Script::Status(status, body) => {
                            let reply = format!(
                                "HTTP/1.1 {status} Oops\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = write.write_all(reply.as_bytes()).await;
                        }
                    }
                    let _ = write.shutdown().await;
                    drop(write);
                    let _ = watch.await;
                });
            }
        });
        mock
    }

    fn url(&self) -> String {
        format!("http://{}/v1/messages", self.addr)
    }
}

/// `POST /runs` with `json`; the run's id.
fn start_run(hub: &Hub, json: &str) -> String {
    let response = hub.request(
        "POST",
        "/runs",
        &[("Content-Type", "application/json")],
        json.as_bytes(),
    );
    assert_eq!(response.status, 201, "{}", response.text());
    let created: Value = serde_json::from_slice(&response.body).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["events"], format!("/runs/{id}/events"));
    assert_eq!(
        response.header("location").as_deref(),
        Some(format!("/runs/{id}").as_str())
    );
    id
}

/// One follower's view: each upstream token's text in order, the end event.
#[derive(Default)]
struct Followed {
    tokens: Vec<String>,
    /// Events of other types than `message` (the provider's own errors).
    others: Vec<(String, String)>,
    end: Option<Value>,
    last_id: String,
}

impl Followed {
    /// Takes one item; `true` at the end event.
    fn take(&mut self, item: Item) -> bool {
        let Item::Event(event) = item else {
            return false;
        };
        self.last_id = event.last_event_id().to_owned();
        match event.event_type() {
            "bourn-run" => {}
            "bourn-end" => {
                self.end = Some(serde_json::from_str(event.data()).unwrap());
                return true;
            }
            "message" => {
                let token: Value = serde_json::from_str(event.data()).unwrap();
                let text = token["text"].as_str();
                let text = text.unwrap_or_else(|| panic!("not a token: {token}"));
                self.tokens.push(text.trim().to_owned());
            }
            other => self
                .others
                .push((other.to_owned(), event.data().to_owned())),
        }
        false
    }
}

fn source(url: &str, last_id: &str) -> EventSource {
    let mut builder = EventSource::builder(url);
    if !last_id.is_empty() {
        builder = builder.last_event_id(last_id);
    }
    builder.build().unwrap()
}

/// Follows a run to its end in one connection.
async fn follow(url: &str) -> Followed {
    let mut followed = Followed::default();
    let mut source = source(url, "");
    tokio::time::timeout(WAIT, async {
        while let Some(item) = source.next().await {
            if let Ok(item) = item {
                if followed.take(item) {
                    return;
                }
            }
        }
    })
    .await
    .expect("the end event within the wait");
    followed
}

fn expected_tokens(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("t{i}")).collect()
}

#[test]
fn twenty_followers_killed_fifty_times_each_get_every_token_once_and_one_upstream_call() {
    let (runtime, mock, hub) = hub_with_mock(Script::Tokens {
        count: 2000,
        every: Duration::from_millis(5),
    });
    let id = start_run(
        &hub,
        r#"{"upstream":"mock","body":{"prompt":"count to 2000"}}"#,
    );
    let url = hub.url(&format!("/runs/{id}/events"));
    let followers = runtime.block_on(async {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move {
                    let mut followed = Followed::default();
                    let mut kills = 0;
                    tokio::time::timeout(Duration::from_secs(60), async {
                        loop {
                            // Killed after a random number of events or a random
                            // time, whichever comes first, 50 times; then read to the end.
                            let (events, time) = {
                                let mut rng = rand::rng();
                                (rng.random_range(1..=70), rng.random_range(10..300))
                            };
                            let mut source = source(&url, &followed.last_id);
                            let limit =
                                (kills < 50).then(|| Instant::now() + Duration::from_millis(time));
                            let mut taken = 0;
                            loop {
                                let next = match limit {
                                    Some(limit) => {
                                        match tokio::time::timeout_at(limit.into(), source.next())
                                            .await
                                        {
                                            Ok(next) => next,
                                            Err(_) => break,
                                        }
                                    }
                                    None => source.next().await,
                                };
                                match next {
                                    Some(Ok(item)) => {
                                        let is_event = matches!(item, Item::Event(_));
                                        if followed.take(item) {
                                            return;
                                        }
                                        taken += usize::from(is_event);
                                        if limit.is_some() && taken >= events {
                                            break;
                                        }
                                    }
                                    Some(Err(error)) => assert!(!error.is_fatal(), "{error}"),
                                    None => panic!("the source ended"),
                                }
                            }
                            // Killed: the connection drops here.
                            drop(source);
                            kills += 1;
                        }
                    })
                    .await
                    .expect("the follower reached the end within 60 s");
                    (followed, kills)
                })
            })
            .collect();
        let mut followers = Vec::new();
        for task in tasks {
            followers.push(task.await.unwrap());
        }
        followers
    });
    let expected = expected_tokens(2000);
    for (n, (followed, kills)) in followers.iter().enumerate() {
        assert!(*kills >= 50, "follower {n} was killed {kills} times only");
        assert_eq!(followed.tokens.len(), 2000, "follower {n}");
        assert_eq!(
            followed.tokens, expected,
            "follower {n}: every token once, in order"
        );
        let end = followed.end.as_ref().unwrap();
        assert_eq!(end["outcome"], "completed", "{end}");
        assert_eq!(end["events"], 2000);
        assert_eq!(end["requests"], 1);
    }
    assert_eq!(
        mock.requests.load(Ordering::SeqCst),
        1,
        "one upstream request"
    );
    assert_eq!(hub.metric("bourn_run_upstream_requests_total"), 1);
    assert_eq!(
        hub.metric("bourn_runs_ended_total{outcome=\"completed\"}"),
        1
    );
}

#[test]
fn abort_stops_the_upstream_within_100_ms_and_ends_the_run_as_aborted() {
    let (runtime, mock, hub) = hub_with_mock(Script::Tokens {
        count: 100_000,
        every: Duration::from_millis(10),
    });
    let id = start_run(&hub, r#"{"upstream":"mock"}"#);
    // A follower sees tokens flowing, then the abort's end.
    let url = hub.url(&format!("/runs/{id}/events"));
    let follower = runtime.spawn(async move { follow(&url).await });
    std::thread::sleep(Duration::from_millis(300));
    assert!(mock.closed.lock().unwrap().is_empty());
    let asked = Instant::now();
    let response = hub.request("DELETE", &format!("/runs/{id}"), &[], b"");
    assert_eq!(response.status, 200, "{}", response.text());
    let answer: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(answer["end"]["outcome"], "aborted", "{answer}");
    let closed_at = runtime.block_on(async {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(at) = mock.closed.lock().unwrap().first() {
                    return *at;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("the upstream connection closed")
    });
    let stopped_in = closed_at.saturating_duration_since(asked);
    eprintln!(
        "abort: the upstream saw its connection close {stopped_in:?} after the DELETE was sent"
    );
    assert!(stopped_in <= Duration::from_millis(100), "{stopped_in:?}");
    let followed = runtime.block_on(follower).unwrap();
    assert!(!followed.tokens.is_empty());
    assert_eq!(followed.tokens, expected_tokens(followed.tokens.len()));
    let end = followed.end.unwrap();
    assert_eq!(end["outcome"], "aborted");
    assert_eq!(end["events"], followed.tokens.len());
    // A second abort: the run had ended.
    let again = hub.request("POST", &format!("/runs/{id}/abort"), &[], b"");
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(mock.requests.load(Ordering::SeqCst), 1);
    assert_eq!(hub.metric("bourn_runs_ended_total{outcome=\"aborted\"}"), 1);
}

#[test]
fn upstream_failures_become_typed_end_events() {
    let runtime = runtime();
    let error = runtime.block_on(Mock::start(Script::TokensThenError { count: 3 }));
    let refused = runtime.block_on(Mock::start(Script::Status(
        529,
        "{\"error\":\"overloaded\"}",
    )));
    let hub = Hub::start(&[
        "--store",
        "memory",
        "--upstream",
        &format!("error={}", error.url()),
        "--upstream",
        &format!("refused={}", refused.url()),
        "--upstream",
        // Nothing listens there: a connection failure.
        "closed=http://127.0.0.1:9/",
        "--allow-private-upstreams",
    ]);
    let end_of = |upstream: &str| {
        let id = start_run(&hub, &format!("{{\"upstream\":\"{upstream}\"}}"));
        runtime.block_on(follow(&hub.url(&format!("/runs/{id}/events"))))
    };
    let followed = end_of("error");
    assert_eq!(followed.tokens, expected_tokens(3));
    // The provider's event as it sent it, then the typed end.
    assert_eq!(followed.others.len(), 1);
    assert_eq!(followed.others[0].0, "error");
    let end = followed.end.unwrap();
    assert_eq!(end["outcome"], "failed", "{end}");
    assert_eq!(end["status"], 200);
    assert_eq!(end["error"]["kind"], "provider");
    assert_eq!(end["error"]["event"], "error");
    assert_eq!(end["error"]["message"], "Overloaded");

    let end = end_of("refused").end.unwrap();
    assert_eq!(end["outcome"], "failed", "{end}");
    assert_eq!(end["error"]["kind"], "status");
    assert_eq!(end["error"]["status"], 529);
    assert_eq!(end["error"]["data"], "{\"error\":\"overloaded\"}");
    assert_eq!(refused.requests.load(Ordering::SeqCst), 1, "never retried");

    let end = end_of("closed").end.unwrap();
    assert_eq!(end["outcome"], "failed", "{end}");
    assert_eq!(end["error"]["kind"], "connect");
    assert_eq!(hub.metric("bourn_runs_ended_total{outcome=\"failed\"}"), 3);
}

#[test]
fn an_open_relay_is_refused_by_default() {
    let runtime = runtime();
    let mock = runtime.block_on(Mock::start(Script::Tokens {
        count: 3,
        every: Duration::from_millis(1),
    }));
    // Without upstreams: runs are off.
    let hub = Hub::start(&["--store", "memory"]);
    let response = hub.request("POST", "/runs", &[], br#"{"upstream":"x"}"#);
    assert_eq!(response.status, 404, "{}", response.text());
    assert!(response.text().contains("--upstream"));
    drop(hub);

    // A loopback upstream without --allow-private-upstreams: the run fails
    // at connect, and the mock never sees a request.
    let hub = Hub::start(&[
        "--store",
        "memory",
        "--publish-token",
        "s3cret",
        "--upstream",
        &format!("mock={}", mock.url()),
        "--max-runs-per-client",
        "1",
    ]);
    let auth = ("Authorization", "Bearer s3cret");
    let json = ("Content-Type", "application/json");
    let post = |body: &str, headers: &[(&str, &str)]| {
        hub.request("POST", "/runs", headers, body.as_bytes())
    };
    assert_eq!(post(r#"{"upstream":"mock"}"#, &[json]).status, 401);
    let cases = [
        (
            r#"{"upstream":"nope"}"#,
            400,
            "unknown upstream `nope` (this hub has: mock)",
        ),
        (
            r#"{"url":"http://169.254.169.254/latest/meta-data"}"#,
            403,
            "--run-url-prefix",
        ),
        (
            r#"{"upstream":"mock","headers":{"Authorization":"Bearer x"}}"#,
            400,
            "does not forward authorization",
        ),
        (r#"{"upstream":"mock","extra":true}"#, 400, "unknown field"),
    ];
    for (body, status, message) in cases {
        let response = post(body, &[auth, json]);
        assert_eq!(response.status, status, "{body}: {}", response.text());
        assert!(
            response.text().contains(message),
            "{body}: {}",
            response.text()
        );
    }
    // From another site's page: refused like a publish.
    let response = post(
        r#"{"upstream":"mock"}"#,
        &[auth, json, ("Origin", "https://evil.example")],
    );
    assert_eq!(response.status, 403, "{}", response.text());

    let response = post(r#"{"upstream":"mock"}"#, &[auth, json]);
    assert_eq!(response.status, 201, "{}", response.text());
    let created: Value = serde_json::from_slice(&response.body).unwrap();
    let id = created["id"].as_str().unwrap();
    let url = format!("{}?token=s3cret", hub.url(&format!("/runs/{id}/events")));
    let end = runtime.block_on(follow(&url)).end.unwrap();
    assert_eq!(end["error"]["kind"], "connect", "{end}");
    let message = end["error"]["message"].as_str().unwrap();
    assert!(message.contains("address filter refuses"), "{message}");
    assert_eq!(mock.requests.load(Ordering::SeqCst), 0);

    // Nobody can publish into a run's topic, or read a run that does not exist.
    let response = hub.request("POST", &format!("/topics/runs%2F{id}"), &[auth], b"forged");
    assert_eq!(response.status, 400, "{}", response.text());
    let response = hub.request(
        "GET",
        &format!("/runs/{}/events", "0".repeat(32)),
        &[auth],
        b"",
    );
    assert_eq!(response.status, 404, "{}", response.text());
}

#[test]
fn the_client_authorization_never_goes_upstream_and_runs_are_bounded_per_client() {
    let runtime = runtime();
    let mock = runtime.block_on(Mock::start(Script::Tokens {
        count: 1000,
        every: Duration::from_millis(10),
    }));
    // The credential comes from the hub's environment, never from the client.
    let hub = Hub::start_with_env(
        &[
            "--store",
            "memory",
            "--publish-token",
            "client-token",
            "--upstream",
            &format!("mock={}", mock.url()),
            "--upstream-header",
            "mock=Authorization: Bearer ${BOURN_TEST_UPSTREAM_KEY}",
            "--allow-private-upstreams",
            "--max-runs-per-client",
            "1",
        ],
        &[("BOURN_TEST_UPSTREAM_KEY", "sk-upstream")],
    );
    let headers = [
        ("Authorization", "Bearer client-token"),
        ("Content-Type", "application/json"),
        ("Cookie", "session=1"),
    ];
    let body = br#"{"upstream":"mock","headers":{"anthropic-version":"2023-06-01"},"body":{"prompt":"hi"}}"#;
    let response = hub.request("POST", "/runs", &headers, body);
    assert_eq!(response.status, 201, "{}", response.text());
    // One run per client: the second waits for the first.
    let second = hub.request("POST", "/runs", &headers, body);
    assert_eq!(second.status, 429, "{}", second.text());
    assert!(second.header("retry-after").is_some());
    runtime.block_on(async {
        tokio::time::timeout(WAIT, async {
            while mock.heads.lock().unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap();
    });
    let head = mock.heads.lock().unwrap()[0].to_ascii_lowercase();
    assert!(head.starts_with("post /v1/messages "), "{head}");
    assert!(
        head.contains("authorization: bearer sk-upstream\r\n"),
        "{head}"
    );
    assert!(
        !head.contains("client-token"),
        "the client's token went upstream: {head}"
    );
    assert!(!head.contains("cookie"), "{head}");
    assert!(head.contains("anthropic-version: 2023-06-01\r\n"), "{head}");
    assert!(
        head.contains("content-type: application/json\r\n"),
        "{head}"
    );
    assert_eq!(hub.metric("bourn_runs_refused_total"), 1);
    assert_eq!(hub.metric("bourn_runs_active"), 1);
}

/// Two hubs over one Redis, both with `mock` as their upstream.
fn two_hubs(redis: &RedisServer, mock: &Mock) -> (Hub, Hub) {
    let upstream = format!("mock={}", mock.url());
    let args = [
        "--store",
        &redis.url(),
        "--upstream",
        &upstream,
        "--allow-private-upstreams",
    ];
    (Hub::start(&args), Hub::start(&args))
}

#[test]
fn a_run_on_one_node_is_followed_and_aborted_from_another_over_redis() {
    let Some(redis) =
        RedisServer::start("a_run_on_one_node_is_followed_and_aborted_from_another_over_redis")
    else {
        return;
    };
    let runtime = runtime();
    let mock = runtime.block_on(Mock::start(Script::Tokens {
        count: 400,
        every: Duration::from_millis(5),
    }));
    let (a, b) = two_hubs(&redis, &mock);
    let id = start_run(&a, r#"{"upstream":"mock"}"#);
    let urls = [
        a.url(&format!("/runs/{id}/events")),
        b.url(&format!("/runs/{id}/events")),
    ];
    // Hop between the nodes every 20 events, resuming with Last-Event-ID.
    let followed = runtime.block_on(async {
        let mut followed = Followed::default();
        tokio::time::timeout(WAIT, async {
            for hop in 0.. {
                let mut source = source(&urls[hop % 2], &followed.last_id);
                let mut taken = 0;
                while let Some(item) = source.next().await {
                    let Ok(item) = item else { continue };
                    let is_event = matches!(item, Item::Event(_));
                    if followed.take(item) {
                        return;
                    }
                    taken += usize::from(is_event);
                    if taken == 20 {
                        break;
                    }
                }
            }
        })
        .await
        .expect("the end within the wait");
        followed
    });
    assert_eq!(followed.tokens, expected_tokens(400));
    assert_eq!(followed.end.unwrap()["outcome"], "completed");
    assert_eq!(
        b.request("GET", &format!("/runs/{id}"), &[], b"").status,
        200
    );

    // Aborted from the node that does not drive it.
    let long = runtime.block_on(Mock::start(Script::Tokens {
        count: 100_000,
        every: Duration::from_millis(10),
    }));
    drop((a, b));
    let (a, b) = two_hubs(&redis, &long);
    let id = start_run(&a, r#"{"upstream":"mock"}"#);
    std::thread::sleep(Duration::from_millis(200));
    let response = b.request("DELETE", &format!("/runs/{id}"), &[], b"");
    assert_eq!(response.status, 200, "{}", response.text());
    let answer: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(answer["end"]["outcome"], "aborted", "{answer}");
    assert_eq!(a.metric("bourn_runs_ended_total{outcome=\"aborted\"}"), 1);
    assert_eq!(long.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn upstreams_come_from_the_config_file_too_and_a_bad_one_names_its_line() {
    let dir = super::support::DataDir::new();
    std::fs::create_dir_all(&dir.path).unwrap();
    let path = dir.path.join("bourn.toml");
    std::fs::write(
        &path,
        "store = \"memory\"\nallow-private-upstreams = true\n\n[upstream]\nmock = \"http://127.0.0.1:9/v1\"\nother = \"https://api.example.test/v1/stream\"\n",
    )
    .unwrap();
    let hub = Hub::start(&["--config", path.to_str().unwrap()]);
    let list: Value = serde_json::from_slice(&hub.request("GET", "/runs", &[], b"").body).unwrap();
    assert_eq!(list["upstreams"], serde_json::json!(["mock", "other"]));
    drop(hub);

    std::fs::write(
        &path,
        "store = \"memory\"\n[upstream]\nmock = \"ftp://127.0.0.1/\"\n",
    )
    .unwrap();
    let out = super::support::run(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--config",
            path.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains(":2: `upstream`") && out.stderr.contains("http://"),
        "{}",
        out.stderr
    );

    // A header for an upstream that does not exist: refused at start.
    let out = super::support::run(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--store",
            "memory",
            "--upstream-header",
            "nope=A: b",
        ],
        b"",
    );
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("no --upstream named `nope`"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_hub_that_stops_ends_its_runs_before_their_followers_streams() {
    let (runtime, mock, mut hub) = hub_with_mock(Script::Tokens {
        count: 100_000,
        every: Duration::from_millis(10),
    });
    let id = start_run(&hub, r#"{"upstream":"mock"}"#);
    let url = hub.url(&format!("/runs/{id}/events"));
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let follower = runtime.spawn(async move {
        let mut followed = Followed::default();
        let mut source = source(&url, "");
        let mut first = Some(first_tx);
        tokio::time::timeout(WAIT, async {
            while let Some(item) = source.next().await {
                let Ok(item) = item else { continue };
                if followed.take(item) {
                    return;
                }
                if !followed.tokens.is_empty() {
                    if let Some(first) = first.take() {
                        let _ = first.send(());
                    }
                }
            }
        })
        .await
        .expect("the end event within the wait");
        followed
    });
    // Stopped once the follower reads tokens live.
    first_rx.recv_timeout(WAIT).unwrap();
    assert!(hub.terminate().success());
    let followed = runtime.block_on(follower).unwrap();
    let end = followed.end.expect("the end event before the stream ended");
    assert_eq!(end["outcome"], "aborted", "{end}");
    assert_eq!(end["events"], followed.tokens.len());
    assert_eq!(mock.requests.load(Ordering::SeqCst), 1);
}
