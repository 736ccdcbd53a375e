//! Criterion benchmarks: bourn beside peer SSE crates.
//!
//! The library half of `bourn-benches` holds what the benchmarks and the
//! report share, and nothing that depends on a peer crate (the peers are
//! dev-dependencies of the bench targets only):
//!
//! - [`workload`]: the in-memory `text/event-stream` workloads W1–W6, with the
//!   event count and data size the WHATWG algorithm gives for each;
//! - [`Feed`]: how a workload is cut into chunks before it is fed;
//! - [`check`]: what each benchmark row found when its output was checked
//!   once before measuring (stored beside criterion's results);
//! - [`report`]: turns criterion's results and the checks into `REPORT.md`
//!   (the `bench-report` binary);
//! - [`floor`]: the least work an owned decoder does on a workload under
//!   the append harness, timed beside the decoders;
//! - [`rounds`]: the decode rows timed in interleaved rounds, ratios taken
//!   within a round (what the report sets beside criterion's table);
//! - [`first_events`] and [`BlankLines`]: what the client benchmarks serve
//!   and the raw-hyper floor they count with.
#![forbid(unsafe_code)]

pub mod check;
pub mod floor;
pub mod report;
pub mod rounds;
pub mod workload;

use std::path::{Path, PathBuf};

use bytes::Bytes;

/// What a decoder produced from a workload: dispatched events and the total
/// length of their `data`, in bytes. Two decoders agree on a workload when
/// their tallies are equal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Dispatched events (for a bound: the line endings or bytes it counted).
    pub events: u64,
    /// Total length of the events' `data`, in bytes.
    pub data_bytes: u64,
}

impl Tally {
    /// Counts one event with `data_len` bytes of data.
    #[inline]
    pub fn add(&mut self, data_len: usize) {
        self.events += 1;
        self.data_bytes += data_len as u64;
    }
}

/// How a workload is handed to a decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// All bytes at once.
    Whole,
    /// Chunks of this many bytes (the last one shorter).
    Chunks(usize),
}

impl Feed {
    /// The decode feeds of W1–W5: whole, 4 KiB chunks and 61-byte chunks.
    pub const STANDARD: [Feed; 3] = [Feed::Whole, Feed::Chunks(4096), Feed::Chunks(61)];
    /// The feed of W6: 1,460-byte chunks (a TCP segment's payload).
    pub const TCP: Feed = Feed::Chunks(1460);

    /// A short name, used in benchmark ids: `whole`, `4KiB`, `61B`, `1460B`.
    pub fn name(&self) -> String {
        match *self {
            Feed::Whole => "whole".to_owned(),
            Feed::Chunks(n) if n % 1024 == 0 => format!("{}KiB", n / 1024),
            Feed::Chunks(n) => format!("{n}B"),
        }
    }

    /// Cuts `bytes` into chunks: slices sharing `bytes`' storage, no copy.
    pub fn split(&self, bytes: &Bytes) -> Vec<Bytes> {
        match *self {
            Feed::Whole => vec![bytes.clone()],
            Feed::Chunks(n) => {
                let n = n.max(1);
                (0..bytes.len())
                    .step_by(n)
                    .map(|at| bytes.slice(at..(at + n).min(bytes.len())))
                    .collect()
            }
        }
    }
}

/// Where criterion keeps its results, found as criterion itself does:
/// `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else the cargo
/// target directory that holds the running executable (it carries cargo's
/// `CACHEDIR.TAG`), else `target/criterion`.
///
/// The benchmarks pass this directory to criterion explicitly, so their
/// results and their check files always land together.
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Path::new(&target).join("criterion");
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .skip(1)
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(|target| target.join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_split_without_losing_bytes() {
        let bytes = Bytes::from_static(b"0123456789");
        assert_eq!(Feed::Whole.split(&bytes), vec![bytes.clone()]);
        let chunks = Feed::Chunks(4).split(&bytes);
        assert_eq!(chunks, ["0123", "4567", "89"]);
        assert_eq!(Feed::Chunks(4096).name(), "4KiB");
        assert_eq!(Feed::Chunks(61).name(), "61B");
        assert!(Feed::Chunks(3).split(&Bytes::new()).is_empty());
    }
}

/// The first `events` events of a `text/event-stream` workload that ends
/// events with `\n\n`, and each event's size in bytes (fewer when the
/// workload holds fewer).
pub fn first_events(bytes: &Bytes, events: usize) -> (Bytes, Vec<usize>) {
    let mut sizes = Vec::with_capacity(events);
    let mut start = 0;
    for at in memchr::memmem::find_iter(bytes, b"\n\n") {
        sizes.push(at + 2 - start);
        start = at + 2;
        if sizes.len() == events {
            break;
        }
    }
    (bytes.slice(..start), sizes)
}

/// The floor any hyper-based client pays: counts blank lines (`\n\n`, the
/// end of each event in the workloads) across body chunks, and nothing else.
#[derive(Debug, Default)]
pub struct BlankLines {
    last_lf: bool,
}

impl BlankLines {
    /// The events `chunk` ends (a `\n\n` may straddle two chunks).
    pub fn count(&mut self, chunk: &[u8]) -> usize {
        let mut events = 0;
        for at in memchr::memchr_iter(b'\n', chunk) {
            let previous_lf = if at == 0 {
                self.last_lf
            } else {
                chunk[at - 1] == b'\n'
            };
            events += usize::from(previous_lf);
        }
        self.last_lf = chunk.last() == Some(&b'\n');
        events
    }
}
