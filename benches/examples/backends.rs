//! Publish → deliver through each store: the in-memory log, the embedded
//! file store in both durability modes (immediate: `send` returns after the
//! fsync; batched, 10 ms window: `send` returns when queued, delivery after
//! the commit) and Redis Streams (a throwaway `redis-server` on 127.0.0.1,
//! persistence off), with 100 subscribers.
//!
//! ```text
//! cargo run --release -p bourn-benches --example backends [-- EVENTS [PUBLISHERS]]
//! ```
//!
//! In process, no HTTP (the HTTP path is `load.rs`'s): this measures what the
//! store adds. Per store:
//! - delivered events/s: EVENTS (default 20,000) 100-byte events sent by
//!   PUBLISHERS (default 512) concurrent publishers with `Channel::publish`
//!   (each waits for its store's acknowledgement), counted at 100
//!   subscribers, each of which must
//!   get every event (queues of 65,536, so none lags);
//! - latency publish → delivery at one subscriber, p50/p99, with 1,000
//!   events sent one at a time 1 ms apart (not saturated).
#![expect(clippy::print_stdout, reason = "a benchmark prints its results")]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bourn_codec::{Decoder, Event};
use bourn_server::{Channel, EventId};
use bourn_server_redb::{Durability, RedbBackend};
use bourn_server_redis::RedisBackend;
use bytes::BytesMut;
use futures_util::StreamExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const SUBSCRIBERS: usize = 100;
const LATENCY_EVENTS: u64 = 1_000;
const STORES: [&str; 4] = [
    "memory",
    "embedded (immediate)",
    "embedded (batched 10 ms)",
    "redis",
];

