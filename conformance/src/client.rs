//! Running the client cases against any `EventSource` implementation.
//!
//! A client joins the suite by implementing [`ClientUnderTest`]: open a
//! source for a [`ClientSetup`] and hand back a [`ClientSession`] that yields
//! [`ClientItem`]s. Two suites run through it over loopback HTTP (a
//! bourn-testkit scripted server):
//!
//! - [`run_behaviour`]: the behaviour cases of
//!   `vectors/behaviour/client.json` (the requests the client makes, the
//!   items it yields, whether and when it reconnects, when it fails);
//! - [`run_vectors`]: every decoder vector, played as a response body at
//!   several chunk sizes, read until the first end of stream.
//!
//! A case needing a setup the client cannot express
//! ([`ClientCapabilities`]) is *not applicable*, counted apart from passes
//! and failures. [`BournClient`](crate::bourn_client::BournClient) is bourn-client's adapter; the benches hold
//! adapters for peer crates.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use std::panic::AssertUnwindSafe;

use bourn_testkit::{Reply, Server};
use futures_util::FutureExt as _;
use serde::Serialize;
use serde_json::{Value, json};

pub use crate::client_cases::ReadyState;
use crate::client_cases::{self, ClientCase, ClientFile};
use crate::harness::{Capabilities, panic_message, project};
use crate::vectors::{self, DecoderCase, EventFrame, Frame, VectorFile};

/// What a client under test can be set up to do and can report. A case
/// that needs a setup the client cannot express is not applicable; what it
/// cannot report is left out of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClientCapabilities {
    /// Sends a configured request method (`POST`).
    pub method: bool,
    /// Starts from a configured last event ID.
    pub initial_last_event_id: bool,
    /// Reports its ready state.
    pub ready_state: bool,
    /// Honours decoder limits ([`ClientSetup::limits`]) and reports limit
    /// errors as [`ClientItem::Frame`] errors.
    pub limits: bool,
    /// Reports each event's own `id` field.
    pub event_id: bool,
    /// Reports the last event ID in force when each event was dispatched.
    pub event_last_event_id: bool,
    /// Reports its last event ID once a stream ended.
    pub last_event_id: bool,
}

/// How to open a source for one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSetup {
    /// The URL to connect to (loopback).
    pub url: String,
    /// The request method; `None`: the client's default (GET).
    pub method: Option<String>,
    /// The last event ID to start from.
    pub last_event_id: Option<String>,
    /// The reconnection time to start with.
    pub reconnect_time: Duration,
    /// Decoder limits, for a client with [`ClientCapabilities::limits`].
    pub limits: Option<vectors::VectorLimits>,
}

/// One thing a client under test reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientItem {
    /// A connection opened (the spec's "announce the connection").
    Open,
    /// A frame: a dispatched event, or a limit error.
    Frame(Frame),
    /// A comment line (ignored by the behaviour cases).
    Comment(String),
    /// The stream ended or broke; the client will reconnect.
    Disconnect,
    /// The connection failed on the response's status (no reconnection).
    FailStatus,
    /// The connection failed on the response's content type.
    FailContentType,
    /// Anything else, described.
    Error(String),
    /// The client panicked (with the message); the run stops there.
    Panic(String),
}

impl ClientItem {
    /// The item as the behaviour cases write it: `"open"`,
    /// `{"event": ...}`, `"disconnect"`, `"fail:status"`,
    /// `"fail:content_type"`, or `"error:<text>"`.
    pub fn to_json(&self) -> Value {
        match self {
            ClientItem::Open => json!("open"),
            ClientItem::Frame(frame) => {
                serde_json::to_value(frame).unwrap_or_else(|e| json!(format!("error:{e}")))
            }
            ClientItem::Comment(text) => json!({ "comment": text }),
            ClientItem::Disconnect => json!("disconnect"),
            ClientItem::FailStatus => json!("fail:status"),
            ClientItem::FailContentType => json!("fail:content_type"),
            ClientItem::Error(text) => json!(format!("error:{text}")),
            ClientItem::Panic(text) => json!(format!("panic:{text}")),
        }
    }
}

