//! The end-to-end property: what a client must have yielded after reading a
//! channel topic through connection drops.
//!
//! The property test (`tests/it/e2e.rs`) publishes arbitrary events to a
//! bourn-server `Channel` topic whose replay log holds at most `max_events`,
//! serves it over real HTTP on loopback through a proxy that re-chunks the
//! response and cuts connections after arbitrary byte counts, and reads it
//! with bourn-client. [`check_delivery`] then judges what the client yielded:
//! exactly the published events, in order, none twice, and a gap only behind
//! a `bourn-reset` event whose position shows the log had been trimmed past
//! the client's last event.
//!
//! ```
//! use bourn_conformance::e2e::{Published, check_delivery};
//! use bourn_conformance::vectors::EventFrame;
//!
//! let published = [Published { event_type: "message".into(), data: "a".into() }];
//! let delivered = [EventFrame {
//!     event_type: "message".into(),
//!     data: "a".into(),
//!     id: Some("7.1".into()),
//!     last_event_id: "7.1".into(),
//! }];
//! assert_eq!(check_delivery(&published, 7, 0, 16, &delivered), Ok(()));
//! // The same event twice is a failure.
//! let twice = [delivered[0].clone(), delivered[0].clone()];
//! assert!(check_delivery(&published, 7, 0, 16, &twice).is_err());
//! ```

use crate::vectors::EventFrame;

/// Cases the property runs (proptest's `cases`): each is a fresh channel,
/// server, proxy and client on loopback. The conformance table counts them
/// in the server and client columns.
pub const CASES: u32 = 64;

/// The reset event's type (bourn-server's `RESET_EVENT`).
pub const RESET_EVENT: &str = "bourn-reset";

/// The reset reason that may explain a gap: the log no longer held the
/// events after the client's last one.
pub const TRIMMED: &str = "trimmed";

/// One published event as the client must read it back: its type
/// (`message` when it had none) and its data with line breaks as LF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The event type.
    pub event_type: String,
    /// The data.
    pub data: String,
}

/// Splits a channel id `<epoch>.<seq>` (the epoch in hexadecimal, the seq
/// in decimal; no signs).
pub fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (epoch, seq) = id.split_once('.')?;
    let hex = !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_hexdigit());
    let decimal = !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit());
    if !hex || !decimal {
        return None;
    }
    Some((u64::from_str_radix(epoch, 16).ok()?, seq.parse().ok()?))
}

/// Checks what a client yielded from a topic that received `published`
/// (seqs `start + 1 ..= start + published.len()` in `epoch`), the client
/// having started from seq `start`, with a replay log of at most
/// `max_events` events: [`Judge::push`] for each event, then
/// [`Judge::finish`].
///
/// # Errors
///
/// A description of the first violation, naming the item's index.
pub fn check_delivery(
    published: &[Published],
    epoch: u64,
    start: u64,
    max_events: u64,
    delivered: &[EventFrame],
) -> Result<(), String> {
    let mut judge = Judge::new(published, epoch, start, max_events);
    for event in delivered {
        judge.push(event)?;
    }
    judge.finish()
}

/// Judges a client's events one by one, so a run can stop at the first
/// violation.
///
/// Every event must carry the next seq with the published type and data,
/// and its last event ID must be its id. A `bourn-reset` event is allowed
/// only with reason `trimmed` and only where the log was trimmed: its id
/// is the topic's position `P` when the client resumed, the log then held
/// seqs `P - max_events + 1 ..= P`, so the client's next seq `last + 1`
/// must have been below that (`P - last > max_events`). The client must
/// end at the last published seq.
#[derive(Debug)]
pub struct Judge<'a> {
    published: &'a [Published],
    epoch: u64,
    start: u64,
    max_events: u64,
    /// The seq the client is at.
    last: u64,
    /// Events judged so far.
    index: usize,
}

