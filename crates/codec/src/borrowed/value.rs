//! The pending values of `RefDecoder`: where each one is (a range of the
//! lines being read, its own buffer, or the joined data) and the lines'
//! UTF-8 check, run once for all of them (unless multi-line data is
//! pending).

use alloc::string::String;
use core::ops::Range;

/// Where a pending value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Slot {
    /// No such field in this block.
    #[default]
    None,
    /// A range of the lines being interpreted, which are valid UTF-8.
    Range(usize, usize),
    /// In the slot's own buffer.
    Owned,
    /// `data` lines joined (each followed by LF) in `RefDecoder::joined`,
    /// as bytes: checked as UTF-8 once, at dispatch.
    Joined,
}

/// Complete lines being interpreted, and their text if they are valid
/// UTF-8 (one check for all of them, when they are read).
pub(super) struct Lines<'a> {
    pub(super) bytes: &'a [u8],
    text: Option<&'a str>,
}

impl<'a> Lines<'a> {
    /// Checks `bytes` once, if `check`. Checking up front rather than when
    /// a value is first borrowed spares every value a test of whether the
    /// check ran, and lets `Value::set` be a store. Lines read
    /// while multi-line data is pending are not checked (`check` false):
    /// those `data` lines are checked in the joined data at dispatch, and
    /// a value borrowed from them is copied, decoded as if invalid (the
    /// same text when it is valid).
    #[inline]
    pub(super) fn new(bytes: &'a [u8], check: bool) -> Self {
        Lines {
            bytes,
            text: if check { utf8(bytes) } else { None },
        }
    }

    /// Whether the lines are valid UTF-8.
    #[inline]
    pub(super) fn is_text(&self) -> bool {
        self.text.is_some()
    }

    /// `range` as text, if the lines are valid UTF-8.
    #[inline]
    pub(super) fn get(&self, range: Range<usize>) -> Option<&'a str> {
        self.text?.get(range)
    }
}

/// `bytes` as text, if they are valid UTF-8.
///
/// simdutf8's check: with the `std` feature it picks AVX2 or SSE4.2 at run
/// time when the CPU has them (without it, what the target enables at
/// build time); under 64 bytes it is std's. On the workloads of
/// `benches/PROFILE.md` std's check was a quarter of this decoder's
/// instructions: a non-ASCII character every other event takes it off its
/// word-at-a-time path.
#[inline]
pub(super) fn utf8(bytes: &[u8]) -> Option<&str> {
    simdutf8::basic::from_utf8(bytes).ok()
}

/// A pending value and its buffer.
#[derive(Debug, Default)]
pub(super) struct Value {
    pub(super) slot: Slot,
    pub(super) buf: String,
}

impl Value {
    /// Sets the value to `lines[range]`, borrowed when the lines are
    /// valid UTF-8.
    #[inline]
    pub(super) fn set(&mut self, lines: &Lines<'_>, range: Range<usize>) {
        if lines.is_text() {
            self.slot = Slot::Range(range.start, range.end);
        } else {
            self.set_lossy(&lines.bytes[range]);
        }
    }

    /// The value decoded with replacement (or not checked), into the buffer.
    #[cold]
    #[inline(never)]
    fn set_lossy(&mut self, bytes: &[u8]) {
        self.buf.clear();
        self.buf.push_str(&String::from_utf8_lossy(bytes));
        self.slot = Slot::Owned;
    }

    #[inline]
    pub(super) fn get<'a, 'b: 'a>(&'a self, lines: &Lines<'b>) -> Option<&'a str> {
        match self.slot {
            Slot::None => None,
            Slot::Range(start, end) => Some(lines.get(start..end).unwrap_or("")),
            Slot::Owned => Some(&self.buf),
            // In `RefDecoder::joined`: read there, at dispatch.
            Slot::Joined => None,
        }
    }

    /// Copies a borrowed value into the buffer: the lines are going away.
    #[inline]
    pub(super) fn own(&mut self, lines: &Lines<'_>) {
        if let Slot::Range(start, end) = self.slot {
            self.buf.clear();
            self.buf.push_str(lines.get(start..end).unwrap_or(""));
            self.slot = Slot::Owned;
        }
    }
}
