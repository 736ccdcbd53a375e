//! `ReplayLog`: the history a channel replays from on resume.

use crate::encoded::Encoded;

/// Where a [`Channel`](crate::Channel) keeps published events so that a
/// client arriving with a `Last-Event-ID` can be replayed what it missed.
///
/// The default is [`MemoryLog`](crate::MemoryLog), a bounded ring per topic.
/// Another backend (an embedded file store, Redis Streams) implements these
/// four methods and plugs in with
/// [`ChannelBuilder::log`](crate::ChannelBuilder::log), without changes to
/// the channel.
///
/// The channel assigns each topic's `seq` contiguously from 1 and calls
/// [`append`](ReplayLog::append) and [`last_seq`](ReplayLog::last_seq) under
/// the topic's lock, so methods must not block for long (a backend doing
/// network I/O buffers appends and writes them behind).
pub trait ReplayLog: Send + Sync + 'static {
    /// The history's epoch: random, and new whenever the history may have
    /// been lost (an in-memory log: every process start). Ids from another
    /// epoch cannot be resumed.
    fn epoch(&self) -> u64;

    /// The highest `seq` appended to `topic` in this epoch, or 0. A channel
    /// continues numbering a topic from here.
    fn last_seq(&self, topic: &str) -> u64;

    /// Records the event `seq` of `topic` (always `last_seq(topic) + 1`).
    /// The log may drop its oldest events at any time to stay within bounds.
    fn append(&self, topic: &str, seq: u64, event: &Encoded);

    /// The events of `topic` with `after < seq <= up_to`, in order, or `None`
    /// when the event `after + 1` is no longer retained (trimmed). Called
    /// only with `after < up_to <= last_seq(topic)`.
    fn replay(&self, topic: &str, after: u64, up_to: u64) -> Option<Vec<Encoded>>;
}
