//! A small driver for profiling bourn-client's per-event path the way the
//! `client` benchmark's cost section measures it, beside LaunchDarkly's
//! `eventsource-client`: a bourn-testkit server on its own runtime thread
//! serves a workload in 16 KiB HTTP chunks, and the row reads the whole
//! stream on a current-thread runtime on this thread. The stream is read in
//! `profile_client::run`, kept out of line so a profiler can single it out:
//!
//! ```text
//! CARGO_TARGET_DIR=target/profile CARGO_PROFILE_BENCH_DEBUG=true \
//!     cargo build --profile bench -p bourn-benches --example profile-client
//! perf record -e cpu-clock --call-graph dwarf \
//!     target/profile/release/examples/profile-client W1 20 bourn
//! valgrind --tool=callgrind --toggle-collect='profile_client::run' \
//!     target/profile/release/examples/profile-client W1 1 bourn
//! ```
//!
//! Arguments: workload (`W1` or `W5`), repetitions, row (`bourn`, the
//! default, or `eventsource-client`; `all` interleaves both, best of the
//! repetitions each). Prints this thread's CPU time per event
//! (`/proc/thread-self/schedstat`) and heap allocations per event, measured
//! as the bench's cost section does (inside allocation-counter's counting
//! allocator, which is part of what allocations cost there).
#![allow(clippy::expect_used, clippy::print_stderr, missing_docs)]

use std::time::Duration;

use bourn_benches::{first_events, workload};

#[path = "../benches/support/readers.rs"]
mod readers;
use bourn_testkit::{Reply, Server};

/// Events per stream, and the HTTP chunk size (the `client` bench's).
const EVENTS: usize = 10_000;
const CHUNK: usize = 16 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let id = args.get(1).map_or("W1", String::as_str);
    let reps: usize = args
        .get(2)
        .map_or(1, |r| r.parse().expect("a repetition count"));
    let row = args.get(3).map_or("bourn", String::as_str);
    let rows: &[&str] = match row {
        "all" => &["bourn", "eventsource-client"],
        "bourn" => &["bourn"],
        "eventsource-client" => &["eventsource-client"],
        _ => panic!("unknown row {row}"),
    };

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let w = match id {
        "W1" => workload::w1(EVENTS * 120),
        "W5" => workload::w5(EVENTS * 120),
        _ => panic!("a workload id, W1 or W5"),
    };
    let (bytes, sizes) = first_events(&w.bytes, EVENTS);
    assert_eq!(sizes.len(), EVENTS, "{id} holds {EVENTS} events");
    let reply = Reply::sse(bytes).chunk_size(CHUNK);
    let server = server_rt
        .block_on(Server::start(move |_| reply.clone()))
        .expect("server");
    let url = format!("http://{}/", server.addr());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let mut best = vec![Duration::MAX; rows.len()];
    let mut allocations = vec![0; rows.len()];
    for row in rows {
        // Warm up: connection pools, lazy statics.
        assert_eq!(rt.block_on(run(row, &url)), EVENTS);
    }
    for _ in 0..reps {
        for (i, row) in rows.iter().enumerate() {
            // Inside allocation-counter's `measure`, as the bench's cost
            // section is: its counting allocator is the global one.
            let before = cpu();
            let info = allocation_counter::measure(|| {
                assert_eq!(rt.block_on(run(row, &url)), EVENTS, "{row} reads {id}");
            });
            best[i] = best[i].min(cpu().saturating_sub(before));
            allocations[i] = info.count_total;
        }
    }
    for ((row, best), allocations) in rows.iter().zip(&best).zip(&allocations) {
        eprintln!(
            "{row} {id} 16KiB: {:.3} us of CPU time per event (best of {reps}), {:.2} allocations per event",
            best.as_secs_f64() * 1e6 / EVENTS as f64,
            *allocations as f64 / EVENTS as f64
        );
    }
}

/// This thread's CPU time (`/proc/thread-self/schedstat`).
fn cpu() -> Duration {
    bourn_benches::rounds::thread_cpu_ns().map_or(Duration::ZERO, Duration::from_nanos)
}

/// Reads the stream at `url` to its end with `row`; returns the events seen.
#[inline(never)]
async fn run(row: &str, url: &str) -> usize {
    match row {
        "bourn" => readers::bourn(url).await,
        _ => readers::launchdarkly(url).await,
    }
}
