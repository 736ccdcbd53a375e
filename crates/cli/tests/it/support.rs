//! Running `bourn`, talking raw HTTP/1.1 to it, reading its output with
//! deadlines.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// The longest any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// Variables that would change the binary's behaviour.
const ENV: [&str; 35] = [
    "BOURN_CONFIG",
    "BOURN_METRICS_TOKEN",
    "BOURN_ALLOWED_HOSTS",
    "BOURN_TOPIC_TTL",
    "BOURN_ADDR",
    "BOURN_PUBLISH_TOKEN",
    "BOURN_SUBSCRIBE_TOKEN",
    "BOURN_CORS_ORIGINS",
    "BOURN_MAX_BODY",
    "BOURN_MAX_TOPICS",
    "BOURN_MAX_SUBSCRIBERS",
    "BOURN_MAX_TOPIC_SUBSCRIBERS",
    "BOURN_LOG_EVENTS",
    "BOURN_LOG_BYTES",
    "BOURN_STORE",
    "BOURN_DURABILITY",
    "BOURN_QUEUE_LEN",
    "BOURN_KEEP_ALIVE",
    "BOURN_RETRY_HINT",
    "BOURN_GRACE",
    "BOURN_HEADER_TIMEOUT",
    "BOURN_BODY_TIMEOUT",
    "BOURN_MAX_CONNECTIONS",
    "BOURN_WRITE_TIMEOUT",
    "RUST_LOG",
    "NO_COLOR",
    "BOURN_BEARER",
    // `bourn listen` honours proxies from the environment.
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// `bourn` with a clean environment, and a data directory (`XDG_DATA_HOME`,
/// `HOME`) that is never the real one: a path nothing creates, for commands
/// that store nothing. A hub gets its own with [`bourn_in`].
pub fn bourn() -> Command {
    let unused = std::env::temp_dir().join(format!("bourn-cli-it-{}-unused", std::process::id()));
    bourn_in(&unused)
}

/// `bourn` with a clean environment and `data` as its data directory.
pub fn bourn_in(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bourn"));
    for name in ENV {
        command.env_remove(name);
    }
    command.env("XDG_DATA_HOME", data).env("HOME", data);
    command
}

/// A fresh data directory for `bourn serve` (where its default embedded
/// store goes), removed when dropped.
#[derive(Debug)]
pub struct DataDir {
    pub path: PathBuf,
}

impl DataDir {
    pub fn new() -> DataDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "bourn-cli-it-{}-data-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // Left over from an earlier run with the same process id.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        DataDir { path }
    }

    /// Where `bourn serve` keeps its embedded store by default.
    pub fn default_store(&self) -> PathBuf {
        self.path.join("bourn").join("bourn.redb")
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Runs `bourn ARGS` to completion (bounded), with `stdin` as its input.
pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    run_with_env(args, &[], stdin)
}

/// [`run`] with these environment variables set.
pub fn run_with_env(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut command = bourn();
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());
    let status = wait_for_exit(&mut child, WAIT).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("bourn {args:?} did not exit within {WAIT:?}")
    });
    writer.join().unwrap();
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// What a finished `bourn` printed.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

fn collect(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits up to `limit` for `child` to exit.
pub fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Lines of a child's pipe, read on a thread, taken with a deadline.
pub struct Lines {
    rx: Receiver<String>,
}

impl Lines {
    pub fn new(pipe: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines { rx }
    }

    /// The next line, or a panic after [`WAIT`].
    pub fn next(&self) -> String {
        self.rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|error| panic!("no line within {WAIT:?}: {error}"))
    }

    /// Lines until one contains `needle` (returned), or a panic after [`WAIT`].
    pub fn until(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(error) => panic!("no line with {needle:?} within {WAIT:?}: {error}"),
            }
        }
    }
}

/// A running `bourn serve`, stopped (SIGKILL) when dropped.
pub struct Hub {
    pub child: Child,
    pub addr: SocketAddr,
    /// The hub's logs (drained, so a chatty hub never blocks on a full pipe).
    pub stderr: Lines,
    _stdout: Lines,
    /// Its own data directory, unless it was given one.
    _data: Option<DataDir>,
}

impl Hub {
    /// `bourn serve --addr 127.0.0.1:0 ARGS` with a data directory of its
    /// own, once it printed its URL.
    pub fn start(args: &[&str]) -> Hub {
        Hub::start_at("127.0.0.1:0", args)
    }

    /// `bourn serve --addr ADDR ARGS` with a data directory of its own, once
    /// it printed its URL.
    pub fn start_at(addr: &str, args: &[&str]) -> Hub {
        let data = DataDir::new();
        let mut hub = Hub::start_in(&data.path, addr, args);
        hub._data = Some(data);
        hub
    }

    /// `bourn serve --addr ADDR ARGS` with `data` as its data directory, once
    /// it printed its URL.
    pub fn start_in(data: &Path, addr: &str, args: &[&str]) -> Hub {
        Hub::spawn(data, addr, args, &[])
    }

