use bourn_codec::{Decoder, Frame};
use bytes::BytesMut;

/// Whether `inner` lies in the memory `outer` (an address range) covers.
fn within(outer: &std::ops::Range<usize>, inner: &str) -> bool {
    let inner = inner.as_bytes().as_ptr_range();
    outer.start <= inner.start as usize && inner.end as usize <= outer.end
}

#[test]
fn single_line_values_are_slices_of_the_input() {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::with_capacity(256);
    buf.extend_from_slice(b"id: 1\nevent: e\ndata: payload\n\n: note\n\n");
    let memory = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let Some(Frame::Event(event)) = decoder.decode(&mut buf).unwrap() else {
        panic!("an event")
    };
    assert!(within(&memory, event.data()));
    assert!(within(&memory, event.event_type()));
    assert!(within(&memory, event.id().unwrap()));
    assert!(within(&memory, decoder.last_event_id()));
    let Some(Frame::Comment(comment)) = decoder.decode(&mut buf).unwrap() else {
        panic!("a comment")
    };
    assert!(within(&memory, &comment));
}

#[test]
fn no_allocation_per_single_line_event() {
    const EVENTS: u64 = 10_000;
    let mut input = BytesMut::new();
    for i in 0..EVENTS {
        input
            .extend_from_slice(format!("id: {i}\nevent: tick\ndata: {{\"n\":{i}}}\n\n").as_bytes());
    }
    let mut decoder = Decoder::new();
    let mut events = 0;
    let info = allocation_counter::measure(|| {
        while let Some(frame) = decoder.decode(&mut input).unwrap() {
            assert!(matches!(frame, Frame::Event(_)));
            events += 1;
        }
    });
    assert_eq!(events, EVENTS);
    // One allocation in all: `BytesMut` turns its buffer into a shared one the
    // first time a slice is cut from it.
    assert!(
        info.count_total <= 1,
        "{} allocations for {EVENTS} events",
        info.count_total
    );
}

#[test]
fn multi_line_data_is_the_only_copy() {
    let mut input = BytesMut::new();
    for _ in 0..100 {
        input.extend_from_slice(b"data: a\ndata: b\ndata: c\n\n");
    }
    let mut decoder = Decoder::new();
    let info = allocation_counter::measure(|| {
        while let Some(frame) = decoder.decode(&mut input).unwrap() {
            assert_eq!(frame.as_event().unwrap().data(), "a\nb\nc");
        }
    });
    // Per event: the joined buffer, and the shared header `Bytes` puts on it
    // when it is frozen with spare capacity.
    assert!(
        info.count_total <= 2 * 100 + 1,
        "{} allocations",
        info.count_total
    );
}
