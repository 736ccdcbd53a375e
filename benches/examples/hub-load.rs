//! The hub under idle load: `bourn serve` (the binary) beside the bare
//! library behind hyper and axum's `Sse` over `tokio::sync::broadcast`, in
//! one run, each server in its own process on 127.0.0.1.
//!
//! ```text
//! cargo build --release -p bourn-cli
//! ulimit -n 20000
//! cargo run --release -p bourn-benches --example hub-load -- \
//!     [--hub target/release/bourn] [--rounds 60] [--json target/bourn-bench/hub.json] [N...]
//! ```
//!
//! Servers:
//! - `hub`: `bourn serve --store memory` (every layer of the hub: the
//!   connection cap, header and write timeouts, trust checks, metrics);
//!   subscribers read `/topics/bench`, events are published with
//!   `POST /topics/bench` (one connection per publish);
//! - `bourn-hyper`: a `Channel` behind hyper's HTTP/1.1 builder, published
//!   to on the server's own thread;
//! - `axum-sse`: axum's `Sse` over a `broadcast::Receiver`, one `Event`
//!   built per connection per event.
//! - `sendto-loop`: not a server anyone would run, the floor of every
//!   server: the subscribers' sockets in a list, and a publish writes the
//!   event to each of them from 2 threads with blocking `send`s (one system
//!   call per subscriber and nothing else: no runtime, no wake-ups, no
//!   per-connection state). What it takes is what one `send` per
//!   subscriber costs on this machine, with the load client beside it.
//!
//! For each N (default 1,000 and 10,000) it opens N idle subscribers (raw
//! TCP, reading and decoding every byte), reports the server's RSS delta / N
//! (read from `/proc/PID/status`), then publishes one 100-byte event per
//! round and times publish → the last of N subscribers has it, p50 and p99
//! over the rounds, and the CPU time the server and the load client each
//! spent per round. Their sum over the cores is the CPU floor: the least a
//! round can take on this machine with both on it, whatever the scheduling.
//! It prints the load average with the figures: other
//! builds on the machine skew latency, so compare the servers of one run.
//! The open-file limit must exceed N in this process and in each server
//! (the hard limit on the bench machine is 20,000). The load generator
//! (subscribers, rounds, serve mode) is `bourn_testkit::load`, shared with
//! `crates/server/examples/load.rs`.
#![expect(clippy::print_stdout, reason = "a benchmark prints its results")]

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::response::sse::KeepAlive;
use bourn_testkit::load::{self, BoxError, FanOutPlan, ServerProcess, idle_and_fan_out};

const SERVERS: [&str; 4] = ["hub", "bourn-hyper", "axum-sse", "sendto-loop"];
/// How long connecting N subscribers, or one round, may take.
const PHASE_TIMEOUT: Duration = Duration::from_secs(90);

fn main() -> Result<(), BoxError> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return serve(args.get(1).map_or("bourn-hyper", String::as_str));
    }
    let json = load::take_option(&mut args, "--json")?;
    let hub = load::take_option(&mut args, "--hub")?.map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/bourn"),
        PathBuf::from,
    );
    let rounds: usize = load::take_option(&mut args, "--rounds")?.map_or(Ok(60), |r| r.parse())?;
    let only = load::take_option(&mut args, "--only")?;
    if !hub.exists() {
        return Err(format!(
            "no hub binary at {} (cargo build --release -p bourn-cli, or --hub PATH)",
            hub.display()
        )
        .into());
    }
    let sizes: Vec<usize> = if args.is_empty() {
        vec![1_000, 10_000]
    } else {
        args.iter().map(|a| a.parse()).collect::<Result<_, _>>()?
    };
    let plan = FanOutPlan {
        rounds,
        size: 100,
        settle: Duration::from_millis(300),
        pause: Duration::from_millis(20),
        connect_timeout: PHASE_TIMEOUT,
        round_timeout: PHASE_TIMEOUT,
    };
    let runtime = load::runtime()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "| server | N | RSS / idle subscriber | fan-out p50 | fan-out p99 | server CPU / round | client CPU / round | CPU floor | load average |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut rows = Vec::new();
    for server in SERVERS {
        if only.as_deref().is_some_and(|only| only != server) {
            continue;
        }
        for &n in &sizes {
            let mut process = start(server, &hub)?;
            let fan_out = runtime.block_on(idle_and_fan_out(&mut process, n, plan))?;
            let (kb, p50, p99) = (
                fan_out.rss_kb_per_subscriber,
                fan_out.p50_ms,
                fan_out.p99_ms,
            );
            let (server_cpu, client_cpu) = (fan_out.server_cpu_ms, fan_out.client_cpu_ms);
            let floor = fan_out.cpu_floor_ms(cores);
            let load = load_average();
            println!(
                "| {server} | {n} | {kb:.1} KB | {p50:.1} ms | {p99:.1} ms | {server_cpu:.1} ms | {client_cpu:.1} ms | {floor:.1} ms | {load} |"
            );
            rows.push(format!(
                r#"    {{"server": "{server}", "n": {n}, "rss_kb_per_idle_subscriber": {kb:.3}, "fan_out_p50_ms": {p50:.3}, "fan_out_p99_ms": {p99:.3}, "server_cpu_ms_per_round": {server_cpu:.3}, "client_cpu_ms_per_round": {client_cpu:.3}, "cpu_floor_ms": {floor:.3}, "rounds": {rounds}, "load_average": "{load}"}}"#
            ));
        }
    }
    if let Some(path) = json {
        let path = Path::new(&path);
        load::write_json(path, &[("rows", &rows)])?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}

