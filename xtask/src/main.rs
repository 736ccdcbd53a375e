//! The project's tasks, run as `cargo xtask <task>` (the cargo-xtask convention).
//!
//! `cargo xtask ci` runs exactly what CI runs: if it passes locally, CI is green.
#![expect(
    clippy::print_stdout,
    reason = "a command-line task runner reports its progress on stdout"
)]

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

mod api;
mod e2e;
mod e2e_hub;
mod fresh_deps;
mod peers;
mod redis;
mod release;

const HELP: &str = "\
cargo xtask <task>

tasks:
  ci                  everything CI checks: fmt, clippy, tests, no-default-features,
                      docs, the public API (api-check), docs as docs.rs builds
                      them, packaging of the published crates, MSRV of their
                      dependencies, bench smoke, conformance table, conformance of
                      peer implementations, browser end-to-end
  conformance [--json PATH] [--junit PATH]
                      the conformance table: case groups x {codec, server, client, backends}
  conformance-peers [--reports DIR]
                      the suite against npm eventsource / eventsource-parser, pip httpx-sse
                      and our own adapter (conformance/PROTOCOL.md), each compared with its
                      expected-failures.json (installs the pinned packages under target/)
  api-check [--bless] the public API of each published crate against its recorded
                      listing in xtask/api/ (the semver baseline) and its list of
                      foreign crates; --bless records the current API
  bench-report        run the criterion benchmarks and write benches/REPORT.md
  release-check       the published crates: docs as docs.rs builds them, `cargo package`
                      with verify builds, MSRV of their dependencies
  fresh-deps          bourn-client built outside the workspace with the newest
                      compatible dependencies: a non-ASCII Last-Event-ID still goes out
  e2e                 the browser end-to-end test (installs Debian's chromium if missing)
  help                this text
";

fn main() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("conformance") => conformance(&rest),
        Some("conformance-peers") => peers::run(&rest),
        Some("api-check") => api::check(&rest),
        Some("bench-report") => bench_report(),
        Some("e2e") => e2e(),
        Some("release-check") => release_check(),
        Some("fresh-deps") => fresh_deps::check(),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => bail!("unknown task `{other}`\n\n{HELP}"),
    }
}

