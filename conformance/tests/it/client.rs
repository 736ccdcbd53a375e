//! The client reader's behaviour cases (`vectors/behaviour/client.json`):
//! a scripted server (bourn-testkit) and what bourn-client must do — the
//! requests it makes, the items it yields, whether and after how long it
//! reconnects, and when it fails instead.

use std::collections::BTreeMap;
use std::time::Duration;

use bourn_client::{Error, EventSource, Item, RetryPolicy};
use bourn_conformance::codec::event_frame;
use bourn_conformance::vectors;
use bourn_testkit::{Recorded, Reply, Server};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    #[allow(dead_code)]
    description: String,
    cases: Vec<ClientCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientCase {
    id: String,
    #[allow(dead_code)]
    description: String,
    #[serde(default)]
    client: ClientSetup,
    replies: Vec<ScriptedReply>,
    expect: Expect,
    #[serde(default)]
    expected_failure: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientSetup {
    /// The reconnection time the client starts with (default 5 ms).
    #[serde(default)]
    reconnect_ms: Option<u64>,
    #[serde(default)]
    last_event_id: Option<String>,
    /// The request method (default GET).
    #[serde(default)]
    method: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptedReply {
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    no_content_type: bool,
    /// Tear the connection down after the body instead of ending it.
    #[serde(default)]
    drop: bool,
    /// Send the body in chunks of this size ...
    #[serde(default)]
    chunk_size: Option<usize>,
    /// ... this far apart.
    #[serde(default)]
    chunk_delay_ms: Option<u64>,
    /// A `Location` header (with a 3xx status).
    #[serde(default)]
    location: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    requests: Vec<ExpectRequest>,
    items: Vec<Value>,
    /// `connecting`, `open` or `closed`, once the items are in.
    #[serde(default)]
    ready_state: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectRequest {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// The `Last-Event-ID` header's bytes as UTF-8 text, or `null` for none.
    last_event_id: Option<String>,
    /// Bounds on the time since the previous request arrived.
    #[serde(default)]
    after_ms: Option<(u64, u64)>,
}

fn reply(scripted: &ScriptedReply) -> Reply {
    let status = scripted.status.unwrap_or(200);
    let mut reply = if status == 200 {
        Reply::sse(scripted.body.clone().unwrap_or_default())
    } else {
        Reply::status(status).body(scripted.body.clone().unwrap_or_default())
    };
    if let Some(content_type) = &scripted.content_type {
        reply = reply.content_type(content_type);
    }
    if scripted.no_content_type {
        reply = reply.without_content_type();
    }
    if scripted.drop {
        reply = reply.then_drop();
    }
    if let Some(size) = scripted.chunk_size {
        reply = reply.chunk_size(size);
    }
    if let Some(ms) = scripted.chunk_delay_ms {
        reply = reply.chunk_delay(Duration::from_millis(ms));
    }
    if let Some(location) = &scripted.location {
        reply = reply.header("location", location);
    }
    reply
}

fn render(item: &Result<Item, Error>) -> Value {
    match item {
        Ok(Item::Open { .. }) => json!("open"),
        Ok(Item::Event(event)) => json!({ "event": event_frame(event) }),
        Ok(Item::Comment(text)) => json!({ "comment": text }),
        Ok(other) => json!(format!("item:{other:?}")),
        Err(error) if error.is_fatal() && error.is_content_type() => json!("fail:content_type"),
        Err(error) if error.is_fatal() && error.is_status() => json!("fail:status"),
        Err(error) if !error.is_fatal() && error.is_disconnect() => json!("disconnect"),
        Err(error) => json!(format!("error:{:?}:{error}", error.kind())),
    }
}

fn check_request(
    n: usize,
    got: &Recorded,
    prev: Option<&Recorded>,
    want: &ExpectRequest,
) -> Result<(), String> {
    if let Some(method) = &want.method {
        if got.method.as_str() != method {
            return Err(format!("request {n}: method {}, want {method}", got.method));
        }
    }
    if let Some(path) = &want.path {
        if &got.path != path {
            return Err(format!("request {n}: path {}, want {path}", got.path));
        }
    }
    for (name, value) in &want.headers {
        if got.header(name) != Some(value.as_str()) {
            return Err(format!(
                "request {n}: {name}: {:?}, want {value:?}",
                got.header(name)
            ));
        }
    }
    let last = got
        .headers
        .get("last-event-id")
        .map(|v| v.as_bytes().to_vec());
    let want_last = want.last_event_id.as_ref().map(|s| s.as_bytes().to_vec());
    if last != want_last {
        return Err(format!(
            "request {n}: Last-Event-ID {:?}, want {:?}",
            last.map(|b| String::from_utf8_lossy(&b).into_owned()),
            want.last_event_id
        ));
    }
    if let (Some((min, max)), Some(prev)) = (want.after_ms, prev) {
        let after = got.received_at.duration_since(prev.received_at);
        if after < Duration::from_millis(min) || after > Duration::from_millis(max) {
            return Err(format!(
                "request {n}: {after:?} after the previous one, want {min}..={max} ms"
            ));
        }
    }
    Ok(())
}

async fn run_client_case(case: &ClientCase) -> Result<(), String> {
    let server = Server::replies(case.replies.iter().map(reply))
        .await
        .map_err(|e| e.to_string())?;
    let reconnect = Duration::from_millis(case.client.reconnect_ms.unwrap_or(5));
    let policy = RetryPolicy::new()
        .reconnect_time(reconnect)
        .min_backoff(reconnect)
        .jitter(false);
    let mut builder = EventSource::builder(server.url()).retry_policy(policy);
    if let Some(method) = &case.client.method {
        let method = http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        builder = builder.method(method);
    }
    if let Some(id) = &case.client.last_event_id {
        builder = builder.last_event_id(id.as_str());
    }
    let mut source = builder.build().map_err(|e| e.to_string())?;
    let want_items = case.expect.items.len();
    let mut items = Vec::new();
    let collected = tokio::time::timeout(Duration::from_secs(10), async {
        while items.len() < want_items + 1 {
            match source.next().await {
                Some(item) => items.push(render(&item)),
                None => return,
            }
            if items.len() == want_items {
                // Enough: look a little longer for an item too many.
                match tokio::time::timeout(Duration::from_millis(100), source.next()).await {
                    Ok(Some(item)) => items.push(render(&item)),
                    Ok(None) | Err(_) => return,
                }
            }
        }
    })
    .await;
    if collected.is_err() {
        return Err(format!("timed out; items so far {items:?}"));
    }
    if items != case.expect.items {
        return Err(format!(
            "items\n  got  {items:?}\n  want {:?}",
            case.expect.items
        ));
    }
    if let Some(want) = &case.expect.ready_state {
        let got = format!("{:?}", source.ready_state()).to_lowercase();
        if &got != want {
            return Err(format!("ready state {got}, want {want}"));
        }
    }
    // No request beyond the expected ones (a reconnection after a failure).
    tokio::time::sleep(Duration::from_millis(50) + reconnect).await;
    let requests = server.requests();
    if requests.len() != case.expect.requests.len() {
        return Err(format!(
            "{} requests, want {}: Last-Event-IDs {:?}",
            requests.len(),
            case.expect.requests.len(),
            requests
                .iter()
                .map(|r| r.last_event_id().map(str::to_owned))
                .collect::<Vec<_>>()
        ));
    }
    for (n, (got, want)) in requests.iter().zip(&case.expect.requests).enumerate() {
        let prev = n.checked_sub(1).map(|p| &requests[p]);
        check_request(n, got, prev, want)?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_behaviour_cases() {
    let path = vectors::dir().join("behaviour").join("client.json");
    let file: ClientFile = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(file.cases.len() >= 10, "{} client cases", file.cases.len());
    let mut ids = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for case in &file.cases {
        assert!(
            ids.insert(case.id.as_str()),
            "duplicate case id {}",
            case.id
        );
        match (run_client_case(case).await, &case.expected_failure) {
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Err(error), None) => failures.push(format!("{}: {error}", case.id)),
            (Ok(()), Some(reason)) => failures.push(format!(
                "{}: passes now, drop its expected failure ({reason})",
                case.id
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
