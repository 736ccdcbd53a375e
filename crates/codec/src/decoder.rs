//! The incremental decoder.
//!
//! # How it works
//!
//! Each call first interprets the lines it already holds; when they run
//! out, it cuts every complete line from the caller's `BytesMut` at once
//! (`memrchr2` finds the last line ending, one `split_to` takes the bytes
//! without copying) and checks the block as UTF-8 once. Lines in the block
//! are then framed with `memchr2`, classified by the nom grammar in
//! `line.rs`, and each value a frame keeps (`data`, `event`, `id`, a
//! comment) is a `slice_ref` of the block: a reference count, never a copy
//! and never a second UTF-8 check. Multi-line `data` is joined into one
//! `String`, the only copy. A block that holds invalid UTF-8 stays raw
//! bytes (`raw_block`), so positions, line lengths and error offsets are
//! still the stream's, and each value is decoded with replacement on its
//! own.
//!
//! | state                | meaning                                                        |
//! |----------------------|----------------------------------------------------------------|
//! | `block[block_pos..]` | complete lines cut from the input, not yet interpreted (or `raw_block`) |
//! | `buf`                | the caller's buffer: one unterminated line (`scanned` bytes of it have no line ending) |
//! | `skip_lf`            | the last cut ended with a CR that was the last byte seen; an LF next belongs to it |
//! | `discarding_line`    | the rest of an over-long line is dropped as it arrives          |
//! | `skipping`           | after a limit error, lines are ignored up to the next blank line |
//!
//! The decoder itself holds the pending event's values and at most one
//! unterminated line of at most `max_line_len` bytes (plus the last chunk).

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;
use core::ops::Range;
use core::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::event::Event;
use crate::frame::Frame;
use crate::limits::Limits;
use crate::line::{self, Line};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Blocks up to this size are UTF-8-checked twice rather than cloned.
const SMALL_BLOCK: usize = 512;

/// The data buffer of the pending event.
#[derive(Debug, Default)]
enum Data {
    /// No `data` field in this block.
    #[default]
    None,
    /// One `data` line: a slice of the input.
    One(ByteString),
    /// Several lines joined with `\n` (the only copy the decoder makes).
    Joined(String),
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
/// use bourn_codec::{Decoder, Frame};
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
/// # Ok::<(), bourn_codec::DecodeError>(())
/// ```
pub struct Decoder {
    limits: Limits,
    /// The last event ID string: the last event ID buffer as committed by the
    /// most recent blank line.
    last_event_id: ByteString,

    bom_checked: bool,
    skip_lf: bool,
    discarding_line: bool,
    /// Bytes at the start of the caller's buffer known to hold no line ending.
    scanned: usize,
    /// Stream offset of the caller's `buf[0]`.
    offset: u64,

    /// Complete lines cut from the input, when they are valid UTF-8.
    block: ByteString,
    /// Complete lines cut from the input that hold invalid UTF-8 (then
    /// `block` is empty): kept as bytes so that positions, line lengths and
    /// offsets stay those of the stream, and decoded value by value.
    raw_block: Option<Bytes>,
    block_pos: usize,
    /// Stream offset of `block[0]`.
    block_offset: u64,

    skipping: bool,
    data: Data,
    data_len: usize,
    event_type: Option<ByteString>,
    /// The last event ID buffer, when an `id` field set it in this block.
    id: Option<ByteString>,
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
            scanned: 0,
            offset: 0,
            block: ByteString::new(),
            raw_block: None,
            block_pos: 0,
            block_offset: 0,
            skipping: false,
            data: Data::None,
            data_len: 0,
            event_type: None,
            id: None,
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

    /// The last event ID string as a shared string: cloning it is a
    /// reference count. Every new value is a new string, so keeping a clone
    /// and comparing its address and length (`as_ptr`, `len`) with this one
    /// tells whether it changed without comparing bytes.
    pub fn last_event_id_shared(&self) -> &ByteString {
        &self.last_event_id
    }

