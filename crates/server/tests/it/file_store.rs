//! The embedded store across a SIGKILL: a child process publishes 10,000
//! events and prints each acknowledged id and each id its subscribers
//! received; it is killed at a random point. With `Durability::Immediate`
//! every acknowledged event must be in the reopened file and replay from any
//! `Last-Event-ID`; with `Durability::Batched` every delivered event must,
//! and the acknowledged events lost must be the newest of their topic, all
//! acknowledged within about one window.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bourn_codec::Event;
use bourn_server::{Channel, Durability, EventId, FileStore, LastEventId};
use futures_util::StreamExt;

use crate::support::within;

const CHILD_ENV: &str = "BOURN_FILE_STORE_CHILD";
const MODE_ENV: &str = "BOURN_FILE_STORE_MODE";
const EVENTS: u64 = 10_000;
const TOPICS: [&str; 2] = ["a", "b"];
/// The loss window of the batched child.
const WINDOW: Duration = Duration::from_millis(50);

/// `(seq → (id, data, µs since the child started when acknowledged))` per topic.
type Acked = BTreeMap<&'static str, BTreeMap<u64, (EventId, String, u64)>>;
/// The ids each topic's subscriber received, per topic.
type Seen = BTreeMap<&'static str, Vec<EventId>>;

/// The child's work, run by the tests below in a process of its own:
/// publish `EVENTS` events over two topics from 32 concurrent publishers
/// and print `ack <topic> <id> <data> <µs>` when `send` returns and
/// `seen <topic> <id>` when a subscriber receives an event; then wait to be
/// killed.
#[test]
#[ignore = "run as a child process by the SIGKILL tests"]
fn child_publishes_until_killed() {
    let path = std::env::var(CHILD_ENV).expect("the store path");
    let batched = std::env::var(MODE_ENV).is_ok_and(|mode| mode == "batched");
    let durability = if batched {
        Durability::Batched(WINDOW)
    } else {
        Durability::Immediate
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let started = Instant::now();
        let store = FileStore::builder(&path)
            .durability(durability)
            .open()
            .unwrap();
        let channel = Channel::builder()
            .queue_len(2 * EVENTS as usize)
            .file_store(store)
            .build();
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
        for topic in TOPICS {
            let mut subscription = channel.subscribe(topic, None).unwrap();
            let lines = lines.clone();
            tokio::spawn(async move {
                let mut decoder = bourn_codec::Decoder::new();
                while let Some(item) = subscription.next().await {
                    let mut buf = bytes::BytesMut::from(&item.as_bytes()[..]);
                    while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                        if let Some(event) = frame.as_event() {
                            let id = event.id().unwrap();
                            lines.send(format!("seen {topic} {id}\n")).unwrap();
                        }
                    }
                }
            });
        }
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
                    let at = started.elapsed().as_micros();
                    lines
                        .send(format!("ack {topic} {id} {data} {at}\n"))
                        .unwrap();
                    n += 32;
                    if batched {
                        // Acknowledged at once: pace, so the kill lands
                        // mid-stream.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        drop(lines);
        // Killed from outside, never a clean exit.
        std::future::pending::<()>().await;
        printer.await.unwrap();
    });
}

/// Runs the child with `mode` until it printed a random number of
/// acknowledgements, SIGKILLs it and returns what it printed and the store.
async fn publish_and_kill(mode: &str) -> (Acked, Seen, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "bourn-sigkill-{mode}-{}-{:x}",
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
        .env(MODE_ENV, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut acked = Acked::new();
        let mut seen = Seen::new();
        let mut killed = false;
        let mut count = 0;
        let started = Instant::now();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let mut parts = line.split(' ');
            let kind = parts.next().unwrap();
            let topic = match parts.next() {
                Some("a") => "a",
                Some("b") => "b",
                _ => continue,
            };
            let id: EventId = parts.next().unwrap().parse().unwrap();
            if kind == "seen" {
                seen.entry(topic).or_default().push(id);
                continue;
            }
            let data = parts.next().unwrap().to_owned();
            let at = parts.next().unwrap().parse().unwrap();
            acked
                .entry(topic)
                .or_default()
                .insert(id.seq(), (id, data, at));
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
        (acked, seen, killed, status)
    });
    let (acked, seen, killed, status) = within("the child", async {
        tokio::task::spawn_blocking(move || reader.join().unwrap())
            .await
            .unwrap()
    })
    .await;
    assert!(killed, "the child ended before the kill point ({status:?})");
    assert!(!status.success(), "killed: {status:?}");
    let total: usize = acked.values().map(BTreeMap::len).sum();
    assert!(total as u64 >= kill_after, "{total} acknowledged");
    (acked, seen, path)
}