    /// [`Hub::start`] with these environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Hub {
        let data = DataDir::new();
        let mut hub = Hub::spawn(&data.path, "127.0.0.1:0", args, env);
        hub._data = Some(data);
        hub
    }

    fn spawn(data: &Path, addr: &str, args: &[&str], env: &[(&str, &str)]) -> Hub {
        let mut child = bourn_in(data)
            .args(["serve", "--addr", addr])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let stderr = Lines::new(child.stderr.take().unwrap());
        let lines = Lines::new(stdout);
        let first = lines.next();
        let url = first
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"));
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        Hub {
            child,
            addr,
            stderr,
            _stdout: lines,
            _data: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A one-shot HTTP/1.1 request.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        request(self.addr, method, path, headers, body)
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        wait_for_exit(&mut self.child, WAIT).expect("the hub did not exit after SIGTERM")
    }

    /// A metric's value from `GET /metrics`.
    pub fn metric(&self, name: &str) -> u64 {
        let text = self.request("GET", "/metrics", &[], b"").text();
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .parse()
            .unwrap()
    }

    /// Waits until `GET /metrics` shows `value` for `name`.
    pub fn wait_metric(&self, name: &str, value: u64) {
        let deadline = Instant::now() + WAIT;
        while self.metric(name) != value {
            assert!(Instant::now() < deadline, "{name} never reached {value}");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        // Before `_data` is removed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `bourn listen` running in the background, killed when dropped.
pub struct Listen {
    pub child: Child,
    pub stdout: Lines,
    pub stderr: Lines,
}

impl Listen {
    pub fn start(args: &[&str]) -> Listen {
        let mut child = bourn()
            .arg("listen")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Lines::new(child.stdout.take().unwrap());
        let stderr = Lines::new(child.stderr.take().unwrap());
        Listen {
            child,
            stdout,
            stderr,
        }
    }

    /// The next NDJSON event printed.
    pub fn event(&self) -> serde_json::Value {
        let line = self.stdout.next();
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("{line:?}: {error}"))
    }

    pub fn wait(&mut self) -> ExitStatus {
        wait_for_exit(&mut self.child, WAIT).expect("bourn listen did not exit")
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response read to its end.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// `method path` with `Connection: close`, read to the end (the server
/// closes), bounded by [`WAIT`]. Bodies are sent with `Content-Length`.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before taking the whole body.
    let _ = stream.write_all(body);
    read_response(stream)
}

/// Reads a whole response (`Connection: close`), de-chunking the body.
pub fn read_response(mut stream: TcpStream) -> Response {
    let mut bytes = Vec::new();
    let mut buf = [0; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            // A reset after the answer (the server did not read the body).
            Err(error)
                if error.kind() == std::io::ErrorKind::ConnectionReset && !bytes.is_empty() =>
            {
                break;
            }
            Err(error) => panic!("reading the response: {error}"),
        }
    }
    parse_response(&bytes)
}

pub fn parse_response(bytes: &[u8]) -> Response {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut rest = &bytes[end + 4..];
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        let mut body = Vec::new();
        while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            rest = &rest[line_end + 2..];
            if size == 0 || rest.len() < size {
                body.extend_from_slice(&rest[..size.min(rest.len())]);
                break;
            }
            body.extend_from_slice(&rest[..size]);
            rest = &rest[(size + 2).min(rest.len())..];
        }
        body
    } else {
        rest.to_vec()
    };
    Response { status, head, body }
}

/// Opens a request and returns the status line and headers only, leaving the
/// stream open (for event streams, which never end by themselves).
pub fn open_stream(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (Response, TcpStream) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    let mut byte = [0; 1];
    while !bytes.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert_eq!(n, 1, "the connection closed in the response head");
        bytes.push(byte[0]);
    }
    (parse_response(&bytes), stream)
}

/// A server for one connection that answers `response` and records the
/// request head and body (for `bourn listen` exit codes and request options).
pub fn one_shot_server(response: &'static [u8]) -> (SocketAddr, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut request = Vec::new();
        let mut buf = [0; 4096];
        // Read the head, then as many body bytes as Content-Length says.
        loop {
            let n = stream.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
            if n == 0 {
                break;
            }
            if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .map_or(0, |value| value.trim().parse::<usize>().unwrap());
                if request.len() >= end + 4 + length {
                    break;
                }
            }
        }
        stream.write_all(response).unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    (addr, handle)
}

/// A free port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A two-thread tokio runtime for a test's async clients and servers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `GET path` over HTTP/2 with prior knowledge on a new connection to
/// `addr` (the connection runs on the caller's runtime); the response, its
/// body unread.
pub async fn http2_get(addr: SocketAddr, path: &str) -> http::Response<hyper::body::Incoming> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(format!("http://{addr}{path}"))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = tokio::time::timeout(WAIT, sender.send_request(request))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    response
}
