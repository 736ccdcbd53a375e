//! The decode workloads, generated in memory, deterministically.
//!
//! | id | shape |
//! |----|-------|
//! | W1 | small JSON events (~100 B), `data:` only, LF |
//! | W2 | `id` + `event` + `data` (JSON), LF |
//! | W3 | 64 KiB events of 1,000 `data:` lines each |
//! | W4 | W1 with CRLF line endings |
//! | W5 | tiny LLM-token events (~25 B) |
//! | W6 | one 4 MiB `data:` line (fed in 1,460-byte chunks: the quadratic trap) |
//!
//! Each [`Workload`] carries what a WHATWG-exact decoder must produce from it
//! ([`Workload::expected`]) and how many line-ending bytes it holds (what the
//! `memchr2` bound counts), both computed while writing the bytes, not by
//! parsing them.

use bytes::Bytes;

use crate::{Feed, Tally};

/// The size each of W1–W5 is generated at when measuring: 16 MiB.
pub const FULL_SIZE: usize = 16 * 1024 * 1024;
/// The length of W6's single data line: 4 MiB.
pub const HUGE_LINE: usize = 4 * 1024 * 1024;

/// One event as an application sees it: what the encoder is given and what a
/// decoder must hand back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSpec {
    /// The `event` field, if any.
    pub event: Option<String>,
    /// The `id` field, if any.
    pub id: Option<String>,
    /// The data; `\n` separates its lines.
    pub data: String,
}

/// A generated workload.
#[derive(Debug, Clone)]
pub struct Workload {
    /// `W1` … `W6`.
    pub id: &'static str,
    /// A one-line description for the report.
    pub title: &'static str,
    /// The `text/event-stream` bytes.
    pub bytes: Bytes,
    /// The events and data bytes the WHATWG algorithm dispatches.
    pub expected: Tally,
    /// How many `\r` and `\n` bytes the input holds.
    pub line_end_bytes: u64,
    /// The feeds this workload is measured with.
    pub feeds: Vec<Feed>,
    /// Event boundaries at about 256 KiB, 512 KiB, 1 MiB, ... (doubling):
    /// prefixes a slow row is tried on before the whole workload.
    pub checkpoints: Vec<Checkpoint>,
}

/// A prefix of a workload that ends at an event boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Length of the prefix, in bytes.
    pub len: usize,
    /// What the WHATWG algorithm dispatches from it.
    pub expected: Tally,
    /// How many `\r` and `\n` bytes it holds.
    pub line_end_bytes: u64,
}

/// The first checkpoint: 256 KiB.
pub const FIRST_CHECKPOINT: usize = 256 * 1024;

/// W1–W6, with W1–W5 generated at about `size` bytes each (W6 always holds
/// its 4 MiB line when `size` is [`FULL_SIZE`], and `size / 4` otherwise).
pub fn all(size: usize) -> Vec<Workload> {
    vec![w1(size), w2(size), w3(size), w4(size), w5(size), w6(size)]
}

/// W1: small JSON events (~100 B), `data:` only.
pub fn w1(size: usize) -> Workload {
    let mut rng = Rng::new(1);
    build(
        "W1",
        "small JSON events (~100 B), `data:` only",
        "\n",
        size,
        |n| EventSpec {
            event: None,
            id: None,
            data: json_chunk(&mut rng, n),
        },
    )
}

/// W2: `id` + `event` + `data`.
pub fn w2(size: usize) -> Workload {
    let mut rng = Rng::new(2);
    build("W2", "`id` + `event` + `data` (JSON)", "\n", size, |n| {
        EventSpec {
            event: Some(EVENT_TYPES[rng.below(EVENT_TYPES.len())].to_owned()),
            id: Some(format!("{}.{n}", 1_700_000_000 + n / 1000)),
            data: json_chunk(&mut rng, n),
        }
    })
}

/// W3: 64 KiB events of 1,000 `data:` lines each.
pub fn w3(size: usize) -> Workload {
    let mut rng = Rng::new(3);
    build(
        "W3",
        "64 KiB events of 1,000 `data:` lines",
        "\n",
        size,
        |_| {
            let mut data = String::with_capacity(61_000);
            for line in 0..1000 {
                if line > 0 {
                    data.push('\n');
                }
                base64ish(&mut rng, &mut data, 59);
            }
            EventSpec {
                event: None,
                id: None,
                data,
            }
        },
    )
}

