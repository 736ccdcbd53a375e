//! `FileStore`: the embedded store, one redb file that survives restarts.
#![expect(
    clippy::result_large_err,
    reason = "redb's error is 160 bytes; it only travels on failure, to a log line or an Error's source"
)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use redb::{Database, ReadableTable, TableDefinition};

use crate::channel::{Inner, Topic};
use crate::durability::{Durability, Ledger};
use crate::encoded::Encoded;
use crate::error::{Error, Kind};
use crate::event_id::random_epoch;
use crate::store::Done;
use crate::sync::lock;

/// Events: `(topic, seq)` → 8 bytes of publish time (ms since the Unix
/// epoch, little endian) then the encoded event.
const EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("events");
/// Topics: name → (first retained seq, last seq, retained encoded bytes).
/// `first == last + 1` when everything was trimmed; kept so that a topic
/// goes on numbering from `last`.
const TOPICS: TableDefinition<&str, (u64, u64, u64)> = TableDefinition::new("topics");
/// `"epoch"` → the file's epoch, written once when the file is created.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Most events written in one commit.
const MAX_BATCH: usize = 4096;
/// Most events one compaction pass deletes per topic (the next pass goes on).
const MAX_TRIM_PER_PASS: u64 = 65_536;

/// The embedded store: a channel's history in one [redb] file, so that a
/// restarted process keeps its epoch and its events (clients resume across
/// the restart instead of getting a reset event) and, with the default
/// [`Durability::Immediate`], loses no acknowledged event even on a crash.
///
/// redb is pure Rust (no C toolchain, no `unsafe` in our code), keeps one
/// file, has ACID write transactions with an fsync'd commit, and serves
/// readers from MVCC snapshots while the writer commits, so resumes never
/// wait for publishes.
///
/// Writes go through one writer thread: publishing queues the event, the
/// writer commits batches, then delivers each event to the topic's
/// subscribers and answers the [`Channel::send`](crate::Channel::send)s
/// still waiting. When `send` returns, and what a crash can lose, is the
/// store's [`Durability`]: Default: [`Durability::Immediate`] (after the
/// fsync; a crash loses nothing acknowledged). Subscribers only ever
/// receive committed events.
///
/// If a commit fails (disk full, I/O error), that batch's waiting
/// publishers get [`Error::is_unavailable`], and so does every later
/// publish: the store stops taking events until the process is restarted
/// (open streams stay open). With [`Durability::Immediate`] nothing that
/// was acknowledged is lost; with [`Durability::Batched`] the batch's
/// early-acknowledged events are, within the same bound as a crash.
///
/// Before a process exits without dropping its channel, call
/// [`FlushHandle::flush`] (from [`flush_handle`](FileStore::flush_handle))
/// so that batched events still queued are committed; dropping the last
/// handle of the channel does the same.
///
/// # Limits
///
/// Per topic, enforced by a compaction that runs on the writer thread
/// between commits, at most every [`compaction_interval`](FileStoreBuilder::compaction_interval)
/// (Default: 1 s), deleting the oldest events first:
/// - events: Default: 100,000 ([`FileStore::DEFAULT_MAX_EVENTS`]);
/// - encoded bytes: Default: 64 MiB ([`FileStore::DEFAULT_MAX_BYTES`]);
/// - age: Default: 24 h ([`FileStore::DEFAULT_MAX_AGE`]);
/// - loss window of [`Durability::Batched`]: Default: 10 ms
///   ([`FileStore::DEFAULT_BATCH_WINDOW`]), when that mode is chosen;
/// - events per commit: 4,096.
///
/// Between passes a topic may hold up to one interval's worth of events
/// beyond these bounds. Freed pages are reused by redb; the file does not
/// shrink.
///
/// [redb]: https://www.redb.org
pub struct FileStore {
    shared: Arc<Shared>,
    sender: Option<Sender<Item>>,
    receiver: Mutex<Option<Receiver<Item>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// Settings for a [`FileStore`]; every default is listed on its setter.
#[derive(Debug, Clone)]
pub struct FileStoreBuilder {
    path: PathBuf,
    config: Config,
}

#[derive(Debug, Clone)]
struct Config {
    durability: Durability,
    max_events: u64,
    max_bytes: u64,
    max_age: Option<Duration>,
    compaction_interval: Duration,
}

struct Shared {
    db: Database,
    path: PathBuf,
    epoch: u64,
    config: Config,
    /// Set by a failed commit: every later publish fails.
    failed: AtomicBool,
    /// Early acknowledgements and progress of the writer's queue.
    ledger: Ledger,
}

/// Waits for a [`FileStore`]'s queued events to be committed, from outside
/// the channel that owns the store.
#[derive(Debug, Clone)]
pub struct FlushHandle {
    shared: Weak<Shared>,
}

/// An event on its way to the file.
struct Item {
    topic: Arc<Topic>,
    seq: u64,
    event: Encoded,
    /// Publish time, ms since the Unix epoch (for retention by age).
    at: u64,
    /// When it was queued (for the batching window).
    queued: Instant,
    /// Acknowledged when queued, before its commit ([`Durability::Batched`]).
    early: bool,
    done: Option<Done>,
}

/// The source of an [`Error::is_unavailable`] from the file store.
#[derive(Debug)]
struct StoreFailed(String);

impl fmt::Display for StoreFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "embedded store: {}", self.0)
    }
}

