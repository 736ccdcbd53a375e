//! A spec-literal reference model of "9.2.6 Interpreting an event stream".
//!
//! Slow and obvious on purpose, and sharing no code with bourn-codec: the
//! whole byte string is first decoded with the WHATWG Encoding Standard's
//! UTF-8 decoder (written out here, error mode "replacement", one leading BOM
//! stripped), then split into lines, then each line is run through the steps
//! of the spec over `String`s. Nothing is incremental and nothing is
//! zero-copy; limits are not modelled.
//!
//! Beyond the browser's dispatch steps it records what a non-browser user
//! agent observes, as bourn-codec's contract defines it:
//! - a valid `retry` field is a [`Frame::Retry`] at its line (an empty value
//!   and a value too large for `u64` milliseconds are ignored);
//! - a comment line is a [`Frame::Comment`], its colon and one leading space
//!   removed;
//! - each event carries the `id` field accepted in its own block, if any;
//! - the decoder may start from a last event ID (a reconnecting client's).
//!
//! ```
//! use bourn_conformance::reference;
//! use bourn_conformance::vectors::{EventFrame, Frame};
//!
//! let out = reference::interpret(b"id: 1\ndata: a\r\n\r\nid: 7\n\n", "");
//! assert_eq!(out.frames, [Frame::Event(EventFrame {
//!     event_type: "message".into(), data: "a".into(), id: Some("1".into()), last_event_id: "1".into(),
//! })]);
//! assert_eq!(out.last_event_id, "7");
//! ```

use crate::harness::{Capabilities, DecoderUnderTest, Setup};
use crate::vectors::{EventFrame, Frame};

/// What the reference model observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Frames in stream order.
    pub frames: Vec<Frame>,
    /// The last event ID string at the end of the stream.
    pub last_event_id: String,
}

/// Interprets a complete stream, starting from `initial_last_event_id`.
pub fn interpret(input: &[u8], initial_last_event_id: &str) -> Output {
    // "Streams must be decoded using the UTF-8 decode algorithm."
    let text = utf8_decode(input);
    // "The stream must then be parsed by reading everything line by line".
    let lines = split_lines(&text);

    let mut state = State {
        data: String::new(),
        event_type: String::new(),
        last_event_id_buffer: initial_last_event_id.to_owned(),
        last_event_id: initial_last_event_id.to_owned(),
        block_id: None,
        frames: Vec::new(),
    };
    // "Lines must be processed, in the order they are received".
    for line in lines {
        state.process_line(&line);
    }
    // "Once the end of the file is reached, any pending data must be
    // discarded." Nothing to do: the unterminated last line was never
    // returned by `split_lines`, and the buffers are simply dropped.
    Output {
        frames: state.frames,
        last_event_id: state.last_event_id,
    }
}

struct State {
    data: String,
    event_type: String,
    last_event_id_buffer: String,
    /// The "last event ID string of the event source".
    last_event_id: String,
    /// The `id` field accepted in the current block (not a spec buffer).
    block_id: Option<String>,
    frames: Vec<Frame>,
}

impl State {
    fn process_line(&mut self, line: &str) {
        if line.is_empty() {
            // "If the line is empty (a blank line): Dispatch the event".
            self.dispatch();
        } else if let Some(comment) = line.strip_prefix(':') {
            // "If the line starts with a U+003A COLON character (:): Ignore
            // the line." Observed as a comment, one leading space removed.
            let comment = comment.strip_prefix(' ').unwrap_or(comment);
            self.frames.push(Frame::Comment(comment.to_owned()));
        } else if let Some(colon) = line.find(':') {
            // "Collect the characters on the line before the first U+003A
            // COLON character (:), and let field be that string."
            let field = &line[..colon];
            // "Collect the characters on the line after the first U+003A
            // COLON character (:), and let value be that string. If value
            // starts with a U+0020 SPACE character, remove it from value."
            let mut value = &line[colon + 1..];
            if value.starts_with(' ') {
                value = &value[1..];
            }
            self.process_field(field, value);
        } else {
            // "Otherwise, the string is not empty but does not contain a
            // U+003A COLON character (:): Process the field using the steps
            // described below, using the whole line as the field name, and
            // the empty string as the field value."
            self.process_field(line, "");
        }
    }

