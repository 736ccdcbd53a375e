//! The incremental decoder.
//!
//! # How it works
//!
//! Each call first interprets the lines it already holds; when they run
//! out, it cuts every complete line from the caller's `BytesMut` at once
//! (`memrchr2` finds the last line ending, one `split_to` takes the bytes
//! without copying). Lines in the block are then framed with `memchr2`;
//! `data`, `event` and `id` lines are recognised by their names
//! (`line::common_field`), any other line is classified by the nom grammar
//! in `line.rs`. Each value a frame keeps (`data`,
//! `event`, `id`, a comment) is a slice of the block: a reference count,
//! never a copy. A block of 512 bytes or more is checked as UTF-8 in
//! spans of 8 KiB or more, each when a value in it is first kept (just
//! before its lines are scanned: both read it from cache); in a smaller one
//! (small chunks) each value is checked on its own when it is kept, so
//! bytes no value keeps (names, line endings, the later lines of multi-line
//! data) are not checked there. Multi-line
//! `data` is joined as bytes into one buffer, the only copy, and checked
//! once when the event is dispatched: a `data` line followed by another is
//! copied at once (never kept or checked on its own), and a run of them is
//! copied in one tight loop (`join_run`). A value that is not valid UTF-8 is
//! decoded with replacement on its own, which gives what decoding the
//! whole stream first gives: line endings, `:` and space are ASCII, and an
//! invalid sequence never swallows an ASCII byte.
//!
//! While an event's data is pending, further `data` lines at the start of
//! the caller's buffer are copied into the joined data straight from it and
//! the buffer is advanced: such lines are never cut (small chunks of
//! multi-line data cost no reference counts).
//!
//! The event is built where `decode` returns it, and the per-line loop is
//! in `decode` itself: a `Frame` is written once, not moved through
//! helpers.
//!
//! | state                | meaning                                                        |
//! |----------------------|----------------------------------------------------------------|
//! | `block[block_pos..]` | complete lines cut from the input, not yet interpreted          |
//! | `buf`                | the caller's buffer: one unterminated line (`scanned` bytes of it have no line ending) |
//! | `skip_lf`            | the last cut ended with a CR that was the last byte seen; an LF next belongs to it |
//! | `discarding_line`    | the rest of an over-long line is dropped as it arrives          |
//! | `skipping`           | after a limit error, lines are ignored up to the next blank line |
//!
//! The decoder itself holds the pending event's values and at most one
//! block of complete lines (plus the caller's unterminated line).

use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use bytes::{Buf, Bytes, BytesMut};
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::frame::Frame;
use crate::limits::Limits;
use crate::line::{self, Common, LineEnds};
use crate::message_event::MessageEvent;

mod block;
mod chunks;
mod field;
mod join;

use block::{Block, TEXT_BLOCK};
use field::Step;
pub(crate) use field::parse_retry;
pub(crate) use join::join_lines;
use join::{push_data, start_joined};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The room first kept in the caller's buffer when it is fed small chunks.
const MIN_SPARE: usize = 512;
/// The most room kept in the caller's buffer for small chunks.
const MAX_SPARE: usize = 8 * 1024;

/// The data buffer of the pending event.
#[derive(Debug, Default)]
enum Data {
    /// No `data` field in this block.
    #[default]
    None,
    /// One `data` line: a slice of the input.
    One(ByteString),
    /// Several lines, each followed by `\n` (the spec's data buffer, whose
    /// last LF dispatch removes): the only copy the decoder makes. Bytes,
    /// checked as UTF-8 once at dispatch.
    Joined(Vec<u8>),
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
    core: Core,
    /// `decode_bytes`: the unterminated line held between chunks.
    held: BytesMut,
}

/// The decoder's state, all but `decode_bytes`'s held line: `decode_bytes`
/// decodes that line in place (`core` and `held` are borrowed apart), with
/// no move of the buffer in and out of the decoder per call.
struct Core {
    limits: Limits,
    /// The last event ID string: the last event ID buffer as committed by the
    /// most recent blank line.
    last_event_id: ByteString,

    /// Complete lines cut from the input; `block[block_pos..]` are not yet
    /// interpreted. Every line in it ends with its line ending.
    block: Block,
    block_pos: usize,
    /// The length of the block's first line (where its line ending is).
    first_len: usize,
    /// Stream offset of `block[0]`.
    block_offset: u64,

