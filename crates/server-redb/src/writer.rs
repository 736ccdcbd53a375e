//! The writer thread: the one place that assigns seqs and writes the file.
//!
//! It takes appends from its queue into one write transaction (a batch),
//! commits it with an fsync, reports each new record through the feed in
//! seq order, then answers the appends still waiting. It owns every
//! topic's numbering: the next seq is read from the transaction itself, so
//! a failed read fails the batch and never restarts a topic at 1.
//!
//! Failures, as a state table:
//!
//! | state | on a message | on a failure | leaves when |
//! |---|---|---|---|
//! | healthy | batch, commit, report, answer | report `Unhealthy`, drop the file, go recovering | — |
//! | recovering | answer `unavailable` at once | — | the file reopens and a probe commit succeeds: report `Healthy` |
//!
//! A batch that failed before its commit stored nothing: its appends get
//! `unavailable`. A failed `commit` may or may not have reached the disk:
//! its appends wait (up to [`OUTCOME_WAIT`]) for the file to be reopened
//! and read back, and get their id or `unavailable`; past that wait they
//! get `outcome_unknown`, and the batch is still read back once the file
//! reopens, so a batch that did land is reported through the feed.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use bourn_server::EventId;
use bourn_server::backend::{BackendError, Feed, Health, Record};
use bytes::Bytes;
use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;

use crate::backend::{Shared, now_ms};
use crate::builder::{Config, open_database};
use crate::compaction;
use crate::error::{RedbError, StoreError, unavailable, unknown};
use crate::keys;
use crate::schema::{self, META, Tables, TopicRow};

/// Most appends in one commit.
const MAX_BATCH: usize = 4096;
/// How long appends of a failed commit wait for its outcome to be read
/// back before they are told it is unknown.
pub(crate) const OUTCOME_WAIT: Duration = Duration::from_secs(2);
/// The first and the longest wait between two attempts to reopen the file.
const FIRST_RETRY: Duration = Duration::from_millis(20);
const MAX_RETRY: Duration = Duration::from_secs(1);

type Reply<T> = oneshot::Sender<Result<T, BackendError>>;

/// What the backend asks of its writer.
pub(crate) enum Msg {
    Append {
        topic: String,
        body: Bytes,
        key: Option<String>,
        /// When `append` was called, ms since the Unix epoch.
        at: u64,
        reply: Reply<EventId>,
    },
    Remove {
        topic: String,
        reply: Reply<()>,
    },
    Flush {
        reply: Reply<()>,
    },
}

/// One write transaction's work, answered after its commit.
#[derive(Default)]
struct Batch {
    /// New records, in order: reported through the feed after the commit.
    records: Vec<(String, Record)>,
    /// Appends answered after the commit (`Immediate`).
    waiting: Vec<(Reply<EventId>, EventId)>,
    /// Appends acknowledged before the commit (`Batched`).
    early: u64,
    removes: Vec<Reply<()>>,
    flushes: Vec<Reply<()>>,
    /// For a batch in doubt: until when its appends wait for the outcome.
    deadline: Option<Instant>,
}

impl Batch {
    fn len(&self) -> usize {
        self.waiting.len() + self.early as usize + self.removes.len()
    }
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    receiver: Receiver<Msg>,
    feed: Feed,
    exited: Option<oneshot::Sender<()>>,
    healthy: bool,
    retry_at: Instant,
    backoff: Duration,
    /// A batch whose commit failed, until its outcome is read back.
    in_doubt: Option<Batch>,
    /// Acknowledged appends lost to failed commits since the last flush.
    lost: u64,
    last_compaction: Instant,
}

