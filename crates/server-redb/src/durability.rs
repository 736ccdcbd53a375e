//! [`Durability`]: when an append is acknowledged, and the bound on what a
//! crash can take back.

use std::time::Duration;

/// When [`Backend::append`](bourn_server::backend::Backend::append) on a
/// [`RedbBackend`](crate::RedbBackend) resolves.
///
/// In both modes the backend reports an event through the feed (so
/// subscribers receive it) only after the commit that made it durable
/// (fsync), so no subscriber ever sees an event that a crash can take back,
/// and an id a subscriber saw is never given to another event. The modes
/// differ in what the publisher is told:
///
/// | mode | `append` resolves | a crash (SIGKILL, power loss) or a failed commit can lose |
/// |---|---|---|
/// | `Immediate` | after the fsync of the event's commit | no acknowledged event |
/// | `Batched(window)` | once the writer has taken the event into the open batch (its seq is assigned) | acknowledged events of one batch, all acknowledged within half a `window` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Acknowledge each event after the commit that made it durable.
    /// Commits run as soon as the writer is free: one fsync per event when
    /// publishers come one at a time; appends that arrive during a commit
    /// share the next one (group commit). A crash loses no event whose
    /// `append` resolved. The default.
    #[default]
    Immediate,
    /// Acknowledge each event as soon as the writer has assigned its seq and
    /// put it in the open batch; commit the batch half a window after its
    /// first event (or at 4,096 events, or at a
    /// [`flush`](bourn_server::backend::Backend::flush)) with one fsync.
    ///
    /// The loss bound: events are acknowledged only while their batch is
    /// open, and a batch stays open for half a window, so the acknowledged
    /// events a crash (or a failed commit) loses were all acknowledged within
    /// half a `window` of each other, in the last batch before the crash.
    /// While the writer is busy committing, new appends wait in its queue
    /// (unacknowledged) until the commit ends. After a restart the topic
    /// goes on from its last durable event, so the id a publisher was given
    /// for a lost event is given to the next event appended; no subscriber
    /// saw the lost one.
    Batched(Duration),
}

impl Durability {
    /// How long the writer keeps a batch open after its first event;
    /// `None`: commit at once what is queued.
    pub(crate) fn gather(self) -> Option<Duration> {
        match self {
            Durability::Immediate => None,
            Durability::Batched(window) => Some(window / 2),
        }
    }

    /// Whether an append is acknowledged before its commit.
    pub(crate) fn acknowledges_early(self) -> bool {
        matches!(self, Durability::Batched(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn how_long_a_batch_stays_open_and_when_appends_resolve() {
        // (mode, batch open for, acknowledged before the commit)
        let cases = [
            (Durability::Immediate, None, false),
            (
                Durability::Batched(Duration::from_millis(10)),
                Some(Duration::from_millis(5)),
                true,
            ),
            (
                Durability::Batched(Duration::ZERO),
                Some(Duration::ZERO),
                true,
            ),
        ];
        for (mode, gather, early) in cases {
            assert_eq!(mode.gather(), gather, "{mode:?}");
            assert_eq!(mode.acknowledges_early(), early, "{mode:?}");
        }
        assert_eq!(Durability::default(), Durability::Immediate);
    }
}