    bom_checked: bool,
    skip_lf: bool,
    discarding_line: bool,
    skipping: bool,
    /// Bytes at the start of the caller's buffer known to hold no line ending.
    scanned: usize,
    /// Stream offset of the caller's `buf[0]`.
    offset: u64,

    data: Data,
    data_len: usize,
    event_type: Option<ByteString>,
    /// The last event ID buffer, when an `id` field set it in this block.
    id: Option<ByteString>,
    /// The length of the last joined `data`: the next join's first capacity.
    joined_hint: usize,
    /// The room last reserved in the caller's buffer (see `cut_block`).
    spare: usize,
    /// The line-ending searcher.
    ends: LineEnds,
}

impl Decoder {
    /// A decoder with the default [`Limits`].
    pub fn new() -> Self {
        Decoder::with_limits(Limits::default())
    }

    /// A decoder with these limits.
    pub fn with_limits(limits: Limits) -> Self {
        Decoder {
            core: Core::new(limits),
            held: BytesMut::new(),
        }
    }

    /// Starts from this last event ID, as a client does when it reconnects:
    /// events without an `id` field then report it, as in browsers.
    pub fn with_last_event_id(mut self, id: impl Into<ByteString>) -> Self {
        self.core.last_event_id = id.into();
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.core.limits
    }

    /// The last event ID string: set by the `id` field, committed at every
    /// blank line even when no event dispatches, and kept until the next `id`.
    /// A client sends it as `Last-Event-ID` when it reconnects.
    pub fn last_event_id(&self) -> &str {
        &self.core.last_event_id
    }

    /// The last event ID string as a shared string: cloning it is a
    /// reference count, not a copy.
    ///
    /// To follow it (a client mirroring it for `Last-Event-ID`, say), keep
    /// a clone and compare it with `==` after each call: the value is all
    /// that counts, and an `id` field repeating the current value is no
    /// change.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use bourn_codec::Decoder;
    ///
    /// let mut decoder = Decoder::new();
    /// let mut seen = decoder.last_event_id_shared().clone();
    /// let mut buf = BytesMut::from("id: 1\n\n");
    /// assert_eq!(decoder.decode(&mut buf), Ok(None)); // an id-only block: no frame
    /// assert_ne!(decoder.last_event_id_shared(), &seen);
    /// seen = decoder.last_event_id_shared().clone();
    /// assert_eq!(seen, "1");
    /// ```
    pub fn last_event_id_shared(&self) -> &ByteString {
        &self.core.last_event_id
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
    #[inline]
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, DecodeError> {
        self.core.decode(buf)
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
        if buf.is_empty() && !self.held.is_empty() {
            // A stream fed with `decode_bytes`: its held line is the buffer.
            return self.core.decode_eof(&mut self.held);
        }
        let frame = self.core.decode_eof(buf);
        if let Ok(None) = frame {
            self.held.clear();
        }
        frame
    }

    /// Forgets the stream in progress (pending event, partial line, BOM
    /// state) so the next bytes are read as a new stream. The last event ID
    /// and the limits are kept. Clear the buffer too.
    pub fn reset(&mut self) {
        self.core.reset();
        self.held.clear();
    }

    /// Decodes the next frame from `chunk`, a chunk of the stream as hyper
    /// or reqwest hand it over, consuming what it reads: complete lines are
    /// sliced from `chunk` without a copy; an unterminated last line is
    /// copied into the decoder, to be completed by the next chunk.
    ///
    /// Call it until it returns `Ok(None)` (then `chunk` is empty), then
    /// with the next chunk; at the end of the stream call
    /// [`decode_eof`](Decoder::decode_eof) with an empty buffer. The frames
    /// are those [`decode`](Decoder::decode) gives for the same bytes; do
    /// not mix the two on one stream.
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use bourn_codec::{Decoder, Frame};
    ///
    /// let mut decoder = Decoder::new();
    /// let mut data = Vec::new();
    /// for chunk in ["data: a\n\ndata: b", "c\n\n"] {
    ///     let mut chunk = Bytes::from(chunk);
    ///     while let Some(frame) = decoder.decode_bytes(&mut chunk)? {
    ///         data.push(frame.into_event().unwrap().data().to_owned());
    ///     }
    /// }
    /// assert_eq!(decoder.decode_eof(&mut BytesMut::new())?, None);
    /// assert_eq!(data, ["a", "bc"]);
    /// # Ok::<(), bourn_codec::DecodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`decode`](Decoder::decode).
    #[inline]
    pub fn decode_bytes(&mut self, chunk: &mut Bytes) -> Result<Option<Frame>, DecodeError> {
        self.core.decode_bytes(&mut self.held, chunk)
    }
}

impl Core {
    fn new(limits: Limits) -> Self {
        Core {
            limits,
            last_event_id: ByteString::new(),
            block: Block::default(),
            block_pos: 0,
            first_len: 0,
            block_offset: 0,
            bom_checked: false,
            skip_lf: false,
            discarding_line: false,
            skipping: false,
            scanned: 0,
            offset: 0,
            data: Data::None,
            data_len: 0,
            event_type: None,
            id: None,
            joined_hint: 0,
            spare: 0,
            ends: LineEnds::new(),
        }
    }

