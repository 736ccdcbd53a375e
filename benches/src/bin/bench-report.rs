//! `bench-report`: writes `benches/REPORT.md` from criterion's results.
//!
//! ```text
//! bench-report [--criterion-dir DIR] [--out FILE] [--server-json FILE] [--hub-json FILE]
//! bench-report --hub-section FILE   # prints only the hub section
//! ```
//!
//! Run it after `cargo bench -p bourn-benches` (`cargo xtask bench-report` does
//! both, and runs the server's load example first). The criterion directory
//! is found as criterion finds it (`$CRITERION_HOME`,
//! `$CARGO_TARGET_DIR/criterion`, the target directory holding this binary);
//! the report goes beside `benches/Cargo.toml`.
//!
//! Besides criterion's rows, the report gains:
//! - the server rows (issue 3) from the JSON the load example writes
//!   (`crates/server/examples/load.rs --json`; default
//!   `<criterion dir>/../bourn-bench/server.json`), with the targets;
//! - the client cost rows (issue 4) from `client-cost.json`, which the
//!   client bench writes into the criterion directory, with the targets;
//! - the hub rows (issue 11) from the JSON `benches/examples/hub-load.rs
//!   --json` writes (default `<criterion dir>/../bourn-bench/hub.json`):
//!   `bourn serve` beside the bare library and axum's `Sse`, with the
//!   targets;
//! - the client conformance scores (issue 13) from `client-conformance.json`,
//!   which the client bench writes, beside each client's CPU time per event;
//! - `benches/BACKENDS.md` (issue 6), included as it is.
//!
//! `--client-conformance-only` rewrites just the client conformance section
//! of the existing report (after `cargo bench -p bourn-benches --bench client
//! -- conformance`, or the smoke run `cargo test -p bourn-benches --bench
//! client`), leaving every measured figure as it is.
//!
//! A missing input leaves a line saying so, never a failed report.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Deserialize;

use bourn_benches::criterion_dir;
use bourn_benches::report::{
    CLIENT_CONFORMANCE_FILE, ClientConformance, Report, default_output, render_client_conformance,
};

const USAGE: &str = "usage: bench-report [--criterion-dir DIR] [--out FILE] [--server-json FILE] \
                     [--hub-json FILE] [--client-conformance-only] | --hub-section FILE";

