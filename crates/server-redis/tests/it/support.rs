//! A recording `FeedSink`, and helpers to open backends and poke Redis.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bourn_server::EventId;
use bourn_server::backend::{Backend, Feed, FeedSink, Health, Record};
use bourn_server_redis::RedisBackend;
use bytes::Bytes;

/// One call a backend made on its feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Committed {
        topic: String,
        epoch: u64,
        seq: u64,
        body: Bytes,
    },
    Advanced {
        topic: String,
        epoch: u64,
        seq: u64,
    },
    Lost {
        topic: String,
        position: EventId,
    },
    Health(Health),
}

/// Records every call, in order.
#[derive(Default)]
pub struct Recorder {
    notes: Mutex<Vec<Note>>,
}

impl FeedSink for Recorder {
    fn committed(&self, topic: &str, epoch: u64, record: Record) {
        self.push(Note::Committed {
            topic: topic.to_owned(),
            epoch,
            seq: record.seq,
            body: record.body,
        });
    }

    fn advanced(&self, topic: &str, epoch: u64, seq: u64) {
        self.push(Note::Advanced {
            topic: topic.to_owned(),
            epoch,
            seq,
        });
    }

    fn history_lost(&self, topic: &str, position: EventId) {
        self.push(Note::Lost {
            topic: topic.to_owned(),
            position,
        });
    }

    fn health(&self, health: Health) {
        self.push(Note::Health(health));
    }
}

impl Recorder {
    fn push(&self, note: Note) {
        self.notes.lock().unwrap().push(note);
    }

    pub fn notes(&self) -> Vec<Note> {
        self.notes.lock().unwrap().clone()
    }

    /// The (epoch, seq) of every committed record of `topic`, in order.
    pub fn committed(&self, topic: &str) -> Vec<(u64, u64)> {
        self.notes()
            .into_iter()
            .filter_map(|note| match note {
                Note::Committed {
                    topic: t,
                    epoch,
                    seq,
                    ..
                } if t == topic => Some((epoch, seq)),
                _ => None,
            })
            .collect()
    }

    pub fn healths(&self) -> Vec<Health> {
        self.notes()
            .into_iter()
            .filter_map(|note| match note {
                Note::Health(health) => Some(health),
                _ => None,
            })
            .collect()
    }

    /// Waits until `done` holds for the notes, or panics after `within`.
    pub async fn wait(&self, what: &str, within: Duration, done: impl Fn(&[Note]) -> bool) {
        let started = Instant::now();
        loop {
            if done(&self.notes()) {
                return;
            }
            assert!(
                started.elapsed() < within,
                "{what}: not within {within:?}; notes: {:#?}",
                self.notes()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn wait_healthy_count(&self, count: usize, within: Duration) {
        self.wait("healthy", within, |notes| {
            notes
                .iter()
                .filter(|n| **n == Note::Health(Health::Healthy))
                .count()
                >= count
        })
        .await;
    }
}

/// A started backend on `url` with short timeouts, and its recorder.
pub async fn node(url: &str, prefix: &str) -> (RedisBackend, Arc<Recorder>) {
    node_with(url, prefix, |builder| builder).await
}

pub async fn node_with(
    url: &str,
    prefix: &str,
    configure: impl FnOnce(
        bourn_server_redis::RedisBackendBuilder,
    ) -> bourn_server_redis::RedisBackendBuilder,
) -> (RedisBackend, Arc<Recorder>) {
    let builder = RedisBackend::builder(url)
        .prefix(prefix)
        .timeout(Duration::from_millis(500))
        .heartbeat(Duration::from_millis(300));
    let backend = configure(builder).open().await.unwrap();
    let recorder = Arc::new(Recorder::default());
    backend.start(Feed::new(recorder.clone())).unwrap();
    recorder.wait_healthy_count(1, Duration::from_secs(5)).await;
    (backend, recorder)
}

/// A plain connection for setting up and inspecting Redis by hand.
pub async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

pub async fn query<T: redis::FromRedisValue>(url: &str, cmd: &mut redis::Cmd) -> T {
    let mut connection = raw(url).await;
    cmd.query_async(&mut connection).await.unwrap()
}

pub async fn xlen(url: &str, prefix: &str, topic: &str) -> u64 {
    query(
        url,
        redis::cmd("XLEN").arg(format!("{prefix}:{{{topic}}}:log")),
    )
    .await
}

pub fn body(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}
