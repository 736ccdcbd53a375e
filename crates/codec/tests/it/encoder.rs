use std::time::Duration;

use bourn_codec::{Event, EventType, Field, Frame, Id, MessageEvent};

#[test]
fn fields_in_order_and_data_split_at_every_line_ending() {
    let event = Event::builder()
        .comment("two\nlines")
        .event(EventType::from_static("e"))
        .id(Id::from(1))
        .retry(Duration::from_millis(2500))
        .data("a\r\nb\rc\nd")
        .build();
    let bytes = event.to_bytes();
    assert_eq!(
        bytes,
        ": two\n: lines\nevent: e\nid: 1\nretry: 2500\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
    );
    assert_eq!(event.encoded_len(), bytes.len());
}

#[test]
fn edge_values_survive() {
    let cases: &[(&str, &str)] = &[
        ("", "data\n\n"),
        (" lead", "data:  lead\n\n"),
        ("trail\n", "data: trail\ndata\n\n"),
        ("\n", "data\ndata\n\n"),
    ];
    for (data, wire) in cases {
        let event = Event::message(*data);
        let expected = wire.replace("data\n", "data:\n");
        assert_eq!(event.to_bytes(), expected, "{data:?}");
        assert_eq!(event.encoded_len(), expected.len());
    }
    let id_only = Event::builder().id(Id::from_static("")).build();
    assert_eq!(id_only.to_bytes(), "id:\n\n");
}

#[test]
fn values_that_would_change_the_stream_are_refused() {
    let cases = [
        (EventType::new("a\nb").map(drop), Field::Event, 1, b'\n'),
        (EventType::new("\rb").map(drop), Field::Event, 0, b'\r'),
        (Id::new("12\0").map(drop), Field::Id, 2, 0),
        (Id::new("x\r\n").map(drop), Field::Id, 1, b'\r'),
    ];
    for (made, field, index, byte) in cases {
        let error = made.unwrap_err();
        assert_eq!(
            (error.field(), error.index(), error.byte()),
            (field, index, byte)
        );
    }
    let error = Id::new("a\nb").unwrap_err();
    assert_eq!(
        error.to_string(),
        "`id` field contains a line feed at byte 1, which would change the event stream"
    );
}

#[test]
fn frames() {
    assert_eq!(
        Frame::Retry(Duration::from_secs(3)).to_bytes(),
        "retry: 3000\n"
    );
    assert_eq!(Frame::Comment("".into()).to_bytes(), ":\n");
    assert_eq!(Frame::Comment("ping".into()).to_bytes(), ": ping\n");
    let received = MessageEvent::new("a\nb")
        .with_event_type(EventType::from_static("t"))
        .with_id(Id::from(4));
    assert_eq!(
        Frame::Event(received).to_bytes(),
        "event: t\nid: 4\ndata: a\ndata: b\n\n"
    );
}

#[test]
fn into_builder_keeps_fields_and_sets_new_ones() {
    let event = Event::builder()
        .event(EventType::from_static("e"))
        .data("d")
        .build();
    let event = event.into_builder().id(Id::from(9)).build();
    assert_eq!(event.to_bytes(), "event: e\nid: 9\ndata: d\n\n");
}
