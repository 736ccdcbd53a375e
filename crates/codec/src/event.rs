//! The outgoing event: what an encoder (a server) writes.

use core::time::Duration;

use bytestring::ByteString;

use crate::field::{EventType, Id};

/// The type of an event whose `event` field was absent or empty.
pub const DEFAULT_EVENT_TYPE: &str = "message";

/// One Server-Sent Event to write: the `event`, `id`, `retry` and `data`
/// fields and comments, as axum's `sse::Event` is.
///
/// What a decoder or a client receives is a [`MessageEvent`](crate::MessageEvent)
/// (type, data, id and the last event ID), a different type: a received event
/// has no `retry` or comment (the decoder reports those as their own
/// [`Frame`](crate::Frame)s), and an outgoing one has no last event ID.
///
/// An event with only data is [`Event::message`]; the other fields are set
/// with [`Event::builder`]. Neither can fail: the `event` and `id` values are
/// checked when their [`EventType`] and [`Id`] are made, and data and
/// comments may hold any text (line breaks become several lines).
///
/// ```
/// use bourn_codec::{Event, EventType, Id};
///
/// let event = Event::builder()
///     .event(EventType::from_static("update"))
///     .id(Id::new("7")?)
///     .data("a\nb")
///     .build();
/// assert_eq!(event.to_bytes(), "event: update\nid: 7\ndata: a\ndata: b\n\n");
/// # Ok::<(), bourn_codec::EncodeError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Event {
    pub(crate) event_type: Option<EventType>,
    pub(crate) data: Option<ByteString>,
    pub(crate) id: Option<Id>,
    pub(crate) retry: Option<Duration>,
    pub(crate) comment: Option<ByteString>,
}

impl Event {
    /// A `message` event with this data and no other field. Any text: line
    /// breaks become several `data:` lines.
    pub fn message(data: impl Into<ByteString>) -> Event {
        Event {
            data: Some(data.into()),
            ..Event::default()
        }
    }

    /// Starts building an event with `event`, `id`, `retry` or comments.
    pub fn builder() -> EventBuilder {
        EventBuilder::default()
    }

    /// A builder holding this event's fields, to change some of them.
    pub fn into_builder(self) -> EventBuilder {
        EventBuilder { event: self }
    }

    /// The `event` field, if set. Without one, a client dispatches the
    /// event as [`DEFAULT_EVENT_TYPE`] (`"message"`).
    pub fn event_type(&self) -> Option<&EventType> {
        self.event_type.as_ref()
    }

    /// The data, if set: written as one `data:` line per line.
    pub fn data(&self) -> Option<&str> {
        self.data.as_deref()
    }

    /// The `id` field, if set.
    pub fn id(&self) -> Option<&Id> {
        self.id.as_ref()
    }

    /// The `retry:` written before the data, if set.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The comment written first, if set.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }
}

/// Builds an [`Event`]. Every setter takes a value that cannot change the
/// stream's meaning, so [`build`](EventBuilder::build) returns the event.
///
/// ```
/// use std::time::Duration;
/// use bourn_codec::{Event, EventType};
///
/// let event = Event::builder()
///     .comment("hello")
///     .event(EventType::new("tick")?)
///     .retry(Duration::from_secs(2))
///     .data("1")
///     .build();
/// assert_eq!(event.to_bytes(), ": hello\nevent: tick\nretry: 2000\ndata: 1\n\n");
/// # Ok::<(), bourn_codec::EncodeError>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
#[derive(Debug, Clone, Default)]
pub struct EventBuilder {
    event: Event,
}

impl EventBuilder {
    /// Sets the data. Any text: `\n`, `\r\n` and `\r` split it into several
    /// `data:` lines, which a decoder joins back with `\n`.
    pub fn data(mut self, data: impl Into<ByteString>) -> Self {
        self.event.data = Some(data.into());
        self
    }

    /// Sets the event type (the `event` field).
    pub fn event(mut self, event_type: EventType) -> Self {
        self.event.event_type = Some(event_type);
        self
    }

    /// Sets the `id` field. An empty id clears the client's last event ID.
    pub fn id(mut self, id: Id) -> Self {
        self.event.id = Some(id);
        self
    }

    /// Removes the `id` field set before, if any (a server that assigns
    /// ids itself, say).
    pub fn clear_id(mut self) -> Self {
        self.event.id = None;
        self
    }

    /// Writes a `retry:` line: the client's reconnection time, in whole
    /// milliseconds (sub-millisecond parts are dropped).
    pub fn retry(mut self, retry: Duration) -> Self {
        self.event.retry = Some(retry);
        self
    }

    /// Writes a comment before the fields. Any text; line breaks split it into
    /// several comment lines. Clients ignore comments.
    pub fn comment(mut self, comment: impl Into<ByteString>) -> Self {
        self.event.comment = Some(comment.into());
        self
    }

    /// The event.
    pub fn build(self) -> Event {
        self.event
    }
}

impl From<EventBuilder> for Event {
    fn from(builder: EventBuilder) -> Event {
        builder.event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getters_report_what_the_builder_set() {
        let event = Event::builder()
            .event(EventType::from_static("t"))
            .id(Id::from(3))
            .retry(Duration::from_millis(5))
            .comment("c")
            .data("d")
            .build();
        assert_eq!(event.event_type().map(EventType::as_str), Some("t"));
        assert_eq!(event.id().map(Id::as_str), Some("3"));
        assert_eq!(event.retry(), Some(Duration::from_millis(5)));
        assert_eq!((event.comment(), event.data()), (Some("c"), Some("d")));

        let bare = Event::default();
        assert_eq!(bare.event_type(), None);
        assert_eq!((bare.data(), bare.id(), bare.comment()), (None, None, None));
        assert_eq!(Event::message("x").data(), Some("x"));
    }

    #[test]
    fn into_builder_keeps_the_fields_and_clear_id_drops_the_id() {
        let event = Event::builder()
            .event(EventType::from_static("t"))
            .id(Id::from(3))
            .data("d")
            .build();
        assert_eq!(event.clone().into_builder().build(), event);
        let without = event.into_builder().clear_id().build();
        assert_eq!(without.id(), None);
        assert_eq!(without.data(), Some("d"));
        assert_eq!(without.event_type().map(EventType::as_str), Some("t"));
    }
}