fn ci() -> Result<()> {
    let started = Instant::now();
    step("format", cargo(&["fmt", "--all", "--check"]))?;
    step(
        "clippy",
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // The Redis backend's tests start their own throwaway `redis-server`;
    // in CI a missing one is a failure, not a skip.
    redis::ensure_redis_server().context("the Redis backend tests need redis-server")?;
    let mut tests = cargo(&["test", "--workspace", "--all-features", "--locked"]);
    tests.env("BOURN_REQUIRE_REDIS", "1");
    step("tests", tests)?;
    step(
        "codec without default features",
        cargo(&[
            "test",
            "-p",
            "bourn-codec",
            "--no-default-features",
            "--locked",
        ]),
    )?;
    let mut docs = cargo(&[
        "doc",
        "--workspace",
        "--no-deps",
        "--all-features",
        "--locked",
    ]);
    docs.env("RUSTDOCFLAGS", "-D warnings");
    step("docs", docs)?;
    println!("\n==> api-check");
    api::check(&[])?;
    release_check()?;
    fresh_deps::check()?;
    step(
        "bench smoke",
        cargo(&["test", "-p", "bourn-benches", "--benches", "--locked"]),
    )?;
    conformance(&[])?;
    peers::run(&[])?;
    e2e()?;
    println!(
        "\nxtask ci: all steps passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn release_check() -> Result<()> {
    release::docs_rs()?;
    release::package()?;
    release::msrv()
}

fn conformance(args: &[&str]) -> Result<()> {
    let mut command = cargo(&[
        "run",
        "--quiet",
        "--locked",
        "-p",
        "bourn-conformance",
        "--bin",
        "conformance-report",
        "--",
    ]);
    command.args(args);
    step("conformance", command)
}

fn bench_report() -> Result<()> {
    // One criterion directory for every step: criterion's own default is
    // relative to the bench's working directory (`benches/`) when it cannot
    // place the target directory, and the report must read what it wrote.
    let criterion = target_dir().join("criterion");
    std::fs::create_dir_all(&criterion)?;
    let mut bench = cargo(&["bench", "-p", "bourn-benches"]);
    bench.env("CRITERION_HOME", &criterion);
    step("benchmarks", bench)?;
    // The server rows (issue 3): the load example, bourn beside axum's `Sse`
    // + broadcast, 1,000 and 10,000 connections (about a minute on 2 cores).
    // 10,000 connections need more descriptors than the usual soft limit:
    // the shell raises it to the hard limit for the example.
    step(
        "server load build",
        cargo(&[
            "build",
            "--release",
            "-p",
            "bourn-server",
            "--features",
            "axum",
            "--example",
            "load",
        ]),
    )?;
    let target = target_dir();
    let json = target.join("bourn-bench").join("server.json");
    let mut load = Command::new("sh");
    load.arg("-c")
        .arg(r#"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@""#)
        .arg("load")
        .arg(target.join("release").join("examples").join("load"))
        .arg("--json")
        .arg(&json)
        .current_dir(root());
    step("server load", load)?;
    // The hub binary beside the bare library and axum's `Sse` (issue 11):
    // RSS per idle subscriber and fan-out at 1,000 and 10,000.
    step(
        "hub load build",
        cargo(&["build", "--release", "-p", "bourn-cli"]),
    )?;
    step(
        "hub load example build",
        cargo(&[
            "build",
            "--release",
            "-p",
            "bourn-benches",
            "--example",
            "hub-load",
        ]),
    )?;
    let hub_json = target.join("bourn-bench").join("hub.json");
    let mut hub_load = Command::new("sh");
    hub_load
        .arg("-c")
        .arg(r#"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@""#)
        .arg("hub-load")
        .arg(target.join("release").join("examples").join("hub-load"))
        .arg("--hub")
        .arg(target.join("release").join("bourn"))
        .arg("--json")
        .arg(&hub_json)
        .current_dir(root());
    step("hub load", hub_load)?;
    // The client rows at 1,000 connections (issue 4): RSS per connection and
    // events/s, each client kind in its own process, beside the criterion
    // directory's `client-cost.json`.
    let conns = criterion.join("client-conns.json");
    let mut clients = Command::new("sh");
    clients
        .arg("-c")
        .arg(r#"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@""#)
        .arg("client-load")
        .arg(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "run",
            "--quiet",
            "--profile",
            "bench",
            "-p",
            "bourn-benches",
            "--example",
            "client-load",
            "--",
            "report",
            "--conns",
            "1000",
            "--json",
        ])
        .arg(&conns)
        .current_dir(root());
    step("client connections", clients)?;
    let mut report = cargo(&[
        "run",
        "--quiet",
        "--release",
        "-p",
        "bourn-benches",
        "--bin",
        "bench-report",
        "--",
        "--server-json",
        &json.to_string_lossy(),
        "--hub-json",
        &hub_json.to_string_lossy(),
    ]);
    report.env("CRITERION_HOME", &criterion);
    step("bench report", report)
}

fn e2e() -> Result<()> {
    println!("\n==> e2e: EventSource in headless Chromium against bourn-server");
    let started = Instant::now();
    e2e::run().context("browser end-to-end test (bourn-server example)")?;
    println!("\n==> e2e: the bourn serve page in two Chromium tabs");
    e2e_hub::run().context("browser end-to-end test (bourn serve page)")?;
    println!("==> e2e: ok in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// A `cargo` command run from the workspace root.
fn cargo(args: &[&str]) -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(args).current_dir(root());
    command
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, else `target/` in the root.
pub(crate) fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// The workspace root (xtask lives one folder below it).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn step(name: &str, mut command: Command) -> Result<()> {
    println!("\n==> {name}: {command:?}");
    let started = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("could not start {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    println!("==> {name}: ok in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Installs Debian's `package` with apt-get (after `apt-get update`: a fresh
/// machine has no package lists), for a task that needs it. The error says
/// what to do by hand when that is impossible (no apt-get, not root, no
/// mirror).
pub(crate) fn apt_install(package: &str, needed_for: &str) -> Result<()> {
    println!("xtask: {package} is missing ({needed_for} needs it): installing it with apt-get");
    for args in [
        &["update"][..],
        &["install", "-y", "--no-install-recommends", package],
    ] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(std::process::Stdio::null())
            .status();
        match status {
            Ok(status) if status.success() => {}
            outcome => bail!(
                "`apt-get {}` failed ({outcome:?}): {needed_for} needs Debian's `{package}`; \
                 install it by hand (as root: `apt-get update && apt-get install -y {package}`) \
                 and run the task again",
                args.join(" ")
            ),
        }
    }
    Ok(())
}
