use bourn_codec::{Decoder, Frame};
use bytes::BytesMut;

use crate::{decode_chunked, summary};

fn decode_all(input: &[u8]) -> Vec<String> {
    let whole = summary(&decode_chunked(&mut Decoder::new(), input, usize::MAX));
    for chunk in 1..=3 {
        let chunked = summary(&decode_chunked(&mut Decoder::new(), input, chunk));
        assert_eq!(
            chunked,
            whole,
            "{chunk}-byte chunks of {:?}",
            input.escape_ascii().to_string()
        );
    }
    whole
}

#[test]
fn step_by_step() {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"event: a");
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"\ndata: 1\n");
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"\n");
    let frame = decoder.decode(&mut buf).unwrap().unwrap();
    let event = frame.as_event().unwrap();
    assert_eq!((event.event_type(), event.data()), ("a", "1"));
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert!(buf.is_empty(), "everything consumed: {buf:?}");
}

#[test]
fn a_cr_at_the_end_of_the_input_ends_the_line_at_once() {
    // A client must not wait for more bytes to see a complete event.
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from("data: a\r\r");
    let frame = decoder.decode(&mut buf).unwrap();
    assert_eq!(frame.unwrap().as_event().unwrap().data(), "a");
    // The LF that may follow belongs to the CR: it is not a blank line.
    buf.extend_from_slice(b"\ndata: b\r");
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"\n\r\n");
    let frame = decoder.decode(&mut buf).unwrap();
    assert_eq!(frame.unwrap().as_event().unwrap().data(), "b");
}

#[test]
fn line_endings() {
    let expected = vec!["message|a\\nb|".to_string(), "message|c|".to_string()];
    assert_eq!(decode_all(b"data: a\ndata: b\n\ndata: c\n\n"), expected);
    assert_eq!(
        decode_all(b"data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n"),
        expected
    );
    assert_eq!(decode_all(b"data: a\rdata: b\r\rdata: c\r\r"), expected);
    assert_eq!(decode_all(b"data: a\r\ndata: b\r\rdata: c\n\r\n"), expected);
}

#[test]
fn bom() {
    assert_eq!(decode_all(b"\xEF\xBB\xBFdata: a\n\n"), ["message|a|"]);
    // Only one, and only at the start: a second BOM makes the field unknown.
    assert_eq!(
        decode_all(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n"),
        ["message|b|"]
    );
    assert_eq!(
        decode_all(b"data: a\n\n\xEF\xBB\xBFdata: b\n\n"),
        ["message|a|"]
    );
    // A BOM prefix that is not a BOM is kept (and decoded with replacement).
    assert_eq!(decode_all(b"\xEF\xBBdata: a\n\n"), Vec::<String>::new());
    assert_eq!(decode_all(b"\xEF\xBB:\ndata: a\n\n"), ["message|a|"]);
}

#[test]
fn last_event_id_is_committed_at_every_blank_line() {
    let mut decoder = Decoder::new();
    let frames = decode_chunked(&mut decoder, b"id: 7\n\n", 1);
    assert!(frames.is_empty());
    assert_eq!(decoder.last_event_id(), "7", "an id-only block moves it");

    let frames = decode_chunked(&mut decoder, b"data: x\n\n", 1);
    assert_eq!(
        summary(&frames),
        ["message|x|7"],
        "it persists across events"
    );

    decode_chunked(&mut decoder, b"id: 8\ndata: y\n", 1);
    assert_eq!(
        decoder.last_event_id(),
        "7",
        "not committed without a blank line"
    );

    decode_chunked(&mut decoder, b"id\n\n", 1);
    assert_eq!(decoder.last_event_id(), "", "an empty id clears it");

    decode_chunked(&mut decoder, b"id: a\0b\n\n", 1);
    assert_eq!(decoder.last_event_id(), "", "an id with NUL is ignored");
}

#[test]
fn event_ids() {
    let mut decoder = Decoder::new().with_last_event_id("41");
    let frames = decode_chunked(&mut decoder, b"data: a\n\nid: 42\ndata: b\n\n", 2);
    let events: Vec<_> = frames
        .into_iter()
        .map(|f| f.unwrap().into_event().unwrap())
        .collect();
    assert_eq!((events[0].id(), events[0].last_event_id()), (None, "41"));
    assert_eq!(
        (events[1].id(), events[1].last_event_id()),
        (Some("42"), "42")
    );
}

#[test]
fn retry_is_reported_when_its_line_is_read() {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from("retry: 1500\n");
    assert_eq!(
        decoder.decode(&mut buf),
        Ok(Some(Frame::Retry(std::time::Duration::from_millis(1500))))
    );
    for bad in [
        "retry: +1\n",
        "retry: 1.5\n",
        "retry:\n",
        "retry: 1 \n",
        "retry: 99999999999999999999\n",
    ] {
        assert_eq!(decode_all(bad.as_bytes()), Vec::<String>::new(), "{bad:?}");
    }
    assert_eq!(decode_all(b"retry: 0\n"), ["retry 0"]);
    assert_eq!(decode_all(b"retry:7\n"), ["retry 7"]);
}

#[test]
fn comments_and_unknown_fields() {
    assert_eq!(
        decode_all(b": hello\n:\ncomment: no\nfoo\ndata: a\n\n"),
        ["comment hello", "comment ", "message|a|"]
    );
}

#[test]
fn empty_data_dispatches_no_event_but_resets_the_type() {
    assert_eq!(decode_all(b"event: a\n\ndata: b\n\n"), ["message|b|"]);
    assert_eq!(decode_all(b"event: a\ndata\n\n"), ["a||"]);
    assert_eq!(decode_all(b"event:\ndata: x\n\n"), ["message|x|"]);
}

#[test]
fn invalid_utf8_is_replaced_and_decoding_goes_on() {
    assert_eq!(
        decode_all(b"data: a\xFFb\n\nevent: \xC3\ndata: \xE2\x82\ndata: \xAC\n\n"),
        ["message|a\u{FFFD}b|", "\u{FFFD}|\u{FFFD}\\n\u{FFFD}|"]
    );
}

#[test]
fn an_unfinished_event_at_the_end_is_discarded() {
    assert_eq!(decode_all(b"data: a\n\ndata: b\n"), ["message|a|"]);
    assert_eq!(decode_all(b"data: a\n\nretry: 5"), ["message|a|"]);
}

#[test]
fn decode_eof_resets_for_a_new_stream() {
    let mut decoder = Decoder::new();
    decode_chunked(&mut decoder, b"id: 1\n\ndata: half", 3);
    let frames = decode_chunked(&mut decoder, b"\xEF\xBB\xBFdata: b\n\n", 1);
    assert_eq!(summary(&frames), ["message|b|1"]);
}

#[test]
fn an_event_with_an_id_reports_it_as_its_last_event_id() {
    use bourn_codec::{Id, MessageEvent};
    let mut decoder = Decoder::new().with_last_event_id("0");
    let mut buf = BytesMut::from("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n");
    let mut events = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf).unwrap() {
        events.push(frame.into_event().unwrap());
    }
    let ids: Vec<_> = events.iter().map(|e| (e.id(), e.last_event_id())).collect();
    assert_eq!(ids, [(Some("7"), "7"), (None, "7"), (Some(""), "")]);
    // Equality and hashing see what the getters report.
    assert_eq!(events[0], events[0].clone());
    assert_eq!(events[0], MessageEvent::new("a").with_id(Id::from(7)));
    assert_ne!(events[0], MessageEvent::new("a").with_last_event_id("7"));
    assert_eq!(events[1], MessageEvent::new("b").with_last_event_id("7"));
    let made = MessageEvent::new("c").with_id(Id::from_static(""));
    assert_eq!(events[2], made, "both report an empty last event ID");
}

