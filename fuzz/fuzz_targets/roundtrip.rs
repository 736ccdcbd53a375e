//! Encode → decode: any event built from accepted values decodes back to itself
//! (line breaks in data and comments as LF); a refused `event` or `id`
//! value really holds a forbidden character.
#![no_main]

use std::time::Duration;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use bourn_codec::{Decoder, EncodeError, Event, EventType, Field, Frame, Id};

type Input = (Option<String>, Option<String>, Option<String>, Option<u64>, Option<String>);

fuzz_target!(|input: Input| {
    let (comment, event_type, id, retry, data) = input;
    // The `event` and `id` values are checked when made; a refused one
    // really holds a forbidden character, at the reported index.
    let checked_type = match event_type.as_deref().map(EventType::new).transpose() {
        Ok(checked) => checked,
        Err(error) => return refused(&error, Field::Event, event_type.as_deref()),
    };
    let checked_id = match id.as_deref().map(Id::new).transpose() {
        Ok(checked) => checked,
        Err(error) => return refused(&error, Field::Id, id.as_deref()),
    };
    let mut builder = Event::builder();
    if let Some(comment) = &comment {
        builder = builder.comment(comment.as_str());
    }
    if let Some(event_type) = checked_type {
        builder = builder.event(event_type);
    }
    if let Some(id) = checked_id {
        builder = builder.id(id);
    }
    if let Some(ms) = retry {
        builder = builder.retry(Duration::from_millis(ms));
    }
    if let Some(data) = &data {
        builder = builder.data(data.as_str());
    }
    let event = builder.build();

    let mut wire = BytesMut::new();
    event.encode(&mut wire);
    assert_eq!(wire.len(), event.encoded_len());

    let mut expected = Vec::new();
    if let Some(comment) = &comment {
        for line in normalize(comment).split('\n') {
            expected.push(Frame::Comment(line.into()));
        }
    }
    if let Some(ms) = retry {
        expected.push(Frame::Retry(Duration::from_millis(ms)));
    }

    let mut decoder = Decoder::new();
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode(&mut wire).expect("within limits") {
        frames.push(frame);
    }
    let (events, others): (Vec<_>, Vec<_>) =
        frames.into_iter().partition(|frame| matches!(frame, Frame::Event(_)));
    assert_eq!(others, expected);
    match (&data, events.as_slice()) {
        (None, []) => {}
        (Some(data), [Frame::Event(decoded)]) => {
            assert_eq!(decoded.data(), normalize(data));
            let expected_type = event_type.as_deref().filter(|t| !t.is_empty()).unwrap_or("message");
            assert_eq!(decoded.event_type(), expected_type);
            assert_eq!(decoded.id(), id.as_deref());
        }
        (data, events) => panic!("data {data:?} decoded to {events:?}"),
    }
    assert_eq!(decoder.last_event_id(), id.as_deref().unwrap_or(""));
});

fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn refused(error: &EncodeError, field: Field, value: Option<&str>) {
    assert_eq!(error.field(), field);
    let value = value.expect("the refused field was set");
    assert_eq!(value.as_bytes()[error.index()], error.byte());
    assert!(matches!(error.byte(), b'\r' | b'\n' | b'\0'));
}