fn main() -> ExitCode {
    let mut dir = criterion_dir();
    let mut out = default_output();
    let mut server_json = None;
    let mut hub_json = None;
    let mut args = std::env::args().skip(1);
    let mut splice = false;
    while let Some(arg) = args.next() {
        if arg == "--client-conformance-only" {
            splice = true;
            continue;
        }
        match (arg.as_str(), args.next()) {
            ("--criterion-dir", Some(value)) => dir = PathBuf::from(value),
            ("--out", Some(value)) => out = PathBuf::from(value),
            ("--server-json", Some(value)) => server_json = Some(PathBuf::from(value)),
            ("--hub-json", Some(value)) => hub_json = Some(PathBuf::from(value)),
            ("--hub-section", Some(value)) => {
                print!("{}", hub_section(Path::new(&value)));
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if splice {
        return splice_client_conformance(&dir, &out);
    }
    let report = match Report::load(&dir) {
        Ok(report) => report,
        Err(error) => {
            eprintln!(
                "bench-report: cannot read {}: {error} (run `cargo bench -p bourn-benches` first)",
                dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    if report.rows.is_empty() {
        eprintln!("bench-report: no benchmark results under {}", dir.display());
        return ExitCode::FAILURE;
    }
    let server_json = server_json.unwrap_or_else(|| {
        dir.parent()
            .unwrap_or(&dir)
            .join("bourn-bench")
            .join("server.json")
    });
    let hub_json = hub_json.unwrap_or_else(|| server_json.with_file_name("hub.json"));
    let backends = default_output().with_file_name("BACKENDS.md");
    let mut text = report.render();
    text.push_str(&server_section(&server_json));
    text.push_str(&hub_section(&hub_json));
    text.push_str(&client_section(&dir.join("client-cost.json")));
    text.push_str(&client_conformance_section(&dir));
    text.push_str(&backends_section(&backends));
    if let Err(error) = std::fs::write(&out, text) {
        eprintln!("bench-report: cannot write {}: {error}", out.display());
        return ExitCode::FAILURE;
    }
    println!(
        "bench-report: {} rows from {} -> {}",
        report.rows.len(),
        dir.display(),
        out.display()
    );
    ExitCode::SUCCESS
}

// ------------------------------------------------------------------ server

/// `load.rs --json`: one process per server on 127.0.0.1.
#[derive(Deserialize)]
struct ServerFigures {
    cores: usize,
    idle_and_fan_out: Vec<IdleRow>,
    delivered: Vec<DeliveredRow>,
}

#[derive(Deserialize)]
struct IdleRow {
    server: String,
    n: usize,
    rss_kb_per_idle_connection: f64,
    fan_out_p50_ms: f64,
    fan_out_p99_ms: f64,
}

#[derive(Deserialize)]
struct DeliveredRow {
    server: String,
    subscribers: usize,
    delivered_per_s: f64,
    cpu_s_per_million: f64,
}

const BOURN_SERVER: &str = "bourn-hyper";
const AXUM_PEER: &str = "axum-broadcast";

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let bytes = std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|error| format!("{}: {error}", path.display()))
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**NOT met**" }
}

fn server_section(path: &Path) -> String {
    let mut md =
        String::from("\n## Server: bourn beside axum `Sse` + `tokio::sync::broadcast`\n\n");
    let figures: ServerFigures = match read_json(path) {
        Ok(figures) => figures,
        Err(error) => {
            let _ = writeln!(
                md,
                "Not measured in this run ({error}); `cargo xtask bench-report` runs the load example."
            );
            return md;
        }
    };
    let _ = writeln!(
        md,
        "From `crates/server/examples/load.rs` ({} cores, shared by the servers and the load client; \
         one run). Each server in its own process on 127.0.0.1 with 2 tokio workers: `bourn-hyper` \
         (a `Channel` behind hyper's HTTP/1.1 builder), `bourn-axum` (the same `Channel` behind \
         `axum::serve`), `axum-broadcast` (axum's `Sse` over a `broadcast::Receiver`). Memory is \
         the server's RSS delta / N; fan-out is publish → the last of N subscribers has the event \
         (60 rounds); delivered events/s is 100 subscribers, 100-byte events published in batches \
         of 512 for 5 s.\n",
        figures.cores
    );
    md.push_str("| server | N | RSS / idle connection | fan-out p50 | fan-out p99 |\n|---|---:|---:|---:|---:|\n");
    for row in &figures.idle_and_fan_out {
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} KB | {:.1} ms | {:.1} ms |",
            row.server,
            row.n,
            row.rss_kb_per_idle_connection,
            row.fan_out_p50_ms,
            row.fan_out_p99_ms
        );
    }
    let peer_cpu = figures
        .delivered
        .iter()
        .find(|row| row.server == AXUM_PEER)
        .map(|row| row.cpu_s_per_million);
    md.push_str(
        "\n| server | subscribers | delivered events/s | server CPU s per 1M delivered | CPU µs / event | events per CPU s vs axum |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for row in &figures.delivered {
        let ratio = peer_cpu.map_or("—".to_owned(), |peer| {
            format!("{:.2}×", peer / row.cpu_s_per_million)
        });
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {:.3} | {:.3} | {ratio} |",
            row.server,
            row.subscribers,
            row.delivered_per_s,
            row.cpu_s_per_million,
            row.cpu_s_per_million,
        );
    }
    // Targets (issue 3).
    md.push_str("\nTargets (issue 3), for `bourn-hyper`:\n\n");
    let rss: Vec<&IdleRow> = figures
        .idle_and_fan_out
        .iter()
        .filter(|row| row.server == BOURN_SERVER)
        .collect();
    let worst_rss = rss
        .iter()
        .map(|row| row.rss_kb_per_idle_connection)
        .fold(0.0, f64::max);
    let _ = writeln!(
        md,
        "- at most 8 KB per idle connection: {} — {}.",
        met(!rss.is_empty() && worst_rss <= 8.0),
        rss.iter()
            .map(|row| format!("{:.1} KB at {}", row.rss_kb_per_idle_connection, row.n))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let bourn_cpu = figures
        .delivered
        .iter()
        .find(|row| row.server == BOURN_SERVER)
        .map(|row| row.cpu_s_per_million);
    match (bourn_cpu, peer_cpu) {
        (Some(bourn), Some(peer)) => {
            let _ = writeln!(
                md,
                "- at least 2× axum's delivered events per CPU second: {} — {:.2}× ({bourn:.3} vs {peer:.3} CPU s per 1M).",
                met(peer / bourn >= 2.0),
                peer / bourn
            );
        }
        _ => md.push_str("- at least 2× axum's delivered events per CPU second: not measured.\n"),
    }
    let at_10k = figures
        .idle_and_fan_out
        .iter()
        .find(|row| row.server == BOURN_SERVER && row.n == 10_000);
    let peer_10k = figures
        .idle_and_fan_out
        .iter()
        .find(|row| row.server == AXUM_PEER && row.n == 10_000);
    match at_10k {
        Some(row) => {
            let _ = writeln!(
                md,
                "- fan-out p99 at 10,000 under 100 ms: {} — {:.1} ms{}.",
                met(row.fan_out_p99_ms < 100.0),
                row.fan_out_p99_ms,
                peer_10k.map_or(String::new(), |peer| format!(
                    " (axum {:.1} ms)",
                    peer.fan_out_p99_ms
                ))
            );
        }
        None => {
            md.push_str("- fan-out p99 at 10,000 under 100 ms: not measured (no N = 10,000 row).\n")
        }
    }
    if worst_rss > 8.0 {
        md.push_str(
            "\nWhat limits memory: hyper's HTTP/1.1 connection allocates an 8 KiB read buffer and an \
             8 KiB response-head buffer per connection and keeps both for the connection's life \
             (`max_buf_size` cannot go below 8 KiB). Measured with heaptrack over 2,000 idle \
             `bourn-hyper` connections, heap per connection: hyper's write-head buffer 8,192 B, \
             hyper's read buffer ≈ 8,170 B, the tokio task holding hyper's connection 768 B, \
             hyper's connection state and boxed body ≈ 1 KB, the response `HeaderMap` hyper keeps \
             ≈ 280 B (576 B before it was sized for its three headers), bourn's `Sse` body 464 B \
             and subscriber slot 96 B. Only the touched pages of the two 8 KiB buffers count in \
             RSS, which is why RSS sits near 11 KB rather than 19 KB; bourn's own state is under \
             1 KB of it.\n",
        );
    }
    if at_10k.is_some_and(|row| row.fan_out_p99_ms >= 100.0) {
        md.push_str(
            "\nWhat limits fan-out at 10,000: one event means 10,000 `write` system calls on 2 cores \
             that the load client's 10,000 reads share; the server's part is a queue push per \
             subscriber and one `writev` per connection.\n",
        );
    }
    md
}

// ------------------------------------------------------------------ client

/// The client conformance section from `client-conformance.json`, with each
/// client's CPU time per event (W1, 16 KiB chunks) from `client-cost.json`.
fn client_conformance_section(dir: &Path) -> String {
    let costs: Vec<ClientCost> = read_json(&dir.join("client-cost.json")).unwrap_or_default();
    let cpu_us = costs
        .iter()
        .filter(|c| c.workload == "W1" && c.feed == "16KiB")
        .filter_map(|c| Some((c.row.clone(), c.cpu_us_per_event?)))
        .collect();
    conformance_with_speed(dir, &cpu_us)
}

fn conformance_with_speed(dir: &Path, cpu_us: &BTreeMap<String, f64>) -> String {
    let path = dir.join(CLIENT_CONFORMANCE_FILE);
    match read_json::<Vec<ClientConformance>>(&path) {
        Ok(results) => render_client_conformance(&results, cpu_us),
        Err(error) => format!("\n## Client conformance\n\nNot run in this run ({error}).\n"),
    }
}

/// The W1 / 16 KiB CPU µs per event of each client, from the "Client cost
/// per event" table of an existing report: when only the conformance
/// section is rewritten, its speed column stays the report's own.
fn cpu_from_report(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | workload | feed | client | events | CPU µs / event | ...
            match cells.as_slice() {
                ["", "W1", "16KiB", client, _, cpu, ..] => {
                    Some(((*client).to_owned(), cpu.parse().ok()?))
                }
                _ => None,
            }
        })
        .collect()
}