    /// [`Decoder::decode`].
    /// Inlined into every caller: the frame is then written in place
    /// (out of line, returning it through memory cost 13 % more
    /// instructions per event on W1 61B).
    #[inline(always)]
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, DecodeError> {
        loop {
            while self.block_pos < self.block.bytes().len() {
                let start = self.block_pos;
                let rest = &self.block.bytes()[start..];
                let line_offset = self.block_offset + start as u64;
                // The blank line that ends every event needs no call into memchr.
                let len = match rest[0] {
                    b'\n' | b'\r' => 0,
                    // The cut found where the block's first line ends.
                    _ if start == 0 => self.first_len,
                    _ => self.ends.find(rest).unwrap_or(rest.len()),
                };
                // "a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character
                // pair, a single U+000A LINE FEED (LF) character not preceded
                // by a U+000D CARRIAGE RETURN (CR) character, or a single
                // U+000D CARRIAGE RETURN (CR) character not followed by a
                // U+000A LINE FEED (LF) character": every line in the block
                // has one (the CR of a CRLF split by the cut is handled by
                // `skip_lf`).
                let ending = match rest.get(len) {
                    Some(b'\r') if rest.get(len + 1) == Some(&b'\n') => 2,
                    _ => 1,
                };
                self.block_pos = start + len + ending;
                if len == 0 {
                    if self.skipping {
                        // Resynchronise: the discarded event ends at a blank line.
                        self.skipping = false;
                        continue;
                    }
                    match self.dispatch() {
                        Some(event) => return Ok(Some(Frame::Event(event))),
                        None => continue,
                    }
                }
                if len > self.limits.max_line_len {
                    match self.line_too_long(line_offset) {
                        Some(error) => return Err(error),
                        None => continue,
                    }
                }
                if self.skipping {
                    continue;
                }
                // The most common line, without the grammar: the same result
                // as `line::parse` gives for it.
                // (`data` alone is the field with an empty value.)
                let line = &rest[..len];
                let data = if line.first() == Some(&b'd') && line.starts_with(b"data") {
                    line::value_start(line, 4)
                } else {
                    // `event` and `id`, without the grammar either (an `id`
                    // holding a NULL goes to `field`, which ignores it).
                    match line::common_field(line) {
                        Some((Common::Event, skip)) => {
                            self.event_type = Some(self.value(start + skip..start + len));
                            continue;
                        }
                        Some((Common::Id, skip)) if !line::has_nul(&line[skip..]) => {
                            self.id = Some(self.value(start + skip..start + len));
                            continue;
                        }
                        _ => None,
                    }
                };
                if let Some(skip) = data {
                    let value = start + skip..start + len;
                    // "Append the field value to the data buffer, then append
                    // a single U+000A LINE FEED (LF) character to the data
                    // buffer."
                    let size = match self.data {
                        Data::None => value.len(),
                        _ => self.data_len + 1 + value.len(),
                    };
                    if size > self.limits.max_event_len {
                        return Err(self.event_too_long(size, line_offset));
                    }
                    self.data_len = size;
                    match &mut self.data {
                        Data::Joined(joined) => {
                            push_data(joined, rest, skip, len);
                        }
                        // The next line is `data` too: the value will be
                        // joined, so it is copied at once, never kept (nor
                        // checked as UTF-8) on its own.
                        Data::None if !rest[len + ending..].starts_with(b"data") => {
                            self.data = Data::One(self.value(value));
                        }
                        Data::None | Data::One(_) => {
                            let capacity = self.joined_capacity(size);
                            start_joined(&mut self.data, &self.block.bytes()[value], capacity);
                        }
                    }
                    if let Data::Joined(_) = self.data {
                        self.join_run();
                    }
                    continue;
                }
                match self.field(start, len) {
                    Step::Continue => {}
                    Step::Retry(retry) => return Ok(Some(Frame::Retry(retry))),
                    Step::Comment(comment) => return Ok(Some(Frame::Comment(comment))),
                }
            }
            // Let go of the caller's buffer, so that it can reuse its
            // allocation (frames keep only their own slices). Most calls on
            // small chunks find no block: no handles to drop then.
            if !self.block.bytes.is_empty() {
                self.block = Block::default();
            }
            self.block_pos = 0;
            if buf.len() == self.scanned && self.scanned <= self.limits.max_line_len {
                // Every byte of `buf` was scanned and holds no line ending
                // (nor a BOM or an LF to skip), and the line is within the
                // limit: nothing to cut.
                return Ok(None);
            }
            if matches!(self.data, Data::One(_) | Data::Joined(_)) && !self.skipping {
                // Later lines of multi-line data are copied straight from
                // `buf`: never cut, never checked until dispatch.
                self.join_in_buf(buf)?;
            }
            // The first line ending, found here when nothing else is due
            // (a BOM, an LF to skip, a line to discard): most calls on
            // small chunks find none, and return without a call.
            let first = if self.bom_checked && !self.skip_lf && !self.discarding_line {
                match self.ends.find(&buf[self.scanned..]) {
                    Some(at) => Some(self.scanned + at),
                    None => {
                        self.scanned = buf.len();
                        if self.scanned <= self.limits.max_line_len {
                            return Ok(None);
                        }
                        None
                    }
                }
            } else {
                None
            };
            if !self.cut_block(buf, first)? {
                return Ok(None);
            }
        }
    }

