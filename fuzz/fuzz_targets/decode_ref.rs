//! The borrowing `RefDecoder`, fed in any chunking (and with any small
//! limits), gives the same frames, errors and last event ID as `Decoder` fed
//! the stream in one piece.
//!
//! Input layout: as `decode_chunked` (byte 0: the number of chunk lengths in
//! its low 4 bits, whether limits follow in its high bit; the limits; the
//! chunk lengths; the stream).
#![no_main]

use bourn_codec::{DecodeError, Decoder, FrameRef, Limits, RefDecoder};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&header, rest)) = data.split_first() else {
        return;
    };
    let (limits, rest) = if header & 0x80 != 0 {
        let [line, event, rest @ ..] = rest else {
            return;
        };
        let limits = Limits::default()
            .max_line_len(usize::from(*line))
            .max_event_len(usize::from(*event));
        (limits, rest)
    } else {
        (Limits::default(), rest)
    };
    let count = usize::from(header & 0x0F).min(rest.len());
    let (lens, input) = rest.split_at(count);
    let mut lens: Vec<usize> = lens.iter().map(|&len| usize::from(len) + 1).collect();
    if lens.is_empty() {
        lens.push(1);
    }
    assert_eq!(borrowed(limits, input, &lens), owned(limits, input));
});

/// A frame as text, the same for both decoders.
type Output = (Vec<Result<String, DecodeError>>, String);

fn owned(limits: Limits, input: &[u8]) -> Output {
    let mut decoder = Decoder::with_limits(limits);
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(None) => break,
            Ok(Some(frame)) => out.push(Ok(match frame {
                bourn_codec::Frame::Event(e) => format!(
                    "event {:?} {:?} {:?} {:?}",
                    e.event_type(),
                    e.data(),
                    e.id(),
                    e.last_event_id()
                ),
                bourn_codec::Frame::Retry(retry) => format!("retry {retry:?}"),
                bourn_codec::Frame::Comment(comment) => format!("comment {comment:?}"),
                other => format!("{other:?}"),
            })),
            Err(error) => out.push(Err(error)),
        }
    }
    (out, decoder.last_event_id().to_owned())
}

fn borrowed(limits: Limits, input: &[u8], lens: &[usize]) -> Output {
    let mut decoder = RefDecoder::with_limits(limits);
    let mut out = Vec::new();
    let mut rest = input;
    for &len in lens.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        decoder.feed(chunk, |frame| {
            out.push(frame.map(|frame| match frame {
                FrameRef::Event(e) => format!(
                    "event {:?} {:?} {:?} {:?}",
                    e.event_type(),
                    e.data(),
                    e.id(),
                    e.last_event_id()
                ),
                FrameRef::Retry(retry) => format!("retry {retry:?}"),
                FrameRef::Comment(comment) => format!("comment {comment:?}"),
                other => format!("{other:?}"),
            }))
        });
    }
    decoder.finish();
    (out, decoder.last_event_id().to_owned())
}
