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
//!
//! For each N (default 1,000 and 10,000) it opens N idle subscribers (raw
//! TCP, reading and decoding every byte), reports the server's RSS delta / N
//! (read from `/proc/PID/status`), then publishes one 100-byte event per
//! round and times publish → the last of N subscribers has it, p50 and p99
//! over the rounds. It prints the load average with the figures: other
//! builds on the machine skew latency, so compare the servers of one run.
//! The open-file limit must exceed N in this process and in each server
//! (the hard limit on the bench machine is 20,000).
#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bourn_codec::{Decoder, Frame};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Notify;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const SERVERS: [&str; 3] = ["hub", "bourn-hyper", "axum-sse"];
/// How long connecting N subscribers, or one round, may take.
const PHASE_TIMEOUT: Duration = Duration::from_secs(90);

fn main() -> Result<(), BoxError> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return serve(args.get(1).map_or("bourn-hyper", String::as_str));
    }
    let mut take = |name: &str| -> Result<Option<String>, BoxError> {
        match args.iter().position(|a| a == name) {
            Some(at) if at + 1 < args.len() => {
                let value = args.remove(at + 1);
                args.remove(at);
                Ok(Some(value))
            }
            Some(_) => Err(format!("{name} needs a value").into()),
            None => Ok(None),
        }
    };
    let json = take("--json")?;
    let hub = take("--hub")?.map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/bourn"),
        PathBuf::from,
    );
    let rounds: usize = take("--rounds")?.map_or(Ok(60), |r| r.parse())?;
    let only = take("--only")?;
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!("| server | N | RSS / idle subscriber | fan-out p50 | fan-out p99 | load average |");
    println!("|---|---:|---:|---:|---:|---|");
    let mut rows = Vec::new();
    for server in SERVERS {
        if only.as_deref().is_some_and(|only| only != server) {
            continue;
        }
        for &n in &sizes {
            let mut process = ServerProcess::start(server, &hub)?;
            let (kb, p50, p99) = runtime.block_on(idle_and_fan_out(&mut process, n, rounds))?;
            let load = load_average();
            println!("| {server} | {n} | {kb:.1} KB | {p50:.1} ms | {p99:.1} ms | {load} |");
            rows.push(format!(
                r#"    {{"server": "{server}", "n": {n}, "rss_kb_per_idle_subscriber": {kb:.3}, "fan_out_p50_ms": {p50:.3}, "fan_out_p99_ms": {p99:.3}, "rounds": {rounds}, "load_average": "{load}"}}"#
            ));
        }
    }
    if let Some(path) = json {
        let measured = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let text = format!(
            "{{\n  \"measured_unix\": {measured},\n  \"cores\": {},\n  \"rows\": [\n{}\n  ]\n}}\n",
            std::thread::available_parallelism().map_or(0, usize::from),
            rows.join(",\n"),
        );
        let path = std::path::Path::new(&path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, text)?;
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

/// How a server is published to.
enum Publisher {
    /// A line `COUNT SIZE` on the child's stdin, answered `done`.
    Stdin {
        stdin: ChildStdin,
        stdout: std::io::BufReader<ChildStdout>,
    },
    /// `POST /topics/bench` to the hub.
    Http,
}

/// A server in a child process.
struct ServerProcess {
    child: Child,
    publisher: Publisher,
    addr: SocketAddr,
    /// The subscribe request.
    request: &'static [u8],
}

impl ServerProcess {
    fn start(kind: &str, hub: &std::path::Path) -> Result<ServerProcess, BoxError> {
        if kind == "hub" {
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
            let addr = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("http://"))
                .ok_or_else(|| format!("no URL in {line:?}"))?
                .trim_end_matches('/')
                .parse()?;
            // The rest of stdout is never read: keep the pipe from filling.
            std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
            return Ok(ServerProcess {
                child,
                publisher: Publisher::Http,
                addr,
                request: b"GET /topics/bench HTTP/1.1\r\nhost: localhost\r\naccept: text/event-stream\r\n\r\n",
            });
        }
        let mut child = Command::new(std::env::current_exe()?)
            .args(["serve", kind])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("stdin")?;
        let mut stdout = std::io::BufReader::new(child.stdout.take().ok_or("stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("ready ")
            .ok_or("no address")?
            .parse()?;
        Ok(ServerProcess {
            child,
            publisher: Publisher::Stdin { stdin, stdout },
            addr,
            request:
                b"GET /events HTTP/1.1\r\nhost: localhost\r\naccept: text/event-stream\r\n\r\n",
        })
    }

    /// Publishes one event of `size` bytes; returns once the server took it.
    fn publish(&mut self, size: usize) -> Result<(), BoxError> {
        match &mut self.publisher {
            Publisher::Stdin { stdin, stdout } => {
                writeln!(stdin, "1 {size}")?;
                stdin.flush()?;
                let mut line = String::new();
                stdout.read_line(&mut line)?;
            }
            Publisher::Http => {
                let mut stream = std::net::TcpStream::connect(self.addr)?;
                stream.set_nodelay(true)?;
                stream.set_read_timeout(Some(PHASE_TIMEOUT))?;
                let body = "x".repeat(size);
                write!(
                    stream,
                    "POST /topics/bench HTTP/1.1\r\nhost: localhost\r\ncontent-length: {size}\r\nconnection: close\r\n\r\n{body}"
                )?;
                let mut answer = Vec::new();
                stream.read_to_end(&mut answer)?;
                if !answer.starts_with(b"HTTP/1.1 200") {
                    return Err(
                        format!("publish refused: {}", String::from_utf8_lossy(&answer)).into(),
                    );
                }
            }
        }
        Ok(())
    }

    fn rss_kb(&self) -> Result<f64, BoxError> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .ok_or("no VmRSS")?;
        Ok(line.split_whitespace().nth(1).ok_or("VmRSS")?.parse()?)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Events received over all subscribers; wakes the waiter at the target.
#[derive(Default)]
struct Counter {
    events: AtomicU64,
    target: AtomicU64,
    opened: AtomicU64,
    reached: Notify,
}

async fn subscriber(
    addr: SocketAddr,
    request: &'static [u8],
    counter: Arc<Counter>,
) -> Result<(), BoxError> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Err("closed in the response head".into());
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if !buf.starts_with(b"HTTP/1.1 200") {
                return Err(format!("refused: {}", String::from_utf8_lossy(&buf[..end])).into());
            }
            let _ = buf.split_to(end + 4);
            break;
        }
    }
    counter.opened.fetch_add(1, Ordering::Relaxed);
    // Chunk-size lines of a chunked body are unknown fields to the decoder
    // and the blank line after an event still ends it: counts are exact.
    let mut decoder = Decoder::new();
    loop {
        while let Some(frame) = decoder.decode(&mut buf)? {
            if let Frame::Event(_) = frame {
                let now = counter.events.fetch_add(1, Ordering::Relaxed) + 1;
                if now == counter.target.load(Ordering::Relaxed) {
                    counter.reached.notify_one();
                }
            }
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

async fn connect_all(
    addr: SocketAddr,
    request: &'static [u8],
    n: usize,
) -> Result<Arc<Counter>, BoxError> {
    let counter = Arc::new(Counter::default());
    for _ in 0..n {
        let counter = Arc::clone(&counter);
        tokio::spawn(async move {
            if let Err(error) = subscriber(addr, request, counter).await {
                eprintln!("subscriber: {error}");
            }
        });
        tokio::task::yield_now().await;
    }
    let deadline = Instant::now() + PHASE_TIMEOUT;
    while counter.opened.load(Ordering::Relaxed) < n as u64 {
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {n} subscribed",
                counter.opened.load(Ordering::Relaxed)
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(counter)
}

/// Publishes one event and waits until every subscriber has it.
async fn round(
    process: &mut ServerProcess,
    counter: &Counter,
    subscribers: u64,
) -> Result<Duration, BoxError> {
    let target = counter.events.load(Ordering::Relaxed) + subscribers;
    counter.target.store(target, Ordering::Relaxed);
    let start = Instant::now();
    tokio::task::block_in_place(|| process.publish(100))?;
    while counter.events.load(Ordering::Relaxed) < target {
        let wait = counter.reached.notified();
        if counter.events.load(Ordering::Relaxed) >= target {
            break;
        }
        tokio::time::timeout(PHASE_TIMEOUT, wait)
            .await
            .map_err(|_| "a round timed out")?;
    }
    Ok(start.elapsed())
}

async fn idle_and_fan_out(
    process: &mut ServerProcess,
    n: usize,
    rounds: usize,
) -> Result<(f64, f64, f64), BoxError> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = process.rss_kb()?;
    let counter = connect_all(process.addr, process.request, n).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per_subscriber = (process.rss_kb()? - before) / n as f64;
    let mut latencies = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        latencies.push(round(process, &counter, n as u64).await?.as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Ok((per_subscriber, at(0.5), at(0.99)))
}

// ---------------------------------------------------------------- servers

fn serve(kind: &str) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind("127.0.0.1:0".parse()?)?;
    let listener = runtime.block_on(async { socket.listen(16_384) })?;
    println!("ready {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let publish: Box<dyn Fn(String) + Send> = match kind {
        "axum-sse" => {
            let (sender, _) = tokio::sync::broadcast::channel::<String>(1024);
            let app = axum_sse::router(sender.clone());
            runtime.spawn(async move { axum::serve(listener, app).await });
            Box::new(move |data| {
                let _ = sender.send(data);
            })
        }
        "bourn-hyper" => {
            let channel = bourn_server::Channel::new();
            runtime.spawn(bourn_hyper::serve(listener, channel.clone()));
            let handle = runtime.handle().clone();
            Box::new(move |data| {
                let _ =
                    handle.block_on(channel.publish("bench", bourn_codec::Event::message(data)));
            })
        }
        other => return Err(format!("unknown server {other}").into()),
    };
    // The publisher: this thread, not a runtime worker.
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let mut parts = line.split_whitespace().map(str::parse::<usize>);
        let (Some(Ok(count)), Some(Ok(size))) = (parts.next(), parts.next()) else {
            break;
        };
        let data = "x".repeat(size);
        for _ in 0..count {
            publish(data.clone());
        }
        writeln!(out, "done")?;
        out.flush()?;
    }
    Ok(())
}

mod bourn_hyper {
    use std::convert::Infallible;

    use bourn_server::Channel;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpListener;

    pub async fn serve(listener: TcpListener, channel: Channel) {
        while let Ok((stream, _)) = listener.accept().await {
            let channel = channel.clone();
            let service = service_fn(move |request| {
                let response = channel.respond_to("bench", &request);
                async move { Ok::<_, Infallible>(response) }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    }
}

mod axum_sse {
    use std::convert::Infallible;

    use axum::Router;
    use axum::extract::State;
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::routing::get;
    use futures_util::Stream;
    use futures_util::stream;
    use tokio::sync::broadcast;

    type Sender = broadcast::Sender<String>;

    async fn events(
        State(sender): State<Sender>,
    ) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
        let receiver = sender.subscribe();
        let events = stream::unfold(receiver, |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(data) => return Some((Ok(Event::default().data(data)), receiver)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        // Keep-alives, as the hub and the library send them.
        Sse::new(events).keep_alive(KeepAlive::default())
    }

    pub fn router(sender: Sender) -> Router {
        Router::new()
            .route("/events", get(events))
            .with_state(sender)
    }
}