/// The 1-, 5- and 15-minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Starts `kind`: the hub binary at `hub`, subscribed to at `/topics/bench`
/// and published to with `POST /topics/bench`, or this example in serve mode.
fn start(kind: &str, hub: &Path) -> Result<ServerProcess, BoxError> {
    if kind != "hub" {
        return ServerProcess::serve_mode(kind);
    }
    let mut child = Command::new(hub)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--store",
            "memory",
            "--max-subscribers",
            "20000",
            "--max-connections",
            "20000",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdout = std::io::BufReader::new(child.stdout.take().ok_or("stdout")?);
    let mut line = String::new();
    stdout.read_line(&mut line)?;
    let addr: SocketAddr = line
        .split_whitespace()
        .find_map(|word| word.strip_prefix("http://"))
        .ok_or_else(|| format!("no URL in {line:?}"))?
        .trim_end_matches('/')
        .parse()?;
    // The rest of stdout is never read: keep the pipe from filling.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    Ok(ServerProcess::http(
        child,
        addr,
        "/topics/bench",
        PHASE_TIMEOUT,
    ))
}

// ---------------------------------------------------------------- servers

fn serve(kind: &str) -> Result<(), BoxError> {
    load::serve(|runtime, listener| {
        let publish: load::Publish = match kind {
            "axum-sse" => {
                let (sender, _) = tokio::sync::broadcast::channel::<String>(1024);
                // Keep-alives, as the hub and the library send them.
                let app = load::broadcast_router(sender.clone(), Some(KeepAlive::default()));
                runtime.spawn(async move { axum::serve(listener, app).await });
                Box::new(move |data| {
                    let _ = sender.send(data);
                })
            }
            "bourn-hyper" => {
                let channel = bourn_server::Channel::new();
                let serving = channel.clone();
                runtime.spawn(load::serve_http1(listener, move |request| {
                    serving.respond_to("bench", &request)
                }));
                let handle = runtime.handle().clone();
                Box::new(move |data| {
                    let _ = handle
                        .block_on(channel.publish("bench", bourn_codec::Event::message(data)));
                })
            }
            "sendto-loop" => sendto_loop(runtime, listener),
            other => return Err(format!("unknown server {other}").into()),
        };
        Ok(publish)
    })
}

/// The `sendto-loop` server: answers each subscriber's request head with a
/// chunked `text/event-stream` head, keeps its socket (blocking) in a list,
/// and writes each event to every socket from 2 threads.
fn sendto_loop(
    runtime: &tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
) -> load::Publish {
    use std::io::Write as _;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let sockets: Arc<Mutex<Vec<std::net::TcpStream>>> = Arc::default();
    let accepted = Arc::clone(&sockets);
    runtime.spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let accepted = Arc::clone(&accepted);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                if stream.write_all(answer).await.is_err() {
                    return;
                }
                let _ = stream.set_nodelay(true);
                let Ok(stream) = stream.into_std() else {
                    return;
                };
                if stream.set_nonblocking(false).is_ok() {
                    if let Ok(mut sockets) = accepted.lock() {
                        sockets.push(stream);
                    }
                }
            });
        }
    });
    Box::new(move |data| {
        let event = format!("data: {data}\n\n");
        let chunk = format!("{:x}\r\n{event}\r\n", event.len());
        let Ok(sockets) = sockets.lock() else {
            return;
        };
        let half = sockets.len().div_ceil(2).max(1);
        std::thread::scope(|scope| {
            for part in sockets.chunks(half) {
                let chunk = chunk.as_bytes();
                scope.spawn(move || {
                    for mut socket in part {
                        // A subscriber that went away is skipped.
                        let _ = socket.write_all(chunk);
                    }
                });
            }
        });
    })
}
