//! insta snapshots of the encoder's output on representative events.

use std::fmt::Write as _;
use std::time::Duration;

use bourn_codec::{Event, EventType, Frame, Id};

fn render(cases: &[(&str, Vec<u8>)]) -> String {
    let mut out = String::new();
    for (name, bytes) in cases {
        // One line per encoded line, line endings shown, so the snapshot
        // reads like the wire.
        writeln!(out, "--- {name}").unwrap();
        let text = std::str::from_utf8(bytes).expect("the encoder writes UTF-8");
        for line in text.split_inclusive('\n') {
            for c in line.chars() {
                match c {
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c if c.is_control() || c == '\u{FEFF}' => {
                        write!(out, "\\u{{{:X}}}", u32::from(c)).unwrap()
                    }
                    c => out.push(c),
                }
            }
            out.push('\n');
        }
    }
    out
}

#[test]
fn encoder_output() {
    let event = |builder: bourn_codec::EventBuilder| builder.build().to_bytes().to_vec();
    let cases = vec![
        ("message", Event::message("hello").to_bytes().to_vec()),
        (
            "typed with id",
            event(
                Event::builder()
                    .event(EventType::from_static("price"))
                    .id(Id::from_static("42"))
                    .data("YHOO\n+2\n10"),
            ),
        ),
        (
            "llm token",
            event(Event::builder().data(r#"{"choices":[{"delta":{"content":"Hi"}}]}"#)),
        ),
        (
            "every line break kind",
            event(Event::builder().data("lf\ncrlf\r\ncr\rend")),
        ),
        ("empty data", event(Event::builder().data(""))),
        (
            "leading and trailing space",
            event(Event::builder().data(" padded ")),
        ),
        ("trailing newline", event(Event::builder().data("line\n"))),
        (
            "injection attempt in data",
            event(Event::builder().data("hi\revent: evil\n\ndata: x")),
        ),
        (
            "empty id resets",
            event(Event::builder().id(Id::from_static("")).data("x")),
        ),
        (
            "id only",
            event(Event::builder().id(Id::from_static("epoch.7"))),
        ),
        (
            "retry and comment",
            event(
                Event::builder()
                    .comment("hello\nworld")
                    .retry(Duration::from_millis(2500))
                    .data("x"),
            ),
        ),
        (
            "everything",
            event(
                Event::builder()
                    .comment("c")
                    .event(EventType::from_static("e"))
                    .id(Id::from_static("1"))
                    .retry(Duration::from_secs(3))
                    .data("a\nb"),
            ),
        ),
        (
            "unicode",
            event(
                Event::builder()
                    .event(EventType::from_static("caf\u{e9}"))
                    .data("\u{1F600} \u{FEFF}"),
            ),
        ),
        (
            "keep-alive frame",
            Frame::Comment("".into()).to_bytes().to_vec(),
        ),
        (
            "retry frame",
            Frame::Retry(Duration::from_millis(1500))
                .to_bytes()
                .to_vec(),
        ),
    ];
    insta::assert_snapshot!(render(&cases));
}