/// Replaces (or inserts, after the client cost section) the client
/// conformance section of the report at `out`.
fn splice_client_conformance(dir: &Path, out: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(out) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("bench-report: cannot read {}: {error}", out.display());
            return ExitCode::FAILURE;
        }
    };
    let section = conformance_with_speed(dir, &cpu_from_report(&text));
    let text = splice_section(
        &text,
        "\n## Client conformance\n",
        "\n## Replay stores",
        &section,
    );
    if let Err(error) = std::fs::write(out, text) {
        eprintln!("bench-report: cannot write {}: {error}", out.display());
        return ExitCode::FAILURE;
    }
    println!(
        "bench-report: client conformance section of {} rewritten",
        out.display()
    );
    ExitCode::SUCCESS
}

/// `text` with the section starting at `heading` (up to the next `\n## `)
/// replaced by `section`; without one, `section` goes before `before` (or at
/// the end).
fn splice_section(text: &str, heading: &str, before: &str, section: &str) -> String {
    if let Some(start) = text.find(heading) {
        let rest = &text[start + heading.len()..];
        let end = rest
            .find("\n## ")
            .map_or(text.len(), |n| start + heading.len() + n);
        return format!("{}{section}{}", &text[..start], &text[end..]);
    }
    match text.find(before) {
        Some(at) => format!("{}{section}{}", &text[..at], &text[at..]),
        None => format!("{text}{section}"),
    }
}