impl Writer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        receiver: Receiver<Msg>,
        feed: Feed,
        exited: oneshot::Sender<()>,
    ) -> Writer {
        Writer {
            shared,
            receiver,
            feed,
            exited: Some(exited),
            healthy: true,
            retry_at: Instant::now(),
            backoff: FIRST_RETRY,
            in_doubt: None,
            lost: 0,
            last_compaction: Instant::now(),
        }
    }

    /// Runs until the backend is dropped and the queue is empty, then
    /// closes the file.
    pub(crate) fn run(mut self) {
        loop {
            if !self.healthy {
                if !self.recovering() {
                    break;
                }
                continue;
            }
            let interval = self.shared.config.compaction_interval;
            let left = interval.saturating_sub(self.last_compaction.elapsed());
            match self.receiver.recv_timeout(left) {
                Ok(msg) => self.batch(msg),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if self.healthy && self.last_compaction.elapsed() >= interval {
                self.compact();
            }
        }
        if let Some(mut batch) = self.in_doubt.take() {
            answer_in_doubt(&mut batch);
        }
        self.shared.set_db(None);
        if let Some(exited) = self.exited.take() {
            let _ = exited.send(());
        }
    }

    /// Gathers, commits and answers one batch that starts with `first`.
    fn batch(&mut self, first: Msg) {
        let begun = self.shared.db().and_then(|db| {
            let mut txn = db.begin_write()?;
            txn.set_durability(redb::Durability::Immediate);
            Ok(txn)
        });
        let txn = match begun {
            Ok(txn) => txn,
            Err(error) => {
                let reason = reason("cannot begin a write", std::error::Error::source(&error));
                refuse(first, error);
                self.fail(reason);
                return;
            }
        };
        let mut batch = Batch::default();
        if let Err(error) = self.fill(&txn, first, &mut batch) {
            // Nothing was committed: every append of the batch can be
            // retried as it is.
            let _ = txn.abort();
            tracing::error!(%error, path = %self.shared.path.display(), lost = batch.early, "embedded store: a write failed (`lost`: acknowledged appends of the batch)");
            self.lost += batch.early;
            answer_failed(batch, || StoreError::WriteFailed);
            self.fail(reason("a write failed", std::error::Error::source(&error)));
            return;
        }
        match txn.commit() {
            Ok(()) => self.committed(batch),
            Err(error) => {
                let error = RedbError::from(error);
                tracing::error!(%error, path = %self.shared.path.display(), "embedded store: a commit failed; reading its outcome back");
                batch.deadline = Some(Instant::now() + OUTCOME_WAIT);
                self.in_doubt = Some(batch);
                self.fail(reason("a commit failed", Some(&error)));
            }
        }
    }

    /// Applies `first` and what arrives while the batch is open.
    fn fill(
        &mut self,
        txn: &WriteTransaction,
        first: Msg,
        batch: &mut Batch,
    ) -> Result<(), StoreError> {
        let opened = Tables::open(txn).map(|t| t.with_faults(self.shared.faults.clone()));
        let mut tables = match opened {
            Ok(tables) => tables,
            Err(error) => {
                refuse(first, StoreError::WriteFailed);
                return Err(error.into());
            }
        };
        let gather = self.shared.config.durability.gather().unwrap_or_default();
        let deadline = Instant::now() + gather;
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            self.apply(&mut tables, msg, batch)?;
            if !batch.flushes.is_empty() || batch.len() >= MAX_BATCH {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            next = if left.is_zero() {
                self.receiver.try_recv().ok()
            } else {
                self.receiver.recv_timeout(left).ok()
            };
        }
        Ok(())
    }

    fn apply(
        &mut self,
        tables: &mut Tables<'_>,
        msg: Msg,
        batch: &mut Batch,
    ) -> Result<(), StoreError> {
        match msg {
            Msg::Append {
                topic,
                body,
                key,
                at,
                reply,
            } => {
                let appended = append(
                    tables,
                    &self.shared.config,
                    &topic,
                    &body,
                    key.as_deref(),
                    at,
                );
                let (seq, new) = match appended {
                    Ok(appended) => appended,
                    Err(error) => {
                        let _ = reply.send(Err(unavailable(StoreError::WriteFailed)));
                        return Err(error.into());
                    }
                };
                let id = EventId::new(self.shared.epoch, seq);
                if new {
                    batch.records.push((topic, Record { seq, body }));
                }
                if self.shared.config.durability.acknowledges_early() {
                    // The publisher may have stopped waiting; the event stands.
                    let _ = reply.send(Ok(id));
                    batch.early += 1;
                } else {
                    batch.waiting.push((reply, id));
                }
            }
            Msg::Remove { topic, reply } => {
                if let Err(error) = remove(tables, &topic) {
                    let _ = reply.send(Err(unavailable(StoreError::WriteFailed)));
                    return Err(error.into());
                }
                batch.removes.push(reply);
            }
            Msg::Flush { reply } => batch.flushes.push(reply),
        }
        Ok(())
    }

    /// Reports a committed batch through the feed, then answers it.
    fn committed(&mut self, batch: Batch) {
        let epoch = self.shared.epoch;
        for (topic, record) in batch.records {
            self.feed.committed(&topic, epoch, record);
        }
        for (reply, id) in batch.waiting {
            let _ = reply.send(Ok(id));
        }
        for reply in batch.removes {
            let _ = reply.send(Ok(()));
        }
        for reply in batch.flushes {
            let _ = reply.send(self.flushed());
        }
    }

    /// A flush's answer: whether acknowledged appends were lost since the
    /// previous one.
    fn flushed(&mut self) -> Result<(), BackendError> {
        match std::mem::take(&mut self.lost) {
            0 => Ok(()),
            lost => Err(unavailable(StoreError::Lost(lost))),
        }
    }

    /// Stops using the file: reads fail as unavailable, and the writer
    /// reopens it until a commit succeeds again.
    fn fail(&mut self, reason: String) {
        self.shared.set_db(None);
        if self.healthy {
            self.healthy = false;
            self.backoff = FIRST_RETRY;
            self.retry_at = Instant::now() + FIRST_RETRY;
            self.feed.health(Health::Unhealthy(reason.into()));
        }
    }

    /// One step of the recovering state. Returns false once the backend is
    /// dropped and its queue is empty.
    fn recovering(&mut self) -> bool {
        let now = Instant::now();
        if let Some(batch) = &mut self.in_doubt {
            if batch.deadline.is_some_and(|deadline| now >= deadline) {
                batch.deadline = None;
                answer_in_doubt(batch);
            }
        }
        if now >= self.retry_at {
            if self.recover() {
                return true;
            }
            self.backoff = (self.backoff * 2).min(MAX_RETRY);
            self.retry_at = Instant::now() + self.backoff;
        }
        let mut until = self.retry_at;
        if let Some(deadline) = self.in_doubt.as_ref().and_then(|batch| batch.deadline) {
            until = until.min(deadline);
        }
        match self
            .receiver
            .recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            Ok(msg) => refuse(msg, StoreError::Recovering),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return false,
        }
        true
    }

    /// Reopens the file, checks it with a probe commit, reads back the
    /// batch in doubt, and goes back to work.
    fn recover(&mut self) -> bool {
        let db = match open_database(&self.shared.path, self.shared.faults.clone()) {
            Ok(db) => db,
            Err(error) => {
                tracing::debug!(%error, "embedded store: cannot reopen the file yet");
                return false;
            }
        };
        if let Err(error) = probe(&db, self.shared.epoch) {
            tracing::debug!(%error, "embedded store: the file does not take commits yet");
            return false;
        }
        if let Some(batch) = self.in_doubt.take() {
            match landed(&db, &batch) {
                Ok(true) => {
                    tracing::warn!("embedded store: the failed commit had reached the file");
                    self.committed(batch);
                }
                Ok(false) => {
                    self.lost += batch.early;
                    answer_failed(batch, || StoreError::WriteFailed);
                }
                Err(error) => {
                    tracing::debug!(%error, "embedded store: cannot read the batch back yet");
                    self.in_doubt = Some(batch);
                    return false;
                }
            }
        }
        self.shared.set_db(Some(db));
        self.healthy = true;
        tracing::info!(path = %self.shared.path.display(), "embedded store: recovered");
        self.feed.health(Health::Healthy);
        true
    }

    fn compact(&mut self) {
        self.last_compaction = Instant::now();
        let Ok(db) = self.shared.db() else {
            return;
        };
        match compaction::run(&db, &self.shared.config, now_ms()) {
            Ok(0) => {}
            Ok(changed) => tracing::debug!(changed, "embedded store: compacted"),
            Err(error) => {
                tracing::warn!(%error, "embedded store: compaction failed");
                drop(db);
                self.fail(reason("compaction failed", Some(&error)));
            }
        }
    }
}