impl std::error::Error for StoreFailed {}

fn unavailable(what: impl fmt::Display) -> Error {
    Error::with_source(Kind::Unavailable, StoreFailed(what.to_string()))
}

impl FileStore {
    /// Default for [`max_events`](FileStoreBuilder::max_events): 100,000 per topic.
    pub const DEFAULT_MAX_EVENTS: u64 = 100_000;
    /// Default for [`max_bytes`](FileStoreBuilder::max_bytes): 64 MiB per topic.
    pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
    /// Default for [`max_age`](FileStoreBuilder::max_age): 24 h.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
    /// A loss window for [`Durability::Batched`] (what `bourn serve
    /// --durability batched` uses): 10 ms.
    pub const DEFAULT_BATCH_WINDOW: Duration = Duration::from_millis(10);
    /// Default for [`compaction_interval`](FileStoreBuilder::compaction_interval): 1 s.
    pub const DEFAULT_COMPACTION_INTERVAL: Duration = Duration::from_secs(1);

    /// Opens (or creates) the store at `path` with every default.
    pub fn open(path: impl AsRef<Path>) -> Result<FileStore, Error> {
        FileStore::builder(path).open()
    }

    /// Settings for a store at `path`.
    pub fn builder(path: impl AsRef<Path>) -> FileStoreBuilder {
        FileStoreBuilder {
            path: path.as_ref().to_path_buf(),
            config: Config {
                durability: Durability::default(),
                max_events: FileStore::DEFAULT_MAX_EVENTS,
                max_bytes: FileStore::DEFAULT_MAX_BYTES,
                max_age: Some(FileStore::DEFAULT_MAX_AGE),
                compaction_interval: FileStore::DEFAULT_COMPACTION_INTERVAL,
            },
        }
    }

    /// The file's epoch: chosen when the file was created and kept for its
    /// life, so ids stay resumable across restarts.
    pub fn epoch(&self) -> u64 {
        self.shared.epoch
    }

    /// The store's durability mode.
    pub fn durability(&self) -> Durability {
        self.shared.config.durability
    }

    /// A handle to wait for this store's queued events to be committed,
    /// usable after the store moved into a channel.
    pub fn flush_handle(&self) -> FlushHandle {
        FlushHandle {
            shared: Arc::downgrade(&self.shared),
        }
    }

    /// The newest durable `seq` of `topic`, or 0.
    pub(crate) fn last_seq(&self, topic: &str) -> u64 {
        let read = || -> Result<u64, redb::Error> {
            let txn = self.shared.db.begin_read()?;
            let topics = txn.open_table(TOPICS)?;
            Ok(topics.get(topic)?.map_or(0, |entry| entry.value().1))
        };
        read().unwrap_or_else(|error| {
            tracing::error!(%error, topic, "embedded store: reading a topic failed");
            0
        })
    }

