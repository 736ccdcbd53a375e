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

use crate::schema::{Tables, TopicRow};

/// The seq of the append that used `key` on `topic`, if it is remembered
/// and younger than `ttl_ms` at `now`.
pub(crate) fn lookup(
    tables: &Tables<'_>,
    topic: &str,
    key: &str,
    now: u64,
    ttl_ms: u64,
) -> Result<Option<u64>, redb::Error> {
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
) -> Result<(), redb::Error> {
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
) -> Result<bool, redb::Error> {
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
pub(crate) fn forget_all(tables: &mut Tables<'_>, topic: &str) -> Result<u64, redb::Error> {
    let mut forgotten = 0;
    while forget_oldest(tables, topic, None)? {
        forgotten += 1;
    }
    Ok(forgotten)
}
