//! What the stream yields.

use bourn_codec::MessageEvent;
use http::{HeaderMap, StatusCode, Uri};

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
        /// The final URL, after redirects: where reconnections go (also
        /// [`EventSource::url`](crate::EventSource::url)).
        url: Uri,
    },
    /// A dispatched event: its type, data, `id` field and the last event ID
    /// in force when it was dispatched.
    Event(MessageEvent),
    /// A comment line (`: keep-alive`), without the colon and the one space
    /// after it, reported as soon as the line arrives. Only with
    /// [`Builder::comments`](crate::Builder::comments).
    Comment(String),
}

impl Item {
    /// The event, if this item is one.
    pub fn as_event(&self) -> Option<&MessageEvent> {
        match self {
            Item::Event(event) => Some(event),
            Item::Open { .. } | Item::Comment(_) => None,
        }
    }

    /// The event, if this item is one.
    pub fn into_event(self) -> Option<MessageEvent> {
        match self {
            Item::Event(event) => Some(event),
            Item::Open { .. } | Item::Comment(_) => None,
        }
    }
}
