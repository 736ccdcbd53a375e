//! The grammar of one complete line (without its line ending), parsed with nom.
//!
//! Line framing is not here: the decoder finds line endings with memchr, so
//! that nom's `Incomplete` never decides when an event dispatches.

use nom::IResult;
use nom::Parser;
use nom::bytes::complete::{tag, take_till};
use nom::combinator::{opt, rest};
use nom::sequence::preceded;

/// A line, classified as the WHATWG "interpreting an event stream" steps do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// "If the line is empty (a blank line)": dispatch the event.
    Blank,
    /// "If the line starts with a U+003A COLON character (:)": ignore the
    /// line. The text after the colon, one leading space removed.
    Comment(&'a [u8]),
    /// A field. "If the line contains a U+003A COLON character (:)" the name
    /// is what precedes the first colon and the value follows it, one leading
    /// space removed; "otherwise" the whole line is the name and the value is
    /// empty.
    Field { name: &'a [u8], value: &'a [u8] },
}

pub(crate) fn parse(line: &[u8]) -> Line<'_> {
    if line.is_empty() {
        return Line::Blank;
    }
    // The most common line, without the combinators: the same result as
    // `field` below gives for it.
    if let Some(value) = line.strip_prefix(b"data:") {
        return Line::Field {
            name: b"data",
            value: value.strip_prefix(b" ").unwrap_or(value),
        };
    }
    match field(line) {
        Ok((_, ([], value))) => Line::Comment(value),
        Ok((_, (name, value))) => Line::Field { name, value },
        // Every parser below is `complete` and infallible on any input.
        Err(_) => Line::Field {
            name: line,
            value: &line[line.len()..],
        },
    }
}

/// Where the value of `line` starts when its first `name_len` bytes are a
/// field name that ends there: at the end of a line without a colon (the
/// whole line is the name, the value is empty), or after the colon and at
/// most one space. `None` when the name goes on (`dataset: 1` is not a
/// `data` line). The split [`parse`] makes, for the decoders' fast paths
/// over their most common lines.
#[inline]
pub(crate) fn value_start(line: &[u8], name_len: usize) -> Option<usize> {
    match line.get(name_len) {
        None => Some(name_len),
        Some(b':') => Some(name_len + 1 + usize::from(line.get(name_len + 1) == Some(&b' '))),
        Some(_) => None,
    }
}

/// The fields most lines carry, recognised by [`common_field`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Common {
    Data,
    Event,
    Id,
}

/// A `data`, `event` or `id` line (without its line ending), read without
/// the general parser: which field, and where its value starts: after the
/// colon and at most one space, or at the end of a line without a colon
/// (the whole line is the name, the value is empty). `None` for any other
/// line, for `line::parse`. The same split as `line::parse`'s.
#[inline]
pub(crate) fn common_field(line: &[u8]) -> Option<(Common, usize)> {
    // Each name a literal: a fixed-size compare, not a `memcmp` call.
    let (field, n) = match line.first()? {
        b'd' if line.starts_with(b"data") => (Common::Data, 4),
        b'e' if line.starts_with(b"event") => (Common::Event, 5),
        b'i' if line.starts_with(b"id") => (Common::Id, 2),
        _ => return None,
    };
    value_start(line, n).map(|start| (field, start))
}

