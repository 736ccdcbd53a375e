//! The embedded store across a SIGKILL: a child process publishes 10,000
//! events and prints each acknowledged id; it is killed at a random point;
//! every acknowledged event must be in the reopened file and replay from
//! any `Last-Event-ID`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rill_codec::Event;
use rill_server::{Channel, Durability, EventId, FileStore, LastEventId};

use crate::support::within;

const CHILD_ENV: &str = "RILL_FILE_STORE_CHILD";
const EVENTS: u64 = 10_000;
const TOPICS: [&str; 2] = ["a", "b"];

/// The child's work, run by `a_sigkill_loses_no_acknowledged_event` in a
/// process of its own: publish `EVENTS` events over two topics from 32
/// concurrent publishers and print `ack <topic> <id> <data>` once each is
/// durable.
#[test]
#[ignore = "run as a child process by a_sigkill_loses_no_acknowledged_event"]
fn child_publishes_until_killed() {
    let path = std::env::var(CHILD_ENV).expect("the store path");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = FileStore::builder(&path)
            .durability(Durability::Batched(Duration::from_millis(2)))
            .open()
            .unwrap();
        let channel = Channel::builder().file_store(store).build();
        let (lines, mut printed) = tokio::sync::mpsc::unbounded_channel::<String>();
        let printer = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let stdout = std::io::stdout();
            while let Some(line) = printed.blocking_recv() {
                let mut out = stdout.lock();
                out.write_all(line.as_bytes()).unwrap();
                out.flush().unwrap();
            }
        });
        let mut tasks = Vec::new();
        for worker in 0..32u64 {
            let channel = channel.clone();
            let lines = lines.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = worker;
                while n < EVENTS {
                    let topic = TOPICS[(n % 2) as usize];
                    let data = format!("event-{n}");
                    let id = channel
                        .send(topic, Event::message(data.clone()))
                        .await
                        .unwrap();
                    lines.send(format!("ack {topic} {id} {data}\n")).unwrap();
                    n += 32;
                }
            }));
        }
        drop(lines);
        for task in tasks {
            task.await.unwrap();
        }
        printer.await.unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_loses_no_acknowledged_event() {
    let dir = std::env::temp_dir().join(format!(
        "rill-sigkill-{}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let path: PathBuf = dir.join("store.redb");
    let kill_after = 500 + rand::random::<u64>() % (EVENTS - 1_000);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "file_store::child_publishes_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut acked: BTreeMap<&'static str, BTreeMap<u64, (EventId, String)>> = BTreeMap::new();
        let mut killed = false;
        let mut count = 0;
        let started = Instant::now();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let Some(rest) = line.strip_prefix("ack ") else {
                continue;
            };
            let mut parts = rest.splitn(3, ' ');
            let topic = match parts.next().unwrap() {
                "a" => "a",
                _ => "b",
            };
            let id: EventId = parts.next().unwrap().parse().unwrap();
            let data = parts.next().unwrap().to_owned();
            acked.entry(topic).or_default().insert(id.seq(), (id, data));
            count += 1;
            if count == kill_after && !killed {
                // SIGKILL: no destructor, no flush, no commit runs.
                killed = true;
                child.kill().unwrap();
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "child too slow"
            );
        }
        let status = child.wait().unwrap();
        (acked, killed, status)
    });
    let (acked, killed, status) = within("the child", async {
        tokio::task::spawn_blocking(move || reader.join().unwrap())
            .await
            .unwrap()
    })
    .await;
    assert!(
        killed,
        "the child finished before the kill point ({status:?})"
    );
    assert!(!status.success(), "killed: {status:?}");
    let total: usize = acked.values().map(BTreeMap::len).sum();
    assert!(total as u64 >= kill_after, "{total} acknowledged");

    // Restart: the same file, in this process.
    let store = FileStore::open(&path).unwrap();
    let channel = Channel::builder().file_store(store).build();
    for (topic, events) in &acked {
        let epoch = events.values().next().unwrap().0.epoch();
        let position = channel.position(topic);
        assert_eq!(position.epoch(), epoch, "{topic}: epoch kept");
        let newest = *events.keys().last().unwrap();
        assert!(position.seq() >= newest, "{topic}: {position} < {newest}");
        // Everything from the start: every acknowledged event, at its seq.
        let all = replay(&channel, topic, EventId::new(epoch, 0), position.seq()).await;
        assert_eq!(all.len() as u64, position.seq(), "{topic}: contiguous");
        for (seq, (id, data)) in events {
            let (got_id, got_data) = &all[(seq - 1) as usize];
            assert_eq!((got_id, got_data), (&id.to_string(), data), "{topic} {seq}");
        }
        // From 20 random acknowledged ids: exactly the suffix after it.
        let seqs: Vec<u64> = events.keys().copied().collect();
        for _ in 0..20 {
            let from = seqs[rand::random::<u64>() as usize % seqs.len()];
            let got = replay(&channel, topic, EventId::new(epoch, from), position.seq()).await;
            assert_eq!(got, all[from as usize..], "{topic} from {from}");
        }
    }
    // Numbering goes on after the durable tail.
    let next = channel.send("a", Event::message("after")).await.unwrap();
    assert_eq!(next.seq(), channel.position("a").seq());
    assert!(next.seq() > *acked["a"].keys().last().unwrap());
    drop(channel);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The `(id, data)` of the events after `from` up to `top`, by resuming.
async fn replay(channel: &Channel, topic: &str, from: EventId, top: u64) -> Vec<(String, String)> {
    let last = LastEventId::new(from.to_string()).unwrap();
    let mut subscription = channel.subscribe(topic, Some(&last)).unwrap();
    let mut decoder = rill_codec::Decoder::new();
    let mut out = Vec::new();
    while (out.len() as u64) < top - from.seq() {
        let item = within("replay", subscription.next()).await.unwrap();
        let mut buf = bytes::BytesMut::from(&item.as_bytes()[..]);
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            let event = frame.into_event().unwrap();
            assert_ne!(
                event.event_type(),
                rill_server::RESET_EVENT,
                "{topic} from {from}"
            );
            out.push((event.id().unwrap().to_owned(), event.data().to_owned()));
        }
    }
    out
}