    /// Decodes the next frame from `buf`, consuming the bytes it has read.
    ///
    /// Returns `Ok(None)` when `buf` holds no complete frame; append more bytes
    /// and call again. Complete lines are taken out of `buf` (without a
    /// copy); an unterminated last line stays in it.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when a [`Limits`] value is exceeded. The error is not
    /// fatal: the event being built is discarded, lines are skipped up to the
    /// next blank line, and the next call goes on decoding.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, DecodeError> {
        loop {
            if self.block_pos < self.block_bytes().len() {
                if let Some(frame) = self.interpret_line()? {
                    return Ok(Some(frame));
                }
            } else if !self.cut_block(buf)? {
                return Ok(None);
            }
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

    /// Cuts every complete line from `buf` into `block`. Returns false when
    /// `buf` holds no complete line yet.
    fn cut_block(&mut self, buf: &mut BytesMut) -> Result<bool, DecodeError> {
        if !self.bom_checked && !self.strip_bom(buf) {
            return Ok(false);
        }
        if self.skip_lf {
            // A CR ended the previous line at the end of the bytes then
            // available; "a single CR not followed by a LF" and "a CRLF
            // pair" are both one line ending, so an LF now is skipped.
            let Some(&next) = buf.first() else {
                return Ok(false);
            };
            if next == b'\n' {
                self.consume(buf, 1);
            }
            self.skip_lf = false;
        }
        if self.discarding_line && !self.discard_line(buf) {
            return Ok(false);
        }
        let Some(last) = memchr::memrchr2(b'\n', b'\r', &buf[self.scanned..]) else {
            self.scanned = buf.len();
            if self.scanned > self.limits.get_max_line_len() {
                // The line has not ended: drop what arrived, and the rest as it comes.
                let error = self.line_too_long(self.offset);
                let len = buf.len();
                self.consume(buf, len);
                self.discarding_line = true;
                return error.map_or(Ok(false), Err);
            }
            return Ok(false);
        };
        let end = self.scanned + last + 1;
        if buf[end - 1] == b'\r' && end == buf.len() {
            self.skip_lf = true;
        }
        self.block_offset = self.offset;
        self.offset += end as u64;
        let bytes = buf.split_to(end).freeze();
        // No line ending is left in `buf`: the next scan starts after it.
        self.scanned = buf.len();
        // A small block is checked here and again by the conversion (cheaper
        // than the two reference-count updates of a clone); a large one is
        // checked once, through a clone kept for the invalid case.
        if bytes.len() <= SMALL_BLOCK && core::str::from_utf8(&bytes).is_ok() {
            // Valid, as just checked: the conversion cannot fail.
            self.block = ByteString::try_from(bytes).unwrap_or_default();
            self.raw_block = None;
        } else if let Ok(text) = ByteString::try_from(bytes.clone()) {
            self.block = text;
            self.raw_block = None;
        } else {
            // "Streams must be decoded using the UTF-8 decode algorithm":
            // invalid sequences become U+FFFD, value by value (see `value`).
            self.block = ByteString::new();
            self.raw_block = Some(bytes);
        }
        self.block_pos = 0;
        Ok(true)
    }

    /// Interprets the next line of `block`.
    fn interpret_line(&mut self) -> Result<Option<Frame>, DecodeError> {
        let rest = &self.block_bytes()[self.block_pos..];
        // The blank line that ends every event needs no call into memchr.
        let len = match rest.first() {
            Some(b'\n' | b'\r') => 0,
            _ => memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len()),
        };
        let ending = match (rest.get(len), rest.get(len + 1)) {
            (Some(b'\r'), Some(b'\n')) => 2,
            (Some(_), _) => 1,
            (None, _) => 0,
        };
        let start = self.block_pos;
        self.block_pos += len + ending;
        let line_offset = self.block_offset + start as u64;
        let frame = if len > self.limits.get_max_line_len() {
            self.line_too_long(line_offset).map_or(Ok(None), Err)
        } else if self.skipping {
            // Resynchronise: the discarded event ends at a blank line.
            self.skipping = len != 0;
            Ok(None)
        } else {
            self.process(start, len, line_offset)
        };
        if self.block_pos >= self.block_bytes().len() {
            // Let go of the caller's buffer as soon as possible, so that it
            // can reuse its allocation (frames keep only their own slices).
            self.block = ByteString::new();
            self.raw_block = None;
            self.block_pos = 0;
        }
        frame
    }

