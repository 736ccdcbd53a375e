//! `Encoded`: bytes produced by `bourn-codec`, shared by reference count.

use std::convert::Infallible;

use bourn_codec::{ByteString, Event, EventType, Frame};
use bytes::Bytes;

use crate::error::{BoxError, Error, Kind};
use crate::event_id::EventId;
use crate::stats::ResetReason;

/// An event (or a `retry`/comment frame) already encoded by `bourn-codec`.
///
/// Cloning is a reference-count bump: a [`Channel`](crate::Channel) encodes a
/// published event once and every subscriber writes a clone of the same
/// [`Bytes`]. The only way to build one is from the codec's [`Event`] or
/// [`Frame`], so the bytes are always a valid `text/event-stream` fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded(Bytes);

impl Encoded {
    /// The encoded bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The encoded bytes, by value.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A stored record as it goes out: `id: <id>` then the body that
    /// `bourn-codec` encoded without an id (a backend's
    /// [`Record::body`](crate::backend::Record)). The id is an
    /// [`EventId`]: hexadecimal digits, a dot and decimal digits, so the
    /// line needs no escaping; field order within a block does not matter
    /// to a decoder.
    pub(crate) fn with_id(id: EventId, body: &[u8]) -> Encoded {
        use std::io::Write as _;
        let mut bytes = Vec::with_capacity(body.len() + 32);
        // Writing to a Vec cannot fail.
        let _ = writeln!(bytes, "id: {id}");
        bytes.extend_from_slice(body);
        Encoded(Bytes::from(bytes))
    }

    /// `id: <position>` alone: moves the client's last event id, dispatches
    /// nothing.
    pub(crate) fn id_only(position: EventId) -> Encoded {
        Encoded::with_id(position, b"\n")
    }

    /// The [`RESET_EVENT`](crate::RESET_EVENT) at `position` for `reason`.
    pub(crate) fn reset(position: EventId, reason: ResetReason) -> Encoded {
        const RESET: EventType = EventType::from_static(crate::RESET_EVENT);
        let body = Event::builder()
            .event(RESET)
            .data(ByteString::from_static(reason.as_str()))
            .build();
        Encoded::with_id(position, &body.to_bytes())
    }

    /// The encoded length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is encoded (never true for an event or a frame).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&Event> for Encoded {
    fn from(event: &Event) -> Self {
        Encoded(event.to_bytes())
    }
}

impl From<Event> for Encoded {
    fn from(event: Event) -> Self {
        Encoded(event.to_bytes())
    }
}

impl From<&Frame> for Encoded {
    fn from(frame: &Frame) -> Self {
        Encoded(frame.to_bytes())
    }
}

impl From<Frame> for Encoded {
    fn from(frame: Frame) -> Self {
        Encoded(frame.to_bytes())
    }
}

/// An item an [`Sse`](crate::Sse) body can write: an [`Event`], a
/// [`Frame`], an [`Encoded`], or a `Result` of one of those (an `Err` ends
/// the response with an error, and hyper closes the connection).
pub trait IntoEncoded {
    /// Encodes the item with `bourn-codec`.
    fn into_encoded(self) -> Result<Encoded, Error>;
}

impl IntoEncoded for Encoded {
    fn into_encoded(self) -> Result<Encoded, Error> {
        Ok(self)
    }
}

impl IntoEncoded for Event {
    fn into_encoded(self) -> Result<Encoded, Error> {
        Ok(Encoded::from(&self))
    }
}

impl IntoEncoded for Frame {
    fn into_encoded(self) -> Result<Encoded, Error> {
        Ok(Encoded::from(&self))
    }
}

impl<T, E> IntoEncoded for Result<T, E>
where
    T: IntoEncoded,
    E: Into<BoxError>,
{
    fn into_encoded(self) -> Result<Encoded, Error> {
        match self {
            Ok(item) => item.into_encoded(),
            Err(error) => Err(Error::with_source(Kind::Stream, error)),
        }
    }
}

impl IntoEncoded for Infallible {
    fn into_encoded(self) -> Result<Encoded, Error> {
        match self {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bourn_codec::Id;

    use super::*;

    #[test]
    fn items_encode_through_the_codec() {
        let event = Event::builder()
            .event(EventType::from_static("e"))
            .id(Id::from_static("1"))
            .data("a\nb")
            .build();
        let cases: [(Result<Encoded, Error>, &str); 4] = [
            (
                event.clone().into_encoded(),
                "event: e\nid: 1\ndata: a\ndata: b\n\n",
            ),
            (
                Frame::Retry(Duration::from_secs(2)).into_encoded(),
                "retry: 2000\n",
            ),
            (
                Frame::Comment(ByteString::from_static("hi")).into_encoded(),
                ": hi\n",
            ),
            (
                Ok::<_, Infallible>(event).into_encoded(),
                "event: e\nid: 1\ndata: a\ndata: b\n\n",
            ),
        ];
        for (encoded, expected) in cases {
            assert_eq!(encoded.unwrap().as_bytes(), expected);
        }
        let failed = Err::<Event, _>("boom").into_encoded().unwrap_err();
        assert!(failed.is_stream());
    }
}
