//! The file's tables, and the reads the backend and its writer share.
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | `"format"`, `"epoch"` | [`FORMAT`]; the file's epoch, written once at creation |
//! | `topics` | topic | [`TopicRow`]: first retained seq, last seq, retained bytes, keys |
//! | `events` | (topic, seq) | (publish time in ms since the Unix epoch, body) |
//! | `keys` | (topic, idempotency key) | (seq, append time in ms) |
//! | `key_log` | (topic, seq) | the key of that keyed append, oldest first per topic |
//!
//! A topic's row is never deleted: it keeps the topic's last seq after
//! every event was trimmed or the topic was removed, so numbering goes on
//! from there and no id of this file's epoch names two events.

use bourn_server::backend::{PageLimit, Record};
use bytes::Bytes;
use redb::{
    Database, ReadTransaction, ReadableTable, Table, TableDefinition, TableError, WriteTransaction,
};

use crate::error::{RedbError, StoreError};
use crate::fault::Faults;

/// The file's metadata: [`FORMAT_KEY`] and [`EPOCH_KEY`].
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Topic → [`TopicRow`] as a tuple.
pub(crate) const TOPICS: TableDefinition<&str, (u64, u64, u64, u64)> =
    TableDefinition::new("topics");
/// (topic, seq) → (publish time in ms, body).
pub(crate) const EVENTS: TableDefinition<(&str, u64), (u64, &[u8])> =
    TableDefinition::new("events");
/// (topic, key) → (seq, append time in ms).
pub(crate) const KEYS: TableDefinition<(&str, &str), (u64, u64)> = TableDefinition::new("keys");
/// (topic, seq) → key: the order keys were added in, to forget the oldest.
pub(crate) const KEY_LOG: TableDefinition<(&str, u64), &str> = TableDefinition::new("key_log");

/// The layout version this crate reads and writes. Files of the former
/// `bourn_server::FileStore` have no format entry (their bodies carry the
/// `id:` line) and are refused.
pub(crate) const FORMAT: u64 = 1;
pub(crate) const FORMAT_KEY: &str = "format";
pub(crate) const EPOCH_KEY: &str = "epoch";

/// A topic's counters. `first == last + 1` when it holds no event (new,
/// trimmed, or removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TopicRow {
    /// The first retained seq.
    pub(crate) first: u64,
    /// The newest seq ever given (0: none).
    pub(crate) last: u64,
    /// Bytes of bodies retained.
    pub(crate) bytes: u64,
    /// Idempotency keys remembered.
    pub(crate) keys: u64,
}

impl TopicRow {
    /// A topic that never had an event.
    pub(crate) const NEW: TopicRow = TopicRow {
        first: 1,
        last: 0,
        bytes: 0,
        keys: 0,
    };

    pub(crate) fn from_tuple((first, last, bytes, keys): (u64, u64, u64, u64)) -> TopicRow {
        TopicRow {
            first,
            last,
            bytes,
            keys,
        }
    }

    pub(crate) fn to_tuple(self) -> (u64, u64, u64, u64) {
        (self.first, self.last, self.bytes, self.keys)
    }
}

/// The tables of one write transaction, opened once per batch.
pub(crate) struct Tables<'txn> {
    pub(crate) topics: Table<'txn, &'static str, (u64, u64, u64, u64)>,
    pub(crate) events: Table<'txn, (&'static str, u64), (u64, &'static [u8])>,
    pub(crate) keys: Table<'txn, (&'static str, &'static str), (u64, u64)>,
    pub(crate) key_log: Table<'txn, (&'static str, u64), &'static str>,
    /// Test seam: fails [`row`](Tables::row) on demand.
    faults: Option<Faults>,
}

