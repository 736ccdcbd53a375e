//! `cargo xtask e2e`: the browser end-to-end test.
//!
//! Starts `bourn-server`'s hyper example on 127.0.0.1 (a free port) and loads
//! its demo page in headless Chromium (Debian's `chromium`, installed with
//! apt when missing). The page uses the browser's own `EventSource`: it
//! receives `message` and `tick` events, the server ends the stream after
//! three of them and publishes three more while the browser is away, the
//! browser reconnects by itself with `Last-Event-ID`, and must receive
//! exactly those three (none twice), then a final `done` event. The check
//! reads what the page recorded, from the DOM Chromium dumps, never the
//! server's logs.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

/// How long Chromium may take, in real time, before the run fails.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(90);

/// The events the page must record, in order: (type, data).
const EXPECTED: [(&str, &str); 7] = [
    ("message", "one"),
    ("tick", "two"),
    ("message", "three"),
    // Published while the browser was disconnected: replayed on resume.
    ("message", "four"),
    ("tick", "five"),
    ("message", "six"),
    // Live after the resume.
    ("done", "end"),
];

/// Runs the browser end-to-end test.
pub fn run() -> Result<()> {
    let root = crate::root();
    let chromium = ensure_chromium()?;
    let example = build_example(&root)?;
    let mut server = Server::start(&example)?;
    let result = drive(&chromium, &server.url);
    server.stop();
    let page = result?;
    check(&page)?;
    println!(
        "e2e: ok — the page received {} events in order, none twice, across one reconnect",
        EXPECTED.len()
    );
    Ok(())
}

/// The checks on what the page recorded.
fn check(dom: &str) -> Result<()> {
    let log = element_text(dom, "<pre id=\"log\">", "</pre>")
        .context("no #log element in the dumped DOM")?;
    let status = element_text(dom, "<p id=\"status\">", "</p>")
        .context("no #status element in the dumped DOM")?;
    println!("e2e: page status `{status}`, log:\n{log}");
    ensure!(
        status == "done opens=2",
        "the page did not finish with exactly one reconnect (status `{status}`): the browser's EventSource did not resume by itself"
    );
    let mut records = Vec::new();
    for line in log.lines().filter(|line| !line.is_empty()) {
        let fields: Vec<&str> = line.split(' ').collect();
        let [kind, data, id] = fields[..] else {
            bail!("unexpected page record `{line}`");
        };
        records.push((kind, data, id));
    }
    let got: Vec<(&str, &str)> = records
        .iter()
        .map(|(kind, data, _)| (*kind, *data))
        .collect();
    ensure!(
        got == EXPECTED,
        "the page recorded {got:?}, expected {EXPECTED:?} (a gap, a duplicate or a reset)"
    );
    // Ids are `<epoch>.<seq>`: one epoch, seq 1, 2, 3, ... with no hole.
    let mut epoch = None;
    for (n, (_, _, id)) in records.iter().enumerate() {
        let (this_epoch, seq) = id
            .split_once('.')
            .with_context(|| format!("event id `{id}` is not <epoch>.<seq>"))?;
        ensure!(
            *epoch.get_or_insert(this_epoch) == this_epoch,
            "event id `{id}` changed epoch"
        );
        ensure!(seq == (n + 1).to_string(), "event #{} has id `{id}`", n + 1);
    }
    Ok(())
}

/// The text between `open` and the next `close`.
fn element_text<'a>(dom: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = dom.find(open)? + open.len();
    let end = dom[start..].find(close)? + start;
    Some(&dom[start..end])
}

/// Headless Chromium as root on a machine without a network: no sandbox, no
/// GPU, and none of the background connections this machine would refuse.
pub(crate) const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// `chromium`'s path, installing Debian's package when missing.
pub(crate) fn ensure_chromium() -> Result<PathBuf> {
    if let Some(path) = find_chromium() {
        return Ok(path);
    }
    crate::apt_install("chromium", "the browser end-to-end test")?;
    find_chromium().context("apt-get installed chromium, but `chromium --version` still fails")
}

fn find_chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        let found = Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        found.then(|| PathBuf::from(name))
    })
}

/// Builds `bourn-server`'s hyper example and returns its executable.
fn build_example(root: &Path) -> Result<PathBuf> {
    println!("e2e: building bourn-server's hyper example");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "-p",
            "bourn-server",
            "--example",
            "hyper",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build")?;
    ensure!(output.status.success(), "building the hyper example failed");
    let stdout = String::from_utf8(output.stdout)?;
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_example = message["reason"] == "compiler-artifact"
            && message["target"]["name"] == "hyper"
            && message["target"]["kind"][0] == "example";
        if let (true, Some(executable)) = (is_example, message["executable"].as_str()) {
            return Ok(PathBuf::from(executable));
        }
    }
    bail!("cargo did not report the hyper example's executable")
}

/// The example server, stopped (by its own process id) on drop.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(executable: &Path) -> Result<Server> {
        let mut child = Command::new(executable)
            .arg("127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", executable.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            bail!(
                "the example server did not report its address (got `{}`)",
                line.trim()
            );
        };
        println!("e2e: server at {url}");
        Ok(Server {
            child,
            url: format!("{url}/"),
        })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Loads `url` in headless Chromium and returns the DOM it dumps once the
/// page's EventSource work is done (`--virtual-time-budget` skips the
/// reconnection delay on the page's clock).
fn drive(chromium: &Path, url: &str) -> Result<String> {
    let profile =
        std::env::temp_dir().join(format!("bourn-e2e-{}-{}", std::process::id(), nanos()));
    std::fs::create_dir_all(&profile)?;
    println!("e2e: loading {url} in headless {}", chromium.display());
    let mut child = Command::new(chromium)
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", "--virtual-time-budget=5000", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting chromium")?;
    let mut stdout = child.stdout.take().context("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut dom = String::new();
        stdout.read_to_string(&mut dom).map(|_| dom)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&profile);
            bail!("chromium did not finish within {CHROMIUM_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let _ = std::fs::remove_dir_all(&profile);
    let dom = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reading chromium's output panicked"))??;
    ensure!(
        status.success() && !dom.is_empty(),
        "chromium failed ({status}); its stderr:\n{stderr}"
    );
    Ok(dom)
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_what_the_page_recorded() {
        let page = |log: &str, status: &str| {
            format!("<pre id=\"log\">{log}</pre>\n<p id=\"status\">{status}</p>")
        };
        let good = "message one e.1\ntick two e.2\nmessage three e.3\nmessage four e.4\ntick five e.5\nmessage six e.6\ndone end e.7\n";
        assert!(check(&page(good, "done opens=2")).is_ok());
        assert!(check(&page(good, "done opens=1")).is_err());
        assert!(
            check(&page(
                &good.replace("message four e.4\n", ""),
                "done opens=2"
            ))
            .is_err()
        );
        let duplicate = good.replace("message six e.6\n", "message six e.6\nmessage six e.6\n");
        assert!(check(&page(&duplicate, "done opens=2")).is_err());
        assert!(check(&page(&good.replace("e.5", "e.9"), "done opens=2")).is_err());
        assert!(check("<html></html>").is_err());
    }
}