    fn process_field(&mut self, field: &str, value: &str) {
        // "Field names must be compared literally, with no case folding performed."
        if field == "event" {
            // "Set the event type buffer to the field value."
            self.event_type = value.to_owned();
        } else if field == "data" {
            // "Append the field value to the data buffer, then append a single
            // U+000A LINE FEED (LF) character to the data buffer."
            self.data.push_str(value);
            self.data.push('\n');
        } else if field == "id" {
            // "If the field value does not contain U+0000 NULL, then set the
            // last event ID buffer to the field value. Otherwise, ignore the field."
            if !value.contains('\u{0}') {
                self.last_event_id_buffer = value.to_owned();
                self.block_id = Some(value.to_owned());
            }
        } else if field == "retry" {
            // "If the field value consists of only ASCII digits, then
            // interpret the field value as an integer in base ten, and set the
            // event stream's reconnection time to that integer. Otherwise,
            // ignore the field." (Empty, or beyond u64: ignored.)
            if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
                if let Ok(ms) = value.parse::<u64>() {
                    self.frames.push(Frame::Retry(ms));
                }
            }
        }
        // "Otherwise: The field is ignored."
    }

    fn dispatch(&mut self) {
        // 1. "Set the last event ID string of the event source to the value of
        // the last event ID buffer. The buffer does not get reset".
        self.last_event_id = self.last_event_id_buffer.clone();
        let block_id = self.block_id.take();
        // 2. "If the data buffer is an empty string, set the data buffer and
        // the event type buffer to the empty string and return."
        if self.data.is_empty() {
            self.data.clear();
            self.event_type.clear();
            return;
        }
        // 3. "If the data buffer's last character is a U+000A LINE FEED (LF)
        // character, then remove the last character from the data buffer."
        if self.data.ends_with('\n') {
            self.data.pop();
        }
        // 5. "Initialize event's type attribute to "message", its data
        // attribute to data, [...] and its lastEventId attribute to the last
        // event ID string of the event source."
        let mut event = EventFrame {
            event_type: "message".to_owned(),
            data: self.data.clone(),
            id: block_id,
            last_event_id: self.last_event_id.clone(),
        };
        // 6. "If the event type buffer has a value other than the empty
        // string, change the type of the newly created event to equal the
        // value of the event type buffer."
        if !self.event_type.is_empty() {
            event.event_type = self.event_type.clone();
        }
        // 7. "Set the data buffer and the event type buffer to the empty string."
        self.data.clear();
        self.event_type.clear();
        self.frames.push(Frame::Event(event));
    }
}

/// Splits decoded text into its complete lines: "a U+000D CARRIAGE RETURN
/// U+000A LINE FEED (CRLF) character pair, a single U+000A LINE FEED (LF)
/// character not preceded by a U+000D CARRIAGE RETURN (CR) character, and a
/// single U+000D CARRIAGE RETURN (CR) character not followed by a U+000A LINE
/// FEED (LF) character being the ways in which a line can end." Text after
/// the last line ending is not a line (it never ended) and is dropped.
pub fn split_lines(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\r' && chars.get(i + 1) == Some(&'\n') {
            lines.push(std::mem::take(&mut line));
            i += 2;
        } else if c == '\r' || c == '\n' {
            lines.push(std::mem::take(&mut line));
            i += 1;
        } else {
            line.push(c);
            i += 1;
        }
    }
    lines
}