impl<'a> Judge<'a> {
    /// A judge for a client that started from seq `start` of `epoch`, on a
    /// topic that then received `published`, with a log of `max_events`.
    pub fn new(published: &'a [Published], epoch: u64, start: u64, max_events: u64) -> Judge<'a> {
        Judge {
            published,
            epoch,
            start,
            max_events,
            last: start,
            index: 0,
        }
    }

    /// The last published seq.
    pub fn top(&self) -> u64 {
        self.start + self.published.len() as u64
    }

    /// Judges the client's next event.
    ///
    /// # Errors
    ///
    /// What is wrong with it, naming its index.
    pub fn push(&mut self, event: &EventFrame) -> Result<(), String> {
        let index = self.index;
        self.index += 1;
        let (top, last, max_events) = (self.top(), self.last, self.max_events);
        let Some(id) = event.id.as_deref() else {
            return Err(format!("item {index}: an event without an id: {event:?}"));
        };
        let Some((event_epoch, seq)) = parse_id(id) else {
            return Err(format!("item {index}: id {id:?} is not <epoch>.<seq>"));
        };
        if event_epoch != self.epoch {
            return Err(format!(
                "item {index}: epoch {event_epoch:x}, the topic's is {:x}",
                self.epoch
            ));
        }
        if event.last_event_id != id {
            return Err(format!(
                "item {index}: last event ID {:?} after an event with id {id:?}",
                event.last_event_id
            ));
        }
        if event.event_type == RESET_EVENT {
            if event.data != TRIMMED {
                return Err(format!(
                    "item {index}: a reset ({:?}) though the topic's history was never lost",
                    event.data
                ));
            }
            if seq < last || seq > top {
                return Err(format!(
                    "item {index}: reset to seq {seq}, the client was at {last} and the top is {top}"
                ));
            }
            if seq - last <= max_events {
                return Err(format!(
                    "item {index}: reset to seq {seq} from seq {last}, but a log of \
                     {max_events} events still held seq {} then",
                    last + 1
                ));
            }
            self.last = seq;
            return Ok(());
        }
        if seq != last + 1 {
            return Err(format!(
                "item {index}: seq {seq} after seq {last} ({})",
                if seq <= last {
                    "a repeat or out of order"
                } else {
                    "a gap with no reset"
                }
            ));
        }
        let Some(want) = self.published.get((seq - self.start - 1) as usize) else {
            return Err(format!("item {index}: seq {seq} beyond the top {top}"));
        };
        if event.event_type != want.event_type || event.data != want.data {
            return Err(format!(
                "item {index}: seq {seq} is ({:?}, {:?}), published ({:?}, {:?})",
                event.event_type, event.data, want.event_type, want.data
            ));
        }
        self.last = seq;
        Ok(())
    }

    /// Whether the client has reached the last published seq.
    pub fn done(&self) -> bool {
        self.last == self.top()
    }

    /// Checks that the client reached the last published seq.
    ///
    /// # Errors
    ///
    /// Where it stopped instead.
    pub fn finish(&self) -> Result<(), String> {
        if self.done() {
            Ok(())
        } else {
            Err(format!(
                "the client stopped at seq {}, the top is {}",
                self.last,
                self.top()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(n: usize) -> Vec<Published> {
        (0..n)
            .map(|i| Published {
                event_type: "message".into(),
                data: i.to_string(),
            })
            .collect()
    }

    fn event(seq: u64, data: &str) -> EventFrame {
        let id = format!("9.{seq}");
        EventFrame {
            event_type: "message".into(),
            data: data.into(),
            id: Some(id.clone()),
            last_event_id: id,
        }
    }

    fn reset(seq: u64, reason: &str) -> EventFrame {
        EventFrame {
            event_type: RESET_EVENT.into(),
            data: reason.into(),
            ..event(seq, "")
        }
    }

    #[test]
    fn judges_deliveries() {
        let four = published(4);
        let all = [event(1, "0"), event(2, "1"), event(3, "2"), event(4, "3")];
        // (delivered, max_events, verdict)
        let table: Vec<(Vec<EventFrame>, u64, bool)> = vec![
            (all.to_vec(), 2, true),
            (
                vec![all[0].clone(), all[2].clone(), all[3].clone()],
                8,
                false,
            ),
            (
                vec![all[0].clone(), all[1].clone(), all[1].clone()],
                8,
                false,
            ),
            (vec![all[1].clone(), all[0].clone()], 8, false),
            (all[..3].to_vec(), 8, false),
            // A reset from seq 1 to 4 with a log of 2: seq 2 was trimmed.
            (vec![all[0].clone(), reset(4, TRIMMED)], 2, true),
            // ... with a log of 3, seq 2 was still there.
            (vec![all[0].clone(), reset(4, TRIMMED)], 3, false),
            (vec![reset(3, TRIMMED), all[3].clone()], 2, true),
            (vec![reset(3, "epoch"), all[3].clone()], 2, false),
            (
                vec![
                    event(1, "x"),
                    all[1].clone(),
                    all[2].clone(),
                    all[3].clone(),
                ],
                8,
                false,
            ),
        ];
        for (n, (delivered, max, pass)) in table.into_iter().enumerate() {
            let verdict = check_delivery(&four, 9, 0, max, &delivered);
            assert_eq!(verdict.is_ok(), pass, "row {n}: {verdict:?}");
        }
    }

    #[test]
    fn foreign_ids_fail() {
        let one = published(1);
        let mut other_epoch = event(1, "0");
        other_epoch.id = Some("8.1".into());
        other_epoch.last_event_id = "8.1".into();
        let mut no_id = event(1, "0");
        no_id.id = None;
        let mut stale = event(1, "0");
        stale.last_event_id = "9.0".into();
        for bad in [other_epoch, no_id, stale] {
            assert!(check_delivery(&one, 9, 0, 8, &[bad]).is_err());
        }
        assert_eq!(parse_id("1f.2"), Some((31, 2)));
        assert_eq!(parse_id("1.+2"), None);
        assert_eq!(parse_id("12"), None);
    }
}
