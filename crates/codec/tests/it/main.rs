//! Integration tests of bourn-codec. The shared WHATWG vectors and the
//! reference-model property tests live in `bourn-conformance`; these pin the
//! codec's own API and guarantees.

// The borrowing `RefDecoder`: linear time, allocations, borrowed frames.
mod borrowed;
// Decoding driven step by step: partial input, chunk boundaries, stream state.
mod decoder;
// Building and writing events.
mod encoder;
// Limits: typed errors, resynchronisation, bounded buffering, linear time.
mod limits;
// Zero-copy: slices of the input and allocations per event.
mod zero_copy;
// The `Stream` and `tokio_util` adapters.
#[cfg(all(feature = "stream", feature = "tokio-util"))]
mod adapters;

use bourn_codec::{DecodeError, Decoder, Frame};
use bytes::BytesMut;

/// Feeds `input` in chunks of `chunk` bytes and collects everything decoded,
/// including the end of stream.
pub fn decode_chunked(
    decoder: &mut Decoder,
    input: &[u8],
    chunk: usize,
) -> Vec<Result<Frame, DecodeError>> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(frame) = decoder.decode(&mut buf).transpose() {
            out.push(frame);
        }
    }
    while let Some(frame) = decoder.decode_eof(&mut buf).transpose() {
        out.push(frame);
    }
    out
}

/// `(type, data, last_event_id)` of each event; other frames as text.
pub fn summary(frames: &[Result<Frame, DecodeError>]) -> Vec<String> {
    frames
        .iter()
        .map(|frame| match frame {
            Ok(Frame::Event(e)) => format!(
                "{}|{}|{}",
                e.event_type(),
                e.data().escape_debug(),
                e.last_event_id()
            ),
            Ok(Frame::Retry(d)) => format!("retry {}", d.as_millis()),
            Ok(Frame::Comment(c)) => format!("comment {c}"),
            Ok(other) => format!("{other:?}"),
            Err(e) => format!("error {e:?}"),
        })
        .collect()
}

/// xorshift64: deterministic inputs for tests.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// At least `len` bytes of a stream of random pieces: every field, blank
/// lines, every line ending, invalid UTF-8, BOMs and NULs, so that lines,
/// CRLF pairs and invalid sequences fall on every kind of chunk boundary.
/// It starts with a BOM when `bom`.
pub fn mixed_stream(rng: &mut Rng, bom: bool, len: usize) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"data: ",
        b"data:",
        b"data",
        b"id: ",
        b"event: ",
        b"retry: 15",
        b": c",
        b"\n",
        b"\n",
        b"\r",
        b"\r\n",
        b"x",
        b"hello world ",
        b"\xC3\xA9",
        b"\xFF",
        b"\xEF\xBB\xBF",
        b"\0",
        b"{\"json\":\"value\"}",
    ];
    let mut input = Vec::with_capacity(len + 16);
    if bom {
        input.extend_from_slice(b"\xEF\xBB\xBF");
    }
    while input.len() < len {
        input.extend_from_slice(PIECES[(rng.next_u64() % PIECES.len() as u64) as usize]);
    }
    input
}