/// One row of `client-cost.json` (benches/benches/client.rs).
#[derive(Deserialize)]
struct ClientCost {
    workload: String,
    feed: String,
    row: String,
    events: usize,
    cpu_us_per_event: Option<f64>,
    allocations_per_event: f64,
    bytes_allocated_per_event: f64,
}

// --------------------------------------------------------------------- hub

/// `hub-load.rs --json`: the hub binary, the bare library and axum's `Sse`.
#[derive(Deserialize)]
struct HubFigures {
    cores: usize,
    rows: Vec<HubRow>,
}

#[derive(Deserialize)]
struct HubRow {
    server: String,
    n: usize,
    rss_kb_per_idle_subscriber: f64,
    fan_out_p50_ms: f64,
    fan_out_p99_ms: f64,
    /// Absent in files written before these were measured.
    #[serde(default)]
    server_cpu_ms_per_round: Option<f64>,
    #[serde(default)]
    client_cpu_ms_per_round: Option<f64>,
    #[serde(default)]
    cpu_floor_ms: Option<f64>,
    rounds: usize,
    load_average: String,
}

const HUB: &str = "hub";
const HUB_AXUM_PEER: &str = "axum-sse";
/// Issue 11's targets at 10,000 subscribers.
const HUB_TARGET_KB: f64 = 8.0;
const HUB_TARGET_P99_MS: f64 = 60.0;
const HUB_TARGET_N: usize = 10_000;

