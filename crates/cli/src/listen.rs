//! `bourn listen URL`: curl for SSE, on `bourn-client`'s `EventSource`.

use std::io::{self, Read, Write};
use std::time::Duration;

use bourn_client::{Error, ErrorKind, EventSource, Item, RetryPolicy};
use futures_util::StreamExt;
use http::Method;

use crate::cli::ListenArgs;
use crate::exit::{Code, Failure, Outcome};
use crate::output::{Style, is_broken_pipe};

/// Reads the stream until it ends, `--max-events` or `--timeout`.
pub async fn run(args: ListenArgs) -> Outcome {
    let style = Style::choose(args.json, args.human, args.color);
    let source = build(&args)?;
    let deadline = args
        .timeout
        .map(|timeout| tokio::time::Instant::now() + timeout);
    let read = read(source, style, args.max_events, args.include);
    match deadline {
        Some(deadline) => match tokio::time::timeout_at(deadline, read).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::new(
                Code::Timeout,
                format_args!("timed out after {:?}", args.timeout.unwrap_or_default()),
            )),
        },
        None => read.await,
    }
}

fn build(args: &ListenArgs) -> Result<EventSource, Failure> {
    let body = match (&args.data, &args.data_binary) {
        (Some(data), _) => Some(body_arg(data, false)?),
        (None, Some(data)) => Some(body_arg(data, true)?),
        (None, None) => None,
    };
    let method = match &args.method {
        Some(method) => Method::from_bytes(method.as_bytes())
            .map_err(|_| Failure::error(format!("invalid method `{method}`")))?,
        None if body.is_some() => Method::POST,
        None => Method::GET,
    };
    let mut builder = EventSource::builder(&args.url)
        .method(method)
        .one_shot(args.once)
        // curl for SSE: a wrong port fails at once (with a hint), instead
        // of being retried for ever.
        .retry_first_connect(args.retry_connect);
    if let Some(sentinel) = &args.until {
        builder = builder.done_sentinel(sentinel.as_str());
    }
    if let Some(idle) = args.idle_timeout {
        builder = builder.idle_timeout((!idle.is_zero()).then_some(idle));
    }
    if let Some(token) = &args.bearer {
        builder = builder.bearer_auth(token);
    }
    if let Some(proxy) = &args.proxy {
        builder = builder.proxy(proxy.as_str());
    }
    if let Some(path) = &args.cacert {
        let pem = std::fs::read(path)
            .map_err(|error| Failure::error(format!("{}: {error}", path.display())))?;
        builder = builder.add_root_certificate_pem(pem);
    }
    if args.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    for header in &args.headers {
        let (name, value) = header.split_once(':').ok_or_else(|| {
            Failure::error(format!("invalid header `{header}`: expected `Name: value`"))
        })?;
        builder = builder.header(name.trim(), value.trim());
    }
    if let Some(body) = body {
        builder = builder.body(body);
    }
    if let Some(id) = &args.last_event_id {
        builder = builder.last_event_id(id.as_str());
    }
    builder = builder.retry_policy(RetryPolicy::new().max_retries(args.retry));
    builder
        .build()
        .map_err(|error| Failure::error(format!("{}: {error}", args.url)))
}

/// A `-d`/`--data-binary` value: the text itself, or `@FILE` / `@-`.
/// `-d @FILE` drops CR and LF, as curl does; `--data-binary` keeps every byte.
fn body_arg(arg: &str, binary: bool) -> Result<Vec<u8>, Failure> {
    let Some(path) = arg.strip_prefix('@') else {
        return Ok(arg.as_bytes().to_vec());
    };
    let mut bytes = Vec::new();
    let result = if path == "-" {
        io::stdin().lock().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut file| file.read_to_end(&mut bytes))
    };
    result.map_err(|error| Failure::error(format!("{path}: {error}")))?;
    if !binary {
        bytes.retain(|&b| b != b'\r' && b != b'\n');
    }
    Ok(bytes)
}

