//! The borrowing decoder: frames whose strings borrow the input chunk or
//! the decoder, handed to a callback.
//!
//! # How it works
//!
//! A chunk is interpreted where it lies: `memrchr2` finds its last line
//! ending, the complete lines before it are checked as UTF-8 once and framed
//! with `memchr2`, and a value is a range of the chunk until its event is
//! dispatched. Only what must outlive the call is copied into the decoder:
//! the unterminated last line (completed by the next chunk), the values of
//! an event not yet dispatched when the chunk ends, multi-line `data`, and
//! the last event ID. Those buffers keep their capacity, so a stream
//! allocates only while they grow.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;
use core::time::Duration;

use crate::decoder::{join_lines, parse_retry};
use crate::error::DecodeError;
use crate::event::DEFAULT_EVENT_TYPE;
use crate::limits::Limits;
use crate::line::{self, Line, LineEnds};

mod value;

use value::{Lines, Slot, Value, utf8};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A chunk up to this size that completes a held line is appended to it
/// whole (its complete lines) rather than read where it lies: on small
/// chunks the fixed costs of a second pass (a scan, a UTF-8 check, copying
/// the pending values out) outweigh copying the bytes.
const JOIN_MAX: usize = 512;

/// A frame that borrows: valid until the callback that receives it returns.
///
/// The same frames as [`Frame`](crate::Frame), in the same order.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameRef<'a> {
    /// A dispatched event.
    Event(MessageEventRef<'a>),
    /// A valid `retry` field: the new reconnection time.
    Retry(Duration),
    /// A comment line, without the colon and one leading space.
    Comment(&'a str),
}

/// A dispatched event whose strings borrow the input or the decoder.
///
/// The borrowed form of [`MessageEvent`](crate::MessageEvent), with the same getters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageEventRef<'a> {
    event_type: &'a str,
    data: &'a str,
    id: Option<&'a str>,
    last_event_id: &'a str,
}

impl<'a> MessageEventRef<'a> {
    /// The event type: the `event` field, or `"message"` when it was absent or empty.
    pub fn event_type(&self) -> &'a str {
        match self.event_type {
            "" => DEFAULT_EVENT_TYPE,
            event_type => event_type,
        }
    }

    /// The data: `data` lines joined with `\n`.
    pub fn data(&self) -> &'a str {
        self.data
    }

    /// The `id` field set in this event's block, if any.
    pub fn id(&self) -> Option<&'a str> {
        self.id
    }

    /// The last event ID string when the event was dispatched.
    pub fn last_event_id(&self) -> &'a str {
        self.last_event_id
    }
}

/// An incremental decoder for callers that consume frames in place: each
/// chunk's frames are handed to a callback as [`FrameRef`]s whose strings
/// borrow the chunk (or the decoder, for what spans chunks).
///
/// It gives the same frames as [`Decoder`](crate::Decoder) under any
/// chunking, without a `BytesMut` to copy chunks into and without a
/// reference count per value; copy what you keep.
///
/// ```
/// use bourn_codec::{FrameRef, RefDecoder};
///
/// let mut decoder = RefDecoder::new();
/// let mut seen = Vec::new();
/// for chunk in [&b"id: 7\ndata: hel"[..], b"lo\n\ndata: x\n"] {
///     decoder.feed(chunk, |frame| {
///         if let Ok(FrameRef::Event(event)) = frame {
///             seen.push((event.data().to_owned(), event.last_event_id().to_owned()));
///         }
///     });
/// }
/// decoder.finish(); // the unfinished event is discarded
/// assert_eq!(seen, [("hello".to_owned(), "7".to_owned())]);
/// ```
pub struct RefDecoder {
    limits: Limits,
    last_event_id: String,
    /// While lines are read: the last event ID set by an event dispatched
    /// from them, as a range of them, copied into `last_event_id` once
    /// when they are done rather than at every event.
    last_id_range: Option<Range<usize>>,
    /// The unterminated last line, or the first bytes while a BOM may be
    /// arriving.
    partial: Vec<u8>,
    /// Stream offset of the next byte fed.
    offset: u64,
    bom_checked: bool,
    skip_lf: bool,
    discarding_line: bool,
    skipping: bool,
    data: Value,
    data_len: usize,
    /// Multi-line `data` (see [`Slot::Joined`]).
    joined: Vec<u8>,
    event_type: Value,
    id: Value,
    /// The line-ending searcher.
    ends: LineEnds,
}