    /// The events of `topic` with `after < seq <= up_to`, or `None` if the
    /// first of them is no longer retained.
    pub(crate) fn replay(&self, topic: &str, after: u64, up_to: u64) -> Option<Vec<Encoded>> {
        if after >= up_to {
            return Some(Vec::new());
        }
        let read = || -> Result<Option<Vec<Encoded>>, redb::Error> {
            let txn = self.shared.db.begin_read()?;
            let table = txn.open_table(EVENTS)?;
            let capacity = usize::try_from(up_to - after).unwrap_or(0).min(MAX_BATCH);
            let mut events = Vec::with_capacity(capacity);
            let mut expected = after + 1;
            for entry in table.range((topic, after + 1)..=(topic, up_to))? {
                let (key, value) = entry?;
                if key.value().1 != expected {
                    return Ok(None);
                }
                let stored = value.value();
                let bytes = stored.get(8..).unwrap_or_default();
                events.push(Encoded::from_stored(Bytes::copy_from_slice(bytes)));
                expected += 1;
            }
            Ok((expected == up_to + 1).then_some(events))
        };
        read().unwrap_or_else(|error| {
            tracing::error!(%error, topic, "embedded store: replay failed");
            None
        })
    }

    /// Queues event `seq` of `topic` for the writer. Called under the
    /// topic's lock. `done` is answered after the commit, or at once when
    /// the [`Durability`] acknowledges the event when queued.
    pub(crate) fn submit(
        &self,
        topic: &Arc<Topic>,
        seq: u64,
        event: Encoded,
        mut done: Option<Done>,
    ) -> Result<(), Error> {
        let shared = &*self.shared;
        if shared.failed.load(Ordering::Relaxed) {
            return Err(unavailable("a write failed earlier; restart to retry"));
        }
        let sender = self.sender.as_ref().ok_or_else(|| unavailable("closed"))?;
        let waits = done.is_some();
        let at = now_ms();
        let early = shared
            .ledger
            .enqueue(shared.config.durability, waits, |early| {
                let item = Item {
                    topic: Arc::clone(topic),
                    seq,
                    event,
                    at,
                    queued: Instant::now(),
                    early,
                    done: if early { None } else { done.take() },
                };
                sender
                    .send(item)
                    .map_err(|_| unavailable("the writer thread is gone"))
            })?;
        if let (true, Some(done)) = (early, done) {
            // The publisher may have stopped waiting; the event stands.
            let _ = done.send(Ok(()));
        }
        Ok(())
    }

    /// Starts the writer thread for `channel`.
    pub(crate) fn start(&self, channel: Weak<Inner>) {
        let Some(receiver) = lock(&self.receiver).take() else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        let spawned = std::thread::Builder::new()
            .name("bourn-file-store".into())
            .spawn(move || shared.run(&receiver, &channel));
        match spawned {
            Ok(handle) => *lock(&self.writer) = Some(handle),
            Err(error) => {
                tracing::error!(%error, "embedded store: cannot start its writer thread");
                self.shared.failed.store(true, Ordering::Relaxed);
                self.shared.ledger.close();
            }
        }
    }
}

impl FileStoreBuilder {
    /// Sets when [`Channel::send`](crate::Channel::send) returns and what a
    /// crash can lose. Default: [`Durability::Immediate`] (after the fsync;
    /// nothing acknowledged is lost).
    pub fn durability(mut self, durability: Durability) -> FileStoreBuilder {
        self.config.durability = durability;
        self
    }

    /// Sets the most events retained per topic. Default: 100,000. Zero
    /// keeps none past the next compaction.
    pub fn max_events(mut self, max: u64) -> FileStoreBuilder {
        self.config.max_events = max;
        self
    }

    /// Sets the most encoded bytes retained per topic. Default: 64 MiB.
    pub fn max_bytes(mut self, max: u64) -> FileStoreBuilder {
        self.config.max_bytes = max;
        self
    }

    /// Sets how long events are retained; `None` keeps them regardless of
    /// age. Default: 24 h.
    pub fn max_age(mut self, max: Option<Duration>) -> FileStoreBuilder {
        self.config.max_age = max;
        self
    }

    /// Sets how often compaction runs. Default: 1 s.
    pub fn compaction_interval(mut self, interval: Duration) -> FileStoreBuilder {
        self.config.compaction_interval = interval;
        self
    }