/// Appends `body` to `topic` in the transaction; returns its seq and
/// whether it is new (false: a repeat of `key`, nothing stored).
pub(crate) fn append(
    tables: &mut Tables<'_>,
    config: &Config,
    topic: &str,
    body: &[u8],
    key: Option<&str>,
    at: u64,
) -> Result<(u64, bool), RedbError> {
    let ttl_ms = u64::try_from(config.key_ttl.as_millis()).unwrap_or(u64::MAX);
    // The topic's numbering comes from the file, never from a default: an
    // error here fails the batch.
    let mut row = tables.row(topic)?;
    if let Some(key) = key {
        if let Some(seq) = keys::lookup(tables, topic, key, at, ttl_ms)? {
            return Ok((seq, false));
        }
    }
    let seq = row.last + 1;
    tables.events.insert((topic, seq), (at, body))?;
    row.last = seq;
    row.bytes = row.bytes.saturating_add(body.len() as u64);
    if let Some(key) = key {
        keys::remember(tables, &mut row, topic, key, seq, at, config.max_keys)?;
    }
    tables.topics.insert(topic, row.to_tuple())?;
    Ok((seq, true))
}

/// Deletes `topic`'s events and keys, and keeps its row with its last seq
/// (`first = last + 1`): a later append goes on from there, so no id of
/// the epoch is given twice.
pub(crate) fn remove(tables: &mut Tables<'_>, topic: &str) -> Result<(), RedbError> {
    let row = tables.row(topic)?;
    if row == TopicRow::NEW {
        return Ok(());
    }
    for seq in row.first..=row.last {
        tables.events.remove((topic, seq))?;
    }
    keys::forget_all(tables, topic)?;
    let emptied = TopicRow {
        first: row.last + 1,
        last: row.last,
        bytes: 0,
        keys: 0,
    };
    tables.topics.insert(topic, emptied.to_tuple())?;
    Ok(())
}

