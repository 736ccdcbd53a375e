//! `bourn serve --store`: the embedded store across a SIGKILL, and two hubs
//! over one throwaway Redis with clients moving from one to the other.

use std::process::Stdio;
use std::time::Duration;

use bourn_client::{EventSource, Item};
use futures_util::StreamExt;

use super::support::{DataDir, Hub, Lines, bourn_in, runtime, wait_for_exit};
use bourn_testkit::redis::RedisServer;

const WAIT: Duration = Duration::from_secs(20);

/// POSTs `data` to `topic`; the id from the answer.
fn publish(hub: &Hub, topic: &str, data: &str) -> String {
    let response = hub.request("POST", &format!("/topics/{topic}"), &[], data.as_bytes());
    assert_eq!(response.status, 200, "{}", response.text());
    response.text().trim().to_owned()
}

/// A client's `(id, data)` until `count` events or a disconnect; with the
/// client's last event id.
async fn read(source: &mut EventSource, count: usize) -> (Vec<(String, String)>, String) {
    let mut events = Vec::new();
    while events.len() < count {
        let item = tokio::time::timeout(WAIT, source.next()).await;
        match item.expect("an event within the wait") {
            Some(Ok(Item::Event(event))) => {
                events.push((
                    event.id().unwrap_or_default().to_owned(),
                    event.data().to_owned(),
                ));
            }
            Some(Ok(_)) => {}
            Some(Err(error)) if error.is_disconnect() => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    (events, source.last_event_id())
}

#[test]
fn the_embedded_store_resumes_across_a_sigkill() {
    let dir = std::env::temp_dir().join(format!("bourn-cli-store-{}", std::process::id()));
    let path = dir.join("hub.redb");
    let path = path.to_str().unwrap();
    let mut hub = Hub::start(&["--store", path]);
    let ids: Vec<String> = (0..20)
        .map(|n| publish(&hub, "t", &n.to_string()))
        .collect();
    hub.child.kill().unwrap();
    hub.child.wait().unwrap();
    drop(hub);
    let hub = Hub::start(&["--store", path]);
    let runtime = runtime();
    let (events, _) = runtime.block_on(async {
        let mut source = EventSource::builder(hub.url("/topics/t"))
            .last_event_id(ids[4].clone())
            .build()
            .unwrap();
        read(&mut source, 15).await
    });
    let expected: Vec<(String, String)> =
        (5..20).map(|n| (ids[n].clone(), n.to_string())).collect();
    assert_eq!(events, expected, "resumed after a restart, no reset");
    let next = publish(&hub, "t", "20");
    assert!(next.ends_with(".21"), "{next}");
    drop(hub);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_data_dir_that_cannot_be_created_is_a_clear_error() {
    let data = DataDir::new();
    // XDG_DATA_HOME is a file: the store's folder cannot be made in it.
    let file = data.path.join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let mut child = bourn_in(&file)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Lines::new(child.stderr.take().unwrap());
    let status = wait_for_exit(&mut child, WAIT).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("bourn serve started without its store")
    });
    assert_eq!(status.code(), Some(1));
    let line = stderr.until("cannot create the directory");
    assert!(line.contains("not-a-dir/bourn"), "{line}");
    assert!(line.contains("--store memory"), "{line}");
}

#[test]
fn two_hubs_over_one_redis_share_topics_and_clients_move_between_them() {
    let Some(redis) =
        RedisServer::start("two_hubs_over_one_redis_share_topics_and_clients_move_between_them")
    else {
        return;
    };
    let url = redis.url();
    let mut a = Hub::start(&["--store", &url]);
    let b = Hub::start(&["--store", &url]);
    let first = publish(&a, "t", "0");
    let runtime = runtime();
    runtime.block_on(async {
        let connect = |hub: &Hub| {
            EventSource::builder(hub.url("/topics/t"))
                .last_event_id(first.clone())
                .build()
                .unwrap()
        };
        let mut on_a: Vec<EventSource> = (0..3).map(|_| connect(&a)).collect();
        let mut on_b: Vec<EventSource> = (0..3).map(|_| connect(&b)).collect();
        // Published on A, received on B (and A).
        let mut ids = vec![first.clone()];
        for n in 1..=30 {
            ids.push(publish(&a, "t", &n.to_string()));
        }
        let expected = |range: std::ops::RangeInclusive<usize>| -> Vec<(String, String)> {
            range.map(|n| (ids[n].clone(), n.to_string())).collect()
        };
        for source in on_b.iter_mut().chain(on_a.iter_mut()) {
            assert_eq!(read(source, 30).await.0, expected(1..=30));
        }

        // Publishing goes on through B while A is killed mid-stream.
        let b_addr = b.addr;
        let publisher = std::thread::spawn(move || {
            let mut more = Vec::new();
            for n in 31..=130 {
                let response = super::support::request(
                    b_addr,
                    "POST",
                    "/topics/t",
                    &[],
                    n.to_string().as_bytes(),
                );
                assert_eq!(response.status, 200);
                more.push(response.text().trim().to_owned());
                std::thread::sleep(Duration::from_millis(3));
            }
            more
        });
        let mut seen_on_a = Vec::new();
        for source in &mut on_a {
            seen_on_a.push(read(source, 10).await.0);
        }
        a.child.kill().unwrap();
        a.child.wait().unwrap();
        // Each client of A: what it got until A died, then B from its id.
        let mut moved = Vec::new();
        for (mut source, mut seen) in on_a.into_iter().zip(seen_on_a) {
            let (rest, last_id) = read(&mut source, usize::MAX).await;
            seen.extend(rest);
            source.close();
            let mut again = EventSource::builder(b.url("/topics/t"))
                .last_event_id(last_id)
                .build()
                .unwrap();
            let left = 100 - seen.len();
            seen.extend(read(&mut again, left).await.0);
            moved.push(seen);
        }
        let more = tokio::task::spawn_blocking(move || publisher.join().unwrap())
            .await
            .unwrap();
        let expected: Vec<(String, String)> = (31..=130)
            .zip(more)
            .map(|(n, id)| (id, n.to_string()))
            .collect();
        for seen in moved {
            assert_eq!(seen, expected, "every event once, in order");
        }
        for source in &mut on_b {
            assert_eq!(read(source, 100).await.0, expected);
        }
    });
    drop((a, b, redis));
}

#[test]
fn a_redis_restart_sends_the_reset_event_and_publish_answers_503_or_504_meanwhile() {
    let Some(mut redis) = RedisServer::start(
        "a_redis_restart_sends_the_reset_event_and_publish_answers_503_or_504_meanwhile",
    ) else {
        return;
    };
    let hub = Hub::start(&["--store", &redis.url()]);
    let first = publish(&hub, "t", "0");
    let runtime = runtime();
    runtime.block_on(async {
        let mut source = EventSource::builder(hub.url("/topics/t"))
            .last_event_id(first.clone())
            .build()
            .unwrap();
        let second = publish(&hub, "t", "1");
        assert_eq!(read(&mut source, 1).await.0, [(second, "1".to_owned())]);
        redis.stop();
        // The first command may go into the dead connection before the hub
        // notices: its outcome is unknown (504), never "nothing published".
        // The next one dials, finds nothing, and knows nothing was (503).
        let first_try = hub.request("POST", "/topics/t", &[], b"lost");
        match first_try.status {
            504 => assert!(
                first_try.text().contains("outcome unknown"),
                "{}",
                first_try.text()
            ),
            status => assert_eq!(status, 503, "{}", first_try.text()),
        }
        let refused = hub.request("POST", "/topics/t", &[], b"lost");
        assert_eq!(refused.status, 503, "{}", refused.text());
        assert!(refused.text().contains("retry later"), "{}", refused.text());
        // The backend says it is unhealthy (its Pub/Sub connection is gone):
        // /ready answers 503 with the reason, /metrics has the gauge at 0;
        // /health (liveness) stays 200: restarting the hub would not help.
        let started = std::time::Instant::now();
        let ready = loop {
            let ready = hub.request("GET", "/ready", &[], b"");
            if ready.status != 200 || started.elapsed() > WAIT {
                break ready;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(ready.status, 503, "{}", ready.text());
        assert!(
            ready.text().contains("backend unhealthy"),
            "{}",
            ready.text()
        );
        assert_eq!(hub.request("GET", "/health", &[], b"").status, 200);
        assert_eq!(hub.metric("bourn_backend_up"), 0);
        assert!(hub.metric("bourn_rejected_total{status=\"503\"}") >= 1);
        redis.restart();
        // Through reconnections (the reset ends the stream), the next event.
        let mut next_event = async || loop {
            let item = tokio::time::timeout(WAIT, source.next()).await.unwrap();
            if let Some(Ok(Item::Event(event))) = item {
                break event;
            }
        };
        let reset = next_event().await;
        assert_eq!(reset.event_type(), "bourn-reset");
        assert_eq!(reset.data(), "epoch");
        // The client resumes from the reset's id: the next event, no gap.
        let third = publish(&hub, "t", "2");
        let event = next_event().await;
        assert_eq!((event.id(), event.data()), (Some(third.as_str()), "2"));
        assert_eq!(hub.request("GET", "/ready", &[], b"").status, 200);
        assert_eq!(hub.metric("bourn_backend_up"), 1);
        assert_eq!(
            hub.metric("bourn_resets_by_reason_total{reason=\"epoch\"}"),
            1
        );
    });
}