    /// Opens the file (creating it and its folder if missing), or fails with
    /// [`Error::is_unavailable`] (unreadable, locked by another process, not
    /// a store).
    pub fn open(self) -> Result<FileStore, Error> {
        let path = self.path;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|error| unavailable(format_args!("{}: {error}", parent.display())))?;
        }
        let db = Database::create(&path)
            .map_err(|error| unavailable(format_args!("{}: {error}", path.display())))?;
        let epoch =
            init(&db).map_err(|error| unavailable(format_args!("{}: {error}", path.display())))?;
        let (sender, receiver) = mpsc::channel();
        Ok(FileStore {
            shared: Arc::new(Shared {
                db,
                path,
                epoch,
                config: self.config,
                failed: AtomicBool::new(false),
                ledger: Ledger::default(),
            }),
            sender: Some(sender),
            receiver: Mutex::new(Some(receiver)),
            writer: Mutex::new(None),
        })
    }
}

/// Creates the tables and the epoch on first use; returns the epoch.
fn init(db: &Database) -> Result<u64, redb::Error> {
    let txn = db.begin_write()?;
    let epoch = {
        txn.open_table(EVENTS)?;
        txn.open_table(TOPICS)?;
        let mut meta = txn.open_table(META)?;
        let stored = meta.get("epoch")?.map(|entry| entry.value());
        match stored {
            Some(epoch) => epoch,
            None => {
                let epoch = random_epoch();
                meta.insert("epoch", epoch)?;
                epoch
            }
        }
    };
    txn.commit()?;
    Ok(epoch)
}

impl Shared {
    /// The writer thread: gather a batch, commit it, deliver it, answer its
    /// publishers; compact between batches. Ends when the store is dropped.
    fn run(&self, receiver: &Receiver<Item>, channel: &Weak<Inner>) {
        let interval = self.config.compaction_interval;
        let mut last_compaction = Instant::now();
        loop {
            let first = match receiver.recv_timeout(interval) {
                Ok(item) => item,
                Err(RecvTimeoutError::Timeout) => {
                    self.compact_logged();
                    last_compaction = Instant::now();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.ledger.close();
                    return;
                }
            };
            let mut batch = vec![first];
            self.gather(receiver, &mut batch);
            self.commit(batch, channel);
            if last_compaction.elapsed() >= interval {
                self.compact_logged();
                last_compaction = Instant::now();
            }
        }
    }

    /// Adds to `batch` what is queued and, when batched, what arrives
    /// until half a window after its first event was queued (so that,
    /// with a commit shorter than that, no acknowledged event waits a
    /// whole window unwritten), up to [`MAX_BATCH`].
    fn gather(&self, receiver: &Receiver<Item>, batch: &mut Vec<Item>) {
        let deadline = match (self.config.durability.gather(), batch.first()) {
            (Some(gather), Some(first)) => first.queued + gather,
            _ => Instant::now(),
        };
        while batch.len() < MAX_BATCH {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = if left.is_zero() {
                receiver.try_recv().ok()
            } else {
                receiver.recv_timeout(left).ok()
            };
            match next {
                Some(item) => batch.push(item),
                None => break,
            }
        }
    }

    /// Commits `batch`, delivers it, answers its waiting publishers and
    /// records it as processed.
    fn commit(&self, batch: Vec<Item>, channel: &Weak<Inner>) {
        let count = batch.len();
        let early = batch.iter().filter(|item| item.early).count();
        self.commit_batch(batch, channel);
        self.ledger.processed(count, early);
    }

    fn commit_batch(&self, batch: Vec<Item>, channel: &Weak<Inner>) {
        if self.failed.load(Ordering::Relaxed) {
            answer(batch, || {
                Err(unavailable("a write failed earlier; restart to retry"))
            });
            return;
        }
        if let Err(error) = self.write(&batch) {
            let lost = batch.iter().filter(|item| item.early).count();
            tracing::error!(%error, path = %self.path.display(), lost, "embedded store: commit failed (`lost`: acknowledged events of the batch); publishing stops");
            self.failed.store(true, Ordering::Relaxed);
            answer(batch, || Err(unavailable(&error)));
            return;
        }
        if let Some(channel) = channel.upgrade() {
            for item in &batch {
                item.topic.deliver(item.seq, &item.event, &channel);
            }
        }
        answer(batch, || Ok(()));
    }