    /// A blank line: "Dispatch the event", or `None` when the data buffer
    /// is empty. Inlined into `decode`, so the event is written once, in
    /// place.
    #[inline(always)]
    fn dispatch(&mut self) -> Option<MessageEvent> {
        // "If the line is empty (a blank line): Dispatch the event".
        // 1. "Set the last event ID string of the event source to
        // the value of the last event ID buffer. The buffer does
        // not get reset".
        let id = self.id.take();
        if let Some(id) = &id {
            self.last_event_id = id.clone();
        }
        // 2. "If the data buffer is an empty string, set the data
        // buffer and the event type buffer to the empty string and
        // return."
        let data = match core::mem::take(&mut self.data) {
            Data::None => {
                self.event_type = None;
                return None;
            }
            Data::One(data) => data,
            // 3. "If the data buffer's last character is a U+000A
            // LINE FEED (LF) character, then remove the last
            // character from the data buffer."
            Data::Joined(joined) => self.joined(joined),
        };
        self.data_len = 0;
        // 5-7. Type "message" unless the event type buffer is not
        // empty; the buffers are emptied.
        // 4. The event's last event ID is its `id` when it has
        // one (not a second reference count), else the
        // decoder's (not even a call when it is empty).
        let (last_event_id, last_event_id_is_id) = match &id {
            Some(_) => (ByteString::new(), true),
            None if self.last_event_id.is_empty() => (ByteString::new(), false),
            None => (self.last_event_id.clone(), false),
        };
        Some(MessageEvent {
            event_type: self.event_type.take(),
            data,
            id,
            last_event_id,
            last_event_id_is_id,
        })
    }

    /// [`Decoder::decode_eof`] on `buf` (the held line, for a stream fed
    /// with `decode_bytes`).
    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, DecodeError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        buf.clear();
        self.reset();
        Ok(None)
    }

    /// [`Decoder::reset`], but for `decode_bytes`'s held line (the
    /// caller clears it).
    fn reset(&mut self) {
        let last_event_id = core::mem::take(&mut self.last_event_id);
        *self = Core::new(self.limits);
        self.last_event_id = last_event_id;
    }

