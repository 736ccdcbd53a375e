//! Idempotency keys: a repeat of a key on the same topic within the window
//! stores nothing and answers the first append's seq.
//!
//! The window: a key is remembered until it is [`key_ttl`] old (checked on
//! lookup, and removed by compaction) or until [`max_keys`] newer keyed
//! appends were made to its topic, whichever comes first. Keys live in the
//! file, in the same commit as their event, so a retry after a crash or a
//! restart is still recognised.
//!
//! [`key_ttl`]: crate::RedbBackendBuilder::key_ttl
//! [`max_keys`]: crate::RedbBackendBuilder::max_keys

use redb::ReadableTable;

use crate::error::RedbError;
use crate::schema::{Tables, TopicRow};

/// The seq of the append that used `key` on `topic`, if it is remembered
/// and younger than `ttl_ms` at `now`.
pub(crate) fn lookup(
    tables: &Tables<'_>,
    topic: &str,
    key: &str,
    now: u64,
    ttl_ms: u64,
) -> Result<Option<u64>, RedbError> {
    let found = tables.keys.get((topic, key))?.map(|entry| entry.value());
    Ok(found
        .filter(|&(_, at)| now.saturating_sub(at) < ttl_ms)
        .map(|(seq, _)| seq))
}

/// Remembers `key` for event `seq` of `topic`, forgetting the topic's
/// oldest keys beyond `max_keys`. Updates `row.keys`; the caller writes
/// the row.
pub(crate) fn remember(
    tables: &mut Tables<'_>,
    row: &mut TopicRow,
    topic: &str,
    key: &str,
    seq: u64,
    at: u64,
    max_keys: u64,
) -> Result<(), RedbError> {
    tables.keys.insert((topic, key), (seq, at))?;
    tables.key_log.insert((topic, seq), key)?;
    row.keys += 1;
    while row.keys > max_keys {
        match forget_oldest(tables, topic, None)? {
            true => row.keys -= 1,
            false => {
                row.keys = 0;
                break;
            }
        }
    }
    Ok(())
}

/// Forgets the topic's oldest key, if there is one (and, with `before`, if
/// it was added before that time). Returns whether one was forgotten.
pub(crate) fn forget_oldest(
    tables: &mut Tables<'_>,
    topic: &str,
    before: Option<u64>,
) -> Result<bool, RedbError> {
    let oldest = match tables.key_log.range((topic, 0)..=(topic, u64::MAX))?.next() {
        Some(entry) => {
            let (seq, key) = entry?;
            Some((seq.value().1, key.value().to_owned()))
        }
        None => None,
    };
    let Some((seq, key)) = oldest else {
        return Ok(false);
    };
    // A key used again after it expired points to its newer event: this
    // log entry is then stale, and the key itself stays.
    let live = tables
        .keys
        .get((topic, key.as_str()))?
        .map(|entry| entry.value())
        .filter(|&(first, _)| first == seq);
    let expired = match (before, live) {
        (Some(before), Some((_, at))) => at < before,
        _ => true,
    };
    if !expired {
        return Ok(false);
    }
    tables.key_log.remove((topic, seq))?;
    if live.is_some() {
        tables.keys.remove((topic, key.as_str()))?;
    }
    Ok(true)
}

/// Forgets every key of `topic` (it is being removed). Returns how many.
pub(crate) fn forget_all(tables: &mut Tables<'_>, topic: &str) -> Result<u64, RedbError> {
    let mut forgotten = 0;
    while forget_oldest(tables, topic, None)? {
        forgotten += 1;
    }
    Ok(forgotten)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::temp_db;

    #[test]
    fn the_oldest_keys_are_forgotten_beyond_max_keys_and_reused_keys_stay() {
        let (_dir, db) = temp_db();
        let txn = db.begin_write().unwrap();
        let mut tables = Tables::open(&txn).unwrap();
        let mut row = TopicRow::NEW;
        let ttl = u64::MAX;
        // (key, seq) appended in order, with room for 2 keys.
        for (key, seq) in [("a", 1), ("b", 2), ("c", 3)] {
            remember(&mut tables, &mut row, "t", key, seq, 0, 2).unwrap();
        }
        assert_eq!(row.keys, 2);
        let found = |tables: &Tables<'_>, key| lookup(tables, "t", key, 0, ttl).unwrap();
        assert_eq!(found(&tables, "a"), None);
        assert_eq!(found(&tables, "b"), Some(2));
        assert_eq!(found(&tables, "c"), Some(3));
        // Another topic has its own keys.
        assert_eq!(lookup(&tables, "u", "b", 0, ttl).unwrap(), None);
        // "b" used again for event 4 (as after its expiry): forgetting the
        // stale entry for event 2 keeps the key.
        remember(&mut tables, &mut row, "t", "b", 4, 0, 3).unwrap();
        assert!(forget_oldest(&mut tables, "t", None).unwrap());
        assert_eq!(found(&tables, "b"), Some(4));
        // Expiry: a key younger than `before` stays.
        assert!(!forget_oldest(&mut tables, "t", Some(0)).unwrap());
        assert_eq!(forget_all(&mut tables, "t").unwrap(), 2);
        assert_eq!(found(&tables, "b"), None);
        assert_eq!(found(&tables, "c"), None);
        // Past the time to live a key is not found, even before compaction.
        remember(&mut tables, &mut row, "t", "d", 5, 1_000, 8).unwrap();
        assert_eq!(lookup(&tables, "t", "d", 1_500, 1_000).unwrap(), Some(5));
        assert_eq!(lookup(&tables, "t", "d", 2_000, 1_000).unwrap(), None);
    }
}
