//! The topics this node knows, and the newest position it saw of each:
//! what tells a lost history (a new epoch, a seq that went back) from a
//! topic seen for the first time.

use std::collections::HashMap;
use std::sync::Mutex;

use bourn_server::EventId;

/// How many replaced epochs a topic remembers, so that a late Pub/Sub
/// message of an old epoch is dropped instead of switching back to it.
const RETIRED: usize = 4;

#[derive(Debug, Default)]
pub(crate) struct Known {
    topics: Mutex<HashMap<Box<str>, Topic>>,
}

#[derive(Debug)]
struct Topic {
    newest: EventId,
    retired: Vec<u64>,
}

/// What a position seen in Redis is to this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// A topic this node does not know (and did not start to).
    Untracked,
    /// The topic's epoch: its newest seq is updated.
    Current,
    /// An epoch the topic had before: a late message, dropped.
    Stale,
    /// Another epoch than the one this node saw: the history was lost.
    NewEpoch,
}

impl Known {
    /// Notes `id` of `topic`; with `track`, starts knowing the topic.
    pub(crate) fn note(&self, topic: &str, id: EventId, track: bool) -> Seen {
        let mut topics = self.lock();
        let Some(known) = topics.get_mut(topic) else {
            if track {
                topics.insert(
                    topic.into(),
                    Topic {
                        newest: id,
                        retired: Vec::new(),
                    },
                );
            }
            return Seen::Untracked;
        };
        if known.newest.epoch() == id.epoch() {
            if id.seq() > known.newest.seq() {
                known.newest = id;
            }
            return Seen::Current;
        }
        if known.retired.contains(&id.epoch()) {
            return Seen::Stale;
        }
        known.retire();
        known.newest = id;
        Seen::NewEpoch
    }

    /// Replaces the topic's position by `id`, in a new epoch.
    pub(crate) fn replace(&self, topic: &str, id: EventId) {
        let mut topics = self.lock();
        match topics.get_mut(topic) {
            Some(known) => {
                if known.newest.epoch() != id.epoch() {
                    known.retire();
                }
                known.newest = id;
            }
            None => {
                topics.insert(
                    topic.into(),
                    Topic {
                        newest: id,
                        retired: Vec::new(),
                    },
                );
            }
        }
    }

    /// The newest position seen of `topic`.
    pub(crate) fn get(&self, topic: &str) -> Option<EventId> {
        self.lock().get(topic).map(|known| known.newest)
    }

    /// Every known topic.
    pub(crate) fn all(&self) -> Vec<(String, EventId)> {
        self.lock()
            .iter()
            .map(|(topic, known)| (topic.to_string(), known.newest))
            .collect()
    }

    pub(crate) fn forget(&self, topic: &str) {
        self.lock().remove(topic);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Topic>> {
        self.topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Topic {
    fn retire(&mut self) {
        if self.retired.len() == RETIRED {
            self.retired.remove(0);
        }
        self.retired.push(self.newest.epoch());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_new_epochs_from_late_messages() {
        let known = Known::default();
        let id = EventId::new;
        assert_eq!(known.note("t", id(1, 3), false), Seen::Untracked);
        assert_eq!(known.get("t"), None);
        assert_eq!(known.note("t", id(1, 3), true), Seen::Untracked);
        assert_eq!(known.note("t", id(1, 5), false), Seen::Current);
        assert_eq!(known.note("t", id(1, 4), false), Seen::Current);
        assert_eq!(known.get("t"), Some(id(1, 5)));
        assert_eq!(known.note("t", id(2, 1), false), Seen::NewEpoch);
        assert_eq!(known.note("t", id(1, 6), false), Seen::Stale);
        assert_eq!(known.get("t"), Some(id(2, 1)));
        known.replace("t", id(3, 9));
        assert_eq!(known.note("t", id(2, 2), false), Seen::Stale);
        assert_eq!(known.note("t", id(3, 10), false), Seen::Current);
        known.forget("t");
        assert_eq!(known.note("t", id(4, 1), false), Seen::Untracked);
    }
}
