//! bourn-client beside its peers at many connections, and a driver for
//! profiling one client's read loop. The server always runs in a child
//! process, so the client process's memory and CPU are the client's alone.
//!
//! ```text
//! # RSS per connection and events/s at 1,000 connections, every client kind,
//! # each kind in its own process; writes JSON for `cargo xtask bench-report`:
//! ulimit -n 20000
//! cargo run --profile bench -p bourn-benches --example client-load -- \
//!     report --conns 1000 --json target/criterion/client-conns.json
//!
//! # Profile one client reading one stream (the server is a child process
//! # that valgrind does not trace):
//! CARGO_TARGET_DIR=target/profile CARGO_PROFILE_BENCH_DEBUG=true \
//!     cargo build --profile bench -p bourn-benches --example client-load
//! valgrind --tool=callgrind --toggle-collect='client_load::run' \
//!     target/profile/release/examples/client-load profile bourn-client W1/event-per-chunk 2
//! ```
//!
//! Subcommands:
//!
//! - `report [--conns N] [--events E] [--json PATH]`: starts a server, then
//!   for each client kind a `conns` process; prints one line per kind and
//!   writes the rows as JSON.
//! - `conns KIND N BASE E`: opens `N` streams to `BASE/idle` (one event, then
//!   the server goes quiet), waits until every one has delivered its event,
//!   reads `VmRSS` from `/proc/self/status`; then reads `N` streams of `E`
//!   W1 events (one per chunk) at once for events/s and CPU per event.
//! - `profile KIND PATH REPS`: reads `PATH` (`W1/event-per-chunk`,
//!   `W1/16KiB`, `W5/...`; 10,000 events) `REPS` times inside `run`.
//! - `serve E`: the server; prints its address and serves until stdin closes.
//!
//! Kinds: `bourn-client` (defaults: HTTP and HTTPS), `bourn-client-http`
//! (given a plain `HttpConnector`), `eventsource-client`,
//! `reqwest-eventsource`, `raw-hyper` (one shared hyper-util client
//! counting `\n\n`: the floor).
//! bourn-client, eventsource-client and reqwest-eventsource get one source
//! each, as an application opening independent streams would.
#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bourn_benches::{BlankLines, first_events, workload};

// Only the eventsource-client set-up is used here.
#[allow(dead_code)]
#[path = "../benches/support/readers.rs"]
mod readers;
use bourn_testkit::{Reply, Server};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty};

const KINDS: [&str; 5] = [
    "bourn-client",
    "bourn-client-http",
    "eventsource-client",
    "reqwest-eventsource",
    "raw-hyper",
];
/// Events per stream for `profile` (as the client bench).
const PROFILE_EVENTS: usize = 10_000;
/// How long any phase may take before the run is abandoned.
const PHASE_TIMEOUT: Duration = Duration::from_secs(120);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match arg(0) {
        Some("serve") => serve(arg(1).map_or(200, |e| e.parse().expect("events"))),
        Some("conns") => {
            let kind = arg(1).expect("kind");
            let n: usize = arg(2).expect("N").parse().expect("N");
            let base = arg(3).expect("base URL");
            let events: usize = arg(4).map_or(200, |e| e.parse().expect("E"));
            let row = conns(kind, n, base, events);
            println!("{}", serde_json::to_string(&row).expect("json"));
        }
        Some("profile") => {
            let kind = arg(1).expect("kind");
            let path = arg(2).unwrap_or("W1/event-per-chunk");
            let reps: usize = arg(3).map_or(1, |r| r.parse().expect("reps"));
            profile(kind, path, reps);
        }
        Some("report") => {
            let flag = |name: &str| {
                args.iter()
                    .position(|a| a == name)
                    .and_then(|i| args.get(i + 1))
            };
            let n = flag("--conns").map_or(1000, |v| v.parse().expect("--conns"));
            let events = flag("--events").map_or(200, |v| v.parse().expect("--events"));
            report(n, events, flag("--json").map(String::as_str));
        }
        _ => {
            eprintln!("usage: client-load report|conns|profile|serve ... (see the file's docs)");
            std::process::exit(2);
        }
    }
}

// ------------------------------------------------------------------ server

/// A workload cut to `events` events, and the size of each event.
fn cut(bytes: &Bytes, events: usize) -> (Bytes, Vec<usize>) {
    let (bytes, sizes) = first_events(bytes, events);
    assert_eq!(sizes.len(), events, "the workload holds {events} events");
    (bytes, sizes)
}

