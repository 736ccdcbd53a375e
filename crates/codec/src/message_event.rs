//! The received event: what a decoder (a client) dispatches.

use bytestring::ByteString;

use crate::event::DEFAULT_EVENT_TYPE;
use crate::field::{EventType, Id};

/// A dispatched event, as the WHATWG "dispatch the event" steps make it:
/// the type, the data and the last event ID (the browser's `MessageEvent`,
/// and `reqwest-eventsource`'s), plus the `id` field of its block.
///
/// What a server writes is an [`Event`](crate::Event), a different type.
/// `retry` fields and comments are never on a received event: the decoder
/// reports them as their own [`Frame`](crate::Frame)s, in stream order.
///
/// Every string is a [`ByteString`]: a decoded single-line `data`, `event`
/// or `id` is a slice of the input buffer, not a copy.
///
/// ```
/// use bytes::BytesMut;
/// use bourn_codec::{Decoder, Frame};
///
/// let mut buf = BytesMut::from("id: 7\nevent: tick\ndata: a\ndata: b\n\ndata: c\n\n");
/// let mut decoder = Decoder::new();
/// let Some(Frame::Event(first)) = decoder.decode(&mut buf)? else { panic!() };
/// assert_eq!((first.event_type(), first.data(), first.id()), ("tick", "a\nb", Some("7")));
/// let Some(Frame::Event(second)) = decoder.decode(&mut buf)? else { panic!() };
/// assert_eq!((second.event_type(), second.id(), second.last_event_id()), ("message", None, "7"));
/// # Ok::<(), bourn_codec::DecodeError>(())
/// ```
///
/// [`MessageEvent::new`] and its `with_*` methods make one by hand, for
/// tests of code that consumes events. The type and the `id` are an
/// [`EventType`] and an [`Id`] there, so every event, decoded or made, can be
/// written back by [`Frame::encode`](crate::Frame::encode) unchanged.
#[derive(Clone)]
pub struct MessageEvent {
    pub(crate) event_type: Option<ByteString>,
    pub(crate) data: ByteString,
    pub(crate) id: Option<ByteString>,
    /// The last event ID, unless `last_event_id_is_id`.
    pub(crate) last_event_id: ByteString,
    /// An event with an `id` field: its last event ID is that id ("set the
    /// last event ID string [...] to the value of the last event ID
    /// buffer"), kept once rather than as a second reference count.
    pub(crate) last_event_id_is_id: bool,
}

// Equality, hashing and `Debug` are over what the getters report, not over
// how the last event ID is stored.
impl PartialEq for MessageEvent {
    fn eq(&self, other: &Self) -> bool {
        self.event_type == other.event_type
            && self.data == other.data
            && self.id == other.id
            && self.last_event_id() == other.last_event_id()
    }
}

impl Eq for MessageEvent {}

impl core::hash::Hash for MessageEvent {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.event_type.hash(state);
        self.data.hash(state);
        self.id.hash(state);
        self.last_event_id().hash(state);
    }
}

impl core::fmt::Debug for MessageEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MessageEvent")
            .field("event_type", &self.event_type)
            .field("data", &self.data())
            .field("id", &self.id())
            .field("last_event_id", &self.last_event_id())
            .finish()
    }
}

impl MessageEvent {
    /// A `message` event with this data, no `id` and an empty last event
    /// ID, as a decoder dispatches `data: ...` at the start of a stream.
    pub fn new(data: impl Into<ByteString>) -> Self {
        MessageEvent {
            event_type: None,
            data: data.into(),
            id: None,
            last_event_id: ByteString::new(),
            last_event_id_is_id: false,
        }
    }

    /// Sets the type. An empty type reads as `"message"`, as a decoder
    /// treats an empty `event` field.
    pub fn with_event_type(mut self, event_type: EventType) -> Self {
        self.event_type = Some(event_type.into_inner());
        self
    }

    /// Sets the block's `id` field, which is then also the last event ID.
    pub fn with_id(mut self, id: Id) -> Self {
        self.id = Some(id.into_inner());
        self.last_event_id = ByteString::new();
        self.last_event_id_is_id = true;
        self
    }

    /// Sets the last event ID of an event without an `id` field (one set
    /// by an earlier block). Removes an `id` set before.
    pub fn with_last_event_id(mut self, last_event_id: impl Into<ByteString>) -> Self {
        self.id = None;
        self.last_event_id = last_event_id.into();
        self.last_event_id_is_id = false;
        self
    }

    /// The event type: the `event` field, or `"message"` when it was absent
    /// or empty.
    pub fn event_type(&self) -> &str {
        match &self.event_type {
            Some(t) if !t.is_empty() => t,
            _ => DEFAULT_EVENT_TYPE,
        }
    }

    /// The data: the `data` lines joined with `\n`.
    pub fn data(&self) -> &str {
        &self.data
    }

    /// The data as a shared, reference-counted string (cheap to clone).
    pub fn data_string(&self) -> ByteString {
        self.data.clone()
    }

    /// Consumes the event and returns its data without a copy.
    pub fn into_data(self) -> ByteString {
        self.data
    }

    /// The `id` field set in this event's block, if any.
    ///
    /// `Some("")` is an `id` field with an empty value: it clears the last
    /// event ID. Most applications want
    /// [`last_event_id`](MessageEvent::last_event_id).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The last event ID string when the event was dispatched (the spec's
    /// `MessageEvent.lastEventId`): this block's `id`, or the last one
    /// before it.
    pub fn last_event_id(&self) -> &str {
        match &self.id {
            Some(id) if self.last_event_id_is_id => id,
            _ => &self.last_event_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_by_hand_reads_like_decoded() {
        let plain = MessageEvent::new("d");
        assert_eq!(
            (
                plain.event_type(),
                plain.data(),
                plain.id(),
                plain.last_event_id()
            ),
            ("message", "d", None, "")
        );
        let typed = MessageEvent::new("d").with_event_type(EventType::from_static(""));
        assert_eq!(typed.event_type(), "message");

        let with_id = MessageEvent::new("d")
            .with_event_type(EventType::from_static("t"))
            .with_id(Id::from(5));
        assert_eq!(
            (with_id.event_type(), with_id.id(), with_id.last_event_id()),
            ("t", Some("5"), "5")
        );
        let later = with_id.clone().with_last_event_id("4");
        assert_eq!((later.id(), later.last_event_id()), (None, "4"));
        assert_ne!(later, with_id);
        assert_eq!(later.into_data(), "d");
    }
}