/// W4: W1 with CRLF line endings (the same events, so slightly larger).
pub fn w4(size: usize) -> Workload {
    let w1 = w1(size);
    let mut out = Vec::with_capacity(w1.bytes.len() + w1.line_end_bytes as usize);
    for &byte in w1.bytes.iter() {
        if byte == b'\n' {
            out.push(b'\r');
        }
        out.push(byte);
    }
    // A W1 prefix of `len` bytes and `n` line feeds is a W4 prefix of `len + n`.
    let checkpoints = w1
        .checkpoints
        .iter()
        .map(|c| Checkpoint {
            len: c.len + c.line_end_bytes as usize,
            expected: c.expected,
            line_end_bytes: c.line_end_bytes * 2,
        })
        .collect();
    Workload {
        id: "W4",
        title: "W1 with CRLF line endings",
        bytes: Bytes::from(out),
        line_end_bytes: w1.line_end_bytes * 2,
        checkpoints,
        ..w1
    }
}

/// W5: tiny LLM-token events (~25 B).
pub fn w5(size: usize) -> Workload {
    let mut rng = Rng::new(5);
    build("W5", "tiny LLM-token events (~25 B)", "\n", size, |_| {
        let word = WORDS[rng.below(WORDS.len())];
        EventSpec {
            event: None,
            id: None,
            data: format!("{{\"t\":\" {word}\"}}"),
        }
    })
}

/// W6: one 4 MiB `data:` line (a quarter of `size` when `size` is not
/// [`FULL_SIZE`]), fed in 1,460-byte chunks.
pub fn w6(size: usize) -> Workload {
    let len = if size == FULL_SIZE {
        HUGE_LINE
    } else {
        size / 4
    };
    let mut rng = Rng::new(6);
    let mut data = String::with_capacity(len);
    base64ish(&mut rng, &mut data, len);
    let mut once = Some(EventSpec {
        event: None,
        id: None,
        data,
    });
    let mut workload = build(
        "W6",
        "one 4 MiB `data:` line, 1,460-byte chunks",
        "\n",
        1,
        |_| once.take().unwrap_or_default(),
    );
    workload.feeds = vec![Feed::TCP];
    workload
}

/// The first `n` events of W1 (`data` only) or W2 (`id` + `event` + `data`),
/// for the encoding benchmarks.
pub fn encode_events(with_id_and_type: bool, n: usize) -> Vec<EventSpec> {
    let mut rng = Rng::new(if with_id_and_type { 2 } else { 1 });
    (0..n as u64)
        .map(|n| {
            if with_id_and_type {
                EventSpec {
                    event: Some(EVENT_TYPES[rng.below(EVENT_TYPES.len())].to_owned()),
                    id: Some(format!("{}.{n}", 1_700_000_000 + n / 1000)),
                    data: json_chunk(&mut rng, n),
                }
            } else {
                EventSpec {
                    event: None,
                    id: None,
                    data: json_chunk(&mut rng, n),
                }
            }
        })
        .collect()
}

/// Writes events until the output reaches `size` bytes.
fn build(
    id: &'static str,
    title: &'static str,
    newline: &str,
    size: usize,
    mut next: impl FnMut(u64) -> EventSpec,
) -> Workload {
    let mut out = Vec::with_capacity(size + 70_000);
    let mut expected = Tally::default();
    let mut lines = 0u64;
    let mut n = 0;
    let mut checkpoints = Vec::new();
    let mut next_checkpoint = FIRST_CHECKPOINT;
    while out.len() < size {
        if out.len() >= next_checkpoint {
            checkpoints.push(Checkpoint {
                len: out.len(),
                expected,
                line_end_bytes: lines * newline.len() as u64,
            });
            next_checkpoint *= 2;
        }
        let event = next(n);
        n += 1;
        if let Some(id) = &event.id {
            push_line(&mut out, &mut lines, newline, "id: ", id);
        }
        if let Some(event_type) = &event.event {
            push_line(&mut out, &mut lines, newline, "event: ", event_type);
        }
        for line in event.data.split('\n') {
            push_line(&mut out, &mut lines, newline, "data: ", line);
        }
        push_line(&mut out, &mut lines, newline, "", "");
        expected.add(event.data.len());
    }
    Workload {
        id,
        title,
        bytes: Bytes::from(out),
        expected,
        line_end_bytes: lines * newline.len() as u64,
        feeds: Feed::STANDARD.to_vec(),
        checkpoints,
    }
}