fn serve(load_events: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let mut table = vec![(
        "/idle".to_owned(),
        Reply::sse("data: open\n\n").then_stall(),
    )];
    let (load, sizes) = cut(&workload::w1(load_events * 120).bytes, load_events);
    table.push(("/load".to_owned(), Reply::sse(load).chunks(sizes)));
    for w in [
        workload::w1(PROFILE_EVENTS * 120),
        workload::w5(PROFILE_EVENTS * 120),
    ] {
        let (bytes, sizes) = cut(&w.bytes, PROFILE_EVENTS);
        table.push((
            format!("/{}/event-per-chunk", w.id),
            Reply::sse(bytes.clone()).chunks(sizes),
        ));
        table.push((
            format!("/{}/16KiB", w.id),
            Reply::sse(bytes).chunk_size(16 * 1024),
        ));
    }
    let server = runtime
        .block_on(Server::start(move |r| {
            table
                .iter()
                .find(|(path, _)| *path == r.path)
                .map_or_else(|| Reply::status(404), |(_, reply)| reply.clone())
        }))
        .expect("server");
    println!("http://{}", server.addr());
    // Serve until the parent closes our stdin (or goes away).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(server);
}

/// The server as a child process, and its base URL.
struct ServerProcess {
    child: Child,
    base: String,
}

impl ServerProcess {
    fn start(load_events: usize) -> ServerProcess {
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .args(["serve", &load_events.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("server process");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("server address");
        ServerProcess {
            child,
            base: line.trim().to_owned(),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----------------------------------------------------------------- clients

/// Reads the stream at `url`; calls `on_event` for each event, up to `max`
/// events (then returns), or to the end of the stream. Returns the count.
async fn read(kind: &str, url: &str, one_shot: bool, max: usize, on_event: impl Fn()) -> usize {
    let mut events = 0;
    match kind {
        "bourn-client" | "bourn-client-http" => {
            let mut builder = bourn_client::EventSource::builder(url).one_shot(one_shot);
            if kind == "bourn-client-http" {
                // Plain TCP: no TLS-capable connector (and stream type).
                let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
                http.set_nodelay(true);
                builder = builder.connector(http);
            }
            let mut source = builder.build().expect("bourn source");
            while let Some(item) = source.next().await {
                if let bourn_client::Item::Event(event) = item.expect("no error") {
                    black_box(event.data());
                    events += 1;
                    on_event();
                    if events == max {
                        break;
                    }
                }
            }
        }
        "eventsource-client" => {
            use eventsource_client::{Client, SSE};
            let mut stream = readers::launchdarkly_client(url).stream();
            while let Some(Ok(item)) = stream.next().await {
                if let SSE::Event(event) = item {
                    black_box(&event.data);
                    events += 1;
                    on_event();
                    if events == max {
                        break;
                    }
                }
            }
        }
        "reqwest-eventsource" => {
            use reqwest_eventsource::{Event, EventSource};
            let mut source = EventSource::get(url);
            while let Some(item) = source.next().await {
                match item {
                    Ok(Event::Message(message)) => {
                        black_box(&message.data);
                        events += 1;
                        on_event();
                        if events == max {
                            break;
                        }
                    }
                    Ok(Event::Open) => {}
                    Err(_) => break,
                }
            }
            source.close();
        }
        "raw-hyper" => events = raw_hyper(url, max, on_event).await,
        other => panic!("unknown client kind {other}"),
    }
    events
}

type RawClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Empty<Bytes>,
>;

/// One hyper-util client for every raw stream of the process: the floor.
fn raw_client() -> &'static RawClient {
    static CLIENT: std::sync::OnceLock<RawClient> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.set_nodelay(true);
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(http)
    })
}

async fn raw_hyper(url: &str, max: usize, on_event: impl Fn()) -> usize {
    let request = http::Request::get(url)
        .header("accept", "text/event-stream")
        .body(Empty::new())
        .expect("request");
    let response = raw_client().request(request).await.expect("response");
    let mut body = response.into_body();
    let (mut events, mut blank_lines) = (0, BlankLines::default());
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.expect("body").into_data() else {
            continue;
        };
        for _ in 0..blank_lines.count(&data) {
            events += 1;
            on_event();
        }
        if events >= max {
            break;
        }
    }
    events
}

// ------------------------------------------------------------------- conns

#[derive(serde::Serialize)]
struct ConnsRow {
    row: String,
    connections: usize,
    /// VmRSS before any connection, and with every connection open (KiB).
    rss_before_kib: u64,
    rss_open_kib: u64,
    /// `(rss_open - rss_before) / connections`, in bytes.
    rss_per_connection_bytes: f64,
    /// Events read in the load phase (`connections` streams at once).
    load_events: usize,
    load_seconds: f64,
    events_per_second: f64,
    /// The client process's CPU time (all threads) per event in the load phase.
    cpu_us_per_event: Option<f64>,
}

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// CPU time of every thread of this process, from the scheduler (ns precision).
fn process_cpu() -> Option<Duration> {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(ns))
}

