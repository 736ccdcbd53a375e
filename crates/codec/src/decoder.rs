//! The incremental decoder.
//!
//! # How it works
//!
//! Lines are framed with `memchr2` over the caller's `BytesMut`; each complete
//! line is classified by the nom grammar in `line.rs`. Field values that the
//! pending event keeps (`data`, `event`, `id`) are remembered as ranges of the
//! buffer and only cut out (`split_to` + `freeze` + `slice`) when the event
//! dispatches, so a single-line value is a slice of the input, never a copy.
//!
//! State, and where each piece lives:
//!
//! | state                | meaning                                                        |
//! |----------------------|----------------------------------------------------------------|
//! | `buf[..pos]`         | lines already interpreted, kept because a slot points into them |
//! | `buf[pos..]`         | the next, unterminated line; `scanned` bytes of it have no line ending |
//! | `skip_lf`            | the last line ended with a CR that was the last byte seen; an LF next belongs to it |
//! | `discarding_line`    | the rest of an over-long line is being dropped                  |
//! | `skipping`           | after a limit error, lines are ignored up to the next blank line |
//!
//! The retained window `buf[..pos]` is cut off (frozen) as soon as it grows
//! past `max_line_len`, so the decoder never holds more than about two lines
//! beyond the pending event's data.

use alloc::string::String;
use core::fmt;
use core::ops::Range;
use core::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::event::Event;
use crate::frame::Frame;
use crate::limits::Limits;
use crate::line::{self, Line};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where a value of the pending event is.
#[derive(Debug, Default)]
enum Slot {
    /// Not set in this block.
    #[default]
    None,
    /// A range of the decode buffer, relative to its start.
    InBuf(Range<usize>),
    /// Cut out of the buffer already.
    Text(ByteString),
    /// Several `data` lines joined with `\n` (the only copy the decoder makes).
    Joined(BytesMut),
}

impl Slot {
    fn in_buf(&self) -> Option<&Range<usize>> {
        match self {
            Slot::InBuf(range) => Some(range),
            _ => None,
        }
    }

    /// The bytes, given the buffer an `InBuf` range points into.
    fn bytes<'a>(&'a self, buf: &'a [u8]) -> &'a [u8] {
        match self {
            Slot::None => &[],
            Slot::InBuf(range) => &buf[range.clone()],
            Slot::Text(text) => text.as_bytes(),
            Slot::Joined(bytes) => bytes,
        }
    }

    /// The value as text. Called once every `InBuf` range has been cut.
    fn take_text(&mut self) -> Option<ByteString> {
        match core::mem::take(self) {
            Slot::None | Slot::InBuf(_) => None,
            Slot::Text(text) => Some(text),
            Slot::Joined(joined) => Some(text(joined)),
        }
    }
}

