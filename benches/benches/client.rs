//! bourn-client beside its peers over loopback, in one run.
//!
//! A bourn-testkit server on its own runtime thread serves W1 (~100-byte JSON
//! events) and W5 (~25-byte token events), either one event per HTTP chunk
//! or in 16 KiB chunks. Each row reads the whole stream over one connection
//! on a current-thread runtime on the bench thread:
//!
//! - `bourn-client`: `EventSource` in one-shot mode;
//! - `eventsource-client` 0.18 (LaunchDarkly) with its hyper transport, no reconnect;
//! - `reqwest-eventsource` 0.6, closed at the end of the stream;
//! - `raw-hyper`: the hyper-util client every hyper-based client sits on,
//!   only counting `\n\n` (the floor).
//!
//! Criterion reports events/s (`Throughput::Elements`). Before that, each row
//! is checked to deliver every event, and a separate pass measures, on the
//! client thread only, CPU time per event (`/proc/thread-self/schedstat`)
//! and heap allocations per event (allocation-counter's thread-local count);
//! it prints them and writes `client-cost.json` beside criterion's results.
//! Under `cargo test --benches` the streams are short and each row runs once.
//!
//! First, not a measurement: bourn-conformance's client suite against each
//! client (`support/peer_clients.rs`), written to `client-conformance.json`.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]
// A benchmark panics on a broken invariant and reports rows on stderr.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stderr)]

use std::hint::black_box;
use std::time::Duration;

#[path = "support/peer_clients.rs"]
mod peer_clients;
#[path = "support/readers.rs"]
mod readers;

use bourn_benches::report::CLIENT_CONFORMANCE_FILE;
use bourn_benches::workload;
use bourn_benches::{BlankLines, criterion_dir, first_events};
use bourn_testkit::{Reply, Server};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty};

/// Events per stream when measuring, and under `cargo test --benches`.
const EVENTS: usize = 10_000;
const SMOKE_EVENTS: usize = 300;
/// The large chunk size.
const CHUNK: usize = 16 * 1024;

fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    Bourn,
    LaunchDarkly,
    Reqwest,
    RawHyper,
}

impl Row {
    const ALL: [Row; 4] = [Row::Bourn, Row::LaunchDarkly, Row::Reqwest, Row::RawHyper];

    fn name(self) -> &'static str {
        match self {
            Row::Bourn => "bourn-client",
            Row::LaunchDarkly => "eventsource-client",
            Row::Reqwest => "reqwest-eventsource",
            Row::RawHyper => "raw-hyper",
        }
    }

    /// Reads the stream at `url` to its end; returns the events seen.
    async fn run(self, url: &str) -> usize {
        match self {
            Row::Bourn => readers::bourn(url).await,
            Row::LaunchDarkly => readers::launchdarkly(url).await,
            Row::Reqwest => reqwest(url).await,
            Row::RawHyper => raw_hyper(url).await,
        }
    }
}

async fn reqwest(url: &str) -> usize {
    use reqwest_eventsource::{Event, EventSource};
    let mut source = EventSource::get(url);
    let mut events = 0;
    while let Some(item) = source.next().await {
        match item {
            Ok(Event::Message(message)) => {
                black_box(&message.data);
                events += 1;
            }
            Ok(Event::Open) => {}
            // The end of the stream is reported as an error; stop there.
            Err(_) => {
                source.close();
                break;
            }
        }
    }
    events
}

async fn raw_hyper(url: &str) -> usize {
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.set_nodelay(true);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<Bytes>>(http);
    let request = http::Request::get(url)
        .header("accept", "text/event-stream")
        .body(Empty::new())
        .expect("request");
    let mut body = client.request(request).await.expect("response").into_body();
    let (mut events, mut blank_lines) = (0, BlankLines::default());
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.expect("body").into_data() else {
            continue;
        };
        events += blank_lines.count(&data);
    }
    events
}

struct Served {
    /// `(workload id, feed name, path, events)`.
    streams: Vec<(&'static str, &'static str, String, usize)>,
    base: String,
    _server: Server,
    _runtime: tokio::runtime::Runtime,
}

fn serve(events: usize) -> Served {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let size = events * 120;
    let mut table = Vec::new();
    let mut streams = Vec::new();
    for w in [workload::w1(size), workload::w5(size)] {
        let (bytes, sizes) = first_events(&w.bytes, events);
        assert_eq!(sizes.len(), events, "{} holds {events} events", w.id);
        let per_event = Reply::sse(bytes.clone()).chunks(sizes);
        let large = Reply::sse(bytes).chunk_size(CHUNK);
        for (feed, reply) in [("event-per-chunk", per_event), ("16KiB", large)] {
            let path = format!("/{}/{feed}", w.id);
            streams.push((w.id, feed, path.clone(), events));
            table.push((path, reply));
        }
    }
    let server = runtime
        .block_on(Server::start(move |r| {
            table
                .iter()
                .find(|(path, _)| *path == r.path)
                .map_or_else(|| Reply::status(404), |(_, reply)| reply.clone())
        }))
        .expect("server");
    Served {
        streams,
        base: format!("http://{}", server.addr()),
        _server: server,
        _runtime: runtime,
    }
}

fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime")
}

/// CPU time this thread has run, from the scheduler's own accounting.
fn thread_cpu() -> Option<Duration> {
    bourn_benches::rounds::thread_cpu_ns().map(Duration::from_nanos)
}

#[derive(serde::Serialize)]
struct Cost {
    workload: &'static str,
    feed: &'static str,
    row: &'static str,
    events: usize,
    cpu_us_per_event: Option<f64>,
    allocations_per_event: f64,
    bytes_allocated_per_event: f64,
}

/// Client CPU µs and allocations per event, per row, on this thread only.
fn costs(served: &Served, reps: usize) -> Vec<Cost> {
    let rt = client_runtime();
    let mut out = Vec::new();
    for (workload, feed, path, events) in &served.streams {
        let url = format!("{}{path}", served.base);
        for row in Row::ALL {
            // Warm up (connection pools, lazy statics), then measure.
            rt.block_on(row.run(&url));
            let mut cpu = Duration::ZERO;
            let mut have_cpu = true;
            let mut allocations = 0;
            let mut bytes = 0;
            for _ in 0..reps {
                let before = thread_cpu();
                let info = allocation_counter::measure(|| {
                    assert_eq!(rt.block_on(row.run(&url)), *events);
                });
                match (before, thread_cpu()) {
                    (Some(a), Some(b)) => cpu += b - a,
                    _ => have_cpu = false,
                }
                allocations += info.count_total;
                bytes += info.bytes_total;
            }
            let n = (reps * events) as f64;
            out.push(Cost {
                workload,
                feed,
                row: row.name(),
                events: *events,
                cpu_us_per_event: have_cpu.then(|| cpu.as_secs_f64() * 1e6 / n),
                allocations_per_event: allocations as f64 / n,
                bytes_allocated_per_event: bytes as f64 / n,
            });
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let events = if measuring() { EVENTS } else { SMOKE_EVENTS };
    let served = serve(events);
    let rt = client_runtime();

    // Every row delivers every event before anything is measured.
    for (_, _, path, n) in &served.streams {
        let url = format!("{}{path}", served.base);
        for row in Row::ALL {
            assert_eq!(rt.block_on(row.run(&url)), *n, "{} on {path}", row.name());
        }
    }

    let costs = costs(&served, if measuring() { 5 } else { 1 });
    for cost in &costs {
        eprintln!(
            "client-cost {}/{} {:<20} cpu {:>7} us/event  allocs {:>6.2}/event  {:>7.1} B/event",
            cost.workload,
            cost.feed,
            cost.row,
            cost.cpu_us_per_event
                .map_or("n/a".to_owned(), |us| format!("{us:.3}")),
            cost.allocations_per_event,
            cost.bytes_allocated_per_event,
        );
    }
    if measuring() {
        let dir = criterion_dir();
        let _ = std::fs::create_dir_all(&dir);
        let json = serde_json::to_vec_pretty(&costs).expect("json");
        let _ = std::fs::write(dir.join("client-cost.json"), json);
    }

    for (workload, feed, path, n) in &served.streams {
        let url = format!("{}{path}", served.base);
        let mut group = c.benchmark_group(format!("client/{workload}/{feed}"));
        group.throughput(Throughput::Elements(*n as u64));
        if measuring() {
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(3));
        }
        for row in Row::ALL {
            group.bench_function(row.name(), |b| b.iter(|| rt.block_on(row.run(&url))));
        }
        group.finish();
    }
}

/// Not a measurement: runs bourn-conformance's client suite (behaviour
/// cases, decoder vectors over HTTP) against bourn-client and each peer and
/// writes the scores beside criterion's results for the report. Scores do
/// not depend on the build profile, so the smoke run writes them too.
fn conformance(_: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Some peers panic on some vectors (eventsource-stream, under
    // reqwest-eventsource, on a BOM); the suite counts that as a failure.
    // Keep their messages off the log.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let results = rt.block_on(peer_clients::run());
    std::panic::set_hook(hook);
    for r in &results {
        eprintln!(
            "client conformance {}: behaviour {}/{} ({} n/a), vectors over HTTP {}/{} ({} n/a)",
            r.client,
            r.behaviour_passed,
            r.behaviour_passed + r.behaviour_failed,
            r.behaviour_not_applicable,
            r.vectors_passed,
            r.vectors_passed + r.vectors_failed,
            r.vectors_not_applicable
        );
    }
    let bourn = results.iter().find(|r| r.client == "bourn-client").unwrap();
    assert_eq!(
        (bourn.behaviour_failed, bourn.vectors_failed),
        (0, 0),
        "bourn-client fails its own suite: {:?} {:?}",
        bourn.behaviour_failures,
        bourn.vectors_failures
    );
    let dir = criterion_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let json = serde_json::to_vec_pretty(&results).unwrap();
    std::fs::write(dir.join(CLIENT_CONFORMANCE_FILE), json).expect("write client-conformance.json");
}

criterion_group! {
    name = benches;
    config = Criterion::default().output_directory(&criterion_dir()).warm_up_time(Duration::from_millis(500));
    targets = conformance, bench
}
criterion_main!(benches);