fn hub_section(path: &Path) -> String {
    let mut md = String::from(
        "\n## Hub: `bourn serve` beside the bare library and axum `Sse`, idle subscribers\n\n",
    );
    let figures: HubFigures = match read_json(path) {
        Ok(figures) => figures,
        Err(error) => {
            let _ = writeln!(
                md,
                "Not measured in this run ({error}); `cargo xtask bench-report` runs `benches/examples/hub-load.rs`."
            );
            return md;
        }
    };
    let _ = writeln!(
        md,
        "From `benches/examples/hub-load.rs` ({} cores, shared by the servers, the load client and \
         whatever else ran; the load average is in each row). Each server in its own process on \
         127.0.0.1: `hub` is the `bourn serve --store memory` binary (subscribers read \
         `/topics/bench`, events go in with `POST`), `bourn-hyper` a `Channel` behind hyper's \
         HTTP/1.1 builder, `axum-sse` axum's `Sse` over a `broadcast::Receiver`. Memory is the \
         server's RSS delta / N idle subscribers; fan-out is publish → the last of N subscribers \
         has the 100-byte event. Ratios are against `axum-sse` at the same N in the same run.\n",
        figures.cores
    );
    md.push_str(
        "| server | N | RSS / idle subscriber | vs axum | fan-out p50 | fan-out p99 | p99 vs axum | server CPU / round | client CPU / round | CPU floor | rounds | load average |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    let axum = |n: usize| {
        figures
            .rows
            .iter()
            .find(|row| row.server == HUB_AXUM_PEER && row.n == n)
    };
    for row in &figures.rows {
        let (kb_ratio, p99_ratio) =
            axum(row.n).map_or(("—".to_owned(), "—".to_owned()), |peer| {
                (
                    format!(
                        "{:.2}×",
                        row.rss_kb_per_idle_subscriber / peer.rss_kb_per_idle_subscriber
                    ),
                    format!("{:.2}×", row.fan_out_p99_ms / peer.fan_out_p99_ms),
                )
            });
        let ms = |value: Option<f64>| value.map_or("—".to_owned(), |ms| format!("{ms:.1} ms"));
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} KB | {kb_ratio} | {:.1} ms | {:.1} ms | {p99_ratio} | {} | {} | {} | {} | {} |",
            row.server,
            row.n,
            row.rss_kb_per_idle_subscriber,
            row.fan_out_p50_ms,
            row.fan_out_p99_ms,
            ms(row.server_cpu_ms_per_round),
            ms(row.client_cpu_ms_per_round),
            ms(row.cpu_floor_ms),
            row.rounds,
            row.load_average
        );
    }
    let hub = figures
        .rows
        .iter()
        .find(|row| row.server == HUB && row.n == HUB_TARGET_N);
    md.push_str("\nTargets (issue 11), for `hub` at 10,000 subscribers:\n\n");
    match hub {
        Some(hub) => {
            let kb = hub.rss_kb_per_idle_subscriber;
            let p99 = hub.fan_out_p99_ms;
            let _ = writeln!(
                md,
                "- at most {HUB_TARGET_KB} KB per idle subscriber: {} — {kb:.1} KB.",
                met(kb <= HUB_TARGET_KB)
            );
            let floor = hub.cpu_floor_ms.map_or(String::new(), |floor| {
                format!(
                    "; the CPU floor of a round (server and load client CPU time over the cores) was {floor:.1} ms"
                )
            });
            let _ = writeln!(
                md,
                "- publish → last subscriber p99 at most {HUB_TARGET_P99_MS} ms: {} — {p99:.1} ms (load average {}{floor}).",
                met(p99 <= HUB_TARGET_P99_MS),
                hub.load_average
            );
        }
        None => {
            let _ = writeln!(
                md,
                "- not measured at {HUB_TARGET_N} subscribers in this run."
            );
        }
    }
    md.push_str(
        "\nWhere the memory went (heaptrack over 2,000 idle hub subscribers, before the two changes below): \
         hyper's HTTP/1.1 read buffer had grown to 16 KiB per connection (31.6 MB of 57 MB peak \
         heap), because hyper-util's `auto` builder handed the first bytes back through a \
         rewinding reader and hyper's next read reallocated the buffer with them in it; its \
         8 KiB write buffer came next. One builder per protocol, picked by peeking at the \
         first bytes, took a subscription served by hyper from 19.2 KB to 14.7 KB of RSS \
         (1,000 subscribers); the lean path for HTTP/1.1 subscriptions \
         (`crates/cli/src/serve/lean.rs`: the head parsed with httparse, answered by the same \
         router, the response written without hyper) keeps neither buffer.\n\n\
         Where fan-out time goes (`perf record -e cpu-clock` over each process during \
         10,000-subscriber rounds, 2026-12-06): the hub spends 72 % of its CPU in the kernel, in \
         one `sendto` per subscriber per event, and on loopback that call also delivers into the \
         client's socket (`tcp_v4_rcv`, 26 % of the hub's CPU) and wakes its reader (11 %); \
         tokio's part (waking, scheduling, socket readiness) is about 11 % and bourn's own code \
         (the lean loop, `Sse`, the subscription) about 11 %. The load client spends 62 % of its \
         CPU in the kernel (`recv`, `epoll_wait`). No round can take less than the CPU floor \
         column, both processes' CPU time per round over the cores, and the `sendto-loop` row is \
         the floor of any server here: a list of blocking sockets written from 2 threads, one \
         `send` per subscriber and nothing else. Measured beside the hub on a quiet machine (load \
         average 1.2–1.6, 2026-12-06): at 10,000 `sendto-loop` spent 50.8 ms of CPU per round \
         and reached the last subscriber at p50 59.5 ms / p99 80.1 ms; the hub spent 79.2 ms, \
         p50 70.9 ms / p99 93.2 ms. The hub's extra CPU is its per-subscriber tasks (wake-up, \
         scheduling, readiness, the body's poll; `epoll_wait` is under 1 % of it); a writer per \
         topic that writes to many sockets is what would close most of that gap. With the load \
         client's 60–75 ms of CPU per round on the same 2 cores, no server here reaches a p99 of \
         60 ms: the floor row itself does not.\n",
    );
    md
}

