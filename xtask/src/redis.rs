//! `ensure_redis_server`: the Redis store's tests need Debian's
//! `redis-server` on PATH; CI installs it when missing.
//!
//! The tests start their own throwaway instance on a free 127.0.0.1 port
//! with persistence off and stop it after; this only makes sure the binary
//! is there (`cargo xtask ci` then sets `BOURN_REQUIRE_REDIS=1`, so a missing
//! server fails the tests instead of skipping them).

use std::process::{Command, Stdio};

use anyhow::{Result, bail};

/// Makes sure `redis-server` runs: returns at once if it is on PATH,
/// otherwise installs Debian's `redis-server` package with apt-get (after
/// an `apt-get update`), and fails with a clear message when that is not
/// possible (no apt-get, not root, no network to the package mirror).
pub fn ensure_redis_server() -> Result<()> {
    if redis_server_version().is_some() {
        return Ok(());
    }
    crate::apt_install("redis-server", "the Redis store's tests")?;
    match redis_server_version() {
        Some(version) => {
            println!("xtask: installed {version}");
            Ok(())
        }
        None => bail!("apt-get installed redis-server but `redis-server --version` still fails"),
    }
}

/// `redis-server --version`'s first line, if it runs.
fn redis_server_version() -> Option<String> {
    let output = Command::new("redis-server")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().next().map(str::to_owned)
}