    /// Cuts every complete line from `buf` into `block` (which is empty),
    /// given the first line ending when the caller found it. Returns false
    /// when `buf` holds no complete line yet.
    #[inline(never)]
    fn cut_block(&mut self, buf: &mut BytesMut, first: Option<usize>) -> Result<bool, DecodeError> {
        let first = match first {
            Some(first) => first,
            None => {
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
                // The first line ending, then the last: a block of one line (small
                // chunks) is scanned once, and its line is not scanned again.
                let Some(first) = self.ends.find(&buf[self.scanned..]) else {
                    self.scanned = buf.len();
                    if self.scanned > self.limits.max_line_len {
                        // The line has not ended: drop what arrived, and the rest as it comes.
                        let error = self.line_too_long(self.offset);
                        let len = buf.len();
                        self.consume(buf, len);
                        self.discarding_line = true;
                        return error.map_or(Ok(false), Err);
                    }
                    return Ok(false);
                };
                self.scanned + first
            }
        };
        let end = match self.ends.rfind(&buf[first + 1..]) {
            Some(last) => first + 1 + last + 1,
            None => first + 1,
        };
        let at_end = end == buf.len();
        let bytes = buf.split_to(end).freeze();
        self.keep_room(buf, end);
        self.set_block(bytes, first, at_end);
        // No line ending is left in `buf`: the next scan starts after it.
        self.scanned = buf.len();
        Ok(true)
    }

    /// After `taken` bytes were split from the caller's buffer: keeps room
    /// in it for small chunks.
    ///
    /// Values kept past this call (the pending event's, the caller's
    /// frames) pin the buffer, so the caller's next append must allocate a
    /// buffer the size of the data, at almost every chunk (and the next
    /// split a new shared header); with room for many chunks, it allocates
    /// once per many chunks. The room doubles each time it runs out (a
    /// stream of small chunks ends at 8 KiB, tokio's `FramedRead` default;
    /// a quiet one stays at 512 B).
    #[inline]
    fn keep_room(&mut self, buf: &mut BytesMut, taken: usize) {
        if taken < TEXT_BLOCK && buf.capacity() - buf.len() < taken {
            self.spare = (self.spare * 2).clamp(MIN_SPARE, MAX_SPARE);
            buf.reserve(self.spare);
        }
    }

    /// Makes `bytes`, the complete lines next in the stream, the block to
    /// interpret: its first line ends at `first`, and `at_end` says that no
    /// byte after them has arrived yet.
    #[inline]
    fn set_block(&mut self, bytes: Bytes, first: usize, at_end: bool) {
        if at_end && bytes.last() == Some(&b'\r') {
            // A CR ended the last line at the end of the bytes seen: an LF
            // next belongs to it.
            self.skip_lf = true;
        }
        self.first_len = first;
        self.block_offset = self.offset;
        self.offset += bytes.len() as u64;
        self.block = Block::new(bytes);
        self.block_pos = 0;
    }

    /// The range `value` of the block as text: a shared slice when it is
    /// valid UTF-8 (the only check it gets), else its UTF-8 decoding with
    /// replacement.
    #[inline(always)]
    fn value(&mut self, value: Range<usize>) -> ByteString {
        self.block.value(value)
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
        let Some(end) = self.ends.find(buf) else {
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

    /// A `data` line took the event's data past the limit: the event is
    /// abandoned.
    #[cold]
    fn event_too_long(&mut self, size: usize, offset: u64) -> DecodeError {
        let error = DecodeError::EventTooLong {
            limit: self.limits.max_event_len,
            size,
            offset,
        };
        self.abandon_event();
        error
    }

    /// A line over the limit: the event is abandoned and the error returned,
    /// unless the event was abandoned already (one error per event).
    #[cold]
    fn line_too_long(&mut self, offset: u64) -> Option<DecodeError> {
        let error = (!self.skipping).then_some(DecodeError::LineTooLong {
            limit: self.limits.max_line_len,
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
            .field("limits", &self.core.limits)
            .field("last_event_id", &self.core.last_event_id)
            .field("offset", &self.core.offset)
            .field("skipping", &self.core.skipping)
            .finish_non_exhaustive()
    }
}
