//! Retention: a pass on the writer thread, between batches, that deletes
//! each topic's oldest events while the topic is over a bound (events,
//! bytes, age) and forgets idempotency keys older than their time to live.

use redb::{Database, ReadableTable};

use crate::builder::Config;
use crate::error::RedbError;
use crate::keys;
use crate::schema::{Tables, TopicRow};

/// Most events one pass deletes per topic (the next pass goes on).
const MAX_TRIM_PER_PASS: u64 = 65_536;

/// Runs one pass at `now` (ms since the Unix epoch); returns how many
/// events and keys it deleted.
pub(crate) fn run(db: &Database, config: &Config, now: u64) -> Result<u64, RedbError> {
    let ms = |age: std::time::Duration| u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
    let cutoff = config.max_age.map(|age| now.saturating_sub(ms(age)));
    let key_cutoff = now.saturating_sub(ms(config.key_ttl));
    let mut txn = db.begin_write()?;
    txn.set_durability(redb::Durability::Immediate);
    let mut changed = 0u64;
    {
        let mut tables = Tables::open(&txn)?;
        let mut all = Vec::new();
        for entry in tables.topics.iter()? {
            let (name, row) = entry?;
            all.push((name.value().to_owned(), TopicRow::from_tuple(row.value())));
        }
        for (name, mut row) in all {
            let topic = name.as_str();
            let start = row.first;
            while row.first <= row.last && row.first - start < MAX_TRIM_PER_PASS {
                let over =
                    row.last + 1 - row.first > config.max_events || row.bytes > config.max_bytes;
                let Some(entry) = tables.events.get((topic, row.first))? else {
                    break;
                };
                let (at, body) = entry.value();
                let len = body.len() as u64;
                drop(entry);
                if !over && cutoff.is_none_or(|cutoff| at >= cutoff) {
                    break;
                }
                tables.events.remove((topic, row.first))?;
                row.bytes = row.bytes.saturating_sub(len);
                row.first += 1;
            }
            let mut forgotten = 0;
            while row.keys > 0 && keys::forget_oldest(&mut tables, topic, Some(key_cutoff))? {
                row.keys -= 1;
                forgotten += 1;
            }
            if row.first != start || forgotten > 0 {
                changed += row.first - start + forgotten;
                tables.topics.insert(topic, row.to_tuple())?;
            }
        }
    }
    if changed == 0 {
        txn.abort()?;
        return Ok(0);
    }
    txn.commit()?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::RedbBackend;
    use crate::schema::{self, tests::temp_db};
    use crate::writer::append;

    fn config(max_events: u64, max_bytes: u64, max_age: Option<Duration>) -> Config {
        let path = std::path::Path::new("unused");
        let mut config = RedbBackend::builder(path).config().clone();
        config.max_events = max_events;
        config.max_bytes = max_bytes;
        config.max_age = max_age;
        config
    }

    /// Ten events of 10 bytes each ("data: 01\n\n"), appended a second ago,
    /// the odd ones with a key.
    fn ten_events(db: &Database, config: &Config, now: u64) {
        let txn = db.begin_write().unwrap();
        {
            let mut tables = Tables::open(&txn).unwrap();
            for n in 1..=10u64 {
                let body = format!("data: {n:02}\n\n");
                assert_eq!(body.len(), 10);
                let key = (n % 2 == 1).then(|| format!("k{n}"));
                let at = now - 1000;
                append(
                    &mut tables,
                    config,
                    "t",
                    body.as_bytes(),
                    key.as_deref(),
                    at,
                )
                .unwrap();
            }
        }
        txn.commit().unwrap();
    }

    #[test]
    fn compaction_bounds_count_bytes_and_age_and_keeps_the_last_seq() {
        // (max events, max bytes, max age, first seq kept; 11: none)
        let cases: [(u64, u64, Option<Duration>, u64); 5] = [
            (3, u64::MAX, None, 8),
            (100, 25, None, 9),
            (100, 30, None, 8),
            (100, u64::MAX, Some(Duration::ZERO), 11),
            (100, u64::MAX, None, 1),
        ];
        for (max_events, max_bytes, max_age, first_kept) in cases {
            let label = format!("{max_events}/{max_bytes}/{max_age:?}");
            let (_dir, db) = temp_db();
            let config = config(max_events, max_bytes, max_age);
            let now = crate::backend::now_ms();
            ten_events(&db, &config, now);
            run(&db, &config, now).unwrap();
            let read = db.begin_read().unwrap();
            let all = bourn_server::backend::PageLimit::DEFAULT;
            if first_kept >= 2 {
                let trimmed = schema::replay(&read, "t", first_kept - 2, 10, all).unwrap();
                assert_eq!(trimmed, None, "{label}");
            }
            if first_kept <= 10 {
                let kept = schema::replay(&read, "t", first_kept - 1, 10, all)
                    .unwrap()
                    .unwrap();
                assert_eq!(kept.len() as u64, 11 - first_kept, "{label}");
            }
            assert_eq!(schema::last_seq(&read, "t").unwrap(), 10, "{label}");
        }
    }

    #[test]
    fn compaction_forgets_keys_past_their_time_to_live_only() {
        let (_dir, db) = temp_db();
        let mut config = config(100, u64::MAX, None);
        config.key_ttl = Duration::from_secs(60);
        let now = crate::backend::now_ms();
        ten_events(&db, &config, now);
        let keys_left = |db: &Database| {
            let txn = db.begin_write().unwrap();
            let tables = Tables::open(&txn).unwrap();
            let row = tables.row("t").unwrap();
            let found = crate::keys::lookup(&tables, "t", "k5", now, u64::MAX).unwrap();
            (row.keys, found)
        };
        assert_eq!(run(&db, &config, now).unwrap(), 0, "young keys stay");
        assert_eq!(keys_left(&db), (5, Some(5)));
        assert_eq!(run(&db, &config, now + 61_000).unwrap(), 5);
        assert_eq!(keys_left(&db), (0, None));
    }
}