/// `name [ ":" [ " " ] value ]`: the name runs to the first colon; the value
/// is the rest after the colon and at most one space.
fn field(input: &[u8]) -> IResult<&[u8], (&[u8], &[u8])> {
    let (input, name) = take_till(|b| b == b':')(input)?;
    let (input, value) = opt(preceded(
        tag(&b":"[..]),
        preceded(opt(tag(&b" "[..])), rest),
    ))
    .parse(input)?;
    // An absent value is the empty slice at the end of the line, so that
    // every value is a subslice of the line (the decoder relies on it).
    Ok((input, (name, value.unwrap_or(&input[input.len()..]))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn a_null_is_found_at_every_position_and_length() {
        for len in 0..40 {
            let clean: Vec<u8> = (0..len).map(|i| [b'1', 0x80, 0xFF, b'a'][i % 4]).collect();
            assert!(!has_nul(&clean), "{len} bytes without a NULL");
            for at in 0..len {
                let mut bytes = clean.clone();
                bytes[at] = 0;
                assert!(has_nul(&bytes), "NULL at {at} of {len}");
                // Bytes around it that could borrow into it: 0x01 and 0x80.
                if at + 1 < len {
                    bytes[at + 1] = 0x01;
                }
                assert!(has_nul(&bytes), "NULL at {at} of {len}, then 0x01");
            }
        }
        // 0x01 followed by 0x00-free bytes is no NULL (a borrow that never starts).
        assert!(!has_nul(&[
            0x01, 0x01, 0x80, 0x01, 0x01, 0x7F, 0x80, 0x01, 0x01
        ]));
    }

    #[test]
    fn line_ends_are_found_at_every_length_and_position() {
        // Both searchers: AVX2 (where the CPU has it) and the portable one.
        let searchers = [
            LineEnds::new(),
            LineEnds {
                #[cfg(target_arch = "x86_64")]
                avx2: None,
            },
        ];
        for ends in &searchers {
            assert_eq!((ends.find(b""), ends.rfind(b"")), (None, None));
        }
        // Lengths on both sides of the byte-by-byte, SSE2 and AVX2 paths.
        for len in 1..100 {
            for (first, last) in [
                (None, None),
                (Some(0), Some(0)),
                (Some(len / 3), Some(len - 1)),
            ] {
                let mut haystack: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                if let (Some(first), Some(last)) = (first, last) {
                    haystack[first] = b'\r';
                    haystack[last] = b'\n';
                }
                for ends in &searchers {
                    assert_eq!(ends.find(&haystack), first, "find, {len} bytes");
                    assert_eq!(ends.rfind(&haystack), last, "rfind, {len} bytes");
                    // Unaligned starts.
                    if len > 1 {
                        let naive = haystack[1..].iter().position(|&b| b == b'\n' || b == b'\r');
                        assert_eq!(ends.find(&haystack[1..]), naive, "find from 1, {len} bytes");
                    }
                }
            }
        }
    }

    #[test]
    fn line_ends_match_a_naive_scan_among_near_misses() {
        // Every one or two line endings in every position of short
        // haystacks (memchr's byte-by-byte, SSE2 and AVX2 paths), among
        // bytes one bit or one value away from LF and CR.
        let ends = LineEnds::new();
        let naive_find = |h: &[u8]| h.iter().position(|&b| b == b'\n' || b == b'\r');
        let naive_rfind = |h: &[u8]| h.iter().rposition(|&b| b == b'\n' || b == b'\r');
        let fillers = [0x09, 0x0B, 0x0C, 0x0E, 0x8A, 0x8D, 0x00, 0xFF, 0x2A, 0x4A];
        for len in 0..40usize {
            for i in 0..=len {
                for j in i..=len {
                    let mut haystack: Vec<u8> = (0..len)
                        .map(|k| fillers[(k * 7 + i + j) % fillers.len()])
                        .collect();
                    if i < len {
                        haystack[i] = b'\r';
                    }
                    if j < len && j > i {
                        haystack[j] = b'\n';
                    }
                    assert_eq!(ends.find(&haystack), naive_find(&haystack), "{haystack:?}");
                    assert_eq!(
                        ends.rfind(&haystack),
                        naive_rfind(&haystack),
                        "{haystack:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn classifies_lines() {
        let cases: &[(&[u8], Line<'_>)] = &[
            (b"", Line::Blank),
            (b":", Line::Comment(b"")),
            (b": keep-alive", Line::Comment(b"keep-alive")),
            (b":  two", Line::Comment(b" two")),
            (
                b"data: x",
                Line::Field {
                    name: b"data",
                    value: b"x",
                },
            ),
            (
                b"data:x",
                Line::Field {
                    name: b"data",
                    value: b"x",
                },
            ),
            (
                b"data:  x",
                Line::Field {
                    name: b"data",
                    value: b" x",
                },
            ),
            (
                b"data",
                Line::Field {
                    name: b"data",
                    value: b"",
                },
            ),
            (
                b"data:",
                Line::Field {
                    name: b"data",
                    value: b"",
                },
            ),
            (
                b"a:b:c",
                Line::Field {
                    name: b"a",
                    value: b"b:c",
                },
            ),
            (
                b"comment: not a comment",
                Line::Field {
                    name: b"comment",
                    value: b"not a comment",
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input), *expected, "{}", input.escape_ascii());
        }
    }
}

/// Whether `bytes` holds a NULL byte (an `id` that does, is ignored):
/// eight bytes at a time. Ids are short, so this costs less than
/// memchr's set-up, and much less than a byte loop.
#[inline]
pub(crate) fn has_nul(bytes: &[u8]) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut le = [0; 8];
        le.copy_from_slice(word);
        let word = u64::from_le_bytes(le);
        // A byte is zero exactly when its bit 7 is set here (the classic
        // test: borrows only run from a zero byte upwards).
        if word.wrapping_sub(LOW) & !word & HIGH != 0 {
            return true;
        }
    }
    words.remainder().contains(&0)
}

/// Finds line endings (`\n` or `\r`): memchr's AVX2 searcher called
/// directly when the CPU has AVX2, which skips `memchr2`'s dispatch
/// through a function pointer on every call (a fifth of the scan's time on
/// 61-byte chunks) and inlines its short-haystack paths; `memchr2` and
/// `memrchr2` otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineEnds {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::Two>,
}

impl LineEnds {
    pub(crate) fn new() -> Self {
        LineEnds {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::Two::new(b'\n', b'\r'),
        }
    }

    /// The first line ending in `haystack`.
    #[inline(always)]
    pub(crate) fn find(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = &self.avx2 {
            return avx2.find(haystack);
        }
        memchr::memchr2(b'\n', b'\r', haystack)
    }

    /// The last line ending in `haystack`.
    #[inline(always)]
    pub(crate) fn rfind(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = &self.avx2 {
            return avx2.rfind(haystack);
        }
        memchr::memrchr2(b'\n', b'\r', haystack)
    }
}
