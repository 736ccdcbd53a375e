//! The backend across a SIGKILL: a child process appends 10,000 events
//! and prints each acknowledged id and each id reported through its feed
//! (committed); it is killed at a random point. With
//! `Durability::Immediate` every acknowledged event must be in the reopened
//! file, at its seq, and replay from any seq; with `Durability::Batched`
//! every reported event must, and the acknowledged events lost must be the
//! newest of their topic, all acknowledged within about one window.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bourn_server::EventId;
use bourn_server::backend::{Backend, Feed, FeedSink, Health, PageLimit, Record};
use bourn_server_redb::{Durability, RedbBackend};

use crate::support::{body, temp_dir, within};

const CHILD_ENV: &str = "BOURN_REDB_CHILD";
const MODE_ENV: &str = "BOURN_REDB_MODE";
const EVENTS: u64 = 10_000;
const TOPICS: [&str; 2] = ["a", "b"];
/// The loss window of the batched child.
const WINDOW: Duration = Duration::from_millis(50);

/// `(seq → (id, data, µs since the child started when acknowledged))` per topic.
type Acked = BTreeMap<&'static str, BTreeMap<u64, (EventId, String, u64)>>;
/// The ids reported through the feed, per topic.
type Seen = BTreeMap<&'static str, Vec<EventId>>;

/// Prints `seen <topic> <id>` for each committed record, without blocking
/// the writer thread.
struct Printer(tokio::sync::mpsc::UnboundedSender<String>);

impl FeedSink for Printer {
    fn committed(&self, topic: &str, epoch: u64, record: Record) {
        let id = EventId::new(epoch, record.seq);
        let _ = self.0.send(format!("seen {topic} {id}\n"));
    }
    fn advanced(&self, _: &str, _: u64, _: u64) {}
    fn history_lost(&self, _: &str, _: EventId) {}
    fn health(&self, _: Health) {}
}

