//! The Pub/Sub message: one committed record of one topic, binary-safe.
//!
//! ```text
//! b1:<topic length in bytes, decimal>:<topic><epoch, hex>.<seq, decimal>\n<body>
//! ```
//!
//! The `APPEND` script writes it (`scripts.rs`); the body is the record's
//! bytes as the channel gave them, never looked into. The topic goes first
//! with its length, so any topic name fits; the id is parsed as strictly as
//! every `EventId`.

use std::fmt;

use bourn_server::EventId;
use bytes::Bytes;

const TAG: &[u8] = b"b1:";

/// A decoded Pub/Sub message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Live<'a> {
    pub(crate) topic: &'a str,
    pub(crate) id: EventId,
    pub(crate) body: &'a [u8],
}

/// A Pub/Sub message that is not one of ours (another program on the
/// channel, another version): logged and skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameError(&'static str);

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a bourn record message: {}", self.0)
    }
}

impl std::error::Error for FrameError {}

/// Decodes one message.
pub(crate) fn decode(payload: &[u8]) -> Result<Live<'_>, FrameError> {
    let rest = payload.strip_prefix(TAG).ok_or(FrameError("no b1: tag"))?;
    let colon = rest
        .iter()
        .position(|&b| b == b':')
        .ok_or(FrameError("no topic length"))?;
    let digits = &rest[..colon];
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(FrameError("the topic length is not a decimal number"));
    }
    let len: usize = std::str::from_utf8(digits)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or(FrameError("the topic length is not a decimal number"))?;
    let rest = &rest[colon + 1..];
    if rest.len() < len {
        return Err(FrameError("shorter than its topic"));
    }
    let (topic, rest) = rest.split_at(len);
    let topic = std::str::from_utf8(topic).map_err(|_| FrameError("the topic is not UTF-8"))?;
    let newline = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(FrameError("no line feed after the id"))?;
    let id = std::str::from_utf8(&rest[..newline])
        .ok()
        .and_then(|text| text.parse::<EventId>().ok())
        .ok_or(FrameError("the id is not <hex epoch>.<decimal seq>"))?;
    if id.seq() == 0 {
        return Err(FrameError("seq 0 names no record"));
    }
    Ok(Live {
        topic,
        id,
        body: &rest[newline + 1..],
    })
}

/// Encodes one message as the `APPEND` script does (for tests).
#[cfg(test)]
pub(crate) fn encode(topic: &str, id: EventId, body: &[u8]) -> Bytes {
    let mut out = format!("b1:{}:{topic}{id}\n", topic.len()).into_bytes();
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// The body as the record's own bytes.
pub(crate) fn body(live: &Live<'_>) -> Bytes {
    Bytes::copy_from_slice(live.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_any_topic_and_body() {
        let id = EventId::new(0x1abc_def0_1234, 421);
        let bodies: [&[u8]; 4] = [b"", b"data: x\n\n", b"\n\n\0\xff", b"b1:3:abc1.1\nx"];
        for topic in ["t", "a:b", "with\nline", "é/ü", ""] {
            for body in bodies {
                let bytes = encode(topic, id, body);
                let live = decode(&bytes).unwrap();
                assert_eq!(live, Live { topic, id, body }, "{topic:?} {body:?}");
            }
        }
    }

    #[test]
    fn refuses_what_is_not_a_record() {
        let cases: [&[u8]; 14] = [
            b"",
            b"b1",
            b"b2:1:t1.1\nx",
            b"b1:1t1.1\nx",
            b"b1::t1.1\nx",
            b"b1:+1:t1.1\nx",
            b"b1:99:t1.1\nx",
            b"b1:99999999999:t",
            b"b1:1:\xff1.1\nx",
            b"b1:1:t1.1",
            b"b1:1:tzz.1\nx",
            b"b1:1:t1.+1\nx",
            b"b1:1:t1.0\nx",
            b"b1:1:t1.18446744073709551616\nx",
        ];
        for case in cases {
            assert!(decode(case).is_err(), "{:?}", String::from_utf8_lossy(case));
        }
    }

    #[test]
    fn matches_the_script() {
        // What `APPEND` builds: 'b1:' .. len(topic) .. ':' .. topic .. epoch .. '.' .. seq .. '\n' .. body
        let live = decode(b"b1:6:prices1abcdef01234.57\ndata: 1\n\n").unwrap();
        assert_eq!(live.topic, "prices");
        assert_eq!(live.id, EventId::new(0x1abc_def0_1234, 57));
        assert_eq!(live.body, b"data: 1\n\n");
    }
}
