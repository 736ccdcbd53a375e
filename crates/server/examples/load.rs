//! The server benchmark: bourn beside axum's `Sse` fed by
//! `tokio::sync::broadcast` (the common way peers fan out), each server in
//! its own process on 127.0.0.1, driven by this load client.
//!
//! ```text
//! cargo run --release -p bourn-server --features axum --example load [-- [--json PATH] N...]
//! ```
//!
//! Servers: `bourn-hyper` (a `Channel` behind hyper's HTTP/1.1 builder),
//! `bourn-axum` (the same `Channel` behind `axum::serve`), `axum-broadcast`
//! (`axum::response::Sse` over a `broadcast::Receiver`, one `Event` built per
//! connection per event). Per server it measures:
//! - memory per idle connection: server RSS delta / N;
//! - delivered events/s with 100 subscribers and 100-byte events, published
//!   in batches of 512 as fast as the slowest subscriber takes them (so no
//!   subscriber lags), and server CPU seconds per million delivered events;
//! - fan-out latency, publish to the last of N subscribers, p50/p99.
//!
//! N defaults to 1,000 and 10,000 (arguments override); 10,000 needs
//! `ulimit -n` above 10,000. `--json PATH` also writes the figures as JSON
//! (`cargo xtask bench-report` reads them from
//! `target/bourn-bench/server.json`). Both servers listen
//! with a backlog of 16,384 and run 2 tokio workers; the publisher is its
//! own thread (on a worker it starves behind 1,000 connections).
#![expect(clippy::print_stdout, reason = "a benchmark prints its results")]

use std::io::{BufRead, Write};
use std::net::SocketAddr;
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

const SERVERS: [&str; 3] = ["bourn-hyper", "bourn-axum", "axum-broadcast"];