    /// The steps for one line of `block[start..start + len]`.
    fn process(
        &mut self,
        start: usize,
        len: usize,
        line_offset: u64,
    ) -> Result<Option<Frame>, DecodeError> {
        /// What a line asks for, with its value as a range of `block`.
        enum Step {
            Dispatch,
            Comment(Range<usize>),
            Data(Range<usize>),
            Event(Range<usize>),
            Id(Range<usize>),
            Retry(u64),
            Ignore,
        }
        let bytes = self.block_bytes();
        let line = &bytes[start..start + len];
        let range = |value: &[u8]| {
            let at = value.as_ptr() as usize - bytes.as_ptr() as usize;
            at..at + value.len()
        };
        let step = match line::parse(line) {
            // "If the line is empty (a blank line): Dispatch the event".
            Line::Blank => Step::Dispatch,
            // "If the line starts with a U+003A COLON character (:): Ignore
            // the line." Reported, for keep-alive watchdogs.
            Line::Comment(comment) => Step::Comment(range(comment)),
            // "Field names must be compared literally, with no case folding
            // performed."
            Line::Field { name, value } => match name {
                b"data" => Step::Data(range(value)),
                b"event" => Step::Event(range(value)),
                // (A plain scan: ids are short, and memchr's set-up costs
                // more than the scan.)
                b"id" if !value.contains(&0) => Step::Id(range(value)),
                b"retry" => parse_retry(value).map_or(Step::Ignore, Step::Retry),
                _ => Step::Ignore,
            },
        };
        match step {
            Step::Dispatch => return Ok(self.dispatch().map(Frame::Event)),
            Step::Comment(comment) => return Ok(Some(Frame::Comment(self.value(comment)))),
            Step::Data(value) => self.push_data(value, line_offset)?,
            // "Set the event type buffer to the field value."
            Step::Event(value) => self.event_type = Some(self.value(value)),
            // "If the field value does not contain U+0000 NULL, then set the
            // last event ID buffer to the field value. Otherwise, ignore the
            // field."
            Step::Id(value) => self.id = Some(self.value(value)),
            // "If the field value consists of only ASCII digits, then
            // interpret the field value as an integer in base ten, and set
            // the event stream's reconnection time to that integer."
            Step::Retry(ms) => return Ok(Some(Frame::Retry(Duration::from_millis(ms)))),
            // "Otherwise: The field is ignored."
            Step::Ignore => {}
        }
        Ok(None)
    }

    /// The lines being interpreted, as bytes.
    fn block_bytes(&self) -> &[u8] {
        match &self.raw_block {
            Some(raw) => raw,
            None => self.block.as_bytes(),
        }
    }

    /// The range `value` of the block as text: a shared slice of a valid
    /// block, or the UTF-8 decoding with replacement of an invalid one's
    /// bytes. Decoding value by value is the same as decoding the whole
    /// stream first: line endings, `:` and space are ASCII, and an invalid
    /// sequence never swallows an ASCII byte.
    fn value(&self, value: Range<usize>) -> ByteString {
        if let Some(raw) = &self.raw_block {
            return match String::from_utf8_lossy(&raw[value.clone()]) {
                Cow::Borrowed(_) => ByteString::try_from(raw.slice(value)).unwrap_or_default(),
                Cow::Owned(lossy) => ByteString::from(lossy),
            };
        }
        // Values start after an ASCII byte (or at a line start) and end at an
        // ASCII line ending, so they are on character boundaries: `get`
        // cannot fail here, and the empty string is only its safe answer.
        match self.block.get(value) {
            Some(value) => self.block.slice_ref(value),
            None => ByteString::new(),
        }
    }

    /// The range `value` of the block as text, borrowed when it can be.
    fn text_at(&self, value: Range<usize>) -> Cow<'_, str> {
        match &self.raw_block {
            Some(raw) => String::from_utf8_lossy(&raw[value]),
            None => Cow::Borrowed(self.block.get(value).unwrap_or_default()),
        }
    }

