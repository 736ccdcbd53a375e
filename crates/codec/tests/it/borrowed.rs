use bourn_codec::{DecodeError, FrameRef, RefDecoder};

/// Whether `inner` lies in `outer`'s memory.
fn within(outer: &[u8], inner: &str) -> bool {
    let outer = outer.as_ptr_range();
    let inner = inner.as_bytes().as_ptr_range();
    outer.start <= inner.start && inner.end <= outer.end
}

#[test]
fn values_of_a_complete_event_borrow_the_chunk() {
    let chunk = b"id: 1\nevent: e\ndata: payload\n\n: note\n\n";
    let mut decoder = RefDecoder::new();
    let mut seen = 0;
    decoder.feed(chunk, |frame| match frame.unwrap() {
        FrameRef::Event(event) => {
            assert!(within(chunk, event.data()));
            assert!(within(chunk, event.event_type()));
            assert!(within(chunk, event.id().unwrap()));
            assert_eq!(event.last_event_id(), "1");
            seen += 1;
        }
        FrameRef::Comment(comment) => {
            assert!(within(chunk, comment));
            seen += 1;
        }
        other => panic!("{other:?}"),
    });
    assert_eq!(seen, 2);
    assert_eq!(decoder.last_event_id(), "1");
}

#[test]
fn no_allocation_per_single_line_event() {
    const EVENTS: u64 = 10_000;
    let mut input = Vec::new();
    for i in 0..EVENTS {
        input
            .extend_from_slice(format!("id: {i}\nevent: tick\ndata: {{\"n\":{i}}}\n\n").as_bytes());
    }
    let mut decoder = RefDecoder::new();
    let mut events = 0;
    let info = allocation_counter::measure(|| {
        // In 4 KiB chunks: events that span two chunks are copied into the
        // decoder's buffers, which keep their capacity.
        for chunk in input.chunks(4096) {
            decoder.feed(chunk, |frame| {
                assert!(matches!(frame, Ok(FrameRef::Event(_))));
                events += 1;
            });
        }
    });
    assert_eq!(events, EVENTS);
    // Only while the reused buffers (partial line, values, last event ID)
    // grow to their largest size.
    assert!(
        info.count_total <= 16,
        "{} allocations for {EVENTS} events",
        info.count_total
    );
}

/// Linear time, as `Decoder`: a 1 MiB line one byte at a time, and a 4 MiB
/// line in TCP-segment-sized chunks.
#[test]
fn a_huge_line_in_small_chunks_is_linear() {
    for (len, chunk) in [(1 << 20, 1), (4 << 20, 1460)] {
        let mut input = b"data: ".to_vec();
        input.resize(len, b'a');
        input.extend_from_slice(b"\n\n");
        let mut decoder = RefDecoder::new();
        let mut events = 0;
        for piece in input.chunks(chunk) {
            decoder.feed(piece, |frame| {
                let Ok(FrameRef::Event(event)) = frame else {
                    panic!("an event")
                };
                assert_eq!(event.data().len(), len - 6);
                events += 1;
            });
        }
        assert_eq!(events, 1);
    }
}

/// A frame as text, the same for both decoders.
fn frames_of_owned(limits: bourn_codec::Limits, input: &[u8]) -> Vec<Result<String, DecodeError>> {
    let mut decoder = bourn_codec::Decoder::with_limits(limits);
    let mut buf = bytes::BytesMut::from(input);
    let mut out = Vec::new();
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(None) => break,
            Ok(Some(bourn_codec::Frame::Event(e))) => out.push(Ok(format!(
                "event {:?} {:?} {:?} {:?}",
                e.event_type(),
                e.data(),
                e.id(),
                e.last_event_id()
            ))),
            Ok(Some(bourn_codec::Frame::Retry(retry))) => out.push(Ok(format!("retry {retry:?}"))),
            Ok(Some(bourn_codec::Frame::Comment(comment))) => {
                out.push(Ok(format!("comment {comment:?}")));
            }
            Ok(Some(other)) => out.push(Ok(format!("{other:?}"))),
            Err(error) => out.push(Err(error)),
        }
    }
    out
}

fn frames_of_ref(
    limits: bourn_codec::Limits,
    input: &[u8],
    chunk: usize,
) -> Vec<Result<String, DecodeError>> {
    let mut decoder = RefDecoder::with_limits(limits);
    let mut out = Vec::new();
    for piece in input.chunks(chunk) {
        decoder.feed(piece, |frame| {
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
            }));
        });
    }
    decoder.finish();
    out
}

/// Small chunks that complete a held line are read together with it
/// (`JOIN_MAX`), and `data`/`event`/`id` lines skip the general parser:
/// the same frames, errors and error offsets as `Decoder` at every chunk
/// size around those paths, over lines that end in every way, fields
/// without a colon or space, look-alike names, a line over the limit, an
/// event over the limit and invalid UTF-8 in joined data.
#[test]
fn small_chunks_and_common_fields_match_the_owned_decoder() {
    let mut input = Vec::new();
    for i in 0..40 {
        input.extend_from_slice(
            format!("id: {i}\r\nevent:tick\rdata: {{\"n\":{i},\"s\":\"é\"}}\ndata\n\n").as_bytes(),
        );
        input.extend_from_slice(b"id\nevent\ndata:x\r\n\r\n");
        input.extend_from_slice(b"datax: no\nevents: no\nidx: no\nid: a\0b\ndata:  two spaces\n\n");
        input.extend_from_slice(b": note\nretry: 250\ndata: a\xFFb\ndata: c\n\n");
        input.extend_from_slice(b"data: ");
        input.extend(std::iter::repeat_n(b'x', 150 + i));
        input.extend_from_slice(b"\n\ndata: after the long line\n\n");
        input.extend_from_slice(b"data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n");
    }
    let limits = bourn_codec::Limits::default()
        .max_line_len(160)
        .max_event_len(30);
    let expected = frames_of_owned(limits, &input);
    assert!(expected.iter().any(Result::is_err), "the limits are hit");
    for chunk in (1..=70).chain([127, 128, 300, 511, 512, 513, 600, 1024, 4096]) {
        assert_eq!(
            frames_of_ref(limits, &input, chunk),
            expected,
            "in {chunk}-byte chunks"
        );
    }
}