/// Every event of `topic` in the reopened store, from the start, with the
/// `seq` each replay from 20 random ids of `from` must resume after.
async fn check_durable(
    channel: &Channel,
    topic: &str,
    epoch: u64,
    from: &[u64],
) -> Vec<(String, String)> {
    let position = channel.position(topic);
    assert_eq!(position.epoch(), epoch, "{topic}: epoch kept");
    let all = replay(channel, topic, EventId::new(epoch, 0), position.seq()).await;
    assert_eq!(all.len() as u64, position.seq(), "{topic}: contiguous");
    for (n, (id, _)) in all.iter().enumerate() {
        assert_eq!(id, &EventId::new(epoch, n as u64 + 1).to_string());
    }
    // From random ids: exactly the suffix after it.
    for _ in 0..20 {
        let seq = from[rand::random::<u64>() as usize % from.len()];
        let got = replay(channel, topic, EventId::new(epoch, seq), position.seq()).await;
        assert_eq!(got, all[seq as usize..], "{topic} from {seq}");
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_loses_no_acknowledged_event() {
    let (acked, _, path) = publish_and_kill("immediate").await;
    // Restart: the same file, in this process.
    let store = FileStore::open(&path).unwrap();
    let channel = Channel::builder().file_store(store).build();
    for (topic, events) in &acked {
        let epoch = events.values().next().unwrap().0.epoch();
        let seqs: Vec<u64> = events.keys().copied().collect();
        let all = check_durable(&channel, topic, epoch, &seqs).await;
        // Every acknowledged event, at its seq.
        for (seq, (id, data, _)) in events {
            let got = all.get((seq - 1) as usize);
            assert_eq!(got, Some(&(id.to_string(), data.clone())), "{topic} {seq}");
        }
    }
    // Numbering goes on after the durable tail.
    let next = channel.send("a", Event::message("after")).await.unwrap();
    assert_eq!(next.seq(), channel.position("a").seq());
    assert!(next.seq() > *acked["a"].keys().last().unwrap());
    drop(channel);
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_in_batched_mode_loses_only_undelivered_events_of_one_window() {
    let (acked, seen, path) = publish_and_kill("batched").await;
    let store = FileStore::open(&path).unwrap();
    let channel = Channel::builder().file_store(store).build();
    let mut lost_at = Vec::new();
    for (topic, events) in &acked {
        let epoch = events.values().next().unwrap().0.epoch();
        let durable = channel.position(topic).seq();
        let seqs: Vec<u64> = events.keys().copied().filter(|&s| s <= durable).collect();
        assert!(!seqs.is_empty(), "{topic}: nothing durable");
        let all = check_durable(&channel, topic, epoch, &seqs).await;
        // Every event a subscriber saw survived (subscribers only get
        // committed events), so its id is never reused.
        let delivered = seen.get(topic).map_or(&[][..], Vec::as_slice);
        for (n, id) in delivered.iter().enumerate() {
            assert_eq!(id.seq(), n as u64 + 1, "{topic}: delivered in order");
            assert!(id.seq() <= durable, "{topic}: delivered {id} was lost");
        }
        // Acknowledged events are durable up to a point, lost after it.
        for (seq, (id, data, at)) in events {
            match all.get((seq - 1) as usize) {
                Some(got) => assert_eq!(got, &(id.to_string(), data.clone()), "{topic} {seq}"),
                None => lost_at.push(*at),
            }
        }
    }
    // The lost acknowledged events were acknowledged within one window
    // (plus the time to print the acknowledgement on a busy machine).
    if let (Some(first), Some(last)) = (lost_at.iter().min(), lost_at.iter().max()) {
        let span = Duration::from_micros(last - first);
        assert!(
            span < WINDOW + Duration::from_millis(450),
            "lost over {span:?}"
        );
    }
    // The store goes on after the durable tail (a lost event's id is reused).
    let next = channel.send("a", Event::message("after")).await.unwrap();
    assert_eq!(next.seq(), channel.position("a").seq());
    drop(channel);
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

/// The `(id, data)` of the events after `from` up to `top`, by resuming.
async fn replay(channel: &Channel, topic: &str, from: EventId, top: u64) -> Vec<(String, String)> {
    let last = LastEventId::new(from.to_string()).unwrap();
    let mut subscription = channel.subscribe(topic, Some(&last)).unwrap();
    let mut decoder = bourn_codec::Decoder::new();
    let mut out = Vec::new();
    while (out.len() as u64) < top - from.seq() {
        let item = within("replay", subscription.next()).await.unwrap();
        let mut buf = bytes::BytesMut::from(&item.as_bytes()[..]);
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            let event = frame.into_event().unwrap();
            assert_ne!(
                event.event_type(),
                bourn_server::RESET_EVENT,
                "{topic} from {from}"
            );
            out.push((event.id().unwrap().to_owned(), event.data().to_owned()));
        }
    }
    out
}