    /// "Append the field value to the data buffer, then append a single U+000A
    /// LINE FEED (LF) character to the data buffer." The trailing LF that
    /// dispatch removes is never stored: lines are joined with LF instead.
    fn push_data(&mut self, value: Range<usize>, line_offset: u64) -> Result<(), DecodeError> {
        let size = match self.data {
            Data::None => value.len(),
            _ => self.data_len + 1 + value.len(),
        };
        if size > self.limits.get_max_event_len() {
            let error = DecodeError::EventTooLong {
                limit: self.limits.get_max_event_len(),
                size,
                offset: line_offset,
            };
            self.abandon_event();
            return Err(error);
        }
        self.data_len = size;
        self.data = match core::mem::take(&mut self.data) {
            Data::None => Data::One(self.value(value)),
            // Later lines are copied straight from the block: no slice.
            Data::One(first) => {
                let mut joined = String::with_capacity(size.saturating_mul(2).max(256));
                joined.push_str(&first);
                joined.push('\n');
                joined.push_str(&self.text_at(value));
                Data::Joined(joined)
            }
            Data::Joined(mut joined) => {
                joined.push('\n');
                joined.push_str(&self.text_at(value));
                Data::Joined(joined)
            }
        };
        Ok(())
    }

    /// "Dispatch the event": the WHATWG steps, less the browser's task queue.
    fn dispatch(&mut self) -> Option<Event> {
        // 1. "Set the last event ID string of the event source to the value
        // of the last event ID buffer. The buffer does not get reset".
        let id = self.id.take();
        if let Some(id) = &id {
            self.last_event_id = id.clone();
        }
        // 2. "If the data buffer is an empty string, set the data buffer and
        // the event type buffer to the empty string and return."
        // 3. The trailing LF is never stored (see `push_data`).
        // 5-7. Type "message" unless the event type buffer is not empty; the
        // buffers are emptied.
        let data = match core::mem::take(&mut self.data) {
            Data::None => {
                self.event_type = None;
                return None;
            }
            Data::One(data) => data,
            Data::Joined(joined) => ByteString::from(joined),
        };
        self.data_len = 0;
        Some(Event {
            event_type: self.event_type.take(),
            data: Some(data),
            id,
            last_event_id: self.last_event_id.clone(),
            retry: None,
            comment: None,
        })
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
            self.consume(buf, BOM.len());
            self.bom_checked = true;
        }
        self.bom_checked
    }

    /// Drops bytes of an over-long line up to its line ending. Returns false
    /// when the buffer ran out first.
    fn discard_line(&mut self, buf: &mut BytesMut) -> bool {
        let Some(end) = memchr::memchr2(b'\n', b'\r', buf) else {
            let len = buf.len();
            self.consume(buf, len);
            return false;
        };
        // "a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair"
        // is one line ending: an LF right after the CR is consumed with it,
        // or skipped later if it has not arrived.
        let next = match (buf[end], buf.get(end + 1)) {
            (b'\r', Some(b'\n')) => end + 2,
            (b'\r', None) => {
                self.skip_lf = true;
                end + 1
            }
            _ => end + 1,
        };
        self.consume(buf, next);
        self.discarding_line = false;
        true
    }

    fn consume(&mut self, buf: &mut BytesMut, len: usize) {
        buf.advance(len);
        self.offset += len as u64;
        self.scanned = 0;
    }

    /// Drops the pending event and skips to the next blank line.
    fn abandon_event(&mut self) {
        self.data = Data::None;
        self.data_len = 0;
        self.event_type = None;
        self.id = None;
        self.skipping = true;
    }

    /// A line over the limit: the event is abandoned and the error returned,
    /// unless the event was abandoned already (one error per event).
    fn line_too_long(&mut self, offset: u64) -> Option<DecodeError> {
        let error = (!self.skipping).then_some(DecodeError::LineTooLong {
            limit: self.limits.get_max_line_len(),
            offset,
        });
        self.abandon_event();
        error
    }
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