/// The child's work, run by the tests below in a process of its own:
/// append `EVENTS` events over two topics from 32 concurrent tasks and print
/// `ack <topic> <id> <data> <µs>` when `append` resolves; then wait to be
/// killed.
#[test]
#[ignore = "run as a child process by the SIGKILL tests"]
fn child_appends_until_killed() {
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
        let backend = RedbBackend::builder(&path)
            .durability(durability)
            .open()
            .unwrap();
        let (lines, mut printed) = tokio::sync::mpsc::unbounded_channel::<String>();
        backend
            .start(Feed::new(Arc::new(Printer(lines.clone()))))
            .unwrap();
        let backend = Arc::new(backend);
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
            let backend = Arc::clone(&backend);
            let lines = lines.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = worker;
                while n < EVENTS {
                    let topic = TOPICS[(n % 2) as usize];
                    let data = format!("event-{n}");
                    let id = backend.append(topic, body(&data), None).await.unwrap();
                    let at = started.elapsed().as_micros();
                    lines
                        .send(format!("ack {topic} {id} {data} {at}\n"))
                        .unwrap();
                    n += 32;
                    if batched {
                        // Acknowledged early: pace, so the kill lands
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
/// acknowledgements, SIGKILLs it and returns what it printed and the file.
async fn append_and_kill(mode: &str, dir: &tempfile::TempDir) -> (Acked, Seen, PathBuf) {
    let path: PathBuf = dir.path().join("store.redb");
    let kill_after = 500 + rand_below(EVENTS - 1_000);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigkill::child_appends_until_killed",
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

/// A number below `n` from the clock (no rand dependency for one draw).
fn rand_below(n: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    u64::from(nanos) % n
}

/// Every record of `topic` in the reopened file, from the start, paged;
/// checks that it is contiguous in `epoch` and that a replay from each seq
/// of `from` is exactly the suffix after it.
async fn check_durable(
    backend: &RedbBackend,
    topic: &str,
    epoch: u64,
    from: &[u64],
) -> Vec<String> {
    let position = backend.position(topic).await.unwrap();
    assert_eq!(position.epoch(), epoch, "{topic}: epoch kept");
    let all = replay(backend, topic, 0, position.seq()).await;
    assert_eq!(all.len() as u64, position.seq(), "{topic}: contiguous");
    for n in 0..20 {
        let seq = from[(rand_below(u64::MAX) as usize + n) % from.len()];
        let got = replay(backend, topic, seq, position.seq()).await;
        assert_eq!(got, all[seq as usize..], "{topic} from {seq}");
    }
    all
}

/// The bodies of `topic` after `after` up to `up_to`, page by page.
async fn replay(backend: &RedbBackend, topic: &str, mut after: u64, up_to: u64) -> Vec<String> {
    let limit = PageLimit {
        max_events: 500,
        max_bytes: 16 * 1024,
    };
    let mut out = Vec::new();
    while after < up_to {
        let page = backend
            .replay(topic, backend.epoch(), after, up_to, limit)
            .await
            .unwrap();
        let page = page.unwrap_or_else(|| panic!("{topic}: trimmed after {after}"));
        for record in page {
            assert_eq!(record.seq, after + 1, "{topic}: in order");
            out.push(String::from_utf8(record.body.to_vec()).unwrap());
            after = record.seq;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_loses_no_acknowledged_event() {
    let dir = temp_dir();
    let (acked, _, path) = append_and_kill("immediate", &dir).await;
    // Restart: the same file, in this process (redb repairs it first).
    let backend = RedbBackend::open(&path).unwrap();
    for (topic, events) in &acked {
        let epoch = events.values().next().unwrap().0.epoch();
        assert_eq!(backend.epoch(), epoch);
        let seqs: Vec<u64> = events.keys().copied().collect();
        let all = check_durable(&backend, topic, epoch, &seqs).await;
        // Every acknowledged event, at its seq.
        for (seq, (_, data, _)) in events {
            let got = all.get((seq - 1) as usize);
            assert_eq!(
                got,
                Some(&String::from_utf8(body(data).to_vec()).unwrap()),
                "{topic} {seq}"
            );
        }
    }
    // Numbering goes on after the durable tail.
    backend
        .start(crate::support::Recorder::new().feed())
        .unwrap();
    let next = backend.append("a", body("after"), None).await.unwrap();
    assert_eq!(next.seq(), backend.position("a").await.unwrap().seq());
    assert!(next.seq() > *acked["a"].keys().last().unwrap());
    backend.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_in_batched_mode_loses_only_unreported_events_of_one_window() {
    let dir = temp_dir();
    let (acked, seen, path) = append_and_kill("batched", &dir).await;
    let backend = RedbBackend::open(&path).unwrap();
    let mut lost_at = Vec::new();
    for (topic, events) in &acked {
        let epoch = events.values().next().unwrap().0.epoch();
        let durable = backend.position(topic).await.unwrap().seq();
        let seqs: Vec<u64> = events.keys().copied().filter(|&s| s <= durable).collect();
        assert!(!seqs.is_empty(), "{topic}: nothing durable");
        let all = check_durable(&backend, topic, epoch, &seqs).await;
        // Every event reported through the feed survived (only committed
        // events are reported), so its id is never reused.
        let reported = seen.get(topic).map_or(&[][..], Vec::as_slice);
        for (n, id) in reported.iter().enumerate() {
            assert_eq!(id.seq(), n as u64 + 1, "{topic}: reported in order");
            assert!(id.seq() <= durable, "{topic}: reported {id} was lost");
        }
        // Acknowledged events are durable up to a point, lost after it.
        for (seq, (_, data, at)) in events {
            match all.get((seq - 1) as usize) {
                Some(got) => assert_eq!(
                    got,
                    &String::from_utf8(body(data).to_vec()).unwrap(),
                    "{topic} {seq}"
                ),
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
    backend.close().await;
}