/// The boxed future [`ClientSession::next`] returns.
pub type NextItem<'a> = Pin<Box<dyn Future<Output = Option<ClientItem>> + Send + 'a>>;

/// An open source of a client under test.
pub trait ClientSession: Send {
    /// The next item; `None` once the source has ended for good.
    fn next(&mut self) -> NextItem<'_>;
    /// The ready state, if the client reports one.
    fn ready_state(&self) -> Option<ReadyState>;
    /// The last event ID string, if the client reports it.
    fn last_event_id(&self) -> Option<String>;
    /// Stops the source (no more requests).
    fn close(&mut self);
}

/// An `EventSource` implementation the client cases can run against.
pub trait ClientUnderTest: Send + Sync {
    /// The client's name in reports.
    fn name(&self) -> &str;
    /// What it can be set up to do and report.
    fn capabilities(&self) -> ClientCapabilities;
    /// Opens a source.
    ///
    /// # Errors
    ///
    /// Why the source could not be built, as text.
    fn connect(&self, setup: &ClientSetup) -> Result<Box<dyn ClientSession>, String>;
}

/// The outcome of one case for one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum CaseOutcome {
    /// The client did what the case expects.
    Pass,
    /// It did not: what differed.
    Fail(String),
    /// The case needs a setup the client cannot express: which.
    NotApplicable(String),
}

/// One case's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The case id (decoder vectors: `<group>/<id>`).
    pub id: String,
    /// Its outcome.
    pub outcome: CaseOutcome,
}

/// A client's results over one suite.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClientReport {
    /// The client.
    pub client: String,
    /// Cases passed.
    pub passed: usize,
    /// Cases failed.
    pub failed: usize,
    /// Cases not applicable (never counted as passes).
    pub not_applicable: usize,
    /// Every case's result.
    pub cases: Vec<CaseResult>,
}

impl ClientReport {
    fn push(&mut self, id: String, outcome: CaseOutcome) {
        match &outcome {
            CaseOutcome::Pass => self.passed += 1,
            CaseOutcome::Fail(_) => self.failed += 1,
            CaseOutcome::NotApplicable(_) => self.not_applicable += 1,
        }
        self.cases.push(CaseResult { id, outcome });
    }

    /// The failed cases' ids.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases
            .iter()
            .filter(|c| matches!(c.outcome, CaseOutcome::Fail(_)))
    }
}

/// The session's next item, a panic caught and reported as
/// [`ClientItem::Panic`].
async fn next_item(session: &mut dyn ClientSession) -> Option<ClientItem> {
    match AssertUnwindSafe(session.next()).catch_unwind().await {
        Ok(item) => item,
        Err(payload) => Some(ClientItem::Panic(panic_message(payload.as_ref()))),
    }
}

/// Every item (comments aside) until one more than `want`, or the end, or a
/// pause of 100 ms after `want` items; bounded by 10 s.
async fn collect(session: &mut dyn ClientSession, want: usize) -> Result<Vec<Value>, String> {
    let mut items = Vec::new();
    let collected = tokio::time::timeout(Duration::from_secs(10), async {
        while items.len() < want + 1 {
            let next = if items.len() == want {
                // Enough: look a little longer for an item too many.
                match tokio::time::timeout(Duration::from_millis(100), next_item(session)).await {
                    Ok(next) => next,
                    Err(_) => return,
                }
            } else {
                next_item(session).await
            };
            match next {
                Some(ClientItem::Comment(_)) => {}
                Some(item @ ClientItem::Panic(_)) => {
                    items.push(item.to_json());
                    return;
                }
                Some(item) => items.push(item.to_json()),
                None => return,
            }
        }
    })
    .await;
    match collected {
        Ok(()) => Ok(items),
        Err(_) => Err(format!("timed out; items so far {items:?}")),
    }
}

