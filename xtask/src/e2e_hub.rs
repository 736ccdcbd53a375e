//! `cargo xtask e2e`, the hub part: `bourn serve`'s page in two tabs of
//! headless Chromium, driven over the DevTools protocol.
//!
//! Starts `bourn serve` on 127.0.0.1 (a free port) and Debian's `chromium`
//! (installed with apt when missing) with a fresh profile. Opens the hub's
//! page in two tabs on a fresh topic, waits until both show the stream as
//! open, then, in the first tab, types an event type and data into the
//! publish form and clicks Publish with real input events. The second tab
//! must show the event, with the id the hub answered to the first tab. The
//! check reads what the receiving page shows (its DOM), not the hub's logs.
//! Then the hub is restarted on the same port: the receiving tab must show
//! that it reconnected, and the `bourn-reset` event (the in-memory log was
//! lost), not a silent gap.
//! A screenshot of the receiving tab is left in cargo's target directory
//! (`target/e2e-hub.png`).

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// The longest any one step may take.
const STEP: Duration = Duration::from_secs(30);
/// The event type typed into the form.
const EVENT_TYPE: &str = "greeting";

/// Runs the hub's browser end-to-end test.
pub fn run() -> Result<()> {
    let root = crate::root();
    let chromium = crate::e2e::ensure_chromium()?;
    let bourn = build_bourn(&root)?;
    let mut hub = Hub::start(&bourn, "127.0.0.1:0", &[])?;
    println!("e2e-hub: bourn serve at {}", hub.url);
    let profile = Profile::new()?;
    let mut browser = Browser::launch(&chromium, &profile.0)?;
    let target = crate::target_dir();
    std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    let screenshot = target.join("e2e-hub.png");
    let result = drive(&mut browser, &mut hub, &bourn, &screenshot);
    drop(hub);
    let result = result.and_then(|()| {
        println!("e2e-hub: the runs page, reloaded mid-answer");
        drive_runs(&mut browser, &bourn, &target.join("e2e-runs.png"))
    });
    drop(browser);
    drop(profile);
    result
}

/// Tokens the mock upstream sends, one every [`TOKEN_EVERY`].
const TOKENS: usize = 60;
const TOKEN_EVERY: Duration = Duration::from_millis(50);

/// A mock LLM API on loopback: each request gets [`TOKENS`] JSON tokens;
/// counts its requests. Stops when dropped.
struct MockUpstream {
    addr: std::net::SocketAddr,
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl MockUpstream {
    fn start() -> Result<MockUpstream> {
        use std::io::Write as _;
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let mock = MockUpstream {
            addr: listener.local_addr()?,
            requests: std::sync::Arc::default(),
            stop: std::sync::Arc::default(),
        };
        let (requests, stop) = (mock.requests.clone(), mock.stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut stream) = stream else { continue };
                requests.fetch_add(1, Ordering::SeqCst);
                let stop = stop.clone();
                thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut buf = [0; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
                    );
                    for i in 0..TOKENS {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        let token = format!("data: {{\"text\":\"w{i} \"}}\n\n");
                        if stream.write_all(token.as_bytes()).is_err() {
                            return;
                        }
                        thread::sleep(TOKEN_EVERY);
                    }
                });
            }
        });
        Ok(mock)
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Starts a run from the runs page, reloads the page mid-answer, and
/// checks that the page shows the whole answer once, from one upstream call.
fn drive_runs(browser: &mut Browser, bourn: &Path, screenshot: &Path) -> Result<()> {
    let mock = MockUpstream::start()?;
    let upstream = format!("mock=http://{}/v1/chat", mock.addr);
    let hub = Hub::start(
        bourn,
        "127.0.0.1:0",
        &["--upstream", &upstream, "--allow-private-upstreams"],
    )?;
    let tab = browser.open_tab(&format!("{}runs/view", hub.url))?;
    browser.call(Some(&tab), "Page.enable", json!({}))?;
    browser.wait_for(
        &tab,
        "document.getElementById('upstream').options.length === 1 || null",
        "the upstream list",
    )?;
    browser.call(Some(&tab), "Page.bringToFront", json!({}))?;
    browser.type_into(&tab, "prompt", "Count for me")?;
    browser.click(&tab, "start")?;
    let shown = browser.wait_for(
        &tab,
        "Number(document.getElementById('count').textContent) >= 10 || null",
        "ten tokens on the page",
    )?;
    ensure!(shown == json!(true), "the page shows {shown}");
    let id = browser.eval(&tab, "document.getElementById('run-id').textContent")?;
    println!("e2e-hub: run {id} started from the page; reloading mid-answer");
    browser.call(Some(&tab), "Page.reload", json!({}))?;
    let outcome = browser.wait_for(
        &tab,
        "(() => { const s = document.body.dataset.run; return s && s !== 'running' ? s : null; })()",
        "the run's end on the reloaded page",
    )?;
    ensure!(outcome == json!("completed"), "the run ended as {outcome}");
    let answer = browser.eval(&tab, "document.getElementById('answer').textContent")?;
    let expected: String = (0..TOKENS).map(|i| format!("w{i} ")).collect();
    ensure!(
        answer.as_str() == Some(expected.as_str()),
        "the reloaded page shows {answer}, expected the whole answer once: {expected:?}"
    );
    let requests = mock.requests.load(std::sync::atomic::Ordering::SeqCst);
    ensure!(requests == 1, "the upstream was called {requests} times");
    println!(
        "e2e-hub: ok — after a reload the page shows all {TOKENS} tokens once; one upstream request"
    );
    browser.screenshot(&tab, screenshot)?;
    println!(
        "e2e-hub: screenshot of the runs page: {}",
        screenshot.display()
    );
    drop(hub);
    drop(mock);
    Ok(())
}

