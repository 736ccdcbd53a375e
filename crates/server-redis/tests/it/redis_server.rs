//! A throwaway `redis-server` on 127.0.0.1 for tests (persistence off),
//! stopped on drop (a copy of bourn-server's test helper, so that this
//! suite moves to bourn-conformance as it is).
//!
//! When `redis-server` is not installed, [`RedisServer::start`] returns
//! `None` after printing a skip notice, or panics when `BOURN_REQUIRE_REDIS`
//! is set (CI installs it and sets the variable, so a skip there is a
//! failure).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
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
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .unwrap();
        let mut server = RedisServer { port, child: None };
        server.spawn();
        Some(server)
    }

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

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
