//! A throwaway `redis-server` on 127.0.0.1 for tests (persistence off),
//! stopped on drop, for the Redis backend's and the hub's tests.
//!
//! When `redis-server` is not installed, [`RedisServer::start`] returns
//! `None` after printing a skip notice, or panics when `BOURN_REQUIRE_REDIS`
//! is set (CI installs it and sets the variable, so a skip there is a
//! failure).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test helper: a failure to start the server fails the test"
)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process on a free loopback port.
#[derive(Debug)]
pub struct RedisServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one on a free port, or `None` (skip) without `redis-server`.
    #[expect(
        clippy::print_stderr,
        reason = "the skip notice is for the person running the tests"
    )]
    pub fn start(test: &str) -> Option<RedisServer> {
        let installed = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !installed {
            if std::env::var_os("BOURN_REQUIRE_REDIS").is_some() {
                panic!(
                    "{test}: BOURN_REQUIRE_REDIS is set but `redis-server` is not on PATH \
                     (install Debian's redis-server, e.g. through `cargo xtask ci`)"
                );
            }
            eprintln!(
                "SKIPPED {test}: `redis-server` is not installed (apt-get install redis-server; \
                 set BOURN_REQUIRE_REDIS=1 to make this a failure)"
            );
            return None;
        }
        // A port picked by binding port 0 and letting it go can be taken
        // again by another test before redis-server binds it: then this
        // server exits at once while the other listener answers. So a
        // server counts as started only when the process answering on the
        // port is this child (`INFO server`'s process_id); else, a new port.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .map(|addr| addr.port())
                .unwrap();
            let mut server = RedisServer { port, child: None };
            if server.try_spawn() {
                return Some(server);
            }
        }
        panic!("{test}: redis-server did not start on a free port in 5 attempts");
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops it (SIGKILL: its data is gone, as after a crash without
    /// persistence).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts it on its port; panics if it does not come up there.
    fn spawn(&mut self) {
        assert!(
            self.try_spawn(),
            "redis-server did not come up on port {}",
            self.port
        );
    }

    /// Starts it on its port: `true` once this child answers there (within
    /// 10 s), `false` (the child stopped) if it exited or another process
    /// answers on the port.
    fn try_spawn(&mut self) -> bool {
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let ours = format!("process_id:{}\r\n", child.id());
        while started.elapsed() < Duration::from_secs(10) {
            if child.try_wait().ok().flatten().is_some() {
                // Exited: the port was taken.
                return false;
            }
            match server_info(self.port) {
                Some(info) if info.contains(&ours) => {
                    self.child = Some(child);
                    return true;
                }
                // Another server answers on this port.
                Some(_) => break,
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

/// The answer to `INFO server` on 127.0.0.1:`port`, if a Redis answers.
fn server_info(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    let mut answer = Vec::new();
    let mut buf = [0; 4096];
    // A bulk string: `$<len>\r\n<len bytes>\r\n`; read until it is whole.
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        let whole = text.split_once("\r\n").is_some_and(|(head, body)| {
            head.strip_prefix('$')
                .and_then(|len| len.parse::<usize>().ok())
                .is_some_and(|len| body.len() >= len)
        });
        if whole || !text.starts_with('$') {
            break;
        }
    }
    Some(String::from_utf8_lossy(&answer).into_owned())
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