fn main() -> Result<(), BoxError> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return serve(args.get(1).map_or("bourn-hyper", String::as_str));
    }
    let json = match args.iter().position(|a| a == "--json") {
        Some(at) if at + 1 < args.len() => {
            let path = args.remove(at + 1);
            args.remove(at);
            Some(path)
        }
        Some(_) => return Err("--json needs a path".into()),
        None => None,
    };
    let sizes: Vec<usize> = if args.is_empty() {
        vec![1_000, 10_000]
    } else {
        args.iter().map(|a| a.parse()).collect::<Result<_, _>>()?
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!("| server | N | RSS/idle conn | fan-out p50 | fan-out p99 |");
    println!("|---|---|---|---|---|");
    let mut idle = Vec::new();
    let mut throughput = Vec::new();
    for server in SERVERS {
        for &n in &sizes {
            let mut process = ServerProcess::start(server)?;
            let (kb, p50, p99) = runtime.block_on(idle_and_fan_out(&mut process, n))?;
            println!("| {server} | {n} | {kb:.1} KB | {p50:.2} ms | {p99:.2} ms |");
            idle.push(format!(
                r#"    {{"server": "{server}", "n": {n}, "rss_kb_per_idle_connection": {kb:.3}, "fan_out_p50_ms": {p50:.3}, "fan_out_p99_ms": {p99:.3}}}"#
            ));
        }
        let mut process = ServerProcess::start(server)?;
        throughput.push((server, runtime.block_on(delivered(&mut process, 100))?));
    }
    println!("\n| server | subscribers | delivered events/s | server CPU s per 1M delivered |");
    println!("|---|---|---|---|");
    for (server, (rate, cpu)) in &throughput {
        println!("| {server} | 100 | {rate:.0} | {cpu:.3} |");
    }
    if let Some(path) = json {
        let delivered: Vec<String> = throughput
            .iter()
            .map(|(server, (rate, cpu))| {
                format!(
                    r#"    {{"server": "{server}", "subscribers": 100, "event_bytes": 100, "delivered_per_s": {rate:.0}, "cpu_s_per_million": {cpu:.4}}}"#
                )
            })
            .collect();
        let measured = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let text = format!(
            "{{\n  \"measured_unix\": {measured},\n  \"cores\": {},\n  \"idle_and_fan_out\": [\n{}\n  ],\n  \"delivered\": [\n{}\n  ]\n}}\n",
            std::thread::available_parallelism().map_or(0, usize::from),
            idle.join(",\n"),
            delivered.join(",\n"),
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

/// A server in a child process, driven over its stdin.
struct ServerProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: std::io::BufReader<ChildStdout>,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start(kind: &str) -> Result<ServerProcess, BoxError> {
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
            stdin,
            stdout,
            addr,
        })
    }

    /// Asks the server to publish `count` events of `size` bytes; returns
    /// once it has.
    fn publish(&mut self, count: usize, size: usize) -> Result<(), BoxError> {
        writeln!(self.stdin, "{count} {size}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        Ok(())
    }

    fn proc_field(&self, file: &str) -> Result<String, BoxError> {
        Ok(std::fs::read_to_string(format!(
            "/proc/{}/{file}",
            self.child.id()
        ))?)
    }

    fn rss_kb(&self) -> Result<f64, BoxError> {
        let status = self.proc_field("status")?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .ok_or("no VmRSS")?;
        Ok(line.split_whitespace().nth(1).ok_or("VmRSS")?.parse()?)
    }

    /// User + system CPU seconds so far.
    fn cpu_seconds(&self) -> Result<f64, BoxError> {
        let stat = self.proc_field("stat")?;
        let after_name = &stat[stat.rfind(')').ok_or("stat")? + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
        Ok(ticks / 100.0)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Counts events received over all connections; wakes the waiter when the
/// count reaches the target.
#[derive(Default)]
struct Counter {
    events: AtomicU64,
    target: AtomicU64,
    opened: AtomicU64,
    reached: Notify,
}

async fn subscriber(addr: SocketAddr, counter: Arc<Counter>) -> Result<(), BoxError> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /events HTTP/1.1\r\nhost: localhost\r\naccept: text/event-stream\r\n\r\n")
        .await?;
    let mut buf = BytesMut::with_capacity(4096);
    // Skip the response head.
    loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let _ = buf.split_to(end + 4);
            break;
        }
    }
    counter.opened.fetch_add(1, Ordering::Relaxed);
    // Chunked transfer coding is left in the bytes: chunk-size lines are
    // "unknown fields" to the decoder and the blank line after an event
    // still ends it, so event counts are exact.
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

async fn connect_all(addr: SocketAddr, n: usize) -> Result<Arc<Counter>, BoxError> {
    let counter = Arc::new(Counter::default());
    for _ in 0..n {
        let counter = Arc::clone(&counter);
        tokio::spawn(async move {
            let _ = subscriber(addr, counter).await;
        });
        tokio::task::yield_now().await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while counter.opened.load(Ordering::Relaxed) < n as u64 {
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {n} connected",
                counter.opened.load(Ordering::Relaxed)
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(counter)
}

/// Publishes `count` events and waits until every subscriber has them.
async fn round(
    process: &mut ServerProcess,
    counter: &Counter,
    subscribers: u64,
    count: usize,
    size: usize,
) -> Result<Duration, BoxError> {
    let target = counter.events.load(Ordering::Relaxed) + subscribers * count as u64;
    counter.target.store(target, Ordering::Relaxed);
    let start = Instant::now();
    process.publish(count, size)?;
    while counter.events.load(Ordering::Relaxed) < target {
        let wait = counter.reached.notified();
        if counter.events.load(Ordering::Relaxed) >= target {
            break;
        }
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .map_err(|_| "a round timed out")?;
    }
    Ok(start.elapsed())
}

async fn idle_and_fan_out(
    process: &mut ServerProcess,
    n: usize,
) -> Result<(f64, f64, f64), BoxError> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = process.rss_kb()?;
    let counter = connect_all(process.addr, n).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per_connection = (process.rss_kb()? - before) / n as f64;
    let mut latencies = Vec::new();
    for _ in 0..60 {
        latencies.push(
            round(process, &counter, n as u64, 1, 100)
                .await?
                .as_secs_f64()
                * 1e3,
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Ok((per_connection, at(0.5), at(0.99)))
}

async fn delivered(process: &mut ServerProcess, n: usize) -> Result<(f64, f64), BoxError> {
    let counter = connect_all(process.addr, n).await?;
    round(process, &counter, n as u64, 512, 100).await?;
    let cpu = process.cpu_seconds()?;
    let start = Instant::now();
    let mut delivered = 0u64;
    while start.elapsed() < Duration::from_secs(5) {
        round(process, &counter, n as u64, 512, 100).await?;
        delivered += 512 * n as u64;
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = process.cpu_seconds()? - cpu;
    Ok((delivered as f64 / seconds, cpu / (delivered as f64 / 1e6)))
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
        "axum-broadcast" => {
            let (sender, _) = tokio::sync::broadcast::channel::<String>(1024);
            let app = axum_broadcast::router(sender.clone());
            runtime.spawn(async move { axum::serve(listener, app).await });
            Box::new(move |data| {
                let _ = sender.send(data);
            })
        }
        _ => {
            let channel = bourn_server::Channel::new();
            if kind == "bourn-axum" {
                let app = bourn_axum::router(channel.clone());
                runtime.spawn(async move { axum::serve(listener, app).await });
            } else {
                runtime.spawn(bourn_hyper::serve(listener, channel.clone()));
            }
            Box::new(move |data| {
                // The memory backend's publish completes without waiting.
                let _ = futures_executor::block_on(
                    channel.publish("bench", bourn_codec::Event::message(data)),
                );
            })
        }
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

mod bourn_axum {
    use axum::Router;
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use bourn_server::{Channel, LastEventId};

    async fn events(
        State(channel): State<Channel>,
        last: Option<LastEventId>,
        headers: HeaderMap,
    ) -> Response {
        channel
            .respond("bench", last.as_ref(), &headers)
            .into_response()
    }

    pub fn router(channel: Channel) -> Router {
        Router::new()
            .route("/events", get(events))
            .with_state(channel)
    }
}

mod axum_broadcast {
    use std::convert::Infallible;

    use axum::Router;
    use axum::extract::State;
    use axum::response::sse::{Event, Sse};
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
        Sse::new(events)
    }

    pub fn router(sender: Sender) -> Router {
        Router::new()
            .route("/events", get(events))
            .with_state(sender)
    }
}
