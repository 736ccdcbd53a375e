//! `EventId`: the `<epoch>.<seq>` ids a channel assigns.

use std::fmt;
use std::str::FromStr;

/// An id assigned by a [`Channel`](crate::Channel): `<epoch>.<seq>`, the
/// epoch in lowercase hexadecimal and the sequence number in decimal, e.g.
/// `5f3a9c01d2e4.42`.
///
/// `epoch` names one history kept by a [`Backend`](crate::backend::Backend):
/// it is random, and changes whenever that history may have been lost (for
/// the [`MemoryBackend`](crate::MemoryBackend), at every process start).
/// `seq` counts the events of one topic, contiguously from 1 (the backend
/// assigns it), so resuming after `seq` is a direct lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId {
    epoch: u64,
    seq: u64,
}

/// `EventId` parsing failed: the text is not `<hex epoch>.<decimal seq>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseEventIdError(());

impl fmt::Display for ParseEventIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an event id of the form <hex epoch>.<decimal seq>")
    }
}

impl std::error::Error for ParseEventIdError {}

impl EventId {
    /// The id of event `seq` in history `epoch`.
    pub fn new(epoch: u64, seq: u64) -> EventId {
        EventId { epoch, seq }
    }

    /// The history this id belongs to.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The event's position in its topic (1 is the first event; 0 means
    /// "before the first event").
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

/// A fresh random epoch, for a backend starting a history: 48 bits (the
/// 45th always set, so every epoch has 12 hex digits), short in ids and
/// never repeated in practice.
pub fn random_epoch() -> u64 {
    (rand::random::<u64>() & 0xffff_ffff_ffff) | 1 << 44
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}.{}", self.epoch, self.seq)
    }
}

impl FromStr for EventId {
    type Err = ParseEventIdError;

    /// Strict: 1–16 hex digits, a dot, 1–20 ASCII decimal digits that fit a
    /// `u64`; no sign, no spaces (`str::parse::<u64>` alone would accept `+1`).
    fn from_str(text: &str) -> Result<EventId, ParseEventIdError> {
        let error = ParseEventIdError(());
        let (epoch, seq) = text.split_once('.').ok_or(error)?;
        let hex = |c: u8| c.is_ascii_hexdigit();
        if epoch.is_empty() || epoch.len() > 16 || !epoch.bytes().all(hex) {
            return Err(error);
        }
        if seq.is_empty() || seq.len() > 20 || !seq.bytes().all(|c| c.is_ascii_digit()) {
            return Err(error);
        }
        let epoch = u64::from_str_radix(epoch, 16).map_err(|_| error)?;
        let seq = seq.parse::<u64>().map_err(|_| error)?;
        Ok(EventId { epoch, seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let cases = [
            ("5f3a.42", Some((0x5f3a, 42))),
            ("ABC.0", Some((0xabc, 0))),
            (
                "ffffffffffffffff.18446744073709551615",
                Some((u64::MAX, u64::MAX)),
            ),
            ("1.18446744073709551616", None),
            ("11111111111111111.1", None),
            ("a.+1", None),
            ("+a.1", None),
            ("a. 1", None),
            ("a.", None),
            (".1", None),
            ("a1", None),
            ("a.1.2", None),
            ("g.1", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let got = text
                .parse::<EventId>()
                .ok()
                .map(|id| (id.epoch(), id.seq()));
            assert_eq!(got, expected, "{text:?}");
        }
        assert_eq!(EventId::new(0xabc, 7).to_string(), "abc.7");
        let id = EventId::new(0x5f3a9c01d2e4, 42);
        assert_eq!(id.to_string().parse::<EventId>(), Ok(id));
    }
}
