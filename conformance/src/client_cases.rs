//! The client behaviour cases (`vectors/behaviour/client.json`) as types: a
//! scripted server (status, headers, body chunks with delays, drops,
//! redirects) and what a conforming client must do — the requests it makes,
//! the items it yields, the ready state it ends in.
//!
//! Items are written as JSON values: `"open"` (200 `text/event-stream`),
//! `{"event": {...}}` (a [`crate::vectors::EventFrame`]), `{"comment": "..."}`,
//! `"disconnect"` (the body ended or broke; a reconnection follows),
//! `"fail:status"` / `"fail:content_type"` (the connection failed: no
//! reconnection).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::vectors::{self, LoadError};

/// `vectors/behaviour/client.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    /// What the file covers.
    pub description: String,
    /// The cases, in file order.
    pub cases: Vec<ClientCase>,
}

/// One client behaviour case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCase {
    /// Stable identifier.
    pub id: String,
    /// The spec rule the case pins down.
    pub description: String,
    /// How the client is set up.
    #[serde(default)]
    pub client: ClientSetup,
    /// The server's answers, in order (then `204 No Content`).
    pub replies: Vec<ScriptedReply>,
    /// What the client must do.
    pub expect: ClientExpect,
    /// Why bourn-client is known to fail the case, if it is.
    #[serde(default)]
    pub expected_failure: Option<String>,
}

/// The client's setup for a case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSetup {
    /// The reconnection time the client starts with. Default: 5 ms
    /// ([`DEFAULT_RECONNECT_MS`]).
    #[serde(default)]
    pub reconnect_ms: Option<u64>,
    /// The last event ID the client starts with.
    #[serde(default)]
    pub last_event_id: Option<String>,
    /// The request method. Default: GET.
    #[serde(default)]
    pub method: Option<String>,
}

/// The reconnection time a case's client starts with unless it sets one.
pub const DEFAULT_RECONNECT_MS: u64 = 5;

impl ClientSetup {
    /// The reconnection time to start with.
    pub fn reconnect_ms(&self) -> u64 {
        self.reconnect_ms.unwrap_or(DEFAULT_RECONNECT_MS)
    }
}

/// One scripted answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedReply {
    /// The status. Default: 200 with `Content-Type: text/event-stream`.
    #[serde(default)]
    pub status: Option<u16>,
    /// The body.
    #[serde(default)]
    pub body: Option<String>,
    /// A `Content-Type` replacing the default.
    #[serde(default)]
    pub content_type: Option<String>,
    /// No `Content-Type` at all.
    #[serde(default)]
    pub no_content_type: bool,
    /// Tear the connection down after the body instead of ending it.
    #[serde(default)]
    pub drop: bool,
    /// Send the body in chunks of this size ...
    #[serde(default)]
    pub chunk_size: Option<usize>,
    /// ... this far apart.
    #[serde(default)]
    pub chunk_delay_ms: Option<u64>,
    /// A `Location` header (with a 3xx status).
    #[serde(default)]
    pub location: Option<String>,
}

/// What the client must do in a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientExpect {
    /// Every request the server must see, no more.
    pub requests: Vec<ExpectRequest>,
    /// The items, in order (see the module docs).
    pub items: Vec<Value>,
    /// `connecting`, `open` or `closed`, once the items are in.
    #[serde(default)]
    pub ready_state: Option<ReadyState>,
}

/// A client's ready state, as the spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadyState {
    /// Connecting or waiting to reconnect.
    Connecting,
    /// A connection is open.
    Open,
    /// Closed for good.
    Closed,
}

impl ReadyState {
    /// The spec's name: `connecting`, `open` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// One request the server must see.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectRequest {
    /// The method, if checked.
    #[serde(default)]
    pub method: Option<String>,
    /// The path, if checked.
    #[serde(default)]
    pub path: Option<String>,
    /// Headers that must have exactly these values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The `Last-Event-ID` header's bytes as UTF-8 text, or `None` for none.
    pub last_event_id: Option<String>,
    /// Bounds (ms) on the time since the previous request arrived.
    #[serde(default)]
    pub after_ms: Option<(u64, u64)>,
}

/// Where the client cases live.
pub fn path() -> PathBuf {
    vectors::dir().join("behaviour").join("client.json")
}

/// Loads the client cases and checks that their ids are unique.
///
/// # Errors
///
/// A [`LoadError`] when the file cannot be read or parsed, or an id repeats.
pub fn load() -> Result<ClientFile, LoadError> {
    let path = path();
    let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
        path: path.clone(),
        source,
    })?;
    let file: ClientFile = serde_json::from_str(&text).map_err(|source| LoadError::Json {
        path: path.clone(),
        source,
    })?;
    let mut ids = std::collections::BTreeSet::new();
    for case in &file.cases {
        if !ids.insert(case.id.as_str()) {
            return Err(LoadError::DuplicateId {
                path,
                id: case.id.clone(),
            });
        }
    }
    Ok(file)
}

/// The bourn-testkit reply that plays `scripted`.
#[cfg(any(feature = "adapters", feature = "clients"))]
pub fn reply(scripted: &ScriptedReply) -> bourn_testkit::Reply {
    use bourn_testkit::Reply;
    use std::time::Duration;

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

impl ClientExpect {
    /// Checks the requests a scripted server saw against [`Self::requests`]:
    /// as many as expected (no reconnection after a failure), each with the
    /// method, path, headers, `Last-Event-ID` and delay it must have.
    ///
    /// # Errors
    ///
    /// The first difference, as text naming the request.
    #[cfg(any(feature = "adapters", feature = "clients"))]
    pub fn check_requests(&self, requests: &[bourn_testkit::Recorded]) -> Result<(), String> {
        if requests.len() != self.requests.len() {
            return Err(format!(
                "{} requests, want {}: Last-Event-IDs {:?}",
                requests.len(),
                self.requests.len(),
                requests
                    .iter()
                    .map(|r| r.last_event_id().map(str::to_owned))
                    .collect::<Vec<_>>()
            ));
        }
        for (n, (got, want)) in requests.iter().zip(&self.requests).enumerate() {
            let prev = n.checked_sub(1).map(|p| &requests[p]);
            check_request(n, got, prev, want)?;
        }
        Ok(())
    }
}

/// Request `n` (`got`, after `prev`) against what it must be.
#[cfg(any(feature = "adapters", feature = "clients"))]
fn check_request(
    n: usize,
    got: &bourn_testkit::Recorded,
    prev: Option<&bourn_testkit::Recorded>,
    want: &ExpectRequest,
) -> Result<(), String> {
    use std::time::Duration;

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_client_cases_load() {
        let file = load().unwrap();
        assert!(file.cases.len() >= 20, "{} cases", file.cases.len());
        assert!(file.cases.iter().all(|c| !c.expect.items.is_empty()));
    }
}