/// Publishes from tab A's form; tab B must show the event. Then restarts
/// the hub: tab B must show that it reconnected, and the reset event.
fn drive(browser: &mut Browser, hub: &mut Hub, bourn: &Path, screenshot: &Path) -> Result<()> {
    let nonce = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() % 1_000_000_000;
    let topic = format!("e2e-{nonce}");
    let message = format!("hello from tab A ({nonce})");
    let url = format!("{}?topic={topic}", hub.url);
    let sender = browser.open_tab(&url)?;
    let receiver = browser.open_tab(&url)?;
    for tab in [&sender, &receiver] {
        browser.wait_for(
            tab,
            "document.body.dataset.state === 'open'",
            "the stream to open",
        )?;
    }
    println!("e2e-hub: two tabs on topic {topic}, both open");

    // Type into the form and click the button, as a person would.
    browser.call(Some(&sender), "Page.bringToFront", json!({}))?;
    browser.type_into(&sender, "publish-event", EVENT_TYPE)?;
    browser.type_into(&sender, "publish-data", &message)?;
    browser.click(&sender, "publish")?;
    let result = browser.wait_for(
        &sender,
        "(() => { const r = document.getElementById('publish-result'); \
         return r.className === 'error' ? 'error: ' + r.textContent : (r.dataset.id || null); })()",
        "the hub's answer in tab A",
    )?;
    let id = result
        .as_str()
        .context("the publish result is not text")?
        .to_owned();
    ensure!(!id.starts_with("error"), "tab A could not publish: {id}");
    println!("e2e-hub: tab A published {EVENT_TYPE} as {id}");

    // Tab B learns the new type from the hub and shows the event (replayed
    // from the log if it arrived before the page listened for its type).
    let find = format!(
        "(() => {{ const row = [...document.querySelectorAll('tr.event')].find(r => \
         r.dataset.type === {ty} && r.querySelector('td.data').textContent === {data}); \
         return row ? row.dataset.id : null; }})()",
        ty = json!(EVENT_TYPE),
        data = json!(message),
    );
    let shown = browser.wait_for(&receiver, &find, "the event in tab B")?;
    ensure!(
        shown.as_str() == Some(id.as_str()),
        "tab B shows the event with id {shown}, tab A was answered {id}"
    );
    let rows = browser.eval(
        &receiver,
        &format!(
            "[...document.querySelectorAll('tr.event')].filter(r => r.dataset.id === {}).length",
            json!(id)
        ),
    )?;
    ensure!(rows == json!(1), "tab B shows the event {rows} times");
    let state = browser.eval(&receiver, "document.getElementById('state').textContent")?;
    println!("e2e-hub: ok — tab B shows {EVENT_TYPE} {id} once, state {state}");

    // A restart loses the in-memory log: tab B's EventSource reconnects by
    // itself, the page shows it, and the hub's reset event says events may
    // have been missed.
    let addr = hub.addr.clone();
    hub.stop()?;
    *hub = Hub::start(bourn, &addr, &[])?;
    browser.wait_for(
        &receiver,
        "Number(document.getElementById('reconnects').textContent) >= 1",
        "tab B to show a reconnect",
    )?;
    let reset = browser.wait_for(
        &receiver,
        "(() => { const r = document.querySelector('tr.event.reset'); \
         return r ? r.querySelector('td.data').textContent + ' ' + r.dataset.id : null; })()",
        "the reset event in tab B",
    )?;
    let reset = reset.as_str().unwrap_or_default().to_owned();
    ensure!(
        reset.starts_with("epoch "),
        "tab B's reset row reads {reset:?}"
    );
    browser.wait_for(
        &receiver,
        "document.body.dataset.state === 'open'",
        "tab B to be open again",
    )?;
    println!("e2e-hub: ok — after a hub restart tab B reconnected and shows bourn-reset {reset}");
    // A picture for people; the check above does not depend on it.
    browser.call(Some(&receiver), "Page.bringToFront", json!({}))?;
    browser.screenshot(&receiver, screenshot)?;
    println!("e2e-hub: screenshot of tab B: {}", screenshot.display());
    Ok(())
}

