use bourn_codec::{DecodeError, Decoder, Frame, Limits};
use bytes::BytesMut;

use crate::{decode_chunked, summary};

fn limited(line: usize, event: usize) -> Decoder {
    Decoder::with_limits(Limits::default().max_line_len(line).max_event_len(event))
}

#[test]
fn an_over_long_line_is_reported_and_decoding_resumes_after_the_next_blank_line() {
    let input = b"data: ok\n\nid: 5\ndata: 0123456789abcdef\ndata: lost\n\ndata: after\n\n";
    let expected = [
        "message|ok|".to_string(),
        "error LineTooLong { limit: 12, offset: 16 }".to_string(),
        "message|after|".to_string(),
    ];
    for chunk in [1, 2, 3, 5, 7, 64, usize::MAX] {
        let mut decoder = limited(12, 100);
        let frames = decode_chunked(&mut decoder, input, chunk);
        assert_eq!(summary(&frames), expected, "chunk {chunk}");
        assert_eq!(
            decoder.last_event_id(),
            "",
            "the discarded block's id is not committed"
        );
    }
}

#[test]
fn an_over_long_event_is_reported_with_its_size() {
    let input = b"data: 0123\ndata: 4567\ndata: 89\n\ndata: next\n\n";
    for chunk in [1, 4, usize::MAX] {
        let frames = decode_chunked(&mut limited(100, 10), input, chunk);
        assert_eq!(
            frames[0],
            Err(DecodeError::EventTooLong {
                limit: 10,
                size: 12,
                offset: 22
            })
        );
        assert_eq!(summary(&frames[1..]), ["message|next|"], "chunk {chunk}");
    }
}

#[test]
fn one_error_per_discarded_event() {
    let input = b"data: 0123456789\ndata: 0123456789\n: 0123456789\n\ndata: a\n\n";
    let frames = decode_chunked(&mut limited(8, 100), input, 3);
    assert_eq!(
        summary(&frames),
        ["error LineTooLong { limit: 8, offset: 0 }", "message|a|"]
    );
}

#[test]
fn never_buffers_past_the_limit() {
    let limit = 1024;
    let mut decoder = limited(limit, limit);
    let mut buf = BytesMut::new();
    let mut errors = 0;
    for _ in 0..10_000 {
        buf.extend_from_slice(&[b'x'; 100]);
        while let Some(frame) = decoder.decode(&mut buf).transpose() {
            assert!(frame.is_err());
            errors += 1;
        }
        assert!(buf.len() <= limit + 100, "buffered {} bytes", buf.len());
    }
    assert_eq!(errors, 1);
    buf.extend_from_slice(b"\n\ndata: back\n\n");
    let frame = decoder.decode(&mut buf).unwrap().unwrap();
    assert_eq!(frame.as_event().unwrap().data(), "back");
}

#[test]
fn error_display_names_the_limit() {
    let error = DecodeError::LineTooLong {
        limit: 1024,
        offset: 7,
    };
    assert_eq!(
        error.to_string(),
        "line at byte 7 is longer than the 1024-byte line limit; event discarded"
    );
    assert_eq!((error.limit(), error.offset()), (1024, 7));
}

/// Linear time: a 1 MiB line fed one byte at a time would take minutes if
/// each call rescanned the line (several peers do); here it is one pass.
#[test]
fn a_huge_line_one_byte_at_a_time_is_linear() {
    let mut input = b"data: ".to_vec();
    input.resize(1 << 20, b'a');
    input.extend_from_slice(b"\n\n");
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::with_capacity(input.len());
    let mut events = 0;
    for byte in &input {
        buf.extend_from_slice(std::slice::from_ref(byte));
        while let Some(Frame::Event(event)) = decoder.decode(&mut buf).unwrap() {
            assert_eq!(event.data().len(), (1 << 20) - 6);
            events += 1;
        }
    }
    assert_eq!(events, 1);

    // And a 4 MiB line in TCP-segment-sized chunks.
    let mut input = b"data: ".to_vec();
    input.resize(4 << 20, b'b');
    input.extend_from_slice(b"\n\n");
    let frames = decode_chunked(&mut Decoder::new(), &input, 1460);
    assert_eq!(frames.len(), 1);
}

/// Found by fuzzing (`decode_chunked`): a block holding invalid UTF-8 was
/// decoded with replacement as a whole, so positions after an invalid byte
/// (and the offsets in errors) were those of the replaced text, and depended
/// on where the chunks split. Offsets and line lengths are the stream's bytes.
#[test]
fn offsets_and_lengths_count_stream_bytes_around_invalid_utf8() {
    let input = b"\xfe\xff\xffu\x04\n\n\xc5\n\n";
    for chunk in [1, 2, 4, usize::MAX] {
        let frames = decode_chunked(&mut limited(0, 58), input, chunk);
        assert_eq!(
            frames,
            [
                Err(DecodeError::LineTooLong {
                    limit: 0,
                    offset: 0
                }),
                Err(DecodeError::LineTooLong {
                    limit: 0,
                    offset: 7
                }),
            ],
            "chunk {chunk}"
        );
    }
    // Three invalid bytes are three bytes against the limit, not nine.
    let frames = decode_chunked(&mut limited(9, 100), b"data:\xff\xff\xff\n\n", usize::MAX);
    assert_eq!(summary(&frames), ["message|\u{FFFD}\u{FFFD}\u{FFFD}|"]);
}
