//! `MemoryLog`: the default replay log, a bounded ring per topic.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Mutex;

use crate::encoded::Encoded;
use crate::log::ReplayLog;
use crate::sync::lock;

/// The default [`ReplayLog`]: per topic, a ring of the latest events, bounded
/// both by count and by encoded bytes (the oldest events go first). Replay is
/// a direct index into the ring (`seq - first retained seq`), never a scan.
///
/// The epoch is random (48 bits) per log: a restarted process gets a new one,
/// so ids from before the restart get a reset event instead of a silent gap.
///
/// Limits, per topic: Default: 1,024 events ([`MemoryLog::DEFAULT_MAX_EVENTS`])
/// and 1 MiB of encoded events ([`MemoryLog::DEFAULT_MAX_BYTES`]). The ring
/// shares the published `Bytes`, so retaining costs no copy.
pub struct MemoryLog {
    epoch: u64,
    max_events: usize,
    max_bytes: usize,
    topics: Mutex<HashMap<Box<str>, Ring>>,
}

#[derive(Default)]
struct Ring {
    /// The `seq` of `events[0]`; `last + 1` when empty.
    first: u64,
    last: u64,
    events: VecDeque<Encoded>,
    bytes: usize,
}

impl MemoryLog {
    /// Default count bound per topic: 1,024 events.
    pub const DEFAULT_MAX_EVENTS: usize = 1024;
    /// Default byte bound per topic: 1 MiB of encoded events.
    pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;

    /// An empty log with a fresh random epoch and the default bounds.
    pub fn new() -> MemoryLog {
        MemoryLog {
            epoch: crate::event_id::random_epoch(),
            max_events: MemoryLog::DEFAULT_MAX_EVENTS,
            max_bytes: MemoryLog::DEFAULT_MAX_BYTES,
            topics: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the most events retained per topic. Default: 1,024. Zero turns
    /// replay off (every resume gets a reset event).
    pub fn max_events(mut self, max: usize) -> MemoryLog {
        self.max_events = max;
        self
    }

    /// Sets the most encoded bytes retained per topic. Default: 1 MiB. An
    /// event larger than this is not retained at all.
    pub fn max_bytes(mut self, max: usize) -> MemoryLog {
        self.max_bytes = max;
        self
    }
}

impl Default for MemoryLog {
    fn default() -> Self {
        MemoryLog::new()
    }
}

impl fmt::Debug for MemoryLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLog")
            .field("epoch", &format_args!("{:x}", self.epoch))
            .field("max_events", &self.max_events)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl ReplayLog for MemoryLog {
    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn last_seq(&self, topic: &str) -> u64 {
        lock(&self.topics).get(topic).map_or(0, |ring| ring.last)
    }

    fn append(&self, topic: &str, seq: u64, event: &Encoded) {
        let mut topics = lock(&self.topics);
        let ring = match topics.get_mut(topic) {
            Some(ring) => ring,
            None => topics.entry(topic.into()).or_default(),
        };
        if ring.events.is_empty() {
            ring.first = seq;
        }
        ring.last = seq;
        ring.events.push_back(event.clone());
        ring.bytes += event.len();
        while ring.events.len() > self.max_events || ring.bytes > self.max_bytes {
            let Some(oldest) = ring.events.pop_front() else {
                break;
            };
            ring.bytes -= oldest.len();
            ring.first += 1;
        }
    }

    fn replay(&self, topic: &str, after: u64, up_to: u64) -> Option<Vec<Encoded>> {
        if after >= up_to {
            return Some(Vec::new());
        }
        let topics = lock(&self.topics);
        let ring = topics.get(topic)?;
        if after + 1 < ring.first || up_to > ring.last {
            return None;
        }
        let start = usize::try_from(after + 1 - ring.first).ok()?;
        let end = usize::try_from(up_to + 1 - ring.first).ok()?;
        Some(ring.events.range(start..end).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use bourn_codec::Event;

    use super::*;

    fn event(n: u64) -> Encoded {
        Encoded::from(Event::builder().data(format!("{n:04}")).build().unwrap())
    }

    fn seqs(events: Option<Vec<Encoded>>) -> Option<Vec<u64>> {
        let parse = |e: &Encoded| -> u64 {
            let text = String::from_utf8(e.as_bytes().to_vec()).unwrap();
            text[6..10].parse().unwrap()
        };
        events.map(|events| events.iter().map(parse).collect())
    }

    #[test]
    fn bounded_by_count_and_bytes() {
        // Each event is 12 bytes ("data: 0001\n\n").
        let cases = [
            (10, 1024, 3, Some(vec![4, 5])),
            (3, 1024, 2, Some(vec![3, 4, 5])),
            (3, 1024, 1, None),
            (10, 36, 2, Some(vec![3, 4, 5])),
            (10, 35, 2, None),
            (0, 1024, 4, None),
            (10, 5, 4, None),
        ];
        for (max_events, max_bytes, after, expected) in cases {
            let log = MemoryLog::new().max_events(max_events).max_bytes(max_bytes);
            for seq in 1..=5 {
                log.append("t", seq, &event(seq));
            }
            assert_eq!(log.last_seq("t"), 5);
            let got = seqs(log.replay("t", after, 5));
            assert_eq!(got, expected, "max {max_events}/{max_bytes} after {after}");
        }
    }

    #[test]
    fn replay_ranges_and_topics() {
        let log = MemoryLog::new();
        for seq in 1..=4 {
            log.append("a", seq, &event(seq));
        }
        assert_eq!(seqs(log.replay("a", 0, 4)), Some(vec![1, 2, 3, 4]));
        assert_eq!(seqs(log.replay("a", 1, 3)), Some(vec![2, 3]));
        assert_eq!(seqs(log.replay("a", 4, 4)), Some(vec![]));
        assert_eq!(seqs(log.replay("a", 2, 9)), None);
        assert_eq!(seqs(log.replay("b", 0, 1)), None);
        assert_eq!(log.last_seq("b"), 0);
        let other = MemoryLog::new();
        assert_ne!(log.epoch(), other.epoch());
        assert!(format!("{log:?}").contains("max_events: 1024"));
    }

    #[test]
    fn replay_shares_the_logged_bytes() {
        let log = MemoryLog::new();
        let published = event(1);
        log.append("a", 1, &published);
        let replayed = log.replay("a", 0, 1).unwrap();
        assert_eq!(
            replayed[0].as_bytes().as_ptr(),
            published.as_bytes().as_ptr()
        );
    }
}
