//! Errors of the decoder and of the event builder.

use core::fmt;

/// A limit was exceeded while decoding.
///
/// The text/event-stream grammar accepts every byte sequence, so only the
/// [`Limits`](crate::Limits) can fail. The error is not fatal: the decoder has
/// discarded the event it was building, skips to the next blank line and
/// decodes on from there when called again.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// A line grew past [`Limits::max_line_len`](crate::Limits::max_line_len)
    /// before its line ending arrived.
    LineTooLong {
        /// The limit in force, in bytes.
        limit: usize,
        /// Offset in the stream (after the BOM, if any, counted) where the line starts.
        offset: u64,
    },
    /// An event's joined `data` grew past
    /// [`Limits::max_event_len`](crate::Limits::max_event_len).
    EventTooLong {
        /// The limit in force, in bytes.
        limit: usize,
        /// The size of the event's `data` once the offending line was added.
        size: usize,
        /// Offset in the stream where the offending `data` line starts.
        offset: u64,
    },
}

impl DecodeError {
    /// The limit, in bytes, that was exceeded.
    pub fn limit(&self) -> usize {
        match *self {
            DecodeError::LineTooLong { limit, .. } | DecodeError::EventTooLong { limit, .. } => {
                limit
            }
        }
    }

    /// Offset in the stream of the line that exceeded the limit.
    pub fn offset(&self) -> u64 {
        match *self {
            DecodeError::LineTooLong { offset, .. } | DecodeError::EventTooLong { offset, .. } => {
                offset
            }
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::LineTooLong { limit, offset } => write!(
                f,
                "line at byte {offset} is longer than the {limit}-byte line limit; event discarded"
            ),
            DecodeError::EventTooLong {
                limit,
                size,
                offset,
            } => write!(
                f,
                "event data reached {size} bytes at byte {offset}, over the {limit}-byte event limit; event discarded"
            ),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Which field of an event a refused value was for.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The `event` field (the event type).
    Event,
    /// The `id` field.
    Id,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Event => "event",
            Field::Id => "id",
        })
    }
}

/// An `event` or `id` value was refused because writing it would change the
/// stream's meaning: from [`EventType::new`](crate::EventType::new) and
/// [`Id::new`](crate::Id::new).
///
/// `data` and comments may hold any text (line breaks split them into several
/// lines), but an `event` or `id` value with a line break would end the field
/// early and start another, and the WHATWG parser ignores an `id` containing
/// NUL. Rather than silently writing a different stream, they are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncodeError {
    field: Field,
    index: usize,
    byte: u8,
}

impl EncodeError {
    pub(crate) fn new(field: Field, index: usize, byte: u8) -> Self {
        EncodeError { field, index, byte }
    }

    /// The field that holds the forbidden character.
    pub fn field(&self) -> Field {
        self.field
    }

    /// The byte index of the forbidden character in the field's value.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The forbidden byte: `\r`, `\n`, or (in `id`) NUL.
    pub fn byte(&self) -> u8 {
        self.byte
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.byte {
            b'\r' => "a carriage return",
            b'\n' => "a line feed",
            _ => "a NUL character",
        };
        write!(
            f,
            "`{}` field contains {what} at byte {}, which would change the event stream",
            self.field, self.index
        )
    }
}

impl core::error::Error for EncodeError {}
