//! Retention: a pass on the writer thread, between batches, that deletes
//! each topic's oldest events while the topic is over a bound (events,
//! bytes, age) and forgets idempotency keys older than their time to live.

use redb::{Database, ReadableTable};

use crate::builder::Config;
use crate::keys;
use crate::schema::{Tables, TopicRow};

/// Most events one pass deletes per topic (the next pass goes on).
const MAX_TRIM_PER_PASS: u64 = 65_536;

/// Runs one pass at `now` (ms since the Unix epoch); returns how many
/// events and keys it deleted.
pub(crate) fn run(db: &Database, config: &Config, now: u64) -> Result<u64, redb::Error> {
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
