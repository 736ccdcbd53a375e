//! [`RedbBackend`]: the [`Backend`] implementation over the writer thread
//! and MVCC reads.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bourn_server::EventId;
use bourn_server::backend::{Backend, BackendError, Feed, Health, PageLimit, Record};
use bytes::Bytes;
use redb::Database;
use tokio::sync::oneshot;

use crate::builder::{Config, RedbBackendBuilder};
use crate::durability::Durability;
use crate::error::{StoreError, unavailable, unknown};
use crate::fault::Faults;
use crate::schema;
use crate::writer::{Msg, Writer};

/// The embedded backend: each topic's history in one [redb] file. See the
/// [crate docs](crate) for what it guarantees and how it fails.
///
/// [redb]: https://www.redb.org
pub struct RedbBackend {
    shared: Arc<Shared>,
    sender: Sender<Msg>,
    /// Taken by [`start`](Backend::start), which moves it to the writer.
    receiver: Mutex<Option<Receiver<Msg>>>,
    /// Answered by the writer thread once it closed the file.
    exited: Mutex<Option<oneshot::Receiver<()>>>,
}

/// What the backend, its reads and its writer thread share.
pub(crate) struct Shared {
    /// The open file; `None` while the writer reopens it after a failure
    /// (reads then fail as unavailable) and after the writer exited.
    db: RwLock<Option<Arc<Database>>>,
    pub(crate) path: PathBuf,
    pub(crate) epoch: u64,
    pub(crate) config: Config,
    pub(crate) faults: Option<Faults>,
}

impl Shared {
    /// The open file, or `Recovering`.
    pub(crate) fn db(&self) -> Result<Arc<Database>, StoreError> {
        let slot = self
            .db
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.clone().ok_or(StoreError::Recovering)
    }

    /// Replaces the open file (the writer's recovery, and its exit).
    pub(crate) fn set_db(&self, db: Option<Database>) {
        let old = {
            let mut slot = self
                .db
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            std::mem::replace(&mut *slot, db.map(Arc::new))
        };
        // Closing a file may fsync: never under the lock readers take.
        drop(old);
    }

    /// Runs `read` in a read transaction on a blocking thread.
    async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&redb::ReadTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, BackendError> {
        let shared = Arc::clone(self);
        let work = move || {
            let db = shared.db()?;
            let txn = db.begin_read()?;
            read(&txn)
        };
        // Outside a tokio runtime (another executor) there is no blocking
        // pool: read in place rather than panic.
        if tokio::runtime::Handle::try_current().is_err() {
            return work().map_err(unavailable);
        }
        match tokio::task::spawn_blocking(work).await {
            Ok(result) => result.map_err(unavailable),
            Err(_) => Err(unavailable(StoreError::Task)),
        }
    }
}

/// Milliseconds since the Unix epoch, for retention by age and key expiry.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

impl RedbBackend {
    /// Default for [`max_events`](RedbBackendBuilder::max_events): 100,000 per topic.
    pub const DEFAULT_MAX_EVENTS: u64 = 100_000;
    /// Default for [`max_bytes`](RedbBackendBuilder::max_bytes): 64 MiB per topic.
    pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
    /// Default for [`max_age`](RedbBackendBuilder::max_age): 24 h.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
    /// A loss window for [`Durability::Batched`] (what `bourn serve
    /// --durability batched` uses): 10 ms.
    pub const DEFAULT_BATCH_WINDOW: Duration = Duration::from_millis(10);
    /// Default for [`compaction_interval`](RedbBackendBuilder::compaction_interval): 1 s.
    pub const DEFAULT_COMPACTION_INTERVAL: Duration = Duration::from_secs(1);
    /// Default for [`max_keys`](RedbBackendBuilder::max_keys): 1,024 per topic.
    pub const DEFAULT_MAX_KEYS: u64 = 1024;
    /// Default for [`key_ttl`](RedbBackendBuilder::key_ttl): 10 min.
    pub const DEFAULT_KEY_TTL: Duration = Duration::from_secs(10 * 60);

    /// Settings for a store at `path`.
    pub fn builder(path: impl AsRef<Path>) -> RedbBackendBuilder {
        RedbBackendBuilder::new(path.as_ref())
    }

    /// Opens (or creates) the store at `path` with every default.
    pub fn open(path: impl AsRef<Path>) -> Result<RedbBackend, crate::OpenError> {
        RedbBackend::builder(path).open()
    }

    pub(crate) fn new(
        db: Database,
        path: PathBuf,
        epoch: u64,
        config: Config,
        faults: Option<Faults>,
    ) -> RedbBackend {
        let (sender, receiver) = mpsc::channel();
        RedbBackend {
            shared: Arc::new(Shared {
                db: RwLock::new(Some(Arc::new(db))),
                path,
                epoch,
                config,
                faults,
            }),
            sender,
            receiver: Mutex::new(Some(receiver)),
            exited: Mutex::new(None),
        }
    }

