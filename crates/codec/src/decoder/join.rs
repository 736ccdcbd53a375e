//! Multi-line `data`: the lines joined into one buffer (the spec's data
//! buffer, the only copy the decoder makes), straight from the block or
//! from the caller's buffer, and checked as UTF-8 once at dispatch.

use alloc::string::String;
use alloc::vec::Vec;

use bytes::BytesMut;
use bytestring::ByteString;

use super::{Core, Data};
use crate::error::DecodeError;
use crate::limits::Limits;
use crate::line::{self, LineEnds};

/// The first capacity of a joined `data` buffer.
const MIN_JOINED: usize = 256;

/// Multi-line data: the first `data` value (if one is kept) and `value`,
/// each followed by an LF, in a new buffer of `capacity` bytes.
pub(super) fn start_joined(data: &mut Data, value: &[u8], capacity: usize) {
    let mut joined = Vec::with_capacity(capacity);
    if let Data::One(first) = core::mem::take(data) {
        joined.extend_from_slice(first.as_bytes());
        joined.push(b'\n');
    }
    joined.extend_from_slice(value);
    joined.push(b'\n');
    *data = Data::Joined(joined);
}

/// Appends the value `line[skip..len]` of a `data` line and an LF to
/// `joined`: in one copy when `line[len]`, its line ending, is that LF.
/// Returns the length of the line ending (2 for a CRLF pair).
#[inline(always)]
pub(super) fn push_data(joined: &mut Vec<u8>, line: &[u8], skip: usize, len: usize) -> usize {
    if line[len] == b'\n' {
        joined.extend_from_slice(&line[skip..=len]);
        return 1;
    }
    joined.extend_from_slice(&line[skip..len]);
    joined.push(b'\n');
    1 + usize::from(line.get(len + 1) == Some(&b'\n'))
}

/// Appends the run of `data` lines at `bytes[pos..]` to `joined`, the
/// joined data of `size` bytes so far, up to the first other line, one
/// without its line ending, or one over a limit (left to the caller's line
/// loop, which judges it). Returns where the run ends and the data's new
/// size. The tight loop of both decoders' multi-line data (W3's events
/// are 1,000 lines); inlined into each.
#[inline(always)]
pub(crate) fn join_lines(
    joined: &mut Vec<u8>,
    ends: &LineEnds,
    limits: &Limits,
    bytes: &[u8],
    (mut pos, mut size): (usize, usize),
) -> (usize, usize) {
    while bytes[pos..].starts_with(b"data") {
        let rest = &bytes[pos..];
        let Some(len) = ends.find(rest) else {
            break;
        };
        let Some(skip) = line::value_start(&rest[..len], 4) else {
            break;
        };
        let next = size + 1 + (len - skip);
        if len > limits.max_line_len || next > limits.max_event_len {
            break;
        }
        pos += len + push_data(joined, rest, skip, len);
        size = next;
    }
    (pos, size)
}

impl Core {
    /// Copies the `data` lines at the start of `buf` into the joined data
    /// and drops them from `buf`, up to the first other line or the first
    /// line without its line ending (left to `cut_block`).
    #[inline(never)]
    pub(super) fn join_in_buf(&mut self, buf: &mut BytesMut) -> Result<(), DecodeError> {
        if !self.bom_checked || self.skip_lf || self.discarding_line {
            return Ok(());
        }
        loop {
            let Some(len) = self.ends.find(&buf[self.scanned..]) else {
                self.scanned = buf.len();
                return Ok(());
            };
            let len = self.scanned + len;
            let next = match (buf[len], buf.get(len + 1)) {
                (b'\r', Some(b'\n')) => len + 2,
                // A CR at the end: whether an LF follows is not known yet.
                (b'\r', None) => return Ok(()),
                _ => len + 1,
            };
            let line = &buf[..len];
            let data = if line.starts_with(b"data") {
                line::value_start(line, 4)
            } else {
                None
            };
            let Some(skip) = data.filter(|_| len <= self.limits.max_line_len) else {
                return Ok(());
            };
            let value = &line[skip..];
            let size = self.data_len + 1 + value.len();
            if size > self.limits.max_event_len {
                let error = self.event_too_long(size, self.offset);
                self.consume(buf, next);
                return Err(error);
            }
            self.data_len = size;
            match &mut self.data {
                Data::Joined(joined) => {
                    push_data(joined, buf, skip, len);
                }
                Data::One(_) => {
                    let capacity = self.joined_capacity(size);
                    start_joined(&mut self.data, value, capacity);
                }
                Data::None => return Ok(()),
            }
            self.consume(buf, next);
        }
    }

    /// Appends the run of `data` lines at `block_pos` to the joined data
    /// in one tight loop (multi-line data: W3's events are 1,000 lines),
    /// up to the first other line, or one the line loop must judge (over a
    /// limit).
    #[inline(never)]
    pub(super) fn join_run(&mut self) {
        let Data::Joined(joined) = &mut self.data else {
            return;
        };
        let run = (self.block_pos, self.data_len);
        let (pos, size) = join_lines(joined, &self.ends, &self.limits, self.block.bytes(), run);
        self.block_pos = pos;
        self.data_len = size;
    }

    /// The first capacity of a joined data buffer for `size` bytes of
    /// data: room for its LF, and at least the last joined event's length.
    pub(super) fn joined_capacity(&self, size: usize) -> usize {
        (size + 1)
            .max(self.joined_hint.min(self.limits.max_event_len) + 1)
            .max(MIN_JOINED)
    }

    /// The joined data as text, its last LF removed.
    #[inline(never)]
    pub(super) fn joined(&mut self, mut joined: Vec<u8>) -> ByteString {
        joined.pop();
        self.joined_hint = joined.len();
        match String::from_utf8(joined) {
            Ok(text) => ByteString::from(text),
            Err(error) => ByteString::from(String::from_utf8_lossy(error.as_bytes()).into_owned()),
        }
    }
}