/// `decode_bytes` gives `decode`'s frames for chunks large enough to be
/// sliced (the conformance suite's chunks are small, and copied), with
/// lines, CRLF pairs and invalid UTF-8 split at every kind of boundary.
#[test]
fn decode_bytes_equals_decode_on_large_chunks() {
    use bytes::Bytes;
    let mut rng = crate::Rng(0x2545_F491_4F6C_DD1D);
    for round in 0..12 {
        let input = crate::mixed_stream(&mut rng, round % 3 == 0, 100_000);
        let expected = summary(&decode_chunked(&mut Decoder::new(), &input, usize::MAX));
        let mut expected_id = Decoder::new();
        let _ = decode_chunked(&mut expected_id, &input, usize::MAX);
        for fixed in [512, 4096, 16 * 1024, 16 * 1024 + 1, 20_000, 0] {
            let mut decoder = Decoder::new();
            let mut frames = Vec::new();
            let mut rest = &input[..];
            while !rest.is_empty() {
                let len = match fixed {
                    0 => 1 + (rng.next_u64() % 40_000) as usize,
                    n => n,
                };
                let (piece, tail) = rest.split_at(len.min(rest.len()));
                rest = tail;
                let mut chunk = Bytes::copy_from_slice(piece);
                loop {
                    match decoder.decode_bytes(&mut chunk) {
                        Ok(None) => break,
                        result => frames.push(result.map(|frame| frame.expect("a frame"))),
                    }
                }
            }
            loop {
                match decoder.decode_eof(&mut BytesMut::new()) {
                    Ok(None) => break,
                    result => frames.push(result.map(|frame| frame.expect("a frame"))),
                }
            }
            assert_eq!(
                summary(&frames),
                expected,
                "round {round}, chunks of {fixed}"
            );
            assert_eq!(decoder.last_event_id(), expected_id.last_event_id());
        }
    }
}

/// A large block is checked as UTF-8 in spans: values in the first span,
/// in later ones, across a span's end and after a span that is not valid
/// UTF-8 all decode as they do value by value (small chunks) and as the
/// spec says (the invalid bytes replaced, nothing else changed).
#[test]
fn large_blocks_are_checked_in_spans() {
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for i in 0..1_500 {
        let bad = i == 700 || i == 701;
        input.extend_from_slice(format!("event: t{i}\n: note {i}\ndata: é {i} ").as_bytes());
        input.extend_from_slice(if bad { b"\xFF" } else { b"\xC3\xA9" });
        input.extend_from_slice(format!("\ndata: line two {i}\nid: {i}\n\n").as_bytes());
        let mark = if bad { '\u{FFFD}' } else { 'é' };
        expected.push(format!("comment note {i}"));
        expected.push(format!("t{i}|é {i} {mark}\\nline two {i}|{i}"));
    }
    assert!(input.len() > 4 * 16 * 1024, "several spans");
    for chunk in [usize::MAX, 4096, 61] {
        let frames = summary(&decode_chunked(&mut Decoder::new(), &input, chunk));
        assert_eq!(frames, expected, "{chunk}-byte chunks");
    }
}
