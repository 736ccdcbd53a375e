//! `bourn-adapter`: bourn-codec (parser mode) and bourn-client (client
//! mode) behind the JSON-lines adapter protocol (`conformance/PROTOCOL.md`),
//! so the protocol and the runner are proven end to end on our own crates.
//!
//! ```text
//! bourn-adapter [--mutate crlf-twice|drop-last-event-id|reconnect-after-fail]
//! ```
//!
//! `--mutate` breaks the implementation on purpose, to show that the suite
//! notices (the conformance tests run each one and expect failures):
//! `crlf-twice` reads CR LF as two line endings, `drop-last-event-id`
//! strips `Last-Event-ID` from every request, `reconnect-after-fail`
//! starts over after a failed connection (a 204, a wrong content type).
// An adapter: its output is protocol lines on stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use base64::Engine as _;
use bourn_client::{Error, EventSource, Item, RetryPolicy};
use bourn_conformance::codec::{BournDecoder, event_frame};
use bourn_conformance::harness::{DecoderUnderTest, Setup};
use bourn_conformance::vectors::{Frame, VectorLimits};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mutation {
    CrlfTwice,
    DropLastEventId,
    ReconnectAfterFail,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Request {
    Parse(Parse),
    Connect(Connect),
}

#[derive(Deserialize)]
struct Parse {
    chunks: Vec<String>,
    #[serde(default)]
    last_event_id: Option<String>,
    #[serde(default)]
    limits: Option<VectorLimits>,
}

#[derive(Deserialize)]
struct Connect {
    url: String,
    #[serde(default)]
    last_event_id: Option<String>,
    reconnect_ms: u64,
    #[serde(default)]
    method: Option<String>,
}

fn main() -> ExitCode {
    let mut mutation = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        mutation = match (arg.as_str(), args.next().as_deref()) {
            ("--mutate", Some("crlf-twice")) => Some(Mutation::CrlfTwice),
            ("--mutate", Some("drop-last-event-id")) => Some(Mutation::DropLastEventId),
            ("--mutate", Some("reconnect-after-fail")) => Some(Mutation::ReconnectAfterFail),
            (arg, value) => {
                eprintln!("bourn-adapter: unknown argument {arg} {value:?}");
                return ExitCode::from(2);
            }
        };
    }
    let name = match mutation {
        None => format!("bourn {}", env!("CARGO_PKG_VERSION")),
        Some(mutation) => format!(
            "bourn {} (mutated: {mutation:?})",
            env!("CARGO_PKG_VERSION")
        ),
    };
    send(&json!({
        "hello": name,
        "parser": {"comments": true, "retry": true, "event_id": true, "last_event_id": true,
                   "limits": true, "initial_last_event_id": true, "incremental": true},
        "client": {"initial_reconnect_ms": true, "last_event_id": true, "method": true,
                   "event_id": true, "fail_reason": true},
    }));
    let mut decoder = BournDecoder::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Request>(&line) {
            Ok(Request::Parse(parse)) => send(&parse_one(&mut decoder, parse, mutation)),
            Ok(Request::Connect(connect)) => return client(connect, mutation),
            Err(error) => {
                eprintln!("bourn-adapter: bad request ({error}): {line}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

fn send(message: &Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{message}");
    let _ = stdout.flush();
}

fn parse_one(decoder: &mut BournDecoder, parse: Parse, mutation: Option<Mutation>) -> Value {
    decoder.start(&Setup {
        limits: parse.limits,
        initial_last_event_id: parse.last_event_id,
    });
    let mut outputs = Vec::with_capacity(parse.chunks.len() + 1);
    let mut after_cr = false;
    for chunk in &parse.chunks {
        let mut bytes = match base64::engine::general_purpose::STANDARD.decode(chunk) {
            Ok(bytes) => bytes,
            Err(error) => return json!({"error": format!("bad base64: {error}")}),
        };
        if mutation == Some(Mutation::CrlfTwice) {
            // The LF of a CR LF becomes a second line ending.
            for byte in &mut bytes {
                if *byte == b'\n' && after_cr {
                    *byte = b'\r';
                }
                after_cr = *byte == b'\r';
            }
        }
        let mut frames = Vec::new();
        decoder.feed(&bytes, &mut frames);
        outputs.push(frames);
    }
    let mut end = Vec::new();
    decoder.finish(&mut end);
    outputs.push(end);
    let outputs: Vec<Vec<Value>> = outputs
        .iter()
        .map(|frames| frames.iter().map(frame_json).collect())
        .collect();
    json!({"outputs": outputs, "last_event_id": decoder.last_event_id()})
}

fn frame_json(frame: &Frame) -> Value {
    serde_json::to_value(frame).unwrap_or_else(|error| json!({"unserialisable": error.to_string()}))
}

fn client(connect: Connect, mutation: Option<Mutation>) -> ExitCode {
    // The runner ends the case by closing stdin.
    std::thread::spawn(|| {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
        }
        std::process::exit(0);
    });
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bourn-adapter: tokio: {error}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        loop {
            let mut source = match build(&connect, mutation) {
                Ok(source) => source,
                Err(error) => {
                    eprintln!("bourn-adapter: {error}");
                    return ExitCode::from(2);
                }
            };
            while let Some(item) = source.next().await {
                let state = format!("{:?}", source.ready_state()).to_lowercase();
                let mut report = report(&item);
                report["ready_state"] = json!(state);
                send(&report);
            }
            if mutation != Some(Mutation::ReconnectAfterFail) {
                return ExitCode::SUCCESS;
            }
            tokio::time::sleep(Duration::from_millis(connect.reconnect_ms)).await;
        }
    })
}

fn build(connect: &Connect, mutation: Option<Mutation>) -> Result<EventSource, String> {
    let reconnect = Duration::from_millis(connect.reconnect_ms);
    let policy = RetryPolicy::new()
        .reconnect_time(reconnect)
        .min_backoff(reconnect)
        .jitter(false);
    let mut builder = EventSource::builder(connect.url.as_str()).retry_policy(policy);
    if let Some(method) = &connect.method {
        let method = http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        builder = builder.method(method);
    }
    if let Some(id) = &connect.last_event_id {
        builder = builder.last_event_id(id.as_str());
    }
    if mutation == Some(Mutation::DropLastEventId) {
        builder = builder.on_request(|mut request: http::Request<()>, _| async move {
            request.headers_mut().remove("last-event-id");
            Ok(request)
        });
    }
    builder.build().map_err(|e| e.to_string())
}

fn report(item: &Result<Item, Error>) -> Value {
    match item {
        Ok(Item::Open { .. }) => json!({"report": "open"}),
        Ok(Item::Event(event)) => {
            let mut report = json!(event_frame(event));
            report["report"] = json!("event");
            report
        }
        Ok(Item::Comment(text)) => json!({"report": "comment", "comment": text}),
        Ok(other) => json!({"report": format!("item {other:?}")}),
        Err(error) => {
            let reason = if error.is_status() {
                "status".to_owned()
            } else if error.is_content_type() {
                "content_type".to_owned()
            } else {
                format!("{:?}", error.kind()).to_lowercase()
            };
            json!({"report": "error", "reason": reason, "message": error.to_string()})
        }
    }
}