fn client_section(path: &Path) -> String {
    let mut md = String::from("\n## Client cost per event\n\n");
    let costs: Vec<ClientCost> = match read_json(path) {
        Ok(costs) => costs,
        Err(error) => {
            let _ = writeln!(md, "Not measured in this run ({error}).");
            return md;
        }
    };
    md.push_str(
        "From the client bench (`benches/benches/client.rs`, `client-cost.json`): one connection \
         over loopback from a local server, the client's CPU time and allocations per delivered \
         event (the allocation counter counts the whole process). W1: single-line events; W5: \
         see the workloads above.\n\n\
         | workload | feed | client | events | CPU µs / event | allocations / event | bytes allocated / event |\n\
         |---|---|---|---:|---:|---:|---:|\n",
    );
    for cost in &costs {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {:.3} | {:.1} |",
            cost.workload,
            cost.feed,
            cost.row,
            cost.events,
            cost.cpu_us_per_event
                .map_or("—".to_owned(), |us| format!("{us:.3}")),
            cost.allocations_per_event,
            cost.bytes_allocated_per_event
        );
    }
    let find = |workload: &str, feed: &str, row: &str| {
        costs
            .iter()
            .find(|cost| cost.workload == workload && cost.feed == feed && cost.row == row)
    };
    let cpu = |workload: &str, feed: &str, row: &str| {
        find(workload, feed, row).and_then(|cost| cost.cpu_us_per_event)
    };
    md.push_str("\nTargets (issue 4):\n\n");
    for workload in ["W1", "W5"] {
        if let (Some(bourn), Some(raw)) = (
            cpu(workload, "event-per-chunk", "bourn-client"),
            cpu(workload, "event-per-chunk", "raw-hyper"),
        ) {
            let _ = writeln!(
                md,
                "- {workload}, one event per chunk, within 1.3× raw hyper's CPU per event: {} — {:.2}× ({bourn:.3} vs {raw:.3} µs).",
                met(bourn / raw <= 1.3),
                bourn / raw
            );
        }
        if let (Some(bourn), Some(peer)) = (
            cpu(workload, "16KiB", "bourn-client"),
            cpu(workload, "16KiB", "eventsource-client"),
        ) {
            let _ = writeln!(
                md,
                "- {workload}, 16 KiB chunks, at least 3× eventsource-client's events per CPU second: {} — {:.2}× ({bourn:.3} vs {peer:.3} µs).",
                met(peer / bourn >= 3.0),
                peer / bourn
            );
        }
    }
    md.push_str("\nTarget (issue 14), 16 KiB chunks:\n\n");
    for workload in ["W1", "W5"] {
        if let (Some(bourn), Some(peer)) = (
            cpu(workload, "16KiB", "bourn-client"),
            cpu(workload, "16KiB", "eventsource-client"),
        ) {
            let _ = writeln!(
                md,
                "- {workload}: at most half eventsource-client's CPU per event: {} — {:.2}× ({bourn:.3} vs {peer:.3} µs).",
                met(bourn / peer <= 0.5),
                bourn / peer
            );
        }
    }
    if let Some(cost) = find("W1", "event-per-chunk", "bourn-client") {
        let _ = writeln!(
            md,
            "- 0 allocations per single-line event (W1): {} — {:.3} per event over the whole process.",
            met(cost.allocations_per_event < 0.05),
            cost.allocations_per_event
        );
    }
    md.push_str(&client_conns(&path.with_file_name("client-conns.json")));
    md
}

