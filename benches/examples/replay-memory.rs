//! Replay memory: how much a hub's RSS grows when 100 slow clients resume
//! from the start of a 64 MiB topic (issue 10: at most ~100 MiB, because
//! replay is read a page at a time, as each client takes it).
//!
//! ```text
//! cargo run --release -p bourn-benches --example replay-memory [-- CLIENTS [EVENTS [memory|redb]]]
//! ```
//!
//! In one process: a hyper server on 127.0.0.1 over a channel whose backend
//! (the memory backend, or the embedded redb store in a temporary file,
//! batched durability) keeps the whole topic (64 Ki events of 1 KiB); RSS is read from
//! `/proc/self/statm` after publishing, then again after CLIENTS raw TCP
//! clients have sent `Last-Event-ID: <epoch>.0` and stopped reading after
//! the response head, so each is as slow as a client can be. Kernel socket
//! buffers are not in RSS; what the process holds per client is.
#![expect(clippy::print_stdout, reason = "a benchmark prints its results")]

use std::convert::Infallible;
use std::io::{Read, Write};
use std::time::Duration;

use bourn_server::{Channel, Event, MemoryBackend};
use bourn_server_redb::{Durability, RedbBackend};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let clients: usize = args.next().map_or(Ok(100), |n| n.parse())?;
    let events: usize = args.next().map_or(Ok(65_536), |n| n.parse())?;
    let kind = args.next().unwrap_or_else(|| "memory".to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let file =
        std::env::temp_dir().join(format!("bourn-replay-memory-{}.redb", std::process::id()));
    let channel = {
        let _runtime = runtime.enter();
        let builder = Channel::builder();
        match kind.as_str() {
            "memory" => builder
                .backend(
                    MemoryBackend::new()
                        .max_events(usize::MAX)
                        .max_bytes(usize::MAX),
                )
                .build()?,
            "redb" => builder
                .backend(
                    RedbBackend::builder(&file)
                        .durability(Durability::Batched(Duration::from_millis(10)))
                        .max_events(u64::MAX)
                        .max_bytes(u64::MAX)
                        .open()?,
                )
                .build()?,
            other => return Err(format!("unknown backend {other}: memory or redb").into()),
        }
    };
    let payload = "x".repeat(1000);
    let mut first = None;
    runtime.block_on(async {
        for _ in 0..events {
            let id = channel
                .publish("big", Event::message(payload.clone()))
                .await?;
            first.get_or_insert(id);
        }
        Ok::<(), BoxError>(())
    })?;
    let epoch = first.map_or(0, |id| id.epoch());
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let hub = channel.clone();
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let hub = hub.clone();
            let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let response = hub.respond_to("big", &request);
                async move { Ok::<_, Infallible>(response) }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let before = rss_mib();
    println!("{kind}: topic of {events} events of ~1 KiB; RSS after publishing: {before:.1} MiB");
    let mut sockets = Vec::new();
    for _ in 0..clients {
        let mut socket = std::net::TcpStream::connect(addr)?;
        write!(
            socket,
            "GET /events HTTP/1.1\r\nhost: x\r\nlast-event-id: {epoch:x}.0\r\n\r\n"
        )?;
        let mut head = [0u8; 256];
        let _ = socket.read(&mut head)?;
        sockets.push(socket);
    }
    std::thread::sleep(Duration::from_secs(3));
    let after = rss_mib();
    println!(
        "{clients} clients resuming from the start, not reading: RSS {after:.1} MiB, \
         +{:.1} MiB ({:.0} KiB per client)",
        after - before,
        (after - before) * 1024.0 / clients as f64
    );
    println!("subscribers: {}", channel.subscriber_count());
    drop(sockets);
    drop(channel);
    let _ = std::fs::remove_file(&file);
    Ok(())
}