    /// The file's epoch: drawn when the file was created and kept for its
    /// life, so ids stay resumable across restarts.
    pub fn epoch(&self) -> u64 {
        self.shared.epoch
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The durability mode.
    pub fn durability(&self) -> Durability {
        self.shared.config.durability
    }

    /// Closes the backend and waits, without blocking a runtime thread,
    /// until its writer has committed what was queued and closed the file
    /// (so that the file can be opened again at once, once reads still in
    /// flight have ended).
    ///
    /// Dropping the backend instead never blocks: the writer thread
    /// finishes the same work in the background. A backend that was never
    /// started closes the file on a blocking thread here, or on the
    /// dropping thread when dropped.
    pub async fn close(self) {
        let exited = self
            .exited
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let shared = Arc::clone(&self.shared);
        drop(self);
        match exited {
            // The writer's answer, or its end: either way the file is closed.
            Some(exited) => {
                let _ = exited.await;
            }
            None if tokio::runtime::Handle::try_current().is_ok() => {
                let _ = tokio::task::spawn_blocking(move || shared.set_db(None)).await;
            }
            None => shared.set_db(None),
        }
    }

    fn send(&self, msg: Msg) -> Result<(), BackendError> {
        self.sender
            .send(msg)
            .map_err(|_| unavailable(StoreError::Closed))
    }
}

impl Backend for RedbBackend {
    /// Starts the writer thread, which reports each commit to `feed`.
    /// Appends made before `start` wait in its queue.
    fn start(&self, feed: Feed) -> Result<(), BackendError> {
        let receiver = self
            .receiver
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
            .ok_or_else(|| unavailable(StoreError::Start(None)))?;
        let (exited, on_exit) = oneshot::channel();
        let writer = Writer::new(Arc::clone(&self.shared), receiver, feed.clone(), exited);
        std::thread::Builder::new()
            .name("bourn-redb-writer".into())
            .spawn(move || {
                // A panic (in redb, or a bug here) ends the writer: waiting
                // appends get `outcome_unknown`, later ones `unavailable`,
                // and the feed says why.
                let run = std::panic::AssertUnwindSafe(|| writer.run());
                if std::panic::catch_unwind(run).is_err() {
                    tracing::error!("embedded store: the writer thread panicked");
                    feed.health(Health::Unhealthy(
                        "embedded store: the writer thread stopped".into(),
                    ));
                }
            })
            .map_err(|error| unavailable(StoreError::Start(Some(error))))?;
        *self
            .exited
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(on_exit);
        Ok(())
    }

    fn append(
        &self,
        topic: &str,
        body: Bytes,
        key: Option<&str>,
    ) -> impl Future<Output = Result<EventId, BackendError>> + Send {
        let (reply, answer) = oneshot::channel();
        let sent = self.send(Msg::Append {
            topic: topic.to_owned(),
            body,
            key: key.map(str::to_owned),
            at: now_ms(),
            reply,
        });
        async move {
            sent?;
            // The writer answers every append it takes, even when it exits;
            // a reply dropped unanswered means its thread died mid-batch.
            answer.await.map_err(|_| unknown(StoreError::Closed))?
        }
    }

    fn position(&self, topic: &str) -> impl Future<Output = Result<EventId, BackendError>> + Send {
        let topic = topic.to_owned();
        let epoch = self.shared.epoch;
        let faults = self.shared.faults.clone();
        let read = self
            .shared
            .read(move |txn| Ok(schema::last_seq_with(txn, &topic, faults.as_ref())?));
        async move { Ok(EventId::new(epoch, read.await?)) }
    }

    fn replay(
        &self,
        topic: &str,
        epoch: u64,
        after: u64,
        up_to: u64,
        limit: PageLimit,
    ) -> impl Future<Output = Result<Option<Vec<Record>>, BackendError>> + Send {
        // One epoch per file, for its whole life: another one is not ours.
        let ours = epoch == self.epoch();
        let topic = topic.to_owned();
        let read = ours.then(|| {
            self.shared
                .read(move |txn| schema::replay(txn, &topic, after, up_to, limit))
        });
        async move {
            match read {
                Some(read) => read.await,
                None => Ok(None),
            }
        }
    }

    fn remove_topic(&self, topic: &str) -> impl Future<Output = Result<(), BackendError>> + Send {
        let (reply, answer) = oneshot::channel();
        let sent = self.send(Msg::Remove {
            topic: topic.to_owned(),
            reply,
        });
        async move {
            sent?;
            answer.await.map_err(|_| unknown(StoreError::Closed))?
        }
    }

    /// Waits, without blocking a runtime thread, until every append made
    /// before the call is committed (with [`Durability::Batched`], the open
    /// batch is committed at once). Fails with
    /// [`BackendError::is_unavailable`] when an acknowledged append was
    /// lost to a failed commit since the previous flush, or while the
    /// backend recovers from one.
    fn flush(&self) -> impl Future<Output = Result<(), BackendError>> + Send {
        let (reply, answer) = oneshot::channel();
        let sent = self.send(Msg::Flush { reply });
        async move {
            sent?;
            answer.await.map_err(|_| unavailable(StoreError::Closed))?
        }
    }
}

impl fmt::Debug for RedbBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbBackend")
            .field("path", &self.shared.path)
            .field("epoch", &format_args!("{:x}", self.shared.epoch))
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}
