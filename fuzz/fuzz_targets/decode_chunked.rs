//! Any chunking (and any small limits) gives the same frames, errors and last
//! event ID as feeding the stream in one piece; nothing is withheld until end
//! of stream.
//!
//! Input layout: byte 0 holds the number of chunk lengths (low 4 bits) and,
//! in its high bit, whether limits follow; then `max_line_len` and
//! `max_event_len` (one byte each) if so; then the chunk lengths (each byte
//! + 1, used in a cycle; none means one byte at a time); the rest is the
//! stream.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use bourn_codec::{DecodeError, Decoder, Frame, Limits};

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

    let whole = run(limits, input, &[input.len().max(1)]);
    let mut lens: Vec<usize> = lens.iter().map(|&len| usize::from(len) + 1).collect();
    if lens.is_empty() {
        // No lengths: one byte at a time.
        lens.push(1);
    }
    let chunked = run(limits, input, &lens);
    assert_eq!(chunked, whole);
});

type Output = (Vec<Result<Frame, DecodeError>>, String);

fn run(limits: Limits, input: &[u8], lens: &[usize]) -> Output {
    let mut decoder = Decoder::with_limits(limits);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = input;
    for &len in lens.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(None) => break,
                result => out.push(result.map(|frame| frame.expect("Some"))),
            }
        }
    }
    // End of stream only discards: nothing may have been withheld.
    assert_eq!(decoder.decode_eof(&mut buf), Ok(None));
    (out, decoder.last_event_id().to_owned())
}
