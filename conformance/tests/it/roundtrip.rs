//! Encode → decode round trips of arbitrary built events.

use std::time::Duration;

use bourn_codec::{Event, EventType, Id};
use bourn_conformance::reference;
use bourn_conformance::vectors::{EventFrame, Frame};
use bytes::BytesMut;
use proptest::prelude::*;

use super::support::{config, cuts, decode, picks};

/// Text over characters that stress the encoder: line breaks of all kinds,
/// colons, spaces, NUL, a BOM and non-ASCII.
fn text(allowed: &'static [char]) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(allowed), 0..12)
        .prop_map(|chars| chars.into_iter().collect())
}

const ANY: &[char] = &[
    'a',
    'b',
    ' ',
    ':',
    '\r',
    '\n',
    '\0',
    '\u{FEFF}',
    '\u{e9}',
    '\u{1F600}',
];
const NO_BREAK: &[char] = &['a', 'b', ' ', ':', '\0', '\u{FEFF}', '\u{e9}', '\u{1F600}'];
const NO_BREAK_NO_NUL: &[char] = &['a', 'b', ' ', ':', '\u{FEFF}', '\u{e9}', '\u{1F600}'];

#[derive(Debug, Clone)]
struct Input {
    comment: Option<String>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    data: Option<String>,
}

fn input() -> impl Strategy<Value = Input> {
    (
        prop::option::weighted(0.2, text(ANY)),
        prop::option::weighted(0.4, text(NO_BREAK)),
        prop::option::weighted(0.4, text(NO_BREAK_NO_NUL)),
        prop::option::weighted(0.2, any::<u64>()),
        prop::option::weighted(0.8, text(ANY)),
    )
        .prop_map(|(comment, event, id, retry, data)| Input {
            comment,
            event,
            id,
            retry,
            data,
        })
}

fn build(input: &Input) -> Event {
    let mut builder = Event::builder();
    if let Some(comment) = &input.comment {
        builder = builder.comment(comment.as_str());
    }
    if let Some(event) = &input.event {
        builder = builder.event(EventType::new(event.as_str()).expect("no line break"));
    }
    if let Some(id) = &input.id {
        builder = builder.id(Id::new(id.as_str()).expect("no line break, no NUL"));
    }
    if let Some(ms) = input.retry {
        builder = builder.retry(Duration::from_millis(ms));
    }
    if let Some(data) = &input.data {
        builder = builder.data(data.as_str());
    }
    builder.build()
}

/// CRLF, then lone CR, become LF: what a decoder gives back.
fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// What decoding the encoded events must give.
fn expected(inputs: &[Input]) -> (Vec<Frame>, String) {
    let mut frames = Vec::new();
    let mut last_event_id = String::new();
    for input in inputs {
        if let Some(comment) = &input.comment {
            frames.extend(
                normalize(comment)
                    .split('\n')
                    .map(|line| Frame::Comment(line.to_owned())),
            );
        }
        if let Some(ms) = input.retry {
            frames.push(Frame::Retry(ms));
        }
        if let Some(id) = &input.id {
            last_event_id = id.clone();
        }
        if let Some(data) = &input.data {
            let event_type = match input.event.as_deref() {
                None | Some("") => "message".to_owned(),
                Some(event_type) => event_type.to_owned(),
            };
            frames.push(Frame::Event(EventFrame {
                event_type,
                data: normalize(data),
                id: input.id.clone(),
                last_event_id: last_event_id.clone(),
            }));
        }
    }
    (frames, last_event_id)
}

proptest! {
    #![proptest_config(config("proptest-regressions/roundtrip.txt"))]

    #[test]
    fn encode_then_decode_gives_the_events_back(
        inputs in prop::collection::vec(input(), 1..5),
        picks in picks(),
    ) {
        let mut wire = BytesMut::new();
        for input in &inputs {
            let event = build(input);
            let before = wire.len();
            event.encode(&mut wire);
            prop_assert_eq!(wire.len() - before, event.encoded_len());
            prop_assert_eq!(&wire[before..], &event.to_bytes()[..]);
        }
        let (frames, last_event_id) = expected(&inputs);
        let decoded = decode(&wire, &cuts(wire.len(), &picks), None);
        prop_assert_eq!(&decoded.frames, &frames);
        prop_assert_eq!(&decoded.last_event_id, &last_event_id);
        let model = reference::interpret(&wire, "");
        prop_assert_eq!(&model.frames, &frames);
    }

    #[test]
    fn event_or_id_with_a_line_break_is_refused(
        before in text(NO_BREAK_NO_NUL),
        brk in prop::sample::select(vec!["\r", "\n", "\r\n"]),
        after in text(ANY),
        in_id in any::<bool>(),
    ) {
        let value = format!("{before}{brk}{after}");
        let made = if in_id {
            Id::new(value).map(drop)
        } else {
            EventType::new(value).map(drop)
        };
        let error = made.expect_err("a line break must be refused");
        prop_assert_eq!(error.index(), before.len());
    }
}
