//! Lines other than `data`, `event`, `id` and blank lines: the general
//! grammar, comments and `retry`.

use core::time::Duration;

use bytestring::ByteString;

use super::Core;
use crate::line::{self, Line};

/// What a line other than `data:` or a blank line asks for.
pub(super) enum Step {
    /// Nothing to report (a field was set or ignored).
    Continue,
    /// A valid `retry` field.
    Retry(Duration),
    /// A comment line.
    Comment(ByteString),
}

/// "If the field value consists of only ASCII digits, then interpret the
/// field value as an integer in base ten [...] Otherwise, ignore the field."
///
/// An empty value has no digits and is ignored (as browsers do); a value too
/// large for a `u64` of milliseconds is ignored too. Never `str::parse`,
/// which accepts a leading `+`.
pub(crate) fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |ms, &b| {
        if b.is_ascii_digit() {
            ms.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

impl Core {
    /// A field line other than `data:`, or a comment, of `block[start..start + len]`.
    #[inline(never)]
    pub(super) fn field(&mut self, start: usize, len: usize) -> Step {
        let block = self.block.bytes();
        let line = &block[start..start + len];
        let range = |value: &[u8]| {
            let at = value.as_ptr() as usize - block.as_ptr() as usize;
            at..at + value.len()
        };
        match line::parse(line) {
            // Blank lines and `data` fields do not come here.
            Line::Blank => Step::Continue,
            // "If the line starts with a U+003A COLON character (:): Ignore
            // the line." Reported, for keep-alive watchdogs.
            Line::Comment(comment) => {
                let comment = range(comment);
                Step::Comment(self.value(comment))
            }
            // "Field names must be compared literally, with no case folding
            // performed."
            Line::Field { name, value } => match name {
                // "Set the event type buffer to the field value."
                b"event" => {
                    let value = range(value);
                    self.event_type = Some(self.value(value));
                    Step::Continue
                }
                // "If the field value does not contain U+0000 NULL, then set
                // the last event ID buffer to the field value. Otherwise,
                // ignore the field."
                b"id" if !line::has_nul(value) => {
                    let value = range(value);
                    self.id = Some(self.value(value));
                    Step::Continue
                }
                // "If the field value consists of only ASCII digits, then
                // interpret the field value as an integer in base ten, and set
                // the event stream's reconnection time to that integer."
                b"retry" => parse_retry(value)
                    .map_or(Step::Continue, |ms| Step::Retry(Duration::from_millis(ms))),
                // "Otherwise: The field is ignored."
                _ => Step::Continue,
            },
        }
    }
}
