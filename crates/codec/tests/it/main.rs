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