fn conns(kind: &str, n: usize, base: &str, load_events: usize) -> ConnsRow {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let kind: Arc<str> = Arc::from(kind);
    let idle_url: Arc<str> = Arc::from(format!("{base}/idle"));
    let load_url: Arc<str> = Arc::from(format!("{base}/load"));
    rt.block_on(async {
        // Warm up lazily built statics with one stream, closed again.
        let one = read(&kind, &load_url, true, usize::MAX, || {}).await;
        assert_eq!(one, load_events, "{kind} reads the load stream");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let rss_before_kib = vm_rss_kib();

        let open = Arc::new(AtomicUsize::new(0));
        let mut idle = tokio::task::JoinSet::new();
        for _ in 0..n {
            let (kind, url, open) = (kind.clone(), idle_url.clone(), open.clone());
            idle.spawn(async move {
                // Read the one event, then wait on the quiet stream for ever.
                read(&kind, &url, false, usize::MAX, || {
                    open.fetch_add(1, Ordering::Relaxed);
                })
                .await
            });
        }
        let deadline = Instant::now() + PHASE_TIMEOUT;
        while open.load(Ordering::Relaxed) < n {
            assert!(
                Instant::now() < deadline,
                "{kind}: connections did not open"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Let every connection settle into its idle state.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss_open_kib = vm_rss_kib();
        idle.abort_all();
        while idle.join_next().await.is_some() {}

        let cpu_before = process_cpu();
        let start = Instant::now();
        let mut load = tokio::task::JoinSet::new();
        for _ in 0..n {
            let (kind, url) = (kind.clone(), load_url.clone());
            load.spawn(async move { read(&kind, &url, true, usize::MAX, || {}).await });
        }
        let mut total = 0;
        let joined = tokio::time::timeout(PHASE_TIMEOUT, async {
            while let Some(events) = load.join_next().await {
                total += events.expect("load task");
            }
        })
        .await;
        assert!(joined.is_ok(), "{kind}: the load phase timed out");
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(total, n * load_events, "{kind} reads every event");
        let cpu = match (cpu_before, process_cpu()) {
            (Some(a), Some(b)) => Some((b - a).as_secs_f64() * 1e6 / total as f64),
            _ => None,
        };
        ConnsRow {
            row: kind.to_string(),
            connections: n,
            rss_before_kib,
            rss_open_kib,
            rss_per_connection_bytes: (rss_open_kib.saturating_sub(rss_before_kib) * 1024) as f64
                / n as f64,
            load_events: total,
            load_seconds: secs,
            events_per_second: total as f64 / secs,
            cpu_us_per_event: cpu,
        }
    })
}

fn report(n: usize, events: usize, json: Option<&str>) {
    let server = ServerProcess::start(events);
    let mut rows = Vec::new();
    for kind in KINDS {
        let output = Command::new(std::env::current_exe().expect("own path"))
            .args([
                "conns",
                kind,
                &n.to_string(),
                &server.base,
                &events.to_string(),
            ])
            .stderr(Stdio::inherit())
            .output()
            .expect("conns process");
        assert!(output.status.success(), "{kind}: {}", output.status);
        let line = String::from_utf8(output.stdout).expect("utf-8");
        let row: serde_json::Value = serde_json::from_str(line.trim()).expect("a JSON row");
        eprintln!(
            "client-conns {kind:<20} {n} conns: {:>8.0} B RSS/conn  {:>9.0} events/s  cpu {:.3} us/event",
            row["rss_per_connection_bytes"].as_f64().unwrap_or(f64::NAN),
            row["events_per_second"].as_f64().unwrap_or(f64::NAN),
            row["cpu_us_per_event"].as_f64().unwrap_or(f64::NAN),
        );
        rows.push(row);
    }
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_vec_pretty(&rows).expect("json")).expect("write JSON");
    }
}

// ----------------------------------------------------------------- profile

fn profile(kind: &str, path: &str, reps: usize) {
    let server = ServerProcess::start(1);
    let url = format!("{}/{path}", server.base);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    // Warm up outside the profiled function.
    assert_eq!(
        rt.block_on(read(kind, &url, true, usize::MAX, || {})),
        PROFILE_EVENTS
    );
    let start = Instant::now();
    let events = run(&rt, kind, &url, reps);
    eprintln!(
        "{kind} {path}: {events} events, {:.3} us/event wall",
        start.elapsed().as_secs_f64() * 1e6 / events as f64
    );
}

/// The profiled part: `reps` reads of the stream.
#[inline(never)]
fn run(rt: &tokio::runtime::Runtime, kind: &str, url: &str, reps: usize) -> usize {
    let mut events = 0;
    for _ in 0..reps {
        let n = rt.block_on(read(kind, url, true, usize::MAX, || {}));
        assert_eq!(n, PROFILE_EVENTS);
        events += n;
    }
    events
}