    fn write(&self, batch: &[Item]) -> Result<(), redb::Error> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(redb::Durability::Immediate);
        {
            let mut events = txn.open_table(EVENTS)?;
            let mut topics = txn.open_table(TOPICS)?;
            let mut value = Vec::new();
            for item in batch {
                let name = &*item.topic.name;
                let bytes = item.event.as_bytes();
                value.clear();
                value.extend_from_slice(&item.at.to_le_bytes());
                value.extend_from_slice(bytes);
                events.insert((name, item.seq), value.as_slice())?;
                let stored = topics.get(name)?.map(|entry| entry.value());
                let (first, _, size) = stored.unwrap_or((item.seq, 0, 0));
                topics.insert(name, (first, item.seq, size + bytes.len() as u64))?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn compact_logged(&self) {
        if self.failed.load(Ordering::Relaxed) {
            return;
        }
        if let Err(error) = self.compact() {
            tracing::warn!(%error, "embedded store: compaction failed; retried next interval");
        }
    }

    /// Deletes the oldest events of each topic while it is over a bound.
    fn compact(&self) -> Result<(), redb::Error> {
        let config = &self.config;
        let cutoff = config
            .max_age
            .map(|age| now_ms().saturating_sub(u64::try_from(age.as_millis()).unwrap_or(u64::MAX)));
        let txn = self.db.begin_write()?;
        let mut trimmed = 0u64;
        {
            let mut events = txn.open_table(EVENTS)?;
            let mut topics = txn.open_table(TOPICS)?;
            let mut all = Vec::new();
            for entry in topics.iter()? {
                let (name, value) = entry?;
                all.push((name.value().to_owned(), value.value()));
            }
            for (name, (mut first, last, mut size)) in all {
                let start = first;
                while first <= last && first - start < MAX_TRIM_PER_PASS {
                    let over = last + 1 - first > config.max_events || size > config.max_bytes;
                    let Some(entry) = events.get((name.as_str(), first))? else {
                        break;
                    };
                    let stored = entry.value();
                    let at = stored
                        .get(..8)
                        .and_then(|b| <[u8; 8]>::try_from(b).ok())
                        .map_or(0, u64::from_le_bytes);
                    let len = stored.len().saturating_sub(8) as u64;
                    drop(entry);
                    if !over && cutoff.is_none_or(|cutoff| at >= cutoff) {
                        break;
                    }
                    events.remove((name.as_str(), first))?;
                    size = size.saturating_sub(len);
                    first += 1;
                }
                if first != start {
                    trimmed += first - start;
                    topics.insert(name.as_str(), (first, last, size))?;
                }
            }
        }
        if trimmed == 0 {
            txn.abort()?;
            return Ok(());
        }
        txn.commit()?;
        tracing::debug!(trimmed, "embedded store: compacted");
        Ok(())
    }
}

/// Answers every waiting publisher of `batch`.
fn answer(batch: Vec<Item>, result: impl Fn() -> Result<(), Error>) {
    for item in batch {
        if let Some(done) = item.done {
            // The publisher may have stopped waiting; the event stands.
            let _ = done.send(result());
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

impl FlushHandle {
    /// Waits up to `timeout` until every event queued before the call is
    /// committed and delivered. Returns at once when the store is gone
    /// (dropping it commits what was queued). Fails with
    /// [`Error::is_unavailable`] on timeout, or when the store failed or
    /// its writer stopped first.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        let Some(shared) = self.shared.upgrade() else {
            return Ok(());
        };
        let flushed = shared.ledger.wait_processed(timeout);
        if shared.failed.load(Ordering::Relaxed) {
            return Err(unavailable("a write failed; queued events are lost"));
        }
        if !flushed {
            return Err(unavailable(format_args!(
                "queued events not committed within {timeout:?}"
            )));
        }
        Ok(())
    }
}

impl Drop for FileStore {
    fn drop(&mut self) {
        // Closing the queue ends the writer after its last batch.
        self.sender = None;
        let Some(writer) = lock(&self.writer).take() else {
            return;
        };
        // The writer itself may drop the last channel handle.
        if writer.thread().id() != std::thread::current().id() {
            let _ = writer.join();
        }
    }
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.shared.path)
            .field("epoch", &format_args!("{:x}", self.shared.epoch))
            .field("config", &self.shared.config)
            .field("failed", &self.shared.failed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use bourn_codec::Event;

    use super::*;
    use crate::{Channel, LastEventId};

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "bourn-file-store-{}-{name}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        dir.join("store.redb")
    }

    fn datas(events: &[Encoded]) -> Vec<String> {
        let mut decoder = bourn_codec::Decoder::new();
        let mut out = Vec::new();
        for event in events {
            let mut buf = bytes::BytesMut::from(&event.as_bytes()[..]);
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                if let Some(event) = frame.as_event() {
                    out.push(event.data().to_owned());
                }
            }
        }
        out
    }

    #[tokio::test]
    async fn send_is_durable_and_survives_reopen_with_the_same_epoch() {
        let path = temp_path("reopen");
        let store = FileStore::builder(&path)
            .durability(Durability::Immediate)
            .open()
            .unwrap();
        let epoch = store.epoch();
        let channel = Channel::builder().file_store(store).build();
        let mut ids = Vec::new();
        for n in 1..=5 {
            ids.push(
                channel
                    .send("t", Event::message(format!("{n}")))
                    .await
                    .unwrap(),
            );
        }
        // `publish` queues; the event is durable (and delivered) soon after.
        let queued = channel.publish("t", Event::message("6")).unwrap();
        assert_eq!(queued.seq(), 6);
        let seventh = channel.send("t", Event::message("7")).await.unwrap();
        assert_eq!(seventh.seq(), 7);
        assert_eq!(channel.position("t"), seventh);
        drop(channel);

        let store = FileStore::open(&path).unwrap();
        assert_eq!(store.epoch(), epoch);
        let channel = Channel::builder().file_store(store).build();
        assert_eq!(channel.position("t"), seventh);
        let after = LastEventId::new(ids[1].to_string()).unwrap();
        let mut resumed = channel.subscribe("t", Some(&after)).unwrap();
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(futures_util::StreamExt::next(&mut resumed).await.unwrap());
        }
        assert_eq!(datas(&got), ["3", "4", "5", "6", "7"]);
        let next = channel.send("t", Event::message("8")).await.unwrap();
        assert_eq!((next.epoch(), next.seq()), (epoch, 8));
        let live = futures_util::StreamExt::next(&mut resumed).await.unwrap();
        assert_eq!(datas(&[live]), ["8"]);
        drop((resumed, channel));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn compaction_bounds_count_bytes_and_age() {
        // Each stored event is "id: <12 hex>.<seq>\ndata: 0001\n\n".
        let cases: [(u64, u64, Option<Duration>, u64); 4] = [
            (3, u64::MAX, None, 8),
            (100, 31 + 31 + 32, None, 8),
            (100, u64::MAX, Some(Duration::ZERO), 11),
            (100, u64::MAX, None, 1),
        ];
        for (max_events, max_bytes, max_age, first_kept) in cases {
            let path = temp_path("compact");
            let store = FileStore::builder(&path)
                .max_events(max_events)
                .max_bytes(max_bytes)
                .max_age(max_age)
                .compaction_interval(Duration::from_secs(3600))
                .open()
                .unwrap();
            let epoch = store.epoch();
            let shared = Arc::clone(&store.shared);
            let topic = Arc::new(Topic::for_tests("t"));
            let items = (1..=10)
                .map(|seq| Item {
                    topic: Arc::clone(&topic),
                    seq,
                    event: Encoded::from(
                        Event::builder()
                            .id(format!("{epoch:x}.{seq}"))
                            .data(format!("{seq:04}"))
                            .build()
                            .unwrap(),
                    ),
                    at: now_ms() - 1000,
                    queued: Instant::now(),
                    early: false,
                    done: None,
                })
                .collect::<Vec<_>>();
            shared.write(&items).unwrap();
            shared.compact().unwrap();
            let label = format!("{max_events}/{max_bytes}/{max_age:?}");
            if first_kept > 10 {
                assert_eq!(store.replay("t", 0, 10), None, "{label}");
                assert_eq!(store.replay("t", 10, 10), Some(vec![]), "{label}");
            } else {
                if first_kept >= 2 {
                    assert_eq!(store.replay("t", first_kept - 2, 10), None, "{label}");
                }
                let kept = store.replay("t", first_kept - 1, 10).unwrap();
                assert_eq!(kept.len() as u64, 11 - first_kept, "{label}");
            }
            assert_eq!(store.last_seq("t"), 10, "{label}");
            drop(store);
            std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
        }
    }

    #[test]
    fn batched_acknowledges_when_queued_until_unwritten_acks_are_a_window_old() {
        // The writer is not started: nothing is committed, as with a stalled
        // disk. Only events of the first window are acknowledged.
        let window = Duration::from_millis(300);
        let path = temp_path("window");
        let store = FileStore::builder(&path)
            .durability(Durability::Batched(window))
            .open()
            .unwrap();
        let epoch = store.epoch();
        let topic = Arc::new(Topic::for_tests("t"));
        let submit = |seq: u64| {
            let event = Event::builder()
                .id(format!("{epoch:x}.{seq}"))
                .data(seq.to_string())
                .build()
                .unwrap();
            let (done, answer) = tokio::sync::oneshot::channel();
            store
                .submit(&topic, seq, Encoded::from(event), Some(done))
                .unwrap();
            answer
        };
        let acked = |answer: &mut tokio::sync::oneshot::Receiver<Result<(), Error>>| {
            matches!(answer.try_recv(), Ok(Ok(())))
        };
        let started = Instant::now();
        let mut first = submit(1);
        let mut second = submit(2);
        assert!(started.elapsed() < window, "too slow to test the window");
        assert!(acked(&mut first) && acked(&mut second));
        std::thread::sleep(window);
        let mut third = submit(3);
        assert!(!acked(&mut third), "acknowledged beyond the window");
        assert_eq!(store.shared.ledger.unwritten(), 2);

        // The writer catches up: the waiting publisher is answered after
        // the commit, and the next event is acknowledged when queued again.
        let receiver = lock(&store.receiver).take().unwrap();
        let batch: Vec<Item> = receiver.try_iter().collect();
        assert_eq!(batch.len(), 3);
        store.shared.commit(batch, &Weak::new());
        assert!(acked(&mut third));
        assert_eq!(store.shared.ledger.unwritten(), 0);
        let mut fourth = submit(4);
        assert!(acked(&mut fourth));
        assert_eq!(
            store.replay("t", 0, 3).map(|events| datas(&events)),
            Some(vec!["1".into(), "2".into(), "3".into()])
        );
        assert_eq!(store.last_seq("t"), 3, "the fourth is queued, not written");
        drop(store);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn flush_waits_for_the_commit_of_acknowledged_events() {
        let path = temp_path("flush");
        // The writer gathers for 1 s after an event is queued.
        let store = FileStore::builder(&path)
            .durability(Durability::Batched(Duration::from_secs(2)))
            .open()
            .unwrap();
        let flush = store.flush_handle();
        let channel = Channel::builder().file_store(store).build();
        let mut subscriber = channel.subscribe("t", None).unwrap();
        let _prime = futures_util::StreamExt::next(&mut subscriber)
            .await
            .unwrap();
        let id = channel.send("t", Event::message("x")).await.unwrap();
        // Acknowledged, not yet on disk, so not delivered.
        assert_eq!(channel.position("t").seq(), 0);
        let early = tokio::time::timeout(
            Duration::from_millis(50),
            futures_util::StreamExt::next(&mut subscriber),
        )
        .await;
        assert!(early.is_err(), "delivered before its commit");
        tokio::task::spawn_blocking(move || flush.flush(Duration::from_secs(10)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(channel.position("t"), id);
        let event = futures_util::StreamExt::next(&mut subscriber)
            .await
            .unwrap();
        assert_eq!(datas(&[event]), ["x"]);
        drop((channel, subscriber));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_store_is_unavailable() {
        let path = temp_path("garbage");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"not a redb file at all, just some bytes").unwrap();
        let error = FileStore::open(&path).unwrap_err();
        assert!(error.is_unavailable(), "{error:?}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
