//! The pending values of `RefDecoder`: where each one is (a range of the
//! lines being read, its own buffer, or the joined data) and the lines'
//! UTF-8 check, run once and only when a value is borrowed from them.

use alloc::string::String;
use core::cell::Cell;
use core::ops::Range;

/// Where a pending value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    /// No such field in this block.
    None,
    /// A range of the lines being interpreted, which are valid UTF-8.
    Range(usize, usize),
    /// In the slot's own buffer.
    Owned,
    /// `data` lines joined (each followed by LF) in `RefDecoder::joined`,
    /// as bytes: checked as UTF-8 once, at dispatch.
    Joined,
}

/// Complete lines being interpreted, and their text once checked: the
/// check runs only when a value is borrowed from them.
pub(super) struct Lines<'a> {
    pub(super) bytes: &'a [u8],
    text: Cell<Option<Option<&'a str>>>,
}

impl<'a> Lines<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Lines {
            bytes,
            text: Cell::new(None),
        }
    }

    /// The lines as text, `None` if they are not valid UTF-8 (one check).
    #[inline]
    pub(super) fn text(&self) -> Option<&'a str> {
        match self.text.get() {
            Some(text) => text,
            None => self.check(),
        }
    }

    /// The check, once per `Lines`: kept out of the callers' code.
    #[inline(never)]
    fn check(&self) -> Option<&'a str> {
        let text = utf8(self.bytes);
        self.text.set(Some(text));
        text
    }

    /// `range` as text, if the lines are valid UTF-8.
    #[inline]
    pub(super) fn get(&self, range: Range<usize>) -> Option<&'a str> {
        self.text().and_then(|text| text.get(range))
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
    pub(super) slot: Option<Slot>,
    pub(super) buf: String,
}

impl Value {
    #[inline]
    pub(super) fn slot(&self) -> Slot {
        self.slot.unwrap_or(Slot::None)
    }

    /// Sets the value to `lines[range]`, borrowed when the lines are
    /// valid UTF-8.
    pub(super) fn set(&mut self, lines: &Lines<'_>, range: Range<usize>) {
        match lines.text() {
            Some(_) => self.slot = Some(Slot::Range(range.start, range.end)),
            None => {
                self.buf.clear();
                self.buf
                    .push_str(&String::from_utf8_lossy(&lines.bytes[range]));
                self.slot = Some(Slot::Owned);
            }
        }
    }

    #[inline]
    pub(super) fn get<'a, 'b: 'a>(&'a self, lines: &Lines<'b>) -> Option<&'a str> {
        match self.slot() {
            Slot::None => None,
            Slot::Range(start, end) => Some(lines.get(start..end).unwrap_or("")),
            Slot::Owned => Some(&self.buf),
            // In `RefDecoder::joined`: read there, at dispatch.
            Slot::Joined => None,
        }
    }

    /// Copies a borrowed value into the buffer: the lines are going away.
    pub(super) fn own(&mut self, lines: &Lines<'_>) {
        if let Slot::Range(start, end) = self.slot() {
            self.buf.clear();
            self.buf.push_str(lines.get(start..end).unwrap_or(""));
            self.slot = Some(Slot::Owned);
        }
    }
}