impl<'txn> Tables<'txn> {
    pub(crate) fn open(txn: &'txn WriteTransaction) -> Result<Tables<'txn>, RedbError> {
        Ok(Tables {
            topics: txn.open_table(TOPICS)?,
            events: txn.open_table(EVENTS)?,
            keys: txn.open_table(KEYS)?,
            key_log: txn.open_table(KEY_LOG)?,
            faults: None,
        })
    }

    /// The same tables, failing [`row`](Tables::row) when `faults` say so.
    pub(crate) fn with_faults(mut self, faults: Option<Faults>) -> Tables<'txn> {
        self.faults = faults;
        self
    }

    /// The topic's row; [`TopicRow::NEW`] only when the topic has none.
    pub(crate) fn row(&self, topic: &str) -> Result<TopicRow, RedbError> {
        if let Some(faults) = &self.faults {
            faults.topic_read()?;
        }
        Ok(self
            .topics
            .get(topic)?
            .map_or(TopicRow::NEW, |entry| TopicRow::from_tuple(entry.value())))
    }
}

/// Creates the tables and writes the format and a fresh epoch, in a new
/// file. Returns the epoch.
pub(crate) fn create(db: &Database) -> Result<u64, RedbError> {
    let txn = db.begin_write()?;
    let epoch = bourn_server::random_epoch();
    {
        Tables::open(&txn)?;
        let mut meta = txn.open_table(META)?;
        meta.insert(FORMAT_KEY, FORMAT)?;
        meta.insert(EPOCH_KEY, epoch)?;
    }
    txn.commit()?;
    Ok(epoch)
}