/// A commit must go through (a full disk refuses it), and the file must
/// still be the one with this epoch.
fn probe(db: &Database, epoch: u64) -> Result<(), StoreError> {
    let found = schema::check(db).map_err(|_| StoreError::Replaced)?;
    if found != epoch {
        return Err(StoreError::Replaced);
    }
    let mut txn = db.begin_write()?;
    txn.set_durability(redb::Durability::Immediate);
    {
        let mut meta = txn.open_table(META)?;
        meta.insert("probed", now_ms())?;
    }
    txn.commit()?;
    Ok(())
}

/// Whether a batch whose commit failed is in the file after all (a commit
/// is atomic: its first new record tells for all).
fn landed(db: &Database, batch: &Batch) -> Result<bool, StoreError> {
    let Some((topic, record)) = batch.records.first() else {
        // Only removes and repeats: nothing to tell them apart by. Removes
        // are safe to repeat, and repeats stored nothing.
        return Ok(false);
    };
    let txn = db.begin_read()?;
    Ok(schema::last_seq(&txn, topic)? >= record.seq)
}

/// One line for `/health`: what failed, and the chain of causes.
fn reason(what: &str, cause: Option<&(dyn std::error::Error + 'static)>) -> String {
    let mut line = format!("embedded store: {what}");
    let mut cause = cause;
    while let Some(error) = cause {
        line.push_str(": ");
        line.push_str(&error.to_string());
        cause = error.source();
    }
    line
}

/// Answers a message that was not applied.
fn refuse(msg: Msg, error: StoreError) {
    match msg {
        Msg::Append { reply, .. } => {
            let _ = reply.send(Err(unavailable(error)));
        }
        Msg::Remove { reply, .. } | Msg::Flush { reply } => {
            let _ = reply.send(Err(unavailable(error)));
        }
    }
}

/// Answers a batch that stored nothing.
fn answer_failed(batch: Batch, error: impl Fn() -> StoreError) {
    for (reply, _) in batch.waiting {
        let _ = reply.send(Err(unavailable(error())));
    }
    for reply in batch.removes.into_iter().chain(batch.flushes) {
        let _ = reply.send(Err(unavailable(error())));
    }
}

/// Answers a batch whose outcome is not known yet (its records are kept
/// to be read back).
fn answer_in_doubt(batch: &mut Batch) {
    for (reply, _) in batch.waiting.drain(..) {
        let _ = reply.send(Err(unknown(StoreError::InDoubt)));
    }
    for reply in batch.removes.drain(..) {
        let _ = reply.send(Err(unknown(StoreError::InDoubt)));
    }
    for reply in batch.flushes.drain(..) {
        let _ = reply.send(Err(unavailable(StoreError::InDoubt)));
    }
}