/// UTF-8 decode with replacement, as the spec requires ("Streams must be
/// decoded using the UTF-8 decode algorithm"). Valid input is not copied.
/// Decoding field by field is the same as decoding the whole stream first:
/// line endings, `:` and space are ASCII, and an invalid sequence never
/// swallows an ASCII byte.
fn text(bytes: BytesMut) -> ByteString {
    // Checked first with the cheapest test that proves validity (`is_ascii`
    // is inlined and word-at-a-time; the lossy iterator walks byte by byte,
    // so it only runs on invalid input).
    if bytes.is_ascii() || core::str::from_utf8(&bytes).is_ok() {
        // Valid, as just checked: the conversion cannot fail.
        ByteString::try_from(bytes).unwrap_or_default()
    } else {
        ByteString::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// "If the field value consists of only ASCII digits, then interpret the
/// field value as an integer in base ten [...] Otherwise, ignore the field."
///
/// An empty value has no digits and is ignored (as browsers do); a value too
/// large for a `u64` of milliseconds is ignored too. Never `str::parse`,
/// which accepts a leading `+`.
pub(crate) fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |ms, &b| {
        if b.is_ascii_digit() {
            ms.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// An incremental `text/event-stream` decoder.
///
/// Feed it bytes by appending them to a `BytesMut` and call
/// [`decode`](Decoder::decode) until it returns `Ok(None)`, exactly as with a
/// `tokio_util` codec. Any chunking of the same stream gives the same frames.
///
/// ```
/// use bytes::BytesMut;
/// use rill_codec::{Decoder, Frame};
///
/// let mut decoder = Decoder::new();
/// let mut buf = BytesMut::from("id: 1\ndata: hel");
/// assert_eq!(decoder.decode(&mut buf), Ok(None)); // the event is not complete
///
/// buf.extend_from_slice(b"lo\r");
/// assert_eq!(decoder.decode(&mut buf), Ok(None)); // the CR ended the line at once
///
/// buf.extend_from_slice(b"\n\r\n");
/// let Some(Frame::Event(event)) = decoder.decode(&mut buf)? else { panic!() };
/// assert_eq!((event.event_type(), event.data(), event.last_event_id()), ("message", "hello", "1"));
/// assert_eq!(decoder.last_event_id(), "1");
/// # Ok::<(), rill_codec::DecodeError>(())
/// ```
pub struct Decoder {
    limits: Limits,
    /// The last event ID string: the last event ID buffer as committed by the
    /// most recent blank line.
    last_event_id: ByteString,

    bom_checked: bool,
    skip_lf: bool,
    discarding_line: bool,
    skipping: bool,
    pos: usize,
    scanned: usize,
    /// Stream offset of `buf[0]`.
    offset: u64,

    data: Slot,
    data_len: usize,
    event_type: Slot,
    /// The last event ID buffer, when an `id` field set it in this block.
    id: Slot,
}

impl Decoder {
    /// A decoder with the default [`Limits`].
    pub fn new() -> Self {
        Decoder::with_limits(Limits::default())
    }

    /// A decoder with these limits.
    pub fn with_limits(limits: Limits) -> Self {
        Decoder {
            limits,
            last_event_id: ByteString::new(),
            bom_checked: false,
            skip_lf: false,
            discarding_line: false,
            skipping: false,
            pos: 0,
            scanned: 0,
            offset: 0,
            data: Slot::None,
            data_len: 0,
            event_type: Slot::None,
            id: Slot::None,
        }
    }

    /// Starts from this last event ID, as a client does when it reconnects:
    /// events without an `id` field then report it, as in browsers.
    pub fn with_last_event_id(mut self, id: impl Into<ByteString>) -> Self {
        self.last_event_id = id.into();
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The last event ID string: set by the `id` field, committed at every
    /// blank line even when no event dispatches, and kept until the next `id`.
    /// A client sends it as `Last-Event-ID` when it reconnects.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Decodes the next frame from `buf`, consuming the bytes it no longer needs.
    ///
    /// Returns `Ok(None)` when `buf` holds no complete frame; append more bytes
    /// and call again. Do not remove bytes from `buf` in between: the decoder
    /// keeps the pending event's values in it.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when a [`Limits`] value is exceeded. The error is not
    /// fatal: the event being built is discarded, lines are skipped up to the
    /// next blank line, and the next call goes on decoding.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, DecodeError> {
        if !self.bom_checked && !self.strip_bom(buf) {
            return Ok(None);
        }
        loop {
            if self.skip_lf {
                // A CR ended the previous line at the end of the bytes then
                // available; "a single CR not followed by a LF" and "a CRLF
                // pair" are both one line ending, so an LF now is skipped.
                let Some(&next) = buf.get(self.pos) else {
                    return Ok(None);
                };
                if next == b'\n' {
                    self.pos += 1;
                }
                self.skip_lf = false;
            }
            if self.discarding_line && !self.discard_line(buf) {
                return Ok(None);
            }

            let start = self.pos;
            let from = start + self.scanned;
            // The first byte is checked before the scan: the blank line that
            // ends every event then costs no call into memchr.
            let found = match buf.get(from) {
                Some(b'\n' | b'\r') => Some(0),
                Some(_) => memchr::memchr2(b'\n', b'\r', &buf[from + 1..]).map(|i| i + 1),
                None => None,
            };
            let Some(found) = found else {
                self.scanned = buf.len() - start;
                if self.scanned > self.limits.get_max_line_len() {
                    return self.line_too_long(buf, start).map_or(Ok(None), Err);
                }
                self.release(buf);
                return Ok(None);
            };
            let end = from + found;
            self.scanned = 0;
            self.pos = match (buf[end], buf.get(end + 1)) {
                (b'\r', Some(b'\n')) => end + 2,
                (b'\r', None) => {
                    self.skip_lf = true;
                    end + 1
                }
                _ => end + 1,
            };

            if end - start > self.limits.get_max_line_len() {
                match self.line_too_long(buf, start) {
                    Some(error) => return Err(error),
                    None => continue,
                }
            }
            if self.skipping {
                // Resynchronise: the discarded event ends at a blank line.
                if end == start {
                    self.skipping = false;
                }
                self.release(buf);
                continue;
            }

            match line::parse(&buf[start..end]) {
                // "If the line is empty (a blank line): Dispatch the event".
                Line::Blank => {
                    if let Some(event) = self.dispatch(buf) {
                        return Ok(Some(Frame::Event(event)));
                    }
                }
                // "If the line starts with a U+003A COLON character (:):
                // Ignore the line." Reported, for keep-alive watchdogs.
                Line::Comment(comment) => {
                    let range = range_in(buf, comment);
                    let comment = self.cut(buf, Some(range)).unwrap_or_default();
                    return Ok(Some(Frame::Comment(comment)));
                }
                // "Field names must be compared literally, with no case
                // folding performed."
                Line::Field { name, value } => {
                    let range = range_in(buf, value);
                    match name {
                        b"data" => self.push_data(buf, range, start)?,
                        // "Set the event type buffer to the field value."
                        b"event" => self.event_type = Slot::InBuf(range),
                        // "If the field value does not contain U+0000 NULL, then
                        // set the last event ID buffer to the field value.
                        // Otherwise, ignore the field."
                        b"id" if memchr::memchr(0, value).is_none() => {
                            self.id = Slot::InBuf(range);
                        }
                        b"retry" => {
                            if let Some(ms) = parse_retry(value) {
                                self.release(buf);
                                return Ok(Some(Frame::Retry(Duration::from_millis(ms))));
                            }
                        }
                        // "Otherwise: The field is ignored."
                        _ => {}
                    }
                }
            }
            if self.pos > self.limits.get_max_line_len() && self.has_buf_refs() {
                self.cut(buf, None);
            }
            self.release(buf);
        }
    }

    /// Decodes what is left at the end of the stream, then resets the decoder
    /// for a new stream (the last event ID and the limits are kept).
    ///
    /// "Once the end of the file is reached, any pending data must be
    /// discarded. (If the file ends in the middle of an event, before the
    /// final empty line, the incomplete event is not dispatched.)" The
    /// unterminated last line is discarded too, even a `retry` field.
    ///
    /// # Errors
    ///
    /// As [`decode`](Decoder::decode).
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, DecodeError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        buf.clear();
        self.reset();
        Ok(None)
    }

    /// Forgets the stream in progress (pending event, partial line, BOM
    /// state) so the next bytes are read as a new stream. The last event ID
    /// and the limits are kept. Clear the buffer too.
    pub fn reset(&mut self) {
        *self = Decoder::with_limits(self.limits).with_last_event_id(self.last_event_id.clone());
    }

    /// "One leading U+FEFF BYTE ORDER MARK character must be ignored if any
    /// are present", and only at the start: the UTF-8 decode algorithm
    /// strips one leading BOM. Returns false while a BOM may still be
    /// arriving (fewer than three bytes that are its prefix).
    fn strip_bom(&mut self, buf: &mut BytesMut) -> bool {
        let seen = buf.len().min(BOM.len());
        if buf[..seen] != BOM[..seen] {
            self.bom_checked = true;
        } else if seen == BOM.len() {
            buf.advance(BOM.len());
            self.offset += BOM.len() as u64;
            self.bom_checked = true;
        }
        self.bom_checked
    }

    /// Drops bytes of an over-long line up to its line ending. Returns false
    /// when the buffer ran out first.
    fn discard_line(&mut self, buf: &mut BytesMut) -> bool {
        match memchr::memchr2(b'\n', b'\r', &buf[self.pos..]) {
            None => {
                self.pos = buf.len();
                self.release(buf);
                false
            }
            Some(found) => {
                let end = self.pos + found;
                // "a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character
                // pair" is one line ending: an LF right after the CR is
                // consumed with it, or skipped later if it has not arrived
                // (the caller scans on without checking `skip_lf`).
                self.pos = match (buf[end], buf.get(end + 1)) {
                    (b'\r', Some(b'\n')) => end + 2,
                    (b'\r', None) => {
                        self.skip_lf = true;
                        end + 1
                    }
                    _ => end + 1,
                };
                self.discarding_line = false;
                self.release(buf);
                true
            }
        }
    }

    /// "Append the field value to the data buffer, then append a single U+000A
    /// LINE FEED (LF) character to the data buffer." The trailing LF that
    /// dispatch removes is never stored: lines are joined with LF instead.
    fn push_data(
        &mut self,
        buf: &mut BytesMut,
        value: Range<usize>,
        line_start: usize,
    ) -> Result<(), DecodeError> {
        let size = match self.data {
            Slot::None => value.len(),
            _ => self.data_len + 1 + value.len(),
        };
        if size > self.limits.get_max_event_len() {
            let error = DecodeError::EventTooLong {
                limit: self.limits.get_max_event_len(),
                size,
                offset: self.offset + line_start as u64,
            };
            self.abandon_event(buf);
            return Err(error);
        }
        self.data_len = size;
        self.data = match core::mem::take(&mut self.data) {
            Slot::None => Slot::InBuf(value),
            Slot::Joined(mut joined) => {
                joined.put_u8(b'\n');
                joined.extend_from_slice(&buf[value]);
                Slot::Joined(joined)
            }
            first => {
                let mut joined = BytesMut::with_capacity(size.max(256));
                joined.extend_from_slice(first.bytes(buf));
                joined.put_u8(b'\n');
                joined.extend_from_slice(&buf[value]);
                Slot::Joined(joined)
            }
        };
        Ok(())
    }

    /// "Dispatch the event": the WHATWG steps, less the browser's task queue.
    fn dispatch(&mut self, buf: &mut BytesMut) -> Option<Event> {
        if self.has_buf_refs() {
            self.cut(buf, None);
        }
        // 1. "Set the last event ID string of the event source to the value
        // of the last event ID buffer. The buffer does not get reset".
        let id = self.id.take_text();
        if let Some(id) = &id {
            self.last_event_id = id.clone();
        }
        // 2. "If the data buffer is an empty string, set the data buffer and
        // the event type buffer to the empty string and return."
        if matches!(self.data, Slot::None) {
            self.event_type = Slot::None;
            self.release(buf);
            return None;
        }
        // 3. The trailing LF is never stored (see `push_data`).
        // 5-7. Type "message" unless the event type buffer is not empty; the
        // buffers are emptied.
        let data = self.data.take_text();
        let event_type = self.event_type.take_text();
        self.data_len = 0;
        self.release(buf);
        Some(Event {
            event_type,
            data,
            id,
            last_event_id: self.last_event_id.clone(),
            retry: None,
            comment: None,
        })
    }

    fn has_buf_refs(&self) -> bool {
        self.data.in_buf().is_some()
            || self.event_type.in_buf().is_some()
            || self.id.in_buf().is_some()
    }

    /// Cuts the pending values that are still ranges of `buf[..pos]` out of
    /// the buffer, each with one `advance` and one `split_to` (a reference
    /// count, no copy), plus `extra` (a comment) if given; then consumes
    /// the rest of the interpreted lines.
    fn cut(&mut self, buf: &mut BytesMut, extra: Option<Range<usize>>) -> Option<ByteString> {
        // The usual event: only its data lies in the buffer.
        if let (Slot::InBuf(range), None, None, None) = (
            &self.data,
            self.event_type.in_buf(),
            self.id.in_buf(),
            &extra,
        ) {
            let range = range.clone();
            buf.advance(range.start);
            self.data = Slot::Text(text(buf.split_to(range.len())));
            buf.advance(self.pos - range.end);
            self.offset += self.pos as u64;
            self.pos = 0;
            return None;
        }
        // Values of distinct lines never overlap; cut them in stream order.
        let mut order = [
            (self.data.in_buf().map(|r| r.start), 0),
            (self.event_type.in_buf().map(|r| r.start), 1),
            (self.id.in_buf().map(|r| r.start), 2),
            (extra.as_ref().map(|r| r.start), 3),
        ];
        order.sort_unstable_by_key(|&(start, _)| start.unwrap_or(usize::MAX));
        let mut consumed = 0;
        let mut cut_extra = None;
        for (start, which) in order {
            if start.is_none() {
                break;
            }
            let slot = match which {
                0 => &mut self.data,
                1 => &mut self.event_type,
                2 => &mut self.id,
                _ => {
                    if let Some(range) = &extra {
                        buf.advance(range.start - consumed);
                        consumed = range.end;
                        cut_extra = Some(text(buf.split_to(range.len())));
                    }
                    continue;
                }
            };
            if let Slot::InBuf(range) = slot {
                buf.advance(range.start - consumed);
                consumed = range.end;
                *slot = Slot::Text(text(buf.split_to(range.len())));
            }
        }
        buf.advance(self.pos - consumed);
        self.offset += self.pos as u64;
        self.pos = 0;
        cut_extra
    }

    /// Consumes the interpreted lines when no slot points into them.
    fn release(&mut self, buf: &mut BytesMut) {
        if self.pos > 0 && !self.has_buf_refs() {
            buf.advance(self.pos);
            self.offset += self.pos as u64;
            self.pos = 0;
        }
    }

    /// Drops the pending event and skips to the next blank line.
    fn abandon_event(&mut self, buf: &mut BytesMut) {
        self.data = Slot::None;
        self.data_len = 0;
        self.event_type = Slot::None;
        self.id = Slot::None;
        self.skipping = true;
        self.release(buf);
    }

    /// Handles a line over the limit: the event is abandoned and the error
    /// returned, unless the event was abandoned already (one error per event).
    fn line_too_long(&mut self, buf: &mut BytesMut, start: usize) -> Option<DecodeError> {
        let error = (!self.skipping).then_some(DecodeError::LineTooLong {
            limit: self.limits.get_max_line_len(),
            offset: self.offset + start as u64,
        });
        if self.scanned > 0 {
            // The line has not ended: drop what arrived, and the rest as it comes.
            self.scanned = 0;
            self.pos = buf.len();
            self.discarding_line = true;
        }
        self.abandon_event(buf);
        error
    }
}

/// The range of `part`, a subslice of `buf`, within `buf`.
fn range_in(buf: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - buf.as_ptr() as usize;
    start..start + part.len()
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("limits", &self.limits)
            .field("last_event_id", &self.last_event_id)
            .field("offset", &self.offset)
            .field("skipping", &self.skipping)
            .finish_non_exhaustive()
    }
}
