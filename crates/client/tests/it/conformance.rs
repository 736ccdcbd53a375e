//! Every decoder vector of `bourn-conformance`, played by the scripted server
//! over real HTTP and read by the client: the same events, limit errors, last
//! event ID and reconnection time as the vectors expect.

use std::sync::Arc;
use std::time::Duration;

use bourn_client::{EventSource, Item, RetryPolicy};
use bourn_conformance::codec::{error_frame, event_frame, limits};
use bourn_conformance::harness::{Capabilities, project};
use bourn_conformance::vectors::{self, DecoderCase, Frame};
use bourn_testkit::{Reply, Server};
use futures_util::StreamExt;

/// What the client reports: events (with ids and last event ids) and limit
/// errors; `retry` is checked through `reconnect_time`, comments are not
/// surfaced.
const CLIENT: Capabilities = Capabilities {
    comments: false,
    retry: false,
    ..Capabilities::ALL
};

/// The chunkings played over HTTP: whole, 1 byte (small inputs) and 3 bytes.
const CHUNKINGS: [usize; 3] = [usize::MAX, 1, 3];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decoder_vector_through_the_client_over_http() {
    let files = vectors::load_all().expect("vectors load");
    let cases: Vec<DecoderCase> = files
        .into_iter()
        .flat_map(|f| f.cases)
        .filter(|c| c.skip.is_none())
        .collect();
    assert!(cases.len() >= 200, "{} cases", cases.len());
    let cases = Arc::new(cases);
    let served = Arc::clone(&cases);
    // `/<case>/<chunk size>` plays that case's input in those chunks.
    let server = Server::start(move |r| {
        let mut parts = r.path.trim_start_matches('/').split('/');
        let case: usize = parts
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(usize::MAX);
        let chunk: usize = parts
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(usize::MAX);
        match served.get(case) {
            Some(c) => Reply::sse(c.input.clone()).chunk_size(chunk),
            None => Reply::status(404),
        }
    })
    .await
    .unwrap();

    let mut runs = 0;
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        for chunk in CHUNKINGS {
            if chunk == 1 && case.input.len() > 2048 {
                continue;
            }
            runs += 1;
            if let Err(why) = run(&server, index, case, chunk).await {
                failures.push(format!("{} (chunks of {chunk}): {why}", case.id));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn run(
    server: &Server,
    index: usize,
    case: &DecoderCase,
    chunk: usize,
) -> Result<(), String> {
    let default_time = Duration::from_millis(1234);
    let mut builder = EventSource::builder(server.url_for(&format!("/{index}/{chunk}")))
        .retry_policy(RetryPolicy::new().reconnect_time(default_time))
        .limits(limits(case.limits))
        .one_shot(true);
    if let Some(id) = &case.initial_last_event_id {
        builder = builder.last_event_id(id.as_str());
    }
    let mut source = builder.build().map_err(|e| e.to_string())?;
    let mut actual = Vec::new();
    let deadline = Duration::from_secs(10);
    while let Some(item) = tokio::time::timeout(deadline, source.next())
        .await
        .map_err(|_| "timed out".to_owned())?
    {
        match item {
            Ok(Item::Event(event)) => actual.push(Frame::Event(event_frame(&event))),
            Ok(_) => {}
            Err(e) => match e.decode_error() {
                Some(error) => actual.push(error_frame(error)),
                None => return Err(format!("unexpected error: {e}")),
            },
        }
    }
    let expected = project(&case.expect, CLIENT);
    if actual != expected {
        return Err(format!(
            "frames\n  expected {expected:?}\n  actual   {actual:?}"
        ));
    }
    if source.last_event_id() != case.final_last_event_id {
        return Err(format!(
            "last event id: expected {:?}, actual {:?}",
            case.final_last_event_id,
            source.last_event_id()
        ));
    }
    let retry = case
        .expect
        .iter()
        .rev()
        .find_map(|f| match f {
            Frame::Retry(ms) => Some(Duration::from_millis(*ms)),
            _ => None,
        })
        .unwrap_or(default_time);
    if source.reconnect_time() != retry {
        return Err(format!(
            "reconnection time: expected {retry:?}, actual {:?}",
            source.reconnect_time()
        ));
    }
    Ok(())
}