impl RefDecoder {
    /// A decoder with the default [`Limits`].
    pub fn new() -> Self {
        RefDecoder::with_limits(Limits::default())
    }

    /// A decoder with these limits.
    pub fn with_limits(limits: Limits) -> Self {
        RefDecoder {
            limits,
            last_event_id: String::new(),
            last_id_range: None,
            partial: Vec::new(),
            offset: 0,
            bom_checked: false,
            skip_lf: false,
            discarding_line: false,
            skipping: false,
            data: Value::default(),
            data_len: 0,
            joined: Vec::new(),
            event_type: Value::default(),
            id: Value::default(),
            ends: LineEnds::new(),
        }
    }

    /// Starts from this last event ID, as a client does when it reconnects.
    pub fn with_last_event_id(mut self, id: &str) -> Self {
        self.last_event_id = String::from(id);
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The last event ID string (see [`Decoder::last_event_id`](crate::Decoder::last_event_id)).
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Interprets `chunk`, the next bytes of the stream, and hands each
    /// frame it completes to `on_frame`, in stream order.
    ///
    /// A [`DecodeError`] (a limit) is handed over the same way; it is not
    /// fatal: the event is discarded and decoding resumes after the next
    /// blank line, as with [`Decoder::decode`](crate::Decoder::decode).
    pub fn feed<F>(&mut self, chunk: &[u8], mut on_frame: F)
    where
        F: FnMut(Result<FrameRef<'_>, DecodeError>),
    {
        let mut chunk = chunk;
        if !self.bom_checked && self.partial.is_empty() && chunk.len() >= BOM.len() {
            // The usual start: the first chunk holds the BOM or shows there is none.
            self.bom_checked = true;
            if let Some(rest) = chunk.strip_prefix(BOM) {
                chunk = rest;
                self.offset += BOM.len() as u64;
            }
        }
        if !self.bom_checked {
            // "One leading U+FEFF BYTE ORDER MARK character must be ignored
            // if any are present": wait for three bytes, or fewer that
            // cannot be one.
            let take = chunk.len().min(BOM.len() - self.partial.len());
            self.partial.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            let seen = self.partial.len();
            if seen < BOM.len() && self.partial[..] == BOM[..seen] {
                return;
            }
            self.bom_checked = true;
            let mut head = core::mem::take(&mut self.partial);
            if head[..] == *BOM {
                self.offset += BOM.len() as u64;
                head.clear();
            }
            // The first bytes are the stream's, not a BOM: read them with
            // the rest of the chunk (a copy, once per stream).
            head.extend_from_slice(chunk);
            self.feed_checked(&head, &mut on_frame);
            return;
        }
        self.feed_checked(chunk, &mut on_frame);
    }

    /// Ends the stream: the unfinished event and the unterminated last line
    /// are discarded, as the spec requires, and the decoder is ready for a
    /// new stream (the last event ID and the limits are kept).
    pub fn finish(&mut self) {
        *self = RefDecoder::with_limits(self.limits)
            .with_last_event_id(&core::mem::take(&mut self.last_event_id));
    }

    /// `feed` after the BOM check.
    fn feed_checked<F>(&mut self, mut chunk: &[u8], on_frame: &mut F)
    where
        F: FnMut(Result<FrameRef<'_>, DecodeError>),
    {
        if chunk.is_empty() {
            return;
        }
        if self.skip_lf {
            // A CR ended the last line at the end of the last chunk: an LF
            // now belongs to it ("a CRLF pair" is one line ending).
            self.skip_lf = false;
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
                self.offset += 1;
            }
        }
        if self.discarding_line {
            // The rest of an over-long line.
            let Some(end) = self.ends.find(chunk) else {
                self.offset += chunk.len() as u64;
                return;
            };
            let next = self.after_ending(chunk, end);
            self.discarding_line = false;
            chunk = &chunk[next..];
            self.offset += next as u64;
        }
        if let Some(next) = self.join_held(chunk) {
            chunk = &chunk[next..];
        }
        if !self.partial.is_empty() && chunk.len() <= JOIN_MAX {
            // A small chunk completing a held line: its complete lines are
            // appended to the held bytes and all are read together. One
            // scan for the first line's end, one UTF-8 check and one
            // `lines` call less than reading them where they lie, and the
            // values of an event that ends in this chunk are not copied
            // out first. The buffer stays within `max_line_len` plus
            // `JOIN_MAX`; `lines` reports a line over the limit.
            let Some(end) = self.complete_lines(chunk) else {
                self.grow_partial(chunk, on_frame);
                return;
            };
            let mut lines = core::mem::take(&mut self.partial);
            let offset = self.offset - lines.len() as u64;
            lines.extend_from_slice(&chunk[..end]);
            self.lines(&lines, offset, None, on_frame);
            lines.clear();
            self.partial = lines;
            self.offset += end as u64;
            self.grow_partial(&chunk[end..], on_frame);
            return;
        }
        if !self.partial.is_empty() {
            let Some(end) = self.ends.find(chunk) else {
                self.grow_partial(chunk, on_frame);
                return;
            };
            let next = self.after_ending(chunk, end);
            if self.partial.len() + end > self.limits.max_line_len {
                let offset = self.offset - self.partial.len() as u64;
                self.partial.clear();
                if let Some(error) = self.line_too_long(offset) {
                    on_frame(Err(error));
                }
            } else {
                let mut line = core::mem::take(&mut self.partial);
                let held = line.len();
                line.extend_from_slice(&chunk[..next]);
                let offset = self.offset - held as u64;
                self.lines(&line, offset, Some(held + end), on_frame);
                line.clear();
                self.partial = line;
            }
            chunk = &chunk[next..];
            self.offset += next as u64;
        }
        let Some(end) = self.complete_lines(chunk) else {
            self.grow_partial(chunk, on_frame);
            return;
        };
        let offset = self.offset;
        self.offset += end as u64;
        self.lines(&chunk[..end], offset, None, on_frame);
        self.grow_partial(&chunk[end..], on_frame);
    }

    /// When the held line is a later `data` line of multi-line data and
    /// `chunk` ends it: appends its value to the joined data straight from
    /// the held bytes and the chunk, without reading it through `lines`
    /// (multi-line data in small chunks: W3 at 61 B). Returns how much of
    /// `chunk` it took (up to and including the line ending); `None`, with
    /// nothing done, in any other case (left to the general path, which
    /// also reports a limit).
    #[inline]
    fn join_held(&mut self, chunk: &[u8]) -> Option<usize> {
        // Six bytes decide the value's start (`data`, a colon, a space).
        if self.data.slot != Slot::Joined
            || self.skipping
            || self.partial.len() < 6
            || !self.partial.starts_with(b"data")
        {
            return None;
        }
        let skip = line::value_start(&self.partial, 4)?;
        let end = self.ends.find(chunk)?;
        let len = self.partial.len() + end;
        let size = self.data_len + 1 + (len - skip);
        if len > self.limits.max_line_len || size > self.limits.max_event_len {
            return None;
        }
        let next = self.after_ending(chunk, end);
        self.joined.extend_from_slice(&self.partial[skip..]);
        self.joined.extend_from_slice(&chunk[..end]);
        self.joined.push(b'\n');
        self.data_len = size;
        self.partial.clear();
        self.offset += next as u64;
        Some(next)
    }

    /// The length of `chunk`'s complete lines (up to and including its last
    /// CR or LF), `None` if it has no line ending; notes a CR at the end of
    /// the chunk (its LF, if any, comes first in the next one).
    #[inline]
    fn complete_lines(&mut self, chunk: &[u8]) -> Option<usize> {
        let last = self.ends.rfind(chunk)?;
        let end = last + 1;
        if chunk[last] == b'\r' && end == chunk.len() {
            self.skip_lf = true;
        }
        Some(end)
    }

    /// Where the line ending at `chunk[end]` stops; notes a CR at the end of
    /// the chunk.
    fn after_ending(&mut self, chunk: &[u8], end: usize) -> usize {
        match (chunk[end], chunk.get(end + 1)) {
            (b'\r', Some(b'\n')) => end + 2,
            (b'\r', None) => {
                self.skip_lf = true;
                end + 1
            }
            _ => end + 1,
        }
    }

    /// Keeps the unterminated `tail` (no line ending) for the next chunk.
    fn grow_partial<F>(&mut self, tail: &[u8], on_frame: &mut F)
    where
        F: FnMut(Result<FrameRef<'_>, DecodeError>),
    {
        if tail.is_empty() {
            return;
        }
        if self.partial.len() + tail.len() > self.limits.max_line_len {
            // The line has not ended: drop what arrived, and the rest as it comes.
            let offset = self.offset - self.partial.len() as u64;
            self.offset += tail.len() as u64;
            self.partial.clear();
            self.discarding_line = true;
            if let Some(error) = self.line_too_long(offset) {
                on_frame(Err(error));
            }
            return;
        }
        self.partial.extend_from_slice(tail);
        self.offset += tail.len() as u64;
    }

    /// Interprets `lines`, complete lines each with its line ending, which
    /// start at stream offset `base`.
    ///
    /// `first_len`, when known, is where the first line's ending is (the
    /// line is not scanned again).
    fn lines<F>(&mut self, bytes: &[u8], base: u64, first_len: Option<usize>, on_frame: &mut F)
    where
        F: FnMut(Result<FrameRef<'_>, DecodeError>),
    {
        // One UTF-8 check for all the lines (none while multi-line data is
        // pending: see `Lines::new`); if they are not valid, each value is
        // decoded with replacement on its own (see `Decoder`).
        let lines = &Lines::new(bytes, self.data.slot != Slot::Joined);
        let mut pos = 0;
        while pos < bytes.len() {
            let start = pos;
            let rest = &bytes[start..];
            let len = match (rest[0], first_len) {
                (b'\n' | b'\r', _) => 0,
                (_, Some(len)) if start == 0 => len,
                _ => self.ends.find(rest).unwrap_or(rest.len()),
            };
            let ending = match rest.get(len) {
                Some(b'\r') if rest.get(len + 1) == Some(&b'\n') => 2,
                _ => 1,
            };
            pos = start + len + ending;
            if len == 0 {
                if self.skipping {
                    self.skipping = false;
                    continue;
                }
                self.dispatch(lines, on_frame);
                continue;
            }
            let line_offset = base + start as u64;
            if len > self.limits.max_line_len {
                if let Some(error) = self.line_too_long(line_offset) {
                    on_frame(Err(error));
                }
                continue;
            }
            if self.skipping {
                continue;
            }
            let Some((name, skip)) = line::common_field(&rest[..len]) else {
                self.field(lines, start, len, on_frame);
                continue;
            };
            let value = start + skip..start + len;
            match name {
                line::Common::Data => {
                    match self.push_data(lines, value) {
                        // More `data` lines follow in these lines.
                        Ok(())
                            if self.data.slot == Slot::Joined
                                && bytes[pos..].starts_with(b"data") =>
                        {
                            pos = self.join_run(bytes, pos);
                        }
                        Ok(()) => {}
                        Err(error) => {
                            let error = match error {
                                DecodeError::EventTooLong { limit, size, .. } => {
                                    DecodeError::EventTooLong {
                                        limit,
                                        size,
                                        offset: line_offset,
                                    }
                                }
                                other => other,
                            };
                            on_frame(Err(error));
                        }
                    }
                }
                line::Common::Event => self.named_field(lines, b"event", value, on_frame),
                line::Common::Id => self.named_field(lines, b"id", value, on_frame),
            }
        }
        // The lines are going away: keep what is still pending.
        if let Some(range) = self.last_id_range.take() {
            self.last_event_id.clear();
            self.last_event_id.push_str(lines.get(range).unwrap_or(""));
        }
        self.data.own(lines);
        self.event_type.own(lines);
        self.id.own(lines);
    }

    /// "Append the field value to the data buffer, then append a single
    /// U+000A LINE FEED (LF) character to the data buffer." The last LF is
    /// never stored: lines are joined with LF instead.
    fn push_data(&mut self, lines: &Lines<'_>, value: Range<usize>) -> Result<(), DecodeError> {
        let size = match self.data.slot {
            Slot::None => value.len(),
            _ => self.data_len + 1 + value.len(),
        };
        if size > self.limits.max_event_len {
            let limit = self.limits.max_event_len;
            self.abandon_event();
            return Err(DecodeError::EventTooLong {
                limit,
                size,
                offset: 0,
            });
        }
        self.data_len = size;
        let first = match self.data.slot {
            Slot::None => {
                self.data.set(lines, value);
                return Ok(());
            }
            Slot::Joined => None,
            Slot::Range(start, end) => Some(&lines.bytes[start..end]),
            Slot::Owned => Some(self.data.buf.as_bytes()),
        };
        if let Some(first) = first {
            // A second line: both go into the joined buffer, as bytes.
            self.joined.clear();
            self.joined.extend_from_slice(first);
            self.joined.push(b'\n');
            self.data.slot = Slot::Joined;
        }
        self.joined.extend_from_slice(&lines.bytes[value]);
        self.joined.push(b'\n');
        Ok(())
    }

    /// Appends the run of `data` lines at `bytes[pos..]` to the joined
    /// data in one tight loop (multi-line data: W3's events are 1,000
    /// lines), up to the first other line, or one the line loop must judge
    /// (over a limit, or without its line ending). Returns where the run
    /// ends.
    #[inline(never)]
    fn join_run(&mut self, bytes: &[u8], pos: usize) -> usize {
        let run = (pos, self.data_len);
        let (pos, size) = join_lines(&mut self.joined, &self.ends, &self.limits, bytes, run);
        self.data_len = size;
        pos
    }

    /// A line that is not a `data`, `event` or `id` field (see
    /// [`common_field`]): another field, or a comment.
    fn field<F>(&mut self, lines: &Lines<'_>, start: usize, len: usize, on_frame: &mut F)
    where
        F: FnMut(Result<FrameRef<'_>, DecodeError>),
    {
        let line = &lines.bytes[start..start + len];
        let range = |value: &[u8]| {
            let at = value.as_ptr() as usize - lines.bytes.as_ptr() as usize;
            at..at + value.len()
        };
        match line::parse(line) {
            Line::Blank => {}
            // "If the line starts with a U+003A COLON character (:): Ignore
            // the line." Reported, for keep-alive watchdogs.
            Line::Comment(comment) => {
                let comment = range(comment);
                match lines.get(comment.clone()) {
                    Some(comment) => on_frame(Ok(FrameRef::Comment(comment))),
                    None => {
                        let lossy = String::from_utf8_lossy(&lines.bytes[comment]);
                        on_frame(Ok(FrameRef::Comment(&lossy)));
                    }
                }
            }
            Line::Field { name, value } => self.named_field(lines, name, range(value), on_frame),
        }
    }

    /// A field: its name, and its value as a range of the lines.
    #[inline(always)]
    fn named_field<F>(
        &mut self,
        lines: &Lines<'_>,
        name: &[u8],
        value: Range<usize>,
        on_frame: &mut F,
    ) where
        F: FnMut(Result<FrameRef<'_>, DecodeError>),
    {
        match name {
            // "Set the event type buffer to the field value."
            b"event" => self.event_type.set(lines, value),
            // "If the field value does not contain U+0000 NULL, then set
            // the last event ID buffer to the field value."
            b"id" if !line::has_nul(&lines.bytes[value.clone()]) => {
                self.id.set(lines, value);
            }
            b"retry" => {
                if let Some(ms) = parse_retry(&lines.bytes[value]) {
                    on_frame(Ok(FrameRef::Retry(Duration::from_millis(ms))));
                }
            }
            _ => {}
        }
    }

    /// "Dispatch the event".
    fn dispatch<F>(&mut self, lines: &Lines<'_>, on_frame: &mut F)
    where
        F: FnMut(Result<FrameRef<'_>, DecodeError>),
    {
        // 1. "Set the last event ID string of the event source to the value
        // of the last event ID buffer." Borrowed from the lines while they
        // last (see `last_id_range`).
        match self.id.slot {
            Slot::Range(start, end) => self.last_id_range = Some(start..end),
            Slot::None => {}
            _ => {
                self.last_id_range = None;
                self.last_event_id.clear();
                self.last_event_id
                    .push_str(self.id.get(lines).unwrap_or(""));
            }
        }
        // 2. "If the data buffer is an empty string, set the data buffer and
        // the event type buffer to the empty string and return."
        let joined = match self.data.slot {
            Slot::Joined => {
                // 3. "If the data buffer's last character is a U+000A LINE
                // FEED (LF) character, then remove the last character".
                self.joined.pop();
                // The joined bytes are the data text, borrowed from the
                // buffer (one UTF-8 check); the buffer is cleared when the
                // next multi-line event starts.
                let text = utf8(&self.joined);
                if text.is_none() {
                    self.data.buf.clear();
                    self.data
                        .buf
                        .push_str(&String::from_utf8_lossy(&self.joined));
                    self.data.slot = Slot::Owned;
                }
                text
            }
            _ => None,
        };
        if self.data.slot != Slot::None {
            let event = MessageEventRef {
                event_type: self.event_type.get(lines).unwrap_or(""),
                data: joined.unwrap_or_else(|| self.data.get(lines).unwrap_or("")),
                id: self.id.get(lines),
                last_event_id: match &self.last_id_range {
                    Some(range) => lines.get(range.clone()).unwrap_or(""),
                    None => &self.last_event_id,
                },
            };
            on_frame(Ok(FrameRef::Event(event)));
        }
        self.clear_event();
    }

    /// Empties the pending event's buffers.
    #[inline]
    fn clear_event(&mut self) {
        self.data.slot = Slot::None;
        self.data_len = 0;
        self.event_type.slot = Slot::None;
        self.id.slot = Slot::None;
    }

    /// Drops the pending event and skips to the next blank line.
    fn abandon_event(&mut self) {
        self.clear_event();
        self.skipping = true;
    }

    /// A line over the limit: the event is abandoned and the error returned,
    /// unless the event was abandoned already (one error per event).
    fn line_too_long(&mut self, offset: u64) -> Option<DecodeError> {
        let error = (!self.skipping).then_some(DecodeError::LineTooLong {
            limit: self.limits.max_line_len,
            offset,
        });
        self.abandon_event();
        error
    }
}

impl Default for RefDecoder {
    fn default() -> Self {
        RefDecoder::new()
    }
}

impl fmt::Debug for RefDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefDecoder")
            .field("limits", &self.limits)
            .field("last_event_id", &self.last_event_id)
            .field("offset", &self.offset)
            .field("skipping", &self.skipping)
            .finish_non_exhaustive()
    }
}