/// A running `bourn serve`, killed when dropped.
struct Hub {
    child: Child,
    url: String,
    addr: String,
}

impl Hub {
    fn start(bourn: &Path, addr: &str, extra: &[&str]) -> Result<Hub> {
        let mut child = Command::new(bourn)
            // The in-memory log: the restart must show tab B a reset.
            .args(["serve", "--addr", addr, "--store", "memory"])
            .args(extra)
            .env_remove("BOURN_CONFIG")
            .env_remove("BOURN_PUBLISH_TOKEN")
            .env_remove("BOURN_SUBSCRIBE_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", bourn.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(STEP) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                bail!("bourn serve printed no URL within {STEP:?}");
            }
        };
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .with_context(|| format!("no URL in {line:?}"))?
            .to_owned();
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        Ok(Hub { child, url, addr })
    }

    /// Stops the hub as a service manager would (SIGTERM), and waits.
    fn stop(&mut self) -> Result<()> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status()?;
        ensure!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + STEP;
        while self.child.try_wait()?.is_none() {
            ensure!(
                Instant::now() < deadline,
                "bourn serve did not stop on SIGTERM"
            );
            thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh Chromium profile directory, removed when dropped.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Result<Profile> {
        let path = std::env::temp_dir().join(format!("bourn-e2e-hub-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Profile(path))
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Headless Chromium and one DevTools connection to it (flattened
/// sessions: every tab is addressed through the browser's socket).
struct Browser {
    child: Child,
    socket: WebSocket<TcpStream>,
    next_id: u64,
}

impl Browser {
    fn launch(chromium: &Path, profile: &Path) -> Result<Browser> {
        let mut child = Command::new(chromium)
            .args(crate::e2e::CHROMIUM_FLAGS)
            .args(["--remote-debugging-port=0", "--window-size=1200,900"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", chromium.display()))?;
        // Chromium writes the port it chose, and the browser's DevTools
        // path, to DevToolsActivePort in the profile.
        let file = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + STEP;
        let (port, path) = loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break (port.trim().to_owned(), path.trim().to_owned());
                }
            }
            if let Some(status) = child.try_wait()? {
                bail!("chromium exited at start ({status})");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("chromium wrote no DevToolsActivePort within {STEP:?}");
            }
            thread::sleep(Duration::from_millis(50));
        };
        let addr = format!("127.0.0.1:{port}");
        let stream = TcpStream::connect(&addr)
            .with_context(|| format!("connecting to DevTools at {addr}"))?;
        stream.set_read_timeout(Some(STEP))?;
        let (socket, _) = tungstenite::client(format!("ws://{addr}{path}"), stream)
            .map_err(|error| anyhow::anyhow!("DevTools WebSocket handshake: {error}"))?;
        Ok(Browser {
            child,
            socket,
            next_id: 0,
        })
    }

    /// Sends a command (to a tab's session, or to the browser) and returns
    /// its result; events read meanwhile are skipped.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .with_context(|| format!("sending {method}"))?;
        let deadline = Instant::now() + STEP;
        loop {
            ensure!(
                Instant::now() < deadline,
                "no answer to {method} within {STEP:?}"
            );
            let message = self
                .socket
                .read()
                .with_context(|| format!("reading the answer to {method}"))?;
            let Message::Text(text) = message else {
                continue;
            };
            let reply: Value = serde_json::from_str(text.as_str())?;
            if reply["id"] != json!(id) {
                continue;
            }
            if let Some(error) = reply.get("error") {
                bail!("{method} failed: {error}");
            }
            return Ok(reply["result"].clone());
        }
    }

    /// Opens `url` in a new tab and returns the tab's session id.
    fn open_tab(&mut self, url: &str) -> Result<String> {
        let target = self.call(None, "Target.createTarget", json!({ "url": url }))?;
        let target = target["targetId"]
            .as_str()
            .context("no targetId")?
            .to_owned();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        )?;
        let session = attached["sessionId"]
            .as_str()
            .context("no sessionId")?
            .to_owned();
        Ok(session)
    }

    /// The value of a JavaScript expression in a tab.
    fn eval(&mut self, tab: &str, expression: &str) -> Result<Value> {
        let result = self.call(
            Some(tab),
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        )?;
        if let Some(exception) = result.get("exceptionDetails") {
            bail!("`{expression}` threw: {exception}");
        }
        Ok(result["result"]["value"].clone())
    }

    /// Polls `expression` until it is truthy (not null, false, 0 or "").
    fn wait_for(&mut self, tab: &str, expression: &str, what: &str) -> Result<Value> {
        let deadline = Instant::now() + STEP;
        loop {
            // The page may still be loading: an exception is "not yet".
            if let Ok(value) = self.eval(tab, expression) {
                let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                    && value != json!(0)
                    && value != json!("");
                if truthy {
                    return Ok(value);
                }
            }
            ensure!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Focuses the element `id` and types `text` into it.
    fn type_into(&mut self, tab: &str, id: &str, text: &str) -> Result<()> {
        self.eval(
            tab,
            &format!("document.getElementById({}).focus()", json!(id)),
        )?;
        self.call(Some(tab), "Input.insertText", json!({ "text": text }))?;
        let value = self.eval(
            tab,
            &format!("document.getElementById({}).value", json!(id)),
        )?;
        ensure!(value == json!(text), "#{id} holds {value} after typing");
        Ok(())
    }

    /// Clicks the middle of the element `id` with the mouse.
    fn click(&mut self, tab: &str, id: &str) -> Result<()> {
        let at = self.eval(
            tab,
            &format!(
                "(() => {{ const e = document.getElementById({}); e.scrollIntoView({{block: 'center'}}); \
                 const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()",
                json!(id)
            ),
        )?;
        let (x, y) = (
            at[0].as_f64().context("no x")?,
            at[1].as_f64().context("no y")?,
        );
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                Some(tab),
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            )?;
        }
        Ok(())
    }

    /// Saves a PNG of the tab.
    fn screenshot(&mut self, tab: &str, path: &Path) -> Result<()> {
        let shot = self.call(
            Some(tab),
            "Page.captureScreenshot",
            json!({ "format": "png" }),
        )?;
        let data = shot["data"].as_str().context("no screenshot data")?;
        std::fs::write(path, decode_base64(data)?)
            .with_context(|| format!("writing {}", path.display()))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.socket.close(None);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64 (DevTools' screenshot encoding), without a dependency.
fn decode_base64(text: &str) -> Result<Vec<u8>> {
    let value = |c: u8| -> Result<u32> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => bail!("invalid base64 byte {c}"),
        }
        .into())
    };
    let bytes: Vec<u8> = text
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let [_, a, b, c] = n.to_be_bytes();
        out.extend_from_slice(&[a, b, c][..chunk.len().saturating_sub(1)]);
    }
    Ok(out)
}

/// The `bourn` binary, built with `cargo build -p bourn-cli`.
fn build_bourn(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "-p",
            "bourn-cli",
            "--bin",
            "bourn",
            "--message-format=json-render-diagnostics",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo build -p bourn-cli")?;
    let mut output = String::new();
    child
        .stdout
        .take()
        .context("no cargo stdout")?
        .read_to_string(&mut output)?;
    ensure!(child.wait()?.success(), "cargo build -p bourn-cli failed");
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "bourn"
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .context("cargo built no `bourn` executable")
}
