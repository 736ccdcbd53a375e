//! Floors: the least work any owned decoder does on a workload under the
//! issue-14 harness (each chunk appended to a reused `BytesMut`), timed
//! beside the decoders to show which targets a cell allows.

use bytes::{Buf, Bytes, BytesMut};

use crate::Tally;

/// The length of W3's field name, colon and space (`data: `).
const DATA_PREFIX: usize = 6;

/// W3's floor for multi-line data (events of 1,000 `data: ` lines, LF
/// endings): the append of each chunk, a line-end scan, each line's value
/// copied with an LF into one reused buffer (the spec's data buffer: the
/// one copy multi-line data needs), and at each blank line the buffer, its
/// last LF dropped, checked as UTF-8 with std's check (what making it a
/// `String` costs, the only safe way to hand it out; here in place) and
/// emptied. No field is parsed, no limit checked, nothing allocated per
/// event: a decoder does all of this and more.
///
/// Returns the events and data bytes it found, which equal the spec's on W3
/// (the rows' check), and only there: any other field or line ending is
/// taken for data.
pub fn join_floor(chunks: &[Bytes], buf: &mut BytesMut, joined: &mut Vec<u8>) -> Tally {
    buf.clear();
    joined.clear();
    let mut tally = Tally::default();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        let mut pos = 0;
        while let Some(at) = memchr::memchr2(b'\n', b'\r', &buf[pos..]) {
            let line = &buf[pos..pos + at];
            if line.is_empty() {
                if joined.pop().is_some() {
                    // Not valid UTF-8 (not W3): no event, so the check fails.
                    if let Ok(text) = std::str::from_utf8(joined) {
                        tally.add(std::hint::black_box(text).len());
                    }
                    joined.clear();
                }
            } else {
                joined.extend_from_slice(line.get(DATA_PREFIX..).unwrap_or_default());
                joined.push(b'\n');
            }
            pos += at + 1;
        }
        buf.advance(pos);
    }
    tally
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
