//! `bourn decode` on a captured stream (BOM, CRLF, bare CR, comments,
//! retry, multi-line data, an id-only block, an id reset and an
//! unterminated last event).

use super::support::run;

const CAPTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/capture.txt");

const EXPECTED: [&str; 5] = [
    r#"{"retry":2500}"#,
    r#"{"data":"first","id":"1","last_event_id":"1","type":"tick"}"#,
    r#"{"data":"two\nlines","id":null,"last_event_id":"1","type":"message"}"#,
    r#"{"data":"after an id-only block","id":null,"last_event_id":"3","type":"message"}"#,
    r#"{"data":"id cleared","id":"","last_event_id":"","type":"message"}"#,
];

#[test]
fn a_capture_decodes_the_same_from_a_file_stdin_and_any_chunking() {
    let whole = run(&["decode", CAPTURE], b"");
    assert_eq!(whole.code(), Some(0), "{whole:?}");
    assert_eq!(whole.stdout.lines().collect::<Vec<_>>(), EXPECTED);

    let bytes = std::fs::read(CAPTURE).unwrap();
    for args in [
        vec!["decode"],
        vec!["decode", "-"],
        vec!["decode", "--chunk", "1"],
        vec!["decode", "--chunk", "7", "-"],
    ] {
        let output = run(&args, &bytes);
        assert_eq!(
            output.stdout.lines().collect::<Vec<_>>(),
            EXPECTED,
            "{args:?}"
        );
    }
}

#[test]
fn comments_on_request() {
    let output = run(&["decode", "--comments", "--chunk", "2", CAPTURE], b"");
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines[0], r#"{"comment":"hello"}"#);
    assert!(lines.contains(&r#"{"comment":"keep-alive"}"#));
    assert_eq!(lines.len(), EXPECTED.len() + 2);
}

#[test]
fn a_missing_file_exits_1() {
    let output = run(&["decode", "/nonexistent/capture"], b"");
    assert_eq!(output.code(), Some(1));
    assert!(
        output.stderr.contains("/nonexistent/capture"),
        "{}",
        output.stderr
    );
}
