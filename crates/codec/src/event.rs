//! The event: what a decoder dispatches and what an encoder writes.

use core::time::Duration;

use bytestring::ByteString;

use crate::error::{EncodeError, Field};

/// The type of an event whose `event` field was absent or empty.
pub const DEFAULT_EVENT_TYPE: &str = "message";

/// One Server-Sent Event.
///
/// Decoded events carry what the WHATWG "dispatch the event" steps produce: the
/// type, the data and the last event ID string. Built events (see
/// [`Event::builder`]) carry what will be written, and may add a `retry:` line
/// and comments; the decoder reports those as separate
/// [`Frame`](crate::Frame)s, in stream order, never on an `Event`.
///
/// Every string is a [`ByteString`]: a decoded single-line `data`, `event` or
/// `id` is a slice of the input buffer, not a copy.
///
/// ```
/// use bourn_codec::Event;
///
/// let event = Event::builder().event("update").id("7").data("a\nb").build()?;
/// assert_eq!(event.to_bytes(), "event: update\nid: 7\ndata: a\ndata: b\n\n");
/// # Ok::<(), bourn_codec::EncodeError>(())
/// ```
#[derive(Clone, Default)]
pub struct Event {
    pub(crate) event_type: Option<ByteString>,
    pub(crate) data: Option<ByteString>,
    pub(crate) id: Option<ByteString>,
    /// The last event ID, unless `last_event_id_is_id`.
    pub(crate) last_event_id: ByteString,
    /// A decoded event with an `id` field: its last event ID is that id
    /// ("set the last event ID string [...] to the value of the last event
    /// ID buffer"), kept once rather than as a second reference count.
    pub(crate) last_event_id_is_id: bool,
    pub(crate) retry: Option<Duration>,
    pub(crate) comment: Option<ByteString>,
}

// Equality, hashing and `Debug` are over what the getters report, not over
// how the last event ID is stored.
impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.event_type == other.event_type
            && self.data == other.data
            && self.id == other.id
            && self.last_event_id() == other.last_event_id()
            && self.retry == other.retry
            && self.comment == other.comment
    }
}

impl Eq for Event {}

impl core::hash::Hash for Event {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.event_type.hash(state);
        self.data.hash(state);
        self.id.hash(state);
        self.last_event_id().hash(state);
        self.retry.hash(state);
        self.comment.hash(state);
    }
}

impl core::fmt::Debug for Event {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Event")
            .field("event_type", &self.event_type)
            .field("data", &self.data)
            .field("id", &self.id)
            .field("last_event_id", &self.last_event_id())
            .field("retry", &self.retry)
            .field("comment", &self.comment)
            .finish()
    }
}

impl Event {
    /// A `message` event with this data; infallible, since data may hold any
    /// text (line breaks become several `data:` lines).
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

    /// A builder holding this event's fields, to change some of them (a
    /// server assigning ids, say). The last event ID is dropped: it is
    /// decoder state, never written.
    pub fn into_builder(self) -> EventBuilder {
        EventBuilder {
            event: Event {
                last_event_id: ByteString::new(),
                last_event_id_is_id: false,
                ..self
            },
            error: None,
        }
    }

    /// The event type: the `event` field, or `"message"` when it was absent or empty.
    pub fn event_type(&self) -> &str {
        match &self.event_type {
            Some(t) if !t.is_empty() => t,
            _ => DEFAULT_EVENT_TYPE,
        }
    }

    /// The data: `data` lines joined with `\n`. Empty when the event has no data.
    pub fn data(&self) -> &str {
        self.data.as_deref().unwrap_or("")
    }

    /// The data as a shared, reference-counted string (cheap to clone).
    pub fn data_string(&self) -> ByteString {
        self.data.clone().unwrap_or_default()
    }

    /// Consumes the event and returns its data without a copy.
    pub fn into_data(self) -> ByteString {
        self.data.unwrap_or_default()
    }

    /// The `id` field set in this event's block, if any.
    ///
    /// `Some("")` is an `id` field with an empty value: it clears the last
    /// event ID. Most applications want [`last_event_id`](Event::last_event_id).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The last event ID string when the event was dispatched (the spec's
    /// `MessageEvent.lastEventId`): this block's `id`, or the last one before it.
    ///
    /// Always empty on an event from the builder.
    pub fn last_event_id(&self) -> &str {
        match &self.id {
            Some(id) if self.last_event_id_is_id => id,
            _ => &self.last_event_id,
        }
    }

    /// The `retry:` this built event writes before its data. Decoded events
    /// report `retry` as [`Frame::Retry`](crate::Frame::Retry) instead.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The comment this built event writes first. Decoded events report
    /// comments as [`Frame::Comment`](crate::Frame::Comment) instead.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// Whether the event has a data field. A block without one is not
    /// dispatched by a decoder, but still commits its `id` and `retry`.
    pub fn has_data(&self) -> bool {
        self.data.is_some()
    }
}

/// Builds an [`Event`], refusing values that would change the stream's meaning.
///
/// Like `http::request::Builder`, setters never fail; the first problem is
/// reported by [`build`](EventBuilder::build).
///
/// ```
/// use bourn_codec::{Event, Field};
///
/// let err = Event::builder().id("1\n2").data("x").build().unwrap_err();
/// assert_eq!(err.field(), Field::Id);
/// assert_eq!(err.index(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct EventBuilder {
    event: Event,
    error: Option<EncodeError>,
}

impl EventBuilder {
    /// Sets the data. Any text: `\n`, `\r\n` and `\r` split it into several
    /// `data:` lines, which a decoder joins back with `\n`.
    pub fn data(mut self, data: impl Into<ByteString>) -> Self {
        self.event.data = Some(data.into());
        self
    }

    /// Sets the event type (the `event` field). It must not contain `\r` or `\n`.
    pub fn event(mut self, event_type: impl Into<ByteString>) -> Self {
        let value = event_type.into();
        self.check(Field::Event, &value, b"\r\n");
        self.event.event_type = Some(value);
        self
    }

    /// Sets the `id` field. It must not contain `\r`, `\n` or NUL. An empty id
    /// clears the client's last event ID.
    pub fn id(mut self, id: impl Into<ByteString>) -> Self {
        let value = id.into();
        self.check(Field::Id, &value, b"\r\n\0");
        self.event.id = Some(value);
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

    /// Finishes the event, or reports the first refused value.
    pub fn build(self) -> Result<Event, EncodeError> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.event),
        }
    }

    fn check(&mut self, field: Field, value: &str, forbidden: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Some(index) = value.bytes().position(|b| forbidden.contains(&b)) {
            self.error = Some(EncodeError::new(field, index, value.as_bytes()[index]));
        }
    }
}
