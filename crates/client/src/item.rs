//! What the stream yields.

use bourn_codec::Event;
use http::{HeaderMap, StatusCode};

/// One item of an [`EventSource`](crate::EventSource) stream.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum Item {
    /// A connection opened: `200` with `Content-Type: text/event-stream`
    /// (the spec's "announce the connection"). Yielded once per connection,
    /// so a second `Open` means the source reconnected.
    Open {
        /// The response status (always `200 OK`).
        status: StatusCode,
        /// The response headers.
        headers: HeaderMap,
    },
    /// A dispatched event: its type, data, `id` field and the last event ID
    /// in force when it was dispatched.
    Event(Event),
}

impl Item {
    /// The event, if this item is one.
    pub fn as_event(&self) -> Option<&Event> {
        match self {
            Item::Event(event) => Some(event),
            Item::Open { .. } => None,
        }
    }

    /// The event, if this item is one.
    pub fn into_event(self) -> Option<Event> {
        match self {
            Item::Event(event) => Some(event),
            Item::Open { .. } => None,
        }
    }
}
