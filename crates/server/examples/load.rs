//! The server benchmark: bourn beside axum's `Sse` fed by
//! `tokio::sync::broadcast` (the common way peers fan out), each server in
//! its own process on 127.0.0.1, driven by this load client.
//!
//! ```text
//! cargo run --release -p bourn-server --features axum --example load [-- [--json PATH] N...]
//! ```
//!
//! Servers: `bourn-hyper` (a `Channel` behind hyper's HTTP/1.1 builder),
//! `bourn-axum` (the same `Channel` behind `axum::serve`), `axum-broadcast`
//! (`axum::response::Sse` over a `broadcast::Receiver`, one `Event` built per
//! connection per event). Per server it measures:
//! - memory per idle connection: server RSS delta / N;
//! - delivered events/s with 100 subscribers and 100-byte events, published
//!   in batches of 512 as fast as the slowest subscriber takes them (so no
//!   subscriber lags), and server CPU seconds per million delivered events;
//! - fan-out latency, publish to the last of N subscribers, p50/p99.
//!
//! N defaults to 1,000 and 10,000 (arguments override); 10,000 needs
//! `ulimit -n` above 10,000. `--json PATH` also writes the figures as JSON
//! (`cargo xtask bench-report` reads them from
//! `target/bourn-bench/server.json`). Both servers listen
//! with a backlog of 16,384 and run 2 tokio workers; the publisher is its
//! own thread (on a worker it starves behind 1,000 connections). The load
//! generator (subscribers, rounds, serve mode) is `bourn_testkit::load`,
//! shared with `benches/examples/hub-load.rs`.
#![expect(clippy::print_stdout, reason = "a benchmark prints its results")]

use std::path::Path;
use std::time::{Duration, Instant};

use bourn_testkit::load::{
    self, BoxError, FanOutPlan, ServerProcess, Subscribers, idle_and_fan_out,
};

const SERVERS: [&str; 3] = ["bourn-hyper", "bourn-axum", "axum-broadcast"];

/// Fan-out: 60 rounds of one 100-byte event.
const FAN_OUT: FanOutPlan = FanOutPlan {
    rounds: 60,
    size: 100,
    settle: Duration::from_millis(200),
    pause: Duration::from_millis(10),
    connect_timeout: Duration::from_secs(60),
    round_timeout: Duration::from_secs(30),
};

fn main() -> Result<(), BoxError> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return serve(args.get(1).map_or("bourn-hyper", String::as_str));
    }
    let json = load::take_option(&mut args, "--json")?;
    let sizes: Vec<usize> = if args.is_empty() {
        vec![1_000, 10_000]
    } else {
        args.iter().map(|a| a.parse()).collect::<Result<_, _>>()?
    };
    let runtime = load::runtime()?;
    println!("| server | N | RSS/idle conn | fan-out p50 | fan-out p99 |");
    println!("|---|---|---|---|---|");
    let mut idle = Vec::new();
    let mut throughput = Vec::new();
    for server in SERVERS {
        for &n in &sizes {
            let mut process = ServerProcess::serve_mode(server)?;
            let fan_out = runtime.block_on(idle_and_fan_out(&mut process, n, FAN_OUT))?;
            let (kb, p50, p99) = (
                fan_out.rss_kb_per_subscriber,
                fan_out.p50_ms,
                fan_out.p99_ms,
            );
            println!("| {server} | {n} | {kb:.1} KB | {p50:.2} ms | {p99:.2} ms |");
            idle.push(format!(
                r#"    {{"server": "{server}", "n": {n}, "rss_kb_per_idle_connection": {kb:.3}, "fan_out_p50_ms": {p50:.3}, "fan_out_p99_ms": {p99:.3}}}"#
            ));
        }
        let mut process = ServerProcess::serve_mode(server)?;
        throughput.push((server, runtime.block_on(delivered(&mut process, 100))?));
    }
    println!("\n| server | subscribers | delivered events/s | server CPU s per 1M delivered |");
    println!("|---|---|---|---|");
    for (server, (rate, cpu)) in &throughput {
        println!("| {server} | 100 | {rate:.0} | {cpu:.3} |");
    }
    if let Some(path) = json {
        let delivered: Vec<String> = throughput
            .iter()
            .map(|(server, (rate, cpu))| {
                format!(
                    r#"    {{"server": "{server}", "subscribers": 100, "event_bytes": 100, "delivered_per_s": {rate:.0}, "cpu_s_per_million": {cpu:.4}}}"#
                )
            })
            .collect();
        let path = Path::new(&path);
        load::write_json(
            path,
            &[("idle_and_fan_out", &idle), ("delivered", &delivered)],
        )?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}

/// Delivered events/s to `n` subscribers over 5 s of rounds of 512
/// 100-byte events, and server CPU seconds per million delivered.
async fn delivered(process: &mut ServerProcess, n: usize) -> Result<(f64, f64), BoxError> {
    let subscribers = Subscribers::connect(process, n, FAN_OUT.connect_timeout).await?;
    let round_timeout = FAN_OUT.round_timeout;
    subscribers
        .round(512, round_timeout, || process.publish(512, 100))
        .await?;
    let cpu = process.cpu_seconds()?;
    let start = Instant::now();
    let mut delivered = 0u64;
    while start.elapsed() < Duration::from_secs(5) {
        subscribers
            .round(512, round_timeout, || process.publish(512, 100))
            .await?;
        delivered += 512 * n as u64;
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = process.cpu_seconds()? - cpu;
    Ok((delivered as f64 / seconds, cpu / (delivered as f64 / 1e6)))
}

// ---------------------------------------------------------------- servers

fn serve(kind: &str) -> Result<(), BoxError> {
    load::serve(|runtime, listener| {
        let publish: load::Publish = if kind == "axum-broadcast" {
            let (sender, _) = tokio::sync::broadcast::channel::<String>(1024);
            let app = load::broadcast_router(sender.clone(), None);
            runtime.spawn(async move { axum::serve(listener, app).await });
            Box::new(move |data| {
                let _ = sender.send(data);
            })
        } else {
            let channel = bourn_server::Channel::new();
            if kind == "bourn-axum" {
                let app = bourn_axum::router(channel.clone());
                runtime.spawn(async move { axum::serve(listener, app).await });
            } else {
                let serving = channel.clone();
                runtime.spawn(load::serve_http1(listener, move |request| {
                    serving.respond_to("bench", &request)
                }));
            }
            Box::new(move |data| {
                // The memory backend's publish completes without waiting.
                let _ = futures_executor::block_on(
                    channel.publish("bench", bourn_codec::Event::message(data)),
                );
            })
        };
        Ok(publish)
    })
}

mod bourn_axum {
    use axum::Router;
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use bourn_server::{Channel, LastEventId};

    async fn events(
        State(channel): State<Channel>,
        last: Option<LastEventId>,
        headers: HeaderMap,
    ) -> Response {
        channel
            .respond("bench", last.as_ref(), &headers)
            .into_response()
    }

    pub fn router(channel: Channel) -> Router {
        Router::new()
            .route("/events", get(events))
            .with_state(channel)
    }
}