/// What [`check`] found wrong with an existing file.
#[derive(Debug)]
pub(crate) enum Mismatch {
    /// A redb file without this crate's tables or format.
    Foreign(&'static str),
    /// This crate's file, with a part missing.
    Damaged(&'static str),
    /// redb could not read it.
    Redb(RedbError),
}

impl<E: Into<redb::Error>> From<E> for Mismatch {
    fn from(error: E) -> Mismatch {
        Mismatch::Redb(RedbError::from(error))
    }
}

/// Checks that an existing file is this crate's, in [`FORMAT`], with every
/// table; returns its epoch.
pub(crate) fn check(db: &Database) -> Result<u64, Mismatch> {
    let txn = db.begin_read()?;
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(TableError::TableDoesNotExist(_)) => {
            return Err(Mismatch::Foreign("a redb file without bourn's tables"));
        }
        Err(TableError::TableTypeMismatch { .. }) => {
            return Err(Mismatch::Foreign("a redb file of another program"));
        }
        Err(error) => return Err(Mismatch::Redb(error.into())),
    };
    let format = meta.get(FORMAT_KEY)?;
    match format.map(|entry| entry.value()) {
        Some(FORMAT) => {}
        Some(_) => return Err(Mismatch::Foreign("a newer or unknown bourn file format")),
        None => {
            return Err(Mismatch::Foreign(
                "a file of the former bourn-server FileStore (format 0), or of another program",
            ));
        }
    }
    let epoch = meta.get(EPOCH_KEY)?;
    let Some(epoch) = epoch.map(|entry| entry.value()) else {
        return Err(Mismatch::Damaged("its epoch is missing"));
    };
    let tables = |error: TableError| match error {
        TableError::TableDoesNotExist(_) => Mismatch::Damaged("a table is missing"),
        TableError::TableTypeMismatch { .. } => Mismatch::Damaged("a table has the wrong type"),
        error => Mismatch::Redb(error.into()),
    };
    txn.open_table(TOPICS).map_err(tables)?;
    txn.open_table(EVENTS).map_err(tables)?;
    txn.open_table(KEYS).map_err(tables)?;
    txn.open_table(KEY_LOG).map_err(tables)?;
    Ok(epoch)
}

/// The topic's last seq (0: none yet), from a read transaction.
pub(crate) fn last_seq(txn: &ReadTransaction, topic: &str) -> Result<u64, RedbError> {
    last_seq_with(txn, topic, None)
}

/// [`last_seq`], failing when `faults` say so.
pub(crate) fn last_seq_with(
    txn: &ReadTransaction,
    topic: &str,
    faults: Option<&Faults>,
) -> Result<u64, RedbError> {
    if let Some(faults) = faults {
        faults.topic_read()?;
    }
    let topics = txn.open_table(TOPICS)?;
    let last = topics.get(topic)?.map(|entry| entry.value().1);
    Ok(last.unwrap_or(0))
}

/// The records of `topic` with `after < seq <= up_to`, from `after + 1`, as
/// many as `limit` allows; `None` when `after + 1` is no longer retained.
pub(crate) fn replay(
    txn: &ReadTransaction,
    topic: &str,
    after: u64,
    up_to: u64,
    limit: PageLimit,
) -> Result<Option<Vec<Record>>, StoreError> {
    if after >= up_to {
        return Ok(Some(Vec::new()));
    }
    let events = txn.open_table(EVENTS)?;
    let mut page = Vec::new();
    let mut bytes = 0usize;
    let range = events.range((topic, after + 1)..=(topic, up_to))?;
    for (expected, entry) in (after + 1..).zip(range) {
        let (key, value) = entry?;
        let seq = key.value().1;
        if seq != expected {
            if page.is_empty() {
                // The first record asked for is gone: trimmed.
                return Ok(None);
            }
            // Compaction removes from the front only, and a read
            // transaction is one snapshot: a hole inside is damage.
            return Err(StoreError::Gap {
                topic: topic.to_owned(),
                seq: expected,
            });
        }
        let (_, body) = value.value();
        let full = limit.is_full(page.len(), bytes)
            || (!page.is_empty() && bytes.saturating_add(body.len()) > limit.max_bytes);
        if full {
            break;
        }
        bytes = bytes.saturating_add(body.len());
        page.push(Record {
            seq,
            body: Bytes::copy_from_slice(body),
        });
    }
    if page.is_empty() {
        // Nothing at `after + 1` although `up_to` was committed: trimmed.
        return Ok(None);
    }
    Ok(Some(page))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A store file in a fresh folder (kept alive by the guard).
    pub(crate) fn temp_db() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("store.redb")).unwrap();
        create(&db).unwrap();
        (dir, db)
    }

    #[test]
    fn a_hole_inside_a_replayed_range_is_damage_and_a_missing_start_is_trimmed() {
        let (_dir, db) = temp_db();
        let txn = db.begin_write().unwrap();
        {
            let mut tables = Tables::open(&txn).unwrap();
            for seq in [2, 3, 5] {
                tables.events.insert(("t", seq), (0, &b"x"[..])).unwrap();
            }
        }
        txn.commit().unwrap();
        let read = db.begin_read().unwrap();
        let all = PageLimit::DEFAULT;
        assert_eq!(replay(&read, "t", 0, 5, all).unwrap(), None, "1 is gone");
        let error = replay(&read, "t", 1, 5, all).unwrap_err();
        assert!(matches!(error, StoreError::Gap { seq: 4, .. }), "{error:?}");
        let page = replay(&read, "t", 1, 3, all).unwrap().unwrap();
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(replay(&read, "t", 3, 3, all).unwrap(), Some(vec![]));
    }

    #[test]
    fn check_knows_its_own_files() {
        let (_dir, db) = temp_db();
        let epoch = check(&db).unwrap();
        assert_eq!(epoch & (1 << 44), 1 << 44, "a random_epoch");
        let txn = db.begin_write().unwrap();
        txn.open_table(META).unwrap().remove(EPOCH_KEY).unwrap();
        txn.commit().unwrap();
        assert!(matches!(check(&db), Err(Mismatch::Damaged(_))));
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(FORMAT_KEY, FORMAT + 1)
            .unwrap();
        txn.commit().unwrap();
        assert!(matches!(check(&db), Err(Mismatch::Foreign(_))));
    }
}
