//! Writing events and frames as `text/event-stream` bytes.
//!
//! The encoder is infallible: every value that would change the stream's
//! meaning was refused when its [`EventType`](crate::EventType) or
//! [`Id`](crate::Id) was made.

use bytes::{BufMut, Bytes, BytesMut};

use crate::event::Event;
use crate::frame::Frame;
use crate::message_event::MessageEvent;

impl Event {
    /// Appends the event to `dst`: comment lines, `event`, `id`, `retry`, one
    /// `data:` line per line of data, then the blank line that dispatches it.
    ///
    /// Data and comments are split at `\r\n`, `\n` and `\r` (the three line
    /// endings a decoder recognises), so decoding gives back the data with
    /// every line break as `\n`. An event without data writes no `data:` line
    /// (its block then only moves the last event ID and the retry time).
    pub fn encode<B: BufMut>(&self, dst: &mut B) {
        if let Some(comment) = &self.comment {
            write_lines(dst, b":", comment.as_bytes());
        }
        if let Some(event_type) = &self.event_type {
            write_field(dst, b"event", event_type.as_bytes());
        }
        if let Some(id) = &self.id {
            write_field(dst, b"id", id.as_bytes());
        }
        if let Some(retry) = self.retry {
            write_retry(dst, retry);
        }
        if let Some(data) = &self.data {
            write_lines(dst, b"data", data.as_bytes());
        }
        dst.put_u8(b'\n');
    }

    /// The exact number of bytes [`encode`](Event::encode) writes.
    pub fn encoded_len(&self) -> usize {
        let mut len = 1;
        if let Some(comment) = &self.comment {
            len += lines_len(1, comment.as_bytes());
        }
        if let Some(event_type) = &self.event_type {
            len += field_len(5, event_type.len());
        }
        if let Some(id) = &self.id {
            len += field_len(2, id.len());
        }
        if let Some(retry) = self.retry {
            len += field_len(5, decimal_len(millis(retry)));
        }
        if let Some(data) = &self.data {
            len += lines_len(4, data.as_bytes());
        }
        len
    }

    /// The encoded event, in one allocation of exactly the right size.
    pub fn to_bytes(&self) -> Bytes {
        let mut dst = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut dst);
        dst.freeze()
    }
}

impl Frame {
    /// Appends the frame to `dst`. An event ends with a blank line; a retry or
    /// a comment is a single line of its own (`retry: N`, `: text`), which a
    /// decoder reports as the same frame.
    pub fn encode<B: BufMut>(&self, dst: &mut B) {
        match self {
            Frame::Event(event) => encode_received(event, dst),
            Frame::Retry(retry) => write_retry(dst, *retry),
            Frame::Comment(comment) => write_lines(dst, b":", comment.as_bytes()),
        }
    }

    /// The encoded frame.
    pub fn to_bytes(&self) -> Bytes {
        let mut dst = BytesMut::new();
        self.encode(&mut dst);
        dst.freeze()
    }
}

/// A received event written back: its `event` and `id` fields as they
/// were read (a decoder never yields a line break in them, nor NUL in an
/// `id`; [`MessageEvent`]'s setters take checked values), then its data.
fn encode_received<B: BufMut>(event: &MessageEvent, dst: &mut B) {
    if let Some(event_type) = &event.event_type {
        write_field(dst, b"event", event_type.as_bytes());
    }
    if let Some(id) = &event.id {
        write_field(dst, b"id", id.as_bytes());
    }
    write_lines(dst, b"data", event.data.as_bytes());
    dst.put_u8(b'\n');
}

fn millis(retry: core::time::Duration) -> u64 {
    u64::try_from(retry.as_millis()).unwrap_or(u64::MAX)
}

fn write_retry<B: BufMut>(dst: &mut B, retry: core::time::Duration) {
    let mut digits = [0u8; 20];
    let mut n = millis(retry);
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    write_field(dst, b"retry", &digits[at..]);
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// `name: value\n`, or `name:\n` for an empty value. The space after the
/// colon is written so that a value starting with a space keeps it: the
/// decoder removes exactly one.
fn write_field<B: BufMut>(dst: &mut B, name: &[u8], value: &[u8]) {
    dst.put_slice(name);
    if name != b":" {
        dst.put_u8(b':');
    }
    if !value.is_empty() {
        dst.put_u8(b' ');
        dst.put_slice(value);
    }
    dst.put_u8(b'\n');
}

fn field_len(name_len: usize, value_len: usize) -> usize {
    // name, colon, space (when there is a value), value, LF.
    name_len + 1 + usize::from(value_len > 0) + value_len + 1
}

/// One field line per line of `text`, split at CRLF, LF and CR.
fn write_lines<B: BufMut>(dst: &mut B, name: &[u8], text: &[u8]) {
    for line in Lines(Some(text)) {
        write_field(dst, name, line);
    }
}

fn lines_len(name_len: usize, text: &[u8]) -> usize {
    let name_len = if name_len == 1 { 0 } else { name_len };
    Lines(Some(text))
        .map(|line| field_len(name_len, line.len()))
        .sum()
}

/// Splits at the three line endings. Yields one line for empty text, and an
/// empty last line after a trailing line ending (so `"a\n"` stays `"a\n"`).
struct Lines<'a>(Option<&'a [u8]>);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let text = self.0?;
        match memchr::memchr2(b'\n', b'\r', text) {
            None => {
                self.0 = None;
                Some(text)
            }
            Some(end) => {
                let next = match (text[end], text.get(end + 1)) {
                    (b'\r', Some(b'\n')) => end + 2,
                    _ => end + 1,
                };
                self.0 = Some(&text[next..]);
                Some(&text[..end])
            }
        }
    }
}
