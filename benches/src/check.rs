//! What a benchmark row found when its output was checked, once, before it
//! was measured.
//!
//! Every decode row runs on prefixes of its workload (256 KiB, 512 KiB, ...)
//! and then on the whole of it, and compares each [`Tally`] with the expected
//! one. A row that disagrees is not measured (a fast wrong answer is not a
//! result); a row with a pass longer than [`SLOW_PASS`] is not sampled either
//! (that pass is its time, over the bytes it covered). Both are
//! recorded in a `bourn-check.json` beside criterion's files for that row,
//! `<criterion dir>/<group>/<function>/bourn-check.json`, where the report
//! finds them.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Tally;

/// The name of a row's check file.
pub const FILE_NAME: &str = "bourn-check.json";

/// A single pass slower than this is not sampled by criterion: ten samples
/// would take minutes (eventsource-stream is quadratic on W6 and on any
/// workload fed whole).
pub const SLOW_PASS: Duration = Duration::from_secs(2);

/// The verdict on a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Output as the WHATWG algorithm gives; measured by criterion.
    Agrees,
    /// Output differs from the WHATWG result: recorded, not measured.
    Disagrees,
    /// Output as expected, but one pass took longer than [`SLOW_PASS`]: the
    /// single pass is the measurement.
    TooSlow,
    /// The decoder failed (returned an error or panicked).
    Failed,
}

/// One row's check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowCheck {
    /// Criterion group id, e.g. `decode-W1-whole`.
    pub group: String,
    /// Criterion function id, e.g. `sse-core`.
    pub function: String,
    /// The verdict.
    pub status: Status,
    /// What the WHATWG algorithm gives.
    pub expected: Tally,
    /// What the row produced.
    pub got: Tally,
    /// Bytes of input in the pass recorded (a prefix, for a row too slow to
    /// finish the whole workload).
    pub bytes: u64,
    /// Wall time of the checking pass, in seconds.
    pub pass_seconds: f64,
    /// A short explanation (an error message, a note).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl RowCheck {
    /// Where this row's check file goes under `criterion_dir`.
    pub fn path(&self, criterion_dir: &Path) -> PathBuf {
        criterion_dir
            .join(&self.group)
            .join(&self.function)
            .join(FILE_NAME)
    }

    /// Writes the check file.
    ///
    /// # Errors
    ///
    /// When the directory cannot be created or the file written.
    pub fn write(&self, criterion_dir: &Path) -> io::Result<()> {
        let path = self.path(criterion_dir);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        std::fs::write(path, json)
    }

    /// Reads a check file.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or is not a check.
    pub fn read(path: &Path) -> io::Result<RowCheck> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes).map_err(io::Error::other)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_file() {
        let dir = std::env::temp_dir().join(format!("bourn-check-test-{}", std::process::id()));
        let check = RowCheck {
            group: "decode-W1-whole".into(),
            function: "sse-core".into(),
            status: Status::Disagrees,
            expected: Tally {
                events: 2,
                data_bytes: 10,
            },
            got: Tally {
                events: 1,
                data_bytes: 5,
            },
            bytes: 30,
            pass_seconds: 0.5,
            note: String::new(),
        };
        check.write(&dir).expect("write the check");
        let back = RowCheck::read(&check.path(&dir)).expect("read the check");
        assert_eq!(back, check);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
