//! The load generator behind the server benchmarks (feature `load`):
//! `bourn-server`'s `examples/load.rs` and `bourn-benches`'
//! `examples/hub-load.rs` both run each server in its own process on
//! 127.0.0.1 and drive it from here.
//!
//! - [`ServerProcess`]: a server in a child process, either this executable
//!   again in serve mode ([`ServerProcess::serve_mode`], the child runs
//!   [`serve`] and is published to over its stdin) or a binary the caller
//!   started that takes `POST` ([`ServerProcess::http`]); its RSS and CPU
//!   time from `/proc`.
//! - [`Subscribers`]: N raw-TCP subscribers that decode every byte with
//!   `bourn-codec` and count the events; [`Subscribers::round`] times a
//!   publish until every subscriber has it.
//! - [`idle_and_fan_out`]: RSS per idle subscriber, then fan-out latency
//!   p50/p99 over rounds of one event.
//! - [`serve`], [`serve_http1`], [`broadcast_router`]: the server side of
//!   serve mode.
//! - [`runtime`], [`take_option`], [`write_json`]: what both examples'
//!   `main` share.
//!
//! Linux only (`/proc`).

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::get;
use bourn_codec::{Decoder, Frame};
use bytes::{Bytes, BytesMut};
use futures_util::stream;
use http_body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{Notify, broadcast};

/// Every error of the load generator: it is reported, never matched on.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a serve-mode server publishes: one event with this data.
pub type Publish = Box<dyn Fn(String) + Send>;

/// The subscribe request of a serve-mode server: `GET /events`.
pub const EVENTS_PATH: &str = "/events";

/// A multi-thread tokio runtime with 2 workers, for the load client and for
/// each server alike.
///
/// # Errors
///
/// When tokio cannot start its threads or its I/O driver.
pub fn runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Removes `name VALUE` from `args` and returns the value, or `None` when
/// `name` is absent.
///
/// # Errors
///
/// `"{name} needs a value"` when `name` is the last argument.
pub fn take_option(args: &mut Vec<String>, name: &str) -> Result<Option<String>, BoxError> {
    match args.iter().position(|a| a == name) {
        Some(at) if at + 1 < args.len() => {
            let value = args.remove(at + 1);
            args.remove(at);
            Ok(Some(value))
        }
        Some(_) => Err(format!("{name} needs a value").into()),
        None => Ok(None),
    }
}

/// Writes the figures as JSON to `path` (creating its folder):
/// `measured_unix` (now), `cores` (available parallelism) and one array per
/// section, each row already a JSON object (indented four spaces).
///
/// # Errors
///
/// When the clock is before 1970 or the file cannot be written.
pub fn write_json(path: &Path, sections: &[(&str, &[String])]) -> Result<(), BoxError> {
    let measured = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut text = format!(
        "{{\n  \"measured_unix\": {measured},\n  \"cores\": {}",
        std::thread::available_parallelism().map_or(0, usize::from),
    );
    for (name, rows) in sections {
        text.push_str(&format!(",\n  \"{name}\": [\n{}\n  ]", rows.join(",\n")));
    }
    text.push_str("\n}\n");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)?;
    Ok(())
}

// ------------------------------------------------------------ the client

/// How a server is published to.
#[derive(Debug)]
enum Publisher {
    /// A line `COUNT SIZE` on the child's stdin, answered `done` ([`serve`]).
    Stdin {
        stdin: ChildStdin,
        stdout: BufReader<ChildStdout>,
    },
    /// `POST {path}` with the event's data as the body, one connection per
    /// event, answered `200`.
    Http {
        path: &'static str,
        timeout: Duration,
    },
}

/// A server in a child process, killed on drop.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    publisher: Publisher,
    addr: SocketAddr,
    request: Bytes,
}