/// Runs one behaviour case against `client`.
pub async fn run_behaviour_case(client: &dyn ClientUnderTest, case: &ClientCase) -> CaseOutcome {
    let caps = client.capabilities();
    if case.client.method.is_some() && !caps.method {
        return CaseOutcome::NotApplicable("a request method".to_owned());
    }
    if case.client.last_event_id.is_some() && !caps.initial_last_event_id {
        return CaseOutcome::NotApplicable("an initial last event ID".to_owned());
    }
    match behaviour_case(client, case).await {
        Ok(()) => CaseOutcome::Pass,
        Err(why) => CaseOutcome::Fail(why),
    }
}

async fn behaviour_case(client: &dyn ClientUnderTest, case: &ClientCase) -> Result<(), String> {
    let caps = client.capabilities();
    let server = Server::replies(case.replies.iter().map(client_cases::reply))
        .await
        .map_err(|e| e.to_string())?;
    let reconnect = Duration::from_millis(case.client.reconnect_ms());
    let setup = ClientSetup {
        url: server.url(),
        method: case.client.method.clone(),
        last_event_id: case.client.last_event_id.clone(),
        reconnect_time: reconnect,
        limits: None,
    };
    let mut session = client.connect(&setup)?;
    let items = collect(session.as_mut(), case.expect.items.len()).await;
    let ready_state = session.ready_state();
    let items = items?;
    let expected: Vec<Value> = case
        .expect
        .items
        .iter()
        .map(|item| project_item(item, caps))
        .collect();
    let items: Vec<Value> = items.iter().map(|item| project_item(item, caps)).collect();
    if items != expected {
        session.close();
        return Err(format!("items\n  got  {items:?}\n  want {expected:?}"));
    }
    if let (Some(want), Some(got)) = (case.expect.ready_state, ready_state) {
        if got != want {
            session.close();
            return Err(format!("ready state {got:?}, want {want:?}"));
        }
    }
    // No request beyond the expected ones (a reconnection after a failure).
    tokio::time::sleep(Duration::from_millis(50) + reconnect).await;
    session.close();
    case.expect.check_requests(&server.requests())
}

/// An item with what the client cannot report cleared: an event's `id`
/// and `last_event_id` (both `null`).
fn project_item(item: &Value, caps: ClientCapabilities) -> Value {
    let mut item = item.clone();
    if let Some(event) = item.get_mut("event").and_then(Value::as_object_mut) {
        if !caps.event_id {
            event.insert("id".to_owned(), Value::Null);
        }
        if !caps.event_last_event_id {
            event.insert("last_event_id".to_owned(), Value::Null);
        }
    }
    item
}

/// Runs every behaviour case against `client`. Cases bourn-client is known
/// to fail (`expected_failure`) run like the others.
pub async fn run_behaviour(client: &dyn ClientUnderTest, file: &ClientFile) -> ClientReport {
    let mut report = ClientReport {
        client: client.name().to_owned(),
        ..ClientReport::default()
    };
    for case in &file.cases {
        let outcome = run_behaviour_case(client, case).await;
        report.push(case.id.clone(), outcome);
    }
    report
}

/// The body chunk sizes [`run_vectors`] plays each vector at: whole, 1 byte
/// (inputs up to 2 KiB) and 3 bytes.
pub const VECTOR_CHUNKS: [usize; 3] = [usize::MAX, 1, 3];