/// A row of `client-conns.json` (`benches/examples/client-load.rs report`).
#[derive(Deserialize)]
struct ClientConns {
    row: String,
    connections: u64,
    rss_per_connection_bytes: f64,
    events_per_second: f64,
    cpu_us_per_event: f64,
}

/// RSS per connection and throughput at many connections, with the target.
fn client_conns(path: &Path) -> String {
    let rows: Vec<ClientConns> = match read_json(path) {
        Ok(rows) => rows,
        Err(error) => {
            return format!(
                "- RSS per connection (raw + 2 KB): not measured in this run ({error}).\n"
            );
        }
    };
    let mut md = String::from(
        "\nMany connections (`benches/examples/client-load.rs`): each client kind in its own \
         process opens N streams to a server in another process; RSS is the client process's \
         VmRSS growth / N once every stream delivered its first event; then N streams of 200 \
         events each are read at once (the server bounds events/s here).\n\n\
         | client | connections | RSS / connection | events/s | CPU µs / event |\n\
         |---|---:|---:|---:|---:|\n",
    );
    for row in &rows {
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} KB | {:.0} | {:.3} |",
            row.row,
            row.connections,
            row.rss_per_connection_bytes / 1000.0,
            row.events_per_second,
            row.cpu_us_per_event
        );
    }
    let rss = |name: &str| {
        rows.iter()
            .find(|row| row.row == name)
            .map(|row| row.rss_per_connection_bytes)
    };
    if let (Some(bourn), Some(raw)) = (rss("bourn-client"), rss("raw-hyper")) {
        let _ = writeln!(
            md,
            "\n- RSS per connection at most raw + 2 KB: {} — raw + {:.1} KB ({:.1} vs {:.1} KB).",
            met(bourn - raw <= 2000.0),
            (bourn - raw) / 1000.0,
            bourn / 1000.0,
            raw / 1000.0
        );
    }
    md
}

// ---------------------------------------------------------------- backends

/// `benches/BACKENDS.md`, its headings moved one level down.
fn backends_section(path: &Path) -> String {
    let mut md = String::from("\n## Replay stores (benches/BACKENDS.md)\n\n");
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let _ = writeln!(
                md,
                "Included from `benches/BACKENDS.md` (not re-run by `bench-report`; \
                 `cargo run --release -p bourn-benches --example backends`).\n"
            );
            for line in text.lines() {
                if line.starts_with("# ") {
                    continue;
                }
                if line.starts_with('#') {
                    md.push('#');
                }
                md.push_str(line);
                md.push('\n');
            }
        }
        Err(error) => {
            let _ = writeln!(md, "Not found ({}: {error}).", path.display());
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::{cpu_from_report, splice_section};

    #[test]
    fn reads_the_speed_column_from_the_report() {
        let text = "| W1 | 16KiB | bourn-client | 10000 | 0.155 | 0.006 | 112.4 |\n\
                    | W1 | event-per-chunk | bourn-client | 10000 | 0.778 | 0.006 | 101.8 |\n\
                    | W1 | 16KiB | raw-hyper | 10000 | 0.030 | 0.005 | 100.9 |\n";
        let cpu = cpu_from_report(text);
        assert_eq!(cpu.len(), 2);
        assert_eq!(cpu["bourn-client"], 0.155);
        assert_eq!(cpu["raw-hyper"], 0.030);
    }

    #[test]
    fn splices_the_client_conformance_section() {
        let heading = "\n## Client conformance\n";
        let before = "\n## Replay stores";
        let report = "# r\n\n## Client cost per event\n\nx\n\n## Replay stores\n\ny\n";
        let inserted = splice_section(report, heading, before, "\n## Client conformance\n\nA\n");
        assert_eq!(
            inserted,
            "# r\n\n## Client cost per event\n\nx\n\n## Client conformance\n\nA\n\n## Replay stores\n\ny\n"
        );
        // A second splice replaces the section, nothing else.
        let replaced = splice_section(&inserted, heading, before, "\n## Client conformance\n\nB\n");
        assert_eq!(replaced, inserted.replace("\nA\n", "\nB\n"));
        // At the end of the report, with no section after it.
        let last = splice_section("# r\n", heading, before, "\n## Client conformance\n\nC\n");
        assert_eq!(last, "# r\n\n## Client conformance\n\nC\n");
    }
}
