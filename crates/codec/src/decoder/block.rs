//! A block of complete lines cut from the input, and the UTF-8 check of
//! the values kept from it.

use alloc::string::String;
use core::ops::Range;

use bytes::Bytes;
use bytestring::ByteString;

/// Blocks of at least this many bytes are checked as UTF-8 in spans (one
/// call, word-at-a-time over many lines); smaller ones value by value
/// (fewer bytes: the names, line endings and later `data` lines are skipped).
pub(super) const TEXT_BLOCK: usize = 512;

/// The least length of a span checked as UTF-8 at once in a large block:
/// enough lines that the call's fixed cost is shared, few enough that the
/// span is still in cache when its lines are scanned.
const TEXT_SPAN: usize = 8 * 1024;

/// Complete lines cut from the input, with the span of them last checked
/// as UTF-8.
///
/// A block of [`TEXT_BLOCK`] bytes or more is checked span by span, when a
/// value in it must be kept: the span runs from that value to at least
/// [`TEXT_SPAN`] bytes on, up to a line ending, and later values inside it
/// are shared slices of its text without a second check. The span is
/// checked just before its lines are scanned, so both read it from cache,
/// and the later lines of multi-line data past the span (joined, and
/// checked once at dispatch) are not checked twice. In a smaller block each
/// value is checked on its own (fewer bytes: names, line endings and later
/// `data` lines are skipped).
#[derive(Debug, Default)]
pub(super) struct Block {
    pub(super) bytes: Bytes,
    /// `bytes[text_at..text_at + text.len()]`, checked; `None` until a
    /// span is (small blocks never have one, and an empty `ByteString`
    /// would cost a call through its vtable at each drop).
    text: Option<ByteString>,
    text_at: usize,
    /// Values that start before this offset are checked one by one: a span
    /// check that started before it failed (not valid UTF-8).
    raw_to: usize,
}

impl Block {
    pub(super) fn new(bytes: Bytes) -> Self {
        Block {
            bytes,
            text: None,
            text_at: 0,
            raw_to: 0,
        }
    }

    #[inline]
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The range `value` as text: a shared slice (of a checked span, or of
    /// the bytes when the value alone is valid UTF-8), else the UTF-8
    /// decoding with replacement of its bytes. Decoding value by value is
    /// the same as decoding the whole stream first: line endings, `:` and
    /// space are ASCII, and an invalid sequence never swallows an ASCII
    /// byte.
    #[inline(always)]
    pub(super) fn value(&mut self, value: Range<usize>) -> ByteString {
        if let Some(text) = &self.text {
            if value.start >= self.text_at && value.end <= self.text_at + text.len() {
                return Self::text_slice(
                    text,
                    value.start - self.text_at..value.end - self.text_at,
                );
            }
        }
        if self.bytes.len() >= TEXT_BLOCK && value.start >= self.raw_to {
            if let Some(text) = self.check_span(&value) {
                return Self::text_slice(text, 0..value.len());
            }
        }
        match ByteString::try_from(self.bytes.slice(value.clone())) {
            Ok(text) => text,
            Err(_) => self.lossy(value),
        }
    }

    /// The UTF-8 decoding with replacement of `value`, not valid UTF-8.
    #[cold]
    #[inline(never)]
    fn lossy(&self, value: Range<usize>) -> ByteString {
        ByteString::from(String::from_utf8_lossy(&self.bytes[value]).into_owned())
    }

    /// `text[value]`, a value in a checked span, as a slice of it.
    fn text_slice(text: &ByteString, value: Range<usize>) -> ByteString {
        // Values start after an ASCII byte (or at a line start) and end at
        // an ASCII line ending, and spans start at a value and end after a
        // line ending, so both are on character boundaries: `get` cannot
        // fail here, and the empty string is only its safe answer.
        match text.get(value) {
            Some(value) => text.slice_ref(value),
            None => ByteString::new(),
        }
    }

    /// Checks the span from `value` to at least [`TEXT_SPAN`] bytes on (and
    /// at least to its end), extended to the next line ending. Returns
    /// `None` when it is not valid UTF-8 (values up to its end are then
    /// checked one by one), else the span.
    #[inline(never)]
    fn check_span(&mut self, value: &Range<usize>) -> Option<&ByteString> {
        let len = self.bytes.len();
        let want = (value.start + TEXT_SPAN).max(value.end);
        let end = match self.bytes.get(want..) {
            None | Some([]) => len,
            // The block ends with a line ending, so there is one.
            Some(rest) => memchr::memchr2(b'\n', b'\r', rest).map_or(len, |at| want + at + 1),
        };
        match ByteString::try_from(self.bytes.slice(value.start..end)) {
            Ok(text) => {
                self.text_at = value.start;
                Some(self.text.insert(text))
            }
            Err(_) => {
                self.raw_to = end;
                None
            }
        }
    }
}
