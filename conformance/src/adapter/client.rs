//! Client mode: each client behaviour case runs a bourn-testkit scripted
//! server on `127.0.0.1:0`, starts a fresh adapter, tells it to connect, and
//! judges the reports it writes and the requests the server saw.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use bourn_testkit::Server;
use serde_json::{Value, json};

use super::process::{Adapter, ProcessError};
use super::protocol::{self, ClientCaps, Hello, ReportKind};
use super::{CaseResult, Mode, ModeReport, RunError, Status, hello};
use crate::client_cases::{self, ClientCase, ClientFile};

/// How long the runner waits for one more item after the expected ones.
const EXTRA_ITEM_GRACE: Duration = Duration::from_millis(100);

/// The longest wait for stray reconnections after the last item. Default: 5 s.
const MAX_STRAY_WAIT: Duration = Duration::from_secs(5);

/// Runs every client case against the client adapter `command`, `jobs`
/// cases at a time (each with its own server and adapter process). A case
/// gets `timeout` plus the adapter's reconnection time for each
/// reconnection it expects.
///
/// # Errors
///
/// [`RunError`] when the adapter cannot be started, does not declare client
/// mode, or the runtime for the scripted servers cannot start.
pub fn run(
    command: &[String],
    file: &ClientFile,
    jobs: usize,
    timeout: Duration,
) -> Result<ModeReport, RunError> {
    let (adapter, first) = hello(command)?;
    adapter.shutdown(Duration::from_millis(500));
    let Some(caps) = first.client else {
        return Err(RunError::Mode {
            implementation: first.hello,
            mode: Mode::Client,
        });
    };
    if !caps.initial_reconnect_ms && caps.default_reconnect_ms.is_none() {
        return Err(RunError::Hello(
            "client mode without `initial_reconnect_ms` needs `default_reconnect_ms`".to_owned(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|error| RunError::Hello(format!("cannot start a tokio runtime: {error}")))?;
    let next = AtomicUsize::new(0);
    let results = Mutex::new(vec![None; file.cases.len()]);
    thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, file.cases.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = file.cases.get(n) else {
                        return;
                    };
                    let status = run_case(command, case, caps, runtime.handle(), timeout);
                    let result = CaseResult {
                        group: "client".to_owned(),
                        id: case.id.clone(),
                        status,
                        runs: 1,
                    };
                    results.lock().unwrap_or_else(PoisonError::into_inner)[n] = Some(result);
                }
            });
        }
    });
    let mut report = ModeReport::new(&first, Mode::Client, serde_json::to_value(caps).ok());
    for result in results
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .flatten()
    {
        report.push(result);
    }
    Ok(report)
}

fn run_case(
    command: &[String],
    case: &ClientCase,
    caps: ClientCaps,
    runtime: &tokio::runtime::Handle,
    timeout: Duration,
) -> Status {
    let method = case.client.method.as_deref().unwrap_or("GET");
    if method != "GET" && !caps.method {
        return Status::Unsupported("method".to_owned());
    }
    if case.client.last_event_id.is_some() && !caps.last_event_id {
        return Status::Unsupported("initial last event id".to_owned());
    }
    let server = match runtime.block_on(Server::replies(
        case.replies.iter().map(client_cases::reply),
    )) {
        Ok(server) => server,
        Err(error) => return Status::Fail(format!("cannot start the scripted server: {error}")),
    };
    let (mut adapter, _): (Adapter, Hello) = match hello(command) {
        Ok(started) => started,
        Err(error) => return Status::Fail(error.to_string()),
    };
    let reconnect = Duration::from_millis(caps.effective_reconnect_ms(case.client.reconnect_ms()));
    let result = drive(&mut adapter, &server, case, caps, reconnect, timeout);
    adapter.shutdown(Duration::from_millis(300));
    drop(server);
    match result {
        Ok(()) => Status::Pass,
        Err(reason) => Status::Fail(reason),
    }
}