async fn read(
    mut source: EventSource,
    style: Style,
    max_events: Option<u64>,
    include: bool,
) -> Outcome {
    let mut events = 0u64;
    let mut opened = 0u64;
    if max_events == Some(0) {
        return Ok(Code::Ok);
    }
    while let Some(item) = source.next().await {
        match item {
            Ok(Item::Open {
                status, headers, ..
            }) => {
                opened += 1;
                let verb = if opened == 1 {
                    "connected"
                } else {
                    "reconnected"
                };
                state(format_args!("{verb} ({status})"));
                if include {
                    print_head(status, &headers);
                }
            }
            Ok(Item::Event(event)) => {
                if event.event_type() == bourn_server::RESET_EVENT {
                    state(format_args!(
                        "the server could not resume from the last event id ({}): events may have been missed; now at {}",
                        event.data(),
                        event.last_event_id()
                    ));
                }
                let mut stdout = io::stdout().lock();
                let written = style
                    .write_event(&mut stdout, &event)
                    .and_then(|()| stdout.flush());
                match written {
                    Ok(()) => {}
                    Err(error) if is_broken_pipe(&error) => return Ok(Code::Ok),
                    Err(error) => return Err(Failure::error(error)),
                }
                events += 1;
                if max_events.is_some_and(|max| events >= max) {
                    source.close();
                    return Ok(Code::Ok);
                }
            }
            Ok(_) => {}
            // "A client can be told to stop reconnecting using the HTTP 204
            // No Content response code": for a listener, a normal end.
            Err(error) if error.kind() == ErrorKind::NoContent => {
                state(format_args!(
                    "the server answered 204 No Content: stream ended"
                ));
                return Ok(Code::Ok);
            }
            Err(error) if error.is_fatal() => {
                if let (true, Some(status), Some(headers)) =
                    (include, error.status(), error.headers())
                {
                    print_head(status, headers);
                }
                return Err(fatal(&error, opened == 0));
            }
            Err(error) => {
                if error.is_decode() {
                    state(format_args!("event skipped: {error}"));
                    continue;
                }
                let last = source.last_event_id();
                let resume = if last.is_empty() {
                    String::new()
                } else {
                    format!(" with Last-Event-ID {last}")
                };
                // One line per reconnection, the delay once and rounded
                // (the error's own text carries it too: it is left out).
                let delay = error.reconnect_in().unwrap_or(Duration::ZERO);
                state(format_args!(
                    "{}; reconnecting in {:.1}s{resume}",
                    describe(&error),
                    delay.as_secs_f64()
                ));
            }
        }
    }
    state(format_args!("stream ended"));
    Ok(Code::Ok)
}

/// The exit code and message of an error that ends the stream; `first`:
/// no connection ever opened.
fn fatal(error: &Error, first: bool) -> Failure {
    let code = if error.is_status() || error.is_redirect() {
        Code::Status
    } else if error.is_content_type() {
        Code::ContentType
    } else if error.is_builder() || error.is_hook() {
        Code::Error
    } else {
        Code::Network
    };
    let mut message = describe(error);
    if error.is_certificate() {
        message.push_str(
            "\nhint: trust the server's CA with --cacert FILE (or, for development only, -k)",
        );
    } else if first && error.is_connect() {
        message.push_str(
            "\nhint: is the server running at this address? --retry-connect keeps trying",
        );
    }
    Failure::new(code, message)
}

/// Status line and headers, curl `-i` style, on stderr.
fn print_head(status: http::StatusCode, headers: &http::HeaderMap) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "HTTP {status}");
    for (name, value) in headers {
        let _ = writeln!(
            stderr,
            "{name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    let _ = writeln!(stderr);
}

/// An error with its cause chain. The first line of a refused response's
/// body (the server's reason) is in the error's own text; the delay before
/// a reconnection is not repeated here (the caller says it once).
fn describe(error: &Error) -> String {
    let mut text = error.to_string();
    if error.reconnect_in().is_some() {
        if let Some(at) = text.rfind("; reconnecting in ") {
            text.truncate(at);
        }
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Connection state goes to stderr, so stdout holds events only.
fn state(message: std::fmt::Arguments<'_>) {
    let mut stderr = io::stderr().lock();
    // Nothing to do if stderr is gone.
    let _ = writeln!(stderr, "bourn: {message}");
}