fn main() -> Result<(), BoxError> {
    let events: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 20_000,
    };
    let publishers: u64 = match std::env::args().nth(2) {
        Some(n) => n.parse()?,
        None => 512,
    };
    println!("{events} events, {publishers} publishers\n");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = std::env::temp_dir().join(format!("bourn-backends-{}", std::process::id()));
    let redis = RedisProcess::start();
    println!("| store | subscribers | delivered events/s | vs memory | p50 | p99 |");
    println!("|---|---|---|---|---|---|");
    let mut memory_rate = None;
    for store in STORES {
        let build = || -> Result<Option<Channel>, BoxError> {
            let builder = Channel::builder().queue_len(65_536);
            Ok(Some(match store {
                "memory" => {
                    let _runtime = runtime.enter();
                    builder.build()?
                }
                "redis" => match &redis {
                    Some(redis) => {
                        let prefix = format!("bench{}", rand::random::<u32>());
                        let backend = runtime
                            .block_on(RedisBackend::builder(&redis.url()).prefix(&prefix).open())?;
                        let _runtime = runtime.enter();
                        builder.backend(backend).build()?
                    }
                    None => return Ok(None),
                },
                _ => {
                    let path = dir.join(format!("{}.redb", rand::random::<u32>()));
                    let durability = if store.contains("batched") {
                        Durability::Batched(Duration::from_millis(10))
                    } else {
                        Durability::Immediate
                    };
                    let file = RedbBackend::builder(path).durability(durability).open()?;
                    let _runtime = runtime.enter();
                    builder.backend(file).build()?
                }
            }))
        };
        let Some(channel) = build()? else {
            println!("| {store} | — | skipped: no redis-server | | | |");
            continue;
        };
        let rate = runtime.block_on(throughput(&channel, events, publishers))?;
        drop(channel);
        let Some(channel) = build()? else {
            continue;
        };
        let (p50, p99) = runtime.block_on(latency(&channel))?;
        drop(channel);
        let base = *memory_rate.get_or_insert(rate);
        println!(
            "| {store} | {SUBSCRIBERS} | {rate:.0} | {:.0} % | {:.2} ms | {:.2} ms |",
            100.0 * rate / base,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn payload(n: u64) -> String {
    format!("{n:0>100}")
}

/// Waits until the channel's store answers (Redis connects lazily).
async fn warm_up(channel: &Channel) -> Result<EventId, BoxError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match channel.publish("warm", Event::message("x")).await {
            Ok(id) => return Ok(id),
            Err(error) if Instant::now() < deadline && error.is_unavailable() => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Subscribers that have read their start (primed), counting events.
async fn subscribers(
    channel: &Channel,
    count: usize,
) -> Result<Vec<bourn_server::Subscription>, BoxError> {
    let mut subs = Vec::new();
    for _ in 0..count {
        let mut sub = channel.subscribe("t", None)?;
        // The priming id-only block: the subscriber is live from here.
        tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await?
            .ok_or("ended")?;
        subs.push(sub);
    }
    Ok(subs)
}

async fn throughput(channel: &Channel, events: u64, publishers: u64) -> Result<f64, BoxError> {
    warm_up(channel).await?;
    let subs = subscribers(channel, SUBSCRIBERS).await?;
    let delivered = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for mut sub in subs {
        let delivered = Arc::clone(&delivered);
        readers.push(tokio::spawn(async move {
            let mut got = 0;
            while got < events {
                match tokio::time::timeout(Duration::from_secs(30), sub.next()).await {
                    Ok(Some(_)) => {
                        got += 1;
                        delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => break,
                }
            }
            got
        }));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..publishers {
        let channel = channel.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = worker;
            while n < events {
                channel.publish("t", Event::message(payload(n))).await?;
                n += publishers;
            }
            Ok::<(), bourn_server::Error>(())
        }));
    }
    for publisher in tasks {
        publisher.await??;
    }
    for reader in readers {
        let got = reader.await?;
        if got != events {
            return Err(format!("a subscriber got {got} of {events}").into());
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(delivered.load(Ordering::Relaxed) as f64 / elapsed)
}

async fn latency(channel: &Channel) -> Result<(Duration, Duration), BoxError> {
    warm_up(channel).await?;
    let mut subs = subscribers(channel, SUBSCRIBERS).await?;
    let Some(mut watched) = subs.pop() else {
        return Err("no subscriber".into());
    };
    let mut drains = Vec::new();
    for mut sub in subs {
        drains.push(tokio::spawn(async move {
            let mut got = 0;
            while got < LATENCY_EVENTS {
                if sub.next().await.is_none() {
                    break;
                }
                got += 1;
            }
        }));
    }
    let origin = Instant::now();
    let sent: Arc<Vec<AtomicU64>> = Arc::new(
        (0..=LATENCY_EVENTS + 8)
            .map(|_| AtomicU64::new(0))
            .collect(),
    );
    let reader = {
        let sent = Arc::clone(&sent);
        tokio::spawn(async move {
            let mut decoder = Decoder::new();
            let mut samples = Vec::new();
            while (samples.len() as u64) < LATENCY_EVENTS {
                let item = tokio::time::timeout(Duration::from_secs(30), watched.next())
                    .await
                    .ok()
                    .flatten()
                    .ok_or("the watched subscriber stopped")?;
                let now = origin.elapsed().as_nanos() as u64;
                let mut buf = BytesMut::from(&item.as_bytes()[..]);
                while let Some(frame) = decoder.decode(&mut buf)? {
                    let Some(event) = frame.into_event() else {
                        continue;
                    };
                    let n: usize = event.data().parse()?;
                    let at = sent[n].load(Ordering::Acquire);
                    samples.push(Duration::from_nanos(now.saturating_sub(at)));
                }
            }
            Ok::<_, BoxError>(samples)
        })
    };
    for n in 0..LATENCY_EVENTS {
        sent[n as usize].store(origin.elapsed().as_nanos() as u64, Ordering::Release);
        channel.publish("t", Event::message(payload(n))).await?;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut samples = reader.await??;
    for drain in drains {
        drain.await?;
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Ok((at(0.50), at(0.99)))
}

/// A throwaway `redis-server` on a free 127.0.0.1 port, persistence off.
struct RedisProcess {
    port: u16,
    child: Child,
}

impl RedisProcess {
    fn start() -> Option<RedisProcess> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(RedisProcess { port, child })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