impl ServerProcess {
    /// Starts this executable again as `EXE serve KIND` (its `main` calls
    /// [`serve`]), reads the `ready ADDR` line and keeps the child's stdin
    /// to publish over. Subscribers read [`EVENTS_PATH`].
    ///
    /// # Errors
    ///
    /// When the child does not start or its first line is not `ready ADDR`.
    pub fn serve_mode(kind: &str) -> Result<ServerProcess, BoxError> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["serve", kind])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("stdout")?);
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
            request: subscribe_request(EVENTS_PATH),
        })
    }

    /// A server the caller started, listening at `addr`: subscribers
    /// `GET path`, events are published with `POST path` (one connection per
    /// event; `timeout` bounds each answer).
    pub fn http(
        child: Child,
        addr: SocketAddr,
        path: &'static str,
        timeout: Duration,
    ) -> ServerProcess {
        ServerProcess {
            child,
            publisher: Publisher::Http { path, timeout },
            addr,
            request: subscribe_request(path),
        }
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Publishes `count` events of `size` bytes; returns once the server
    /// has taken them.
    ///
    /// # Errors
    ///
    /// When the pipe or the connection fails, or the hub refuses a publish.
    pub fn publish(&mut self, count: usize, size: usize) -> Result<(), BoxError> {
        match &mut self.publisher {
            Publisher::Stdin { stdin, stdout } => {
                writeln!(stdin, "{count} {size}")?;
                stdin.flush()?;
                let mut line = String::new();
                stdout.read_line(&mut line)?;
            }
            Publisher::Http { path, timeout } => {
                let body = "x".repeat(size);
                for _ in 0..count {
                    let mut stream = std::net::TcpStream::connect(self.addr)?;
                    stream.set_nodelay(true)?;
                    stream.set_read_timeout(Some(*timeout))?;
                    write!(
                        stream,
                        "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-length: {size}\r\nconnection: close\r\n\r\n{body}"
                    )?;
                    let mut answer = Vec::new();
                    stream.read_to_end(&mut answer)?;
                    if !answer.starts_with(b"HTTP/1.1 200") {
                        return Err(format!(
                            "publish refused: {}",
                            String::from_utf8_lossy(&answer)
                        )
                        .into());
                    }
                }
            }
        }
        Ok(())
    }

    fn proc_field(&self, file: &str) -> Result<String, BoxError> {
        Ok(std::fs::read_to_string(format!(
            "/proc/{}/{file}",
            self.child.id()
        ))?)
    }

    /// The server's resident set size in KB (`VmRSS`).
    ///
    /// # Errors
    ///
    /// When `/proc/PID/status` cannot be read or has no `VmRSS` line.
    pub fn rss_kb(&self) -> Result<f64, BoxError> {
        let status = self.proc_field("status")?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .ok_or("no VmRSS")?;
        Ok(line.split_whitespace().nth(1).ok_or("VmRSS")?.parse()?)
    }

    /// The server's user + system CPU seconds so far.
    ///
    /// # Errors
    ///
    /// When `/proc/PID/stat` cannot be read or parsed.
    pub fn cpu_seconds(&self) -> Result<f64, BoxError> {
        stat_cpu_seconds(&self.proc_field("stat")?)
    }
}

/// This process's user + system CPU seconds so far (all its threads).
///
/// # Errors
///
/// When `/proc/self/stat` cannot be read or parsed.
pub fn own_cpu_seconds() -> Result<f64, BoxError> {
    stat_cpu_seconds(&std::fs::read_to_string("/proc/self/stat")?)
}