fn drive(
    adapter: &mut Adapter,
    server: &Server,
    case: &ClientCase,
    caps: ClientCaps,
    reconnect: Duration,
    timeout: Duration,
) -> Result<(), String> {
    // An EventSource hears only the types it listens to: name them.
    let mut event_types = vec!["message".to_owned()];
    for item in &case.expect.items {
        if let Some(kind) = item["event"]["type"].as_str() {
            if !event_types.iter().any(|known| known == kind) {
                event_types.push(kind.to_owned());
            }
        }
    }
    let connect = json!({"connect": {
        "url": server.url(),
        "event_types": event_types,
        "last_event_id": case.client.last_event_id,
        "reconnect_ms": case.client.reconnect_ms(),
        "method": case.client.method.as_deref().unwrap_or("GET"),
    }});
    adapter.send(&connect).map_err(|e| e.to_string())?;

    let want = project(&case.expect.items, caps);
    let reconnections = want.iter().filter(|item| *item == "disconnect").count();
    let slack = reconnect.saturating_mul(u32::try_from(reconnections + 1).unwrap_or(u32::MAX));
    let deadline = Instant::now() + timeout + slack;
    let mut items = Vec::new();
    let mut ready_state = None;
    let mut grace = None;
    while items.len() <= want.len() {
        let until = grace.unwrap_or(deadline);
        let line = match adapter.try_recv(until, "a report") {
            Ok(Some(line)) => line,
            Ok(None) if grace.is_some() => break,
            Ok(None) => {
                return Err(format!(
                    "timed out after {:?}; items so far {items:?}",
                    timeout + slack
                ));
            }
            Err(ProcessError::Exited { .. }) if items.len() == want.len() => break,
            Err(error) => return Err(format!("{error}; items so far {items:?}")),
        };
        let report = protocol::report(&line);
        if report.ready_state.is_some() {
            ready_state.clone_from(&report.ready_state);
        }
        if let Some(item) = render(&report.kind, report.ready_state.as_deref(), caps) {
            items.push(item);
        }
        // Enough items, or closed for good: look a little longer for one too many.
        let closed = report.ready_state.as_deref() == Some("closed");
        if (items.len() == want.len() || closed) && grace.is_none() {
            grace = Some(Instant::now() + EXTRA_ITEM_GRACE);
        }
    }
    if items != want {
        return Err(format!("items\n  got  {items:?}\n  want {want:?}"));
    }
    if let Some(want) = case.expect.ready_state {
        if ready_state.as_deref() != Some(want.as_str()) {
            return Err(format!(
                "ready state {ready_state:?}, want {}",
                want.as_str()
            ));
        }
    }
    // No request beyond the expected ones (a reconnection after a failure).
    thread::sleep((Duration::from_millis(50) + reconnect).min(MAX_STRAY_WAIT));
    case.expect.check_requests(&server.requests())
}

/// The expected items as a client with `caps` can report them: without
/// comments, event ids or failure reasons it does not report.
fn project(items: &[Value], caps: ClientCaps) -> Vec<Value> {
    items
        .iter()
        .filter(|item| caps.comments || item.get("comment").is_none())
        .map(|item| match item {
            Value::String(text) if text.starts_with("fail:") && !caps.fail_reason => json!("fail"),
            Value::Object(object) if !caps.event_id && object.contains_key("event") => {
                let mut item = item.clone();
                item["event"]["id"] = Value::Null;
                item
            }
            other => other.clone(),
        })
        .collect()
}

fn render(kind: &ReportKind, ready_state: Option<&str>, caps: ClientCaps) -> Option<Value> {
    Some(match kind {
        ReportKind::Open => json!("open"),
        ReportKind::Event(event) => {
            let mut event = event.clone();
            if !caps.event_id {
                event.id = None;
            }
            json!({ "event": event })
        }
        ReportKind::Comment(text) => json!({ "comment": text }),
        ReportKind::Error { reason } => match ready_state {
            Some("connecting") => json!("disconnect"),
            Some("closed") if caps.fail_reason => {
                json!(format!("fail:{}", reason.as_deref().unwrap_or("unknown")))
            }
            Some("closed") => json!("fail"),
            other => json!(format!("error with ready state {other:?}")),
        },
        ReportKind::ReadyState => return None,
        ReportKind::Unknown(line) => json!(format!("unknown report {line}")),
    })
}
