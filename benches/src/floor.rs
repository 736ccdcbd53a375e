//! Floors: the least work any owned decoder does on a workload under the
//! issue-14 harness (each chunk appended to a reused `BytesMut`), timed
//! beside the decoders to show which targets a cell allows.

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
    fn join_floor_does_not_agree_on_other_workloads() {
        let w = workload::w2(256 * 1024);
        let (mut buf, mut joined) = (BytesMut::new(), Vec::new());
        let tally = join_floor(std::slice::from_ref(&w.bytes), &mut buf, &mut joined);
        assert_ne!(tally, w.expected);
    }
}
