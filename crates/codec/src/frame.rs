//! What the decoder yields.

use core::time::Duration;

use bytestring::ByteString;

use crate::message_event::MessageEvent;

/// One unit of a decoded stream, in stream order.
///
/// Stream state that is not an event (a `retry` field, a comment) is its own
/// frame, so a block holding only `retry:` or only a comment is not lost. The
/// last event ID is state too: read it from
/// [`Decoder::last_event_id`](crate::Decoder::last_event_id), which an
/// `id:`-only block moves without dispatching anything.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Frame {
    /// A dispatched event.
    Event(MessageEvent),
    /// A valid `retry` field: the new reconnection time. Reported when its
    /// line is read, as the spec applies it, even if its block never dispatches.
    Retry(Duration),
    /// A comment line (`:` first), without the colon and without one leading
    /// space. Servers send them as keep-alives.
    Comment(ByteString),
}

impl Frame {
    /// The event, if this frame is one.
    pub fn as_event(&self) -> Option<&MessageEvent> {
        match self {
            Frame::Event(event) => Some(event),
            _ => None,
        }
    }

    /// The event, if this frame is one.
    pub fn into_event(self) -> Option<MessageEvent> {
        match self {
            Frame::Event(event) => Some(event),
            _ => None,
        }
    }
}

impl From<MessageEvent> for Frame {
    fn from(event: MessageEvent) -> Self {
        Frame::Event(event)
    }
}
