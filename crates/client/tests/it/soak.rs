//! Soak: 10,000 numbered events, the connection dropped at 200 random points.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bourn_client::Item;
use bourn_testkit::{Reply, Server};

use crate::util::*;

const EVENTS: usize = 10_000;
const DROPS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_exactly_once_in_order_across_200_drops() {
    // The whole stream, and where each event starts, so a resume by
    // Last-Event-ID is a lookup.
    let mut body = String::from("retry: 0\n\n");
    let mut starts = Vec::with_capacity(EVENTS);
    for n in 0..EVENTS {
        starts.push(body.len());
        body.push_str(&format!(
            "id: {n}\nevent: tick\ndata: {{\"n\":{n},\"pad\":\"{}\"}}\n\n",
            "x".repeat(n % 37)
        ));
    }
    let body = bytes::Bytes::from(body);
    let served = Arc::new(AtomicUsize::new(0));
    let server = Server::start(move |r| {
        let from = match r.last_event_id() {
            Some(id) => starts[id.parse::<usize>().unwrap() + 1..]
                .first()
                .copied()
                .unwrap_or(body.len()),
            None => 0,
        };
        let rest = body.slice(from..);
        if served.fetch_add(1, Ordering::Relaxed) < DROPS && !rest.is_empty() {
            // Random but repeatable drop points (splitmix64 of the request
            // number); each connection carries at most 1/60 of what is left,
            // so the 200 drops spread over the whole stream.
            let span = (rest.len() / 60).max(2);
            let at = (splitmix(r.index as u64) as usize) % span;
            Reply::sse(rest).chunk_size(1460).drop_at(at)
        } else {
            Reply::sse(rest)
        }
    })
    .await
    .unwrap();

    let source = builder(server.url()).build().unwrap();
    let mut source = source;
    let mut next = 0usize;
    let mut lost = 0usize;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    while next < EVENTS {
        assert!(
            std::time::Instant::now() < deadline,
            "stuck at event {next}"
        );
        let item = take(&mut source, 1)
            .await
            .pop()
            .expect("the stream goes on");
        match item {
            Ok(Item::Event(e)) => {
                assert_eq!(
                    e.id(),
                    Some(next.to_string().as_str()),
                    "in order, exactly once"
                );
                assert_eq!(e.event_type(), "tick");
                let v: serde_json::Value =
                    serde_json::from_str(e.data()).expect("never half an event");
                assert_eq!(v["n"], next);
                next += 1;
            }
            Ok(_) => {}
            Err(e) => {
                assert!(e.is_disconnect() && !e.is_fatal(), "{e}");
                lost += 1;
            }
        }
    }
    assert!(lost >= DROPS, "{lost} drops seen");
    assert!(server.request_count() > DROPS);
    source.close();
}

fn splitmix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
