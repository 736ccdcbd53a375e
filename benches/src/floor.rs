//! Floors: the least work a decoder does on a workload, timed beside the
//! decoders to show which targets a cell allows: [`join_floor`], an owned
//! decoder's on W3 under the issue-14 harness (each chunk appended to a
//! reused `BytesMut`), and [`scan_utf8`], any decoder's that hands out
//! checked `&str`.

use bytes::{Buf, Bytes, BytesMut};

use crate::Tally;

/// The length of W3's field name, colon and space (`data: `).
const DATA_PREFIX: usize = 6;

/// W3's floor for multi-line data (events of 1,000 `data: ` lines, LF
/// endings): the append of each chunk; each line's end found (each byte
/// scanned once) with a prebuilt AVX2 searcher (memchr's generic
/// `memchr2` where the CPU has no AVX2), as bourn-codec's `LineEnds` finds
/// it; each line's value and its
/// LF copied into one reused buffer in one copy (the spec's data buffer:
/// the one copy multi-line data needs); and at each blank line the buffer,
/// its last LF dropped, checked as UTF-8 with simdutf8 (a SIMD check, in
/// place: cheaper than std's, which making a `String` of it needs) and
/// emptied. No field name is read, no limit checked, no CR handled,
/// nothing allocated or handed out per event: a decoder does all of this
/// and more.
///
/// Returns the events and data bytes it found, which equal the spec's on W3
/// (the rows' check), and only there: any other line is taken for data.
pub fn join_floor(chunks: &[Bytes], buf: &mut BytesMut, joined: &mut Vec<u8>) -> Tally {
    let ends = LineEnds::new();
    buf.clear();
    joined.clear();
    let mut tally = Tally::default();
    // Bytes at the start of `buf` known to hold no line ending.
    let mut scanned = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        let (mut pos, mut from) = (0, scanned);
        while let Some(at) = ends.find(&buf[from..]) {
            let end = from + at;
            if end == pos {
                if joined.pop().is_some() {
                    // Not valid UTF-8 (not W3): no event, so the check fails.
                    if let Ok(text) = simdutf8::basic::from_utf8(joined) {
                        tally.add(std::hint::black_box(text).len());
                    }
                    joined.clear();
                }
            } else {
                // The value and its line ending (an LF on W3).
                joined.extend_from_slice(buf.get(pos + DATA_PREFIX..=end).unwrap_or_default());
            }
            pos = end + 1;
            from = pos;
        }
        buf.advance(pos);
        scanned = buf.len();
    }
    tally
}

/// The line scan of the `memchr2` bound (`memchr2_iter` over each chunk)
/// plus one simdutf8 check of each chunk, trimmed to whole characters (a
/// chunk may cut one at either end): what any decoder that hands out
/// checked `&str` does at the least, with no line read, no field told
/// apart and nothing copied. Returns the line-end bytes counted, as the
/// `memchr2` bound does.
pub fn scan_utf8(chunks: &[Bytes]) -> Tally {
    let mut tally = Tally::default();
    for chunk in chunks {
        let checked = simdutf8::basic::from_utf8(whole_chars(chunk)).is_ok();
        // Not UTF-8 (no workload): nothing counted, so the row check fails.
        if std::hint::black_box(checked) {
            tally.events += memchr::memchr2_iter(b'\n', b'\r', chunk).count() as u64;
        }
    }
    tally
}

/// `chunk` without the pieces of characters cut by the chunking at either
/// end (at most 3 bytes each), so it can be checked as UTF-8 on its own.
pub fn whole_chars(chunk: &[u8]) -> &[u8] {
    let continuation = |b: &u8| b & 0xC0 == 0x80;
    let start = chunk.iter().take(3).take_while(|b| continuation(b)).count();
    let chunk = &chunk[start..];
    // The last character's lead byte, and how long it says it is.
    let Some(lead) = chunk.iter().rev().take(4).position(|b| !continuation(b)) else {
        return chunk;
    };
    let at = chunk.len() - 1 - lead;
    let len = match chunk[at] {
        b if b < 0x80 => 1,
        b if b >= 0xF0 => 4,
        b if b >= 0xE0 => 3,
        _ => 2,
    };
    if at + len > chunk.len() {
        &chunk[..at]
    } else {
        chunk
    }
}

/// A line-end (LF or CR) searcher built once, as bourn-codec's is.
struct LineEnds {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::Two>,
}

impl LineEnds {
    fn new() -> Self {
        LineEnds {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::Two::new(b'\n', b'\r'),
        }
    }

    #[inline(always)]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = &self.avx2 {
            return avx2.find(haystack);
        }
        memchr::memchr2(b'\n', b'\r', haystack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Feed, workload};

    #[test]
    fn join_floor_finds_w3_as_the_spec_does_under_every_feed() {
        let w = workload::w3(256 * 1024);
        let (mut buf, mut joined) = (BytesMut::new(), Vec::new());
        for feed in Feed::STANDARD {
            let chunks = feed.split(&w.bytes);
            let tally = join_floor(&chunks, &mut buf, &mut joined);
            assert_eq!(tally, w.expected, "{}", feed.name());
        }
    }

    #[test]
    fn scan_utf8_counts_the_line_ends_of_every_workload_under_every_feed() {
        for w in workload::all(256 * 1024) {
            for feed in Feed::STANDARD {
                let chunks = feed.split(&w.bytes);
                let tally = scan_utf8(&chunks);
                assert_eq!(tally.events, w.line_end_bytes, "{} {}", w.id, feed.name());
            }
        }
        // Invalid UTF-8 counts nothing.
        assert_eq!(scan_utf8(&[Bytes::from_static(b"a\xFFb\n\n")]).events, 0);
    }

    #[test]
    fn whole_chars_trims_only_cut_characters() {
        let text = "a\u{e9}\u{1F642}b".as_bytes();
        assert_eq!(whole_chars(text), text);
        for cut in 0..=text.len() {
            for piece in [&text[..cut], &text[cut..]] {
                let trimmed = whole_chars(piece);
                assert!(std::str::from_utf8(trimmed).is_ok(), "{piece:?}");
                assert!(piece.len() - trimmed.len() <= 3, "{piece:?}");
            }
        }
    }

    #[test]
    fn join_floor_does_not_agree_on_other_workloads() {
        let w = workload::w2(256 * 1024);
        let (mut buf, mut joined) = (BytesMut::new(), Vec::new());
        let tally = join_floor(std::slice::from_ref(&w.bytes), &mut buf, &mut joined);
        assert_ne!(tally, w.expected);
    }
}
