use bourn_codec::{FrameRef, RefDecoder};

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