/// `utime + stime` of a `/proc/PID/stat` line, in seconds (clock ticks of
/// 1/100 s, Linux's `USER_HZ`).
fn stat_cpu_seconds(stat: &str) -> Result<f64, BoxError> {
    let after_name = stat
        .get(stat.rfind(')').ok_or("stat")? + 2..)
        .ok_or("stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |at: usize| -> Result<f64, BoxError> {
        Ok(fields.get(at).ok_or("stat: too few fields")?.parse()?)
    };
    Ok((field(11)? + field(12)?) / 100.0)
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn subscribe_request(path: &str) -> Bytes {
    Bytes::from(format!(
        "GET {path} HTTP/1.1\r\nhost: localhost\r\naccept: text/event-stream\r\n\r\n"
    ))
}

/// Events received over all subscribers; wakes the waiter at the target.
#[derive(Debug, Default)]
struct Counter {
    events: AtomicU64,
    target: AtomicU64,
    opened: AtomicU64,
    reached: Notify,
    /// The first subscriber's error, for the timeout message.
    failed: Mutex<Option<String>>,
}

impl Counter {
    fn failure(&self) -> String {
        match self.failed.lock().map(|failed| failed.clone()) {
            Ok(Some(error)) => format!(" (a subscriber failed: {error})"),
            _ => String::new(),
        }
    }
}

/// N subscribers, each on its own connection and task, counting the events
/// they decode.
#[derive(Debug)]
pub struct Subscribers {
    counter: Arc<Counter>,
    n: u64,
}

impl Subscribers {
    /// Opens `n` subscribers to `server` and waits until each has had the
    /// response head of a `200`.
    ///
    /// # Errors
    ///
    /// When fewer than `n` are subscribed after `timeout` (with the first
    /// subscriber's error, if any).
    pub async fn connect(
        server: &ServerProcess,
        n: usize,
        timeout: Duration,
    ) -> Result<Subscribers, BoxError> {
        let counter = Arc::new(Counter::default());
        for _ in 0..n {
            let counter = Arc::clone(&counter);
            let (addr, request) = (server.addr, server.request.clone());
            tokio::spawn(async move {
                if let Err(error) = subscriber(addr, &request, &counter).await {
                    if let Ok(mut failed) = counter.failed.lock() {
                        failed.get_or_insert_with(|| error.to_string());
                    }
                }
            });
            tokio::task::yield_now().await;
        }
        let deadline = Instant::now() + timeout;
        while counter.opened.load(Ordering::Relaxed) < n as u64 {
            if Instant::now() > deadline {
                return Err(format!(
                    "only {} of {n} subscribed{}",
                    counter.opened.load(Ordering::Relaxed),
                    counter.failure()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Subscribers {
            counter,
            n: n as u64,
        })
    }

    /// Runs `publish` (blocking, off the runtime's workers), which publishes
    /// `count` events, and waits until every subscriber has them; returns
    /// the time from the start of the publish.
    ///
    /// # Errors
    ///
    /// When `publish` fails or the events are not all in after `timeout`.
    pub async fn round(
        &self,
        count: u64,
        timeout: Duration,
        publish: impl FnOnce() -> Result<(), BoxError>,
    ) -> Result<Duration, BoxError> {
        let counter = &self.counter;
        let target = counter.events.load(Ordering::Relaxed) + self.n * count;
        counter.target.store(target, Ordering::Relaxed);
        let start = Instant::now();
        tokio::task::block_in_place(publish)?;
        while counter.events.load(Ordering::Relaxed) < target {
            let wait = counter.reached.notified();
            if counter.events.load(Ordering::Relaxed) >= target {
                break;
            }
            tokio::time::timeout(timeout, wait)
                .await
                .map_err(|_| format!("a round timed out{}", counter.failure()))?;
        }
        Ok(start.elapsed())
    }
}

async fn subscriber(addr: SocketAddr, request: &[u8], counter: &Counter) -> Result<(), BoxError> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Err("closed in the response head".into());
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if !buf.starts_with(b"HTTP/1.1 200") {
                let head = buf.get(..end).unwrap_or_default();
                return Err(format!("refused: {}", String::from_utf8_lossy(head)).into());
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

/// How [`idle_and_fan_out`] measures.
#[derive(Debug, Clone, Copy)]
pub struct FanOutPlan {
    /// Rounds of one event each; p50 and p99 are over these.
    pub rounds: usize,
    /// The event's data, in bytes.
    pub size: usize,
    /// The wait before the baseline RSS is read.
    pub settle: Duration,
    /// The wait between rounds.
    pub pause: Duration,
    /// How long connecting the subscribers may take.
    pub connect_timeout: Duration,
    /// How long one round may take.
    pub round_timeout: Duration,
}

/// What [`idle_and_fan_out`] measured.
#[derive(Debug, Clone, Copy)]
pub struct FanOut {
    /// The server's RSS delta over the idle subscribers / N, in KB.
    pub rss_kb_per_subscriber: f64,
    /// Publish to the last of N subscribers, median, in ms.
    pub p50_ms: f64,
    /// Publish to the last of N subscribers, 99th percentile, in ms.
    pub p99_ms: f64,
    /// The server's CPU time per round (user + system, every thread), in
    /// ms: what delivering one event to N subscribers costs it.
    pub server_cpu_ms: f64,
    /// The load client's CPU time per round (this process: the publish and
    /// reading N sockets), in ms.
    pub client_cpu_ms: f64,
}

impl FanOut {
    /// The least a round can take when server and client share `cores`
    /// cores and do nothing but their CPU work, in ms: the sum of both CPU
    /// times over the cores. A latency close to it is CPU-bound.
    pub fn cpu_floor_ms(&self, cores: usize) -> f64 {
        (self.server_cpu_ms + self.client_cpu_ms) / cores.max(1) as f64
    }
}

/// Opens `n` idle subscribers to `server` and reads its RSS delta / N (500
/// ms after the last one subscribed), then times `plan.rounds` rounds of
/// one event each.
///
/// # Errors
///
/// When `/proc` cannot be read, the subscribers cannot connect, a publish
/// fails or a round times out; also when `plan.rounds` is 0.
pub async fn idle_and_fan_out(
    server: &mut ServerProcess,
    n: usize,
    plan: FanOutPlan,
) -> Result<FanOut, BoxError> {
    if plan.rounds == 0 {
        return Err("fan-out needs at least one round".into());
    }
    tokio::time::sleep(plan.settle).await;
    let before = server.rss_kb()?;
    let subscribers = Subscribers::connect(server, n, plan.connect_timeout).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_kb_per_subscriber = (server.rss_kb()? - before) / n as f64;
    let mut latencies = Vec::with_capacity(plan.rounds);
    let (server_cpu, client_cpu) = (server.cpu_seconds()?, own_cpu_seconds()?);
    for _ in 0..plan.rounds {
        let took = subscribers
            .round(1, plan.round_timeout, || server.publish(1, plan.size))
            .await?;
        latencies.push(took.as_secs_f64() * 1e3);
        tokio::time::sleep(plan.pause).await;
    }
    let rounds = plan.rounds as f64;
    let server_cpu_ms = (server.cpu_seconds()? - server_cpu) * 1e3 / rounds;
    let client_cpu_ms = (own_cpu_seconds()? - client_cpu) * 1e3 / rounds;
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((latencies.len() - 1) as f64 * q).round() as usize;
        latencies.get(index).copied().unwrap_or(f64::NAN)
    };
    Ok(FanOut {
        rss_kb_per_subscriber,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        server_cpu_ms,
        client_cpu_ms,
    })
}

// ------------------------------------------------------------ the servers

/// Serve mode (the child of [`ServerProcess::serve_mode`]): listens on
/// 127.0.0.1:0 with a backlog of 16,384 on a 2-worker runtime, lets `start`
/// spawn the server on it, prints `ready ADDR`, then publishes from this
/// thread (on a worker it starves behind 1,000 connections): per stdin line
/// `COUNT SIZE`, COUNT events of SIZE bytes through the returned function,
/// answered `done`. Returns at the end of stdin or a line that is not two
/// numbers.
///
/// # Errors
///
/// When the runtime, the socket or `start` fails, or stdio does.
pub fn serve(
    start: impl FnOnce(&Runtime, TcpListener) -> Result<Publish, BoxError>,
) -> Result<(), BoxError> {
    let runtime = runtime()?;
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind("127.0.0.1:0".parse()?)?;
    let listener = runtime.block_on(async { socket.listen(16_384) })?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", listener.local_addr()?)?;
    out.flush()?;
    let publish = start(&runtime, listener)?;
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

/// Serves every connection `listener` accepts with hyper's HTTP/1.1
/// builder, answering each request with `respond`, until accepting fails.
pub async fn serve_http1<F, B>(listener: TcpListener, respond: F)
where
    F: Fn(Request<Incoming>) -> Response<B> + Clone + Send + Sync + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    while let Ok((stream, _)) = listener.accept().await {
        let respond = respond.clone();
        let service = service_fn(move |request| {
            let response = respond(request);
            async move { Ok::<_, Infallible>(response) }
        });
        tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
    }
}

/// The peers' way to fan out: axum's `Sse` over a `broadcast::Receiver` of
/// `sender` at `GET /events`, one `Event` built per connection per event
/// (a lagging receiver skips what it missed), with `keep_alive` if given.
pub fn broadcast_router(
    sender: broadcast::Sender<String>,
    keep_alive: Option<KeepAlive>,
) -> Router {
    Router::new()
        .route(EVENTS_PATH, get(broadcast_events))
        .with_state((sender, keep_alive))
}

type BroadcastState = (broadcast::Sender<String>, Option<KeepAlive>);

async fn broadcast_events(State((sender, keep_alive)): State<BroadcastState>) -> AxumResponse {
    let receiver = sender.subscribe();
    let events = stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(data) => {
                    return Some((Ok::<_, Infallible>(Event::default().data(data)), receiver));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let sse = Sse::new(events);
    match keep_alive {
        Some(keep_alive) => sse.keep_alive(keep_alive).into_response(),
        None => sse.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn take_option_removes_the_pair_or_says_what_is_missing() {
        let mut given = args(&["1000", "--json", "out.json", "10000"]);
        assert_eq!(
            take_option(&mut given, "--json").ok().flatten().as_deref(),
            Some("out.json")
        );
        assert_eq!(given, args(&["1000", "10000"]));
        assert!(matches!(take_option(&mut given, "--json"), Ok(None)));
        let mut given = args(&["1000", "--json"]);
        let error = take_option(&mut given, "--json")
            .err()
            .map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("--json needs a value"));
    }

    #[test]
    fn write_json_writes_the_header_then_each_section() -> Result<(), BoxError> {
        let dir = std::env::temp_dir().join(format!("bourn-testkit-load-{}", std::process::id()));
        let path = dir.join("nested").join("figures.json");
        let rows = [r#"    {"a": 1}"#.to_owned(), r#"    {"a": 2}"#.to_owned()];
        write_json(&path, &[("rows", &rows), ("empty", &[])])?;
        let text = std::fs::read_to_string(&path)?;
        std::fs::remove_dir_all(&dir)?;
        let rest = text
            .strip_prefix("{\n  \"measured_unix\": ")
            .ok_or("no measured_unix")?;
        let rest = rest.get(rest.find(',').ok_or("no comma")?..).ok_or("cut")?;
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        assert_eq!(
            rest,
            format!(
                ",\n  \"cores\": {cores},\n  \"rows\": [\n    {{\"a\": 1}},\n    {{\"a\": 2}}\n  ],\n  \"empty\": [\n\n  ]\n}}\n"
            )
        );
        Ok(())
    }
}