fn push_line(out: &mut Vec<u8>, lines: &mut u64, newline: &str, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(newline.as_bytes());
    *lines += 1;
}

const EVENT_TYPES: &[&str] = &[
    "delta",
    "message_start",
    "content_block_delta",
    "ping",
    "update",
];

/// Mostly ASCII, with a few multi-byte characters so UTF-8 validation takes
/// its slow path now and then, as real LLM output does.
const WORDS: &[&str] = &[
    "the", "stream", "of", "tokens", "arrives", "event", "by", "event", "and", "a", "reader",
    "parses", "each", "line", "before", "it", "hands", "data", "to", "the", "caller", "café",
    "naïve", "—", "🙂", "json", "model", "reply", "server", "sent", "chunk", "quick", "brown",
    "fox", "jumps", "over", "lazy", "dog", "is", "not", "yet", "done", "with", "this",
];

/// An OpenAI-style streaming chunk of about 92 bytes (100 with `data: ` and
/// the two line feeds).
fn json_chunk(rng: &mut Rng, n: u64) -> String {
    let mut text = String::new();
    let target = 15 + rng.below(33);
    while text.len() < target {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(WORDS[rng.below(WORDS.len())]);
    }
    format!(
        "{{\"id\":\"chatcmpl-{:06}\",\"choices\":[{{\"delta\":{{\"content\":\"{text}\"}}}}]}}",
        n % 1_000_000
    )
}

fn base64ish(rng: &mut Rng, out: &mut String, len: usize) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.extend((0..len).map(|_| char::from(ALPHABET[rng.below(64)])));
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_have_the_promised_shape() {
        let size = 1 << 20;
        for w in all(size) {
            let newlines = w
                .bytes
                .iter()
                .filter(|b| **b == b'\n' || **b == b'\r')
                .count();
            assert_eq!(newlines as u64, w.line_end_bytes, "{}", w.id);
            assert!(w.expected.events > 0, "{}", w.id);
        }
        let w1 = w1(size);
        let per_event = w1.bytes.len() as u64 / w1.expected.events;
        assert!(
            (90..=110).contains(&per_event),
            "W1 events are {per_event} B"
        );
        let w5 = w5(size);
        let per_event = w5.bytes.len() as u64 / w5.expected.events;
        assert!(
            (20..=30).contains(&per_event),
            "W5 events are {per_event} B"
        );
        let w3 = w3(size);
        let per_event = w3.bytes.len() as u64 / w3.expected.events;
        assert!(
            (64_000..=67_000).contains(&per_event),
            "W3 events are {per_event} B"
        );
        assert_eq!(w4(size).expected, w1.expected);
        assert!(w4(size).bytes.windows(2).any(|w| w == b"\r\n"));
        assert_eq!(w6(FULL_SIZE).expected.data_bytes, HUGE_LINE as u64);
        for w in all(size) {
            for c in &w.checkpoints {
                let prefix = &w.bytes[..c.len];
                assert!(prefix.ends_with(b"\n\n") || prefix.ends_with(b"\r\n\r\n"));
                let newlines = prefix
                    .iter()
                    .filter(|b| **b == b'\n' || **b == b'\r')
                    .count();
                assert_eq!(newlines as u64, c.line_end_bytes, "{}", w.id);
                assert!(c.expected.events < w.expected.events);
            }
        }
        assert_eq!(w1.checkpoints.len(), 2);
    }

    #[test]
    fn encode_events_match_the_workloads() {
        let events = encode_events(true, 3);
        let w2 = w2(1);
        let first = std::str::from_utf8(&w2.bytes).map(|s| s.to_owned());
        let id = events[0].id.clone().unwrap_or_default();
        assert!(first.is_ok_and(|s| s.starts_with(&format!("id: {id}\n"))));
    }
}