/// The WHATWG Encoding Standard's "UTF-8 decode": strip one leading BOM,
/// then run the UTF-8 decoder with error mode "replacement" (each error is
/// one U+FFFD). Written from the standard's decoder steps, not from `std`.
pub fn utf8_decode(bytes: &[u8]) -> String {
    // "Let buffer be the result of peeking three bytes from ioQueue [...]. If
    // buffer is 0xEF 0xBB 0xBF, then read three bytes from ioQueue."
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);

    let mut out = String::new();
    let (mut code_point, mut bytes_seen, mut bytes_needed) = (0u32, 0u32, 0u32);
    let (mut lower, mut upper) = (0x80u8, 0xBFu8);
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        i += 1;
        if bytes_needed == 0 {
            match byte {
                0x00..=0x7F => out.push(char::from(byte)),
                0xC2..=0xDF => {
                    bytes_needed = 1;
                    code_point = u32::from(byte & 0x1F);
                }
                0xE0..=0xEF => {
                    if byte == 0xE0 {
                        lower = 0xA0;
                    }
                    if byte == 0xED {
                        upper = 0x9F;
                    }
                    bytes_needed = 2;
                    code_point = u32::from(byte & 0xF);
                }
                0xF0..=0xF4 => {
                    if byte == 0xF0 {
                        lower = 0x90;
                    }
                    if byte == 0xF4 {
                        upper = 0x8F;
                    }
                    bytes_needed = 3;
                    code_point = u32::from(byte & 0x7);
                }
                _ => out.push(char::REPLACEMENT_CHARACTER),
            }
            continue;
        }
        if !(lower..=upper).contains(&byte) {
            // "set UTF-8 code point, UTF-8 bytes needed, and UTF-8 bytes seen
            // to 0, set UTF-8 lower boundary to 0x80, and set UTF-8 upper
            // boundary to 0xBF. Restore byte to ioQueue. Return error."
            code_point = 0;
            bytes_needed = 0;
            bytes_seen = 0;
            lower = 0x80;
            upper = 0xBF;
            i -= 1;
            out.push(char::REPLACEMENT_CHARACTER);
            continue;
        }
        lower = 0x80;
        upper = 0xBF;
        code_point = (code_point << 6) | u32::from(byte & 0x3F);
        bytes_seen += 1;
        if bytes_seen == bytes_needed {
            out.push(char::from_u32(code_point).unwrap_or(char::REPLACEMENT_CHARACTER));
            code_point = 0;
            bytes_needed = 0;
            bytes_seen = 0;
        }
    }
    // "If byte is end-of-queue and UTF-8 bytes needed is not 0, set UTF-8
    // bytes needed to 0 and return error."
    if bytes_needed != 0 {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    out
}

/// The reference model as a [`DecoderUnderTest`]: it collects the chunks and
/// interprets the whole stream when it finishes (so it is not incremental),
/// and it has no limits. Used to check the vectors themselves.
#[derive(Debug, Default)]
pub struct Reference {
    input: Vec<u8>,
    initial_last_event_id: String,
    last_event_id: String,
}

impl DecoderUnderTest for Reference {
    fn name(&self) -> &str {
        "reference"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            limits: false,
            incremental: false,
            ..Capabilities::ALL
        }
    }

    fn start(&mut self, setup: &Setup) {
        self.input.clear();
        self.initial_last_event_id = setup.initial_last_event_id.clone().unwrap_or_default();
        self.last_event_id = self.initial_last_event_id.clone();
    }

    fn feed(&mut self, chunk: &[u8], _out: &mut Vec<Frame>) {
        self.input.extend_from_slice(chunk);
    }

    fn finish(&mut self, out: &mut Vec<Frame>) {
        let output = interpret(&self.input, &self.initial_last_event_id);
        out.extend(output.frames);
        self.last_event_id = output.last_event_id;
    }

    fn last_event_id(&self) -> Option<String> {
        Some(self.last_event_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_decode_matches_the_encoding_standard_examples() {
        let cases: &[(&[u8], &str)] = &[
            (b"\xEF\xBB\xBFa", "a"),
            (b"\xEF\xBB\xBF\xEF\xBB\xBFa", "\u{FEFF}a"),
            (b"\xEF\xBBa", "\u{FFFD}a"),
            (b"a\xFFb", "a\u{FFFD}b"),
            (b"\xE2\x82", "\u{FFFD}"),
            (b"\xE2\x82\n", "\u{FFFD}\n"),
            (b"\xC0\xAF", "\u{FFFD}\u{FFFD}"),
            (b"\xED\xA0\x80", "\u{FFFD}\u{FFFD}\u{FFFD}"),
            (b"\xF0\x9F\x98\x80", "\u{1F600}"),
            (b"\xF0\x9F\x98", "\u{FFFD}"),
            (b"\xF4\x90\x80\x80", "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
            (b"\xE0\x80\x80", "\u{FFFD}\u{FFFD}\u{FFFD}"),
        ];
        for (bytes, text) in cases {
            assert_eq!(utf8_decode(bytes), *text, "{}", bytes.escape_ascii());
            // Rust's lossy conversion follows the same practice (after the BOM).
            let no_bom = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            assert_eq!(String::from_utf8_lossy(no_bom), *text);
        }
    }

    #[test]
    fn lines_end_three_ways_and_the_tail_is_dropped() {
        assert_eq!(split_lines("a\r\nb\nc\rd\n\re"), ["a", "b", "c", "d", ""]);
        assert_eq!(split_lines("\r\r\n\n"), ["", "", ""]);
        assert!(split_lines("no end").is_empty());
    }
}