/// Runs every decoder vector through `client` over HTTP: the scripted
/// server plays the case's input as the body at each of [`VECTOR_CHUNKS`];
/// the client's events (and limit errors) until its first end of stream
/// must be the case's, and its last event ID the case's final one. A case
/// passes when every chunking passes.
pub async fn run_vectors(client: &dyn ClientUnderTest, files: &[VectorFile]) -> ClientReport {
    let mut report = ClientReport {
        client: client.name().to_owned(),
        ..ClientReport::default()
    };
    let cases: Vec<(String, DecoderCase)> = files
        .iter()
        .flat_map(|file| {
            file.cases
                .iter()
                .filter(|case| case.skip.is_none())
                .map(|case| (format!("{}/{}", file.group, case.id), case.clone()))
        })
        .collect();
    let cases = Arc::new(cases);
    let served = Arc::clone(&cases);
    // `/<case>/<chunk size>` plays that case's input in those chunks.
    let server = Server::start(move |r| {
        let mut parts = r.path.trim_start_matches('/').split('/');
        let mut number = || {
            parts
                .next()
                .and_then(|p| p.parse::<usize>().ok())
                .unwrap_or(usize::MAX)
        };
        let (case, chunk) = (number(), number());
        match served.get(case) {
            Some((_, c)) => Reply::sse(c.input.clone()).chunk_size(chunk),
            None => Reply::status(404),
        }
    })
    .await;
    let server = match server {
        Ok(server) => server,
        Err(error) => {
            report.push("server".to_owned(), CaseOutcome::Fail(error.to_string()));
            return report;
        }
    };
    let caps = client.capabilities();
    for (index, (id, case)) in cases.iter().enumerate() {
        if case.limits.is_some() && !caps.limits {
            report.push(id.clone(), CaseOutcome::NotApplicable("limits".to_owned()));
            continue;
        }
        if case.initial_last_event_id.is_some() && !caps.initial_last_event_id {
            report.push(
                id.clone(),
                CaseOutcome::NotApplicable("an initial last event ID".to_owned()),
            );
            continue;
        }
        let mut outcome = CaseOutcome::Pass;
        for chunk in VECTOR_CHUNKS {
            if chunk == 1 && case.input.len() > 2048 {
                continue;
            }
            let url = server.url_for(&format!("/{index}/{chunk}"));
            if let Err(why) = vector_run(client, &url, case).await {
                let chunking = if chunk == usize::MAX {
                    "whole".to_owned()
                } else {
                    format!("chunks of {chunk}")
                };
                outcome = CaseOutcome::Fail(format!("{chunking}: {why}"));
                break;
            }
        }
        report.push(id.clone(), outcome);
    }
    report
}

async fn vector_run(
    client: &dyn ClientUnderTest,
    url: &str,
    case: &DecoderCase,
) -> Result<(), String> {
    let caps = client.capabilities();
    let setup = ClientSetup {
        url: url.to_owned(),
        method: None,
        last_event_id: case.initial_last_event_id.clone(),
        reconnect_time: Duration::from_secs(10),
        limits: case.limits,
    };
    let mut session = client.connect(&setup)?;
    let mut actual = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match next_item(session.as_mut()).await {
                Some(ClientItem::Frame(frame)) => actual.push(frame),
                Some(ClientItem::Open | ClientItem::Comment(_)) => {}
                Some(ClientItem::Disconnect) | None => return Ok(()),
                Some(other) => return Err(format!("unexpected {:?}", other.to_json())),
            }
        }
    })
    .await;
    let last_event_id = session.last_event_id();
    session.close();
    match read {
        Err(_) => return Err(format!("timed out; frames so far {actual:?}")),
        Ok(Err(why)) => return Err(why),
        Ok(Ok(())) => {}
    }
    let projection = Capabilities {
        comments: false,
        retry: false,
        event_id: caps.event_id,
        last_event_id: caps.event_last_event_id,
        limits: caps.limits,
        initial_last_event_id: caps.initial_last_event_id,
        incremental: true,
    };
    let expected = project(&case.expect, projection);
    let actual = project(&actual, projection);
    if actual != expected {
        return Err(format!(
            "frames\n  expected {expected:?}\n  actual   {actual:?}"
        ));
    }
    if caps.last_event_id && last_event_id.as_deref() != Some(case.final_last_event_id.as_str()) {
        return Err(format!(
            "last event id: expected {:?}, actual {last_event_id:?}",
            case.final_last_event_id
        ));
    }
    Ok(())
}

/// An event as a vector frame, from its parts.
pub fn event(event_type: &str, data: &str, id: Option<&str>, last_event_id: &str) -> ClientItem {
    ClientItem::Frame(Frame::Event(EventFrame {
        event_type: event_type.to_owned(),
        data: data.to_owned(),
        id: id.map(str::to_owned),
        last_event_id: last_event_id.to_owned(),
    }))
}
