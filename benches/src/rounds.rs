//! Interleaved rounds: every fast decode row timed once per round, rounds
//! repeated, ratios taken within a round.
//!
//! Criterion measures one row after another, a few seconds each. On a
//! shared virtual machine the speed of the whole machine drifts by 20–30 %
//! over minutes (sse-core's W1 61-byte row measured 700 and 930 MiB/s ten
//! minutes apart, bourn's W3 4 KiB row 1.29× and 0.82× sse-stream in two
//! report runs), so a ratio of two rows measured a minute apart carries that
//! drift. Here each round runs every row back to back, in a rotating order,
//! each for at least a fixed amount of this thread's CPU time (descheduled
//! time does not count), and a row's ratio is the median over rounds of
//! bourn's rate divided by the row's rate in the same round.
//!
//! The codec bench writes the cells to [`FILE`] beside criterion's results;
//! the report prints them beside criterion's table.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::Tally;

/// The file the codec bench writes into the criterion directory.
pub const FILE: &str = "decode-rounds.json";

/// One workload × feed, measured in rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// `W1` … `W5`.
    pub workload: String,
    /// `whole`, `4KiB`, `61B`.
    pub feed: String,
    /// How many rounds were run.
    pub rounds: usize,
    /// The rows that agreed with the spec, in the order given.
    pub rows: Vec<RowRate>,
}

/// One row of a [`Cell`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowRate {
    /// The row's name, as in criterion's table.
    pub name: String,
    /// Median over rounds of the row's rate, bytes of input per second of
    /// CPU time.
    pub bytes_per_second: f64,
    /// Median over rounds of the reference row's rate divided by this
    /// row's rate in the same round (> 1: the reference is faster).
    pub reference_ratio: f64,
}

impl Cell {
    /// The row called `name`.
    pub fn row(&self, name: &str) -> Option<&RowRate> {
        self.rows.iter().find(|r| r.name == name)
    }
}

/// A row to measure: its name, what it must produce, and one pass.
pub type Row<'a> = (&'a str, Tally, Box<dyn FnMut() -> Tally + 'a>);

/// Runs `rows` in `rounds` rounds over an input of `bytes` bytes, each pass
/// repeated until it has used `min_cpu_seconds` of CPU time, and returns
/// each row that produced its expected tally with its median rate and its
/// median ratio to `rows[0]` (the reference). A row that disagrees is left
/// out after its first pass; so is the reference's ratio to itself (1.0).
///
/// # Panics
///
/// When the reference row disagrees with its expected tally.
pub fn measure(
    rows: Vec<Row<'_>>,
    bytes: u64,
    rounds: usize,
    min_cpu_seconds: f64,
) -> Vec<RowRate> {
    let mut rows: Vec<(String, Box<dyn FnMut() -> Tally + '_>)> = rows
        .into_iter()
        .enumerate()
        .filter_map(|(i, (name, expected, mut pass))| {
            let agrees = pass() == expected;
            assert!(agrees || i > 0, "the reference row {name} disagrees");
            agrees.then(|| (name.to_owned(), pass))
        })
        .collect();
    let mut rates = vec![Vec::with_capacity(rounds); rows.len()];
    for round in 0..rounds {
        // A rotating order: no row always runs first, or right after the
        // same neighbour.
        for k in 0..rows.len() {
            let i = (k + round) % rows.len();
            rates[i].push(rate(&mut rows[i].1, bytes, min_cpu_seconds));
        }
    }
    let reference = rates.first().cloned().unwrap_or_default();
    rows.iter()
        .zip(&rates)
        .map(|((name, _), rates)| {
            let ratios: Vec<f64> = reference.iter().zip(rates).map(|(r, x)| r / x).collect();
            RowRate {
                name: name.clone(),
                bytes_per_second: median(rates),
                reference_ratio: median(&ratios),
            }
        })
        .collect()
}

/// Bytes per second of CPU time of `pass`, repeated until it has used
/// `min_cpu_seconds` (wall clock where CPU time cannot be read).
fn rate(pass: &mut dyn FnMut() -> Tally, bytes: u64, min_cpu_seconds: f64) -> f64 {
    let (wall, cpu) = (Instant::now(), thread_cpu_ns());
    let mut passes = 0u64;
    loop {
        std::hint::black_box(pass());
        passes += 1;
        let seconds = match (cpu, thread_cpu_ns()) {
            (Some(start), Some(now)) => now.saturating_sub(start) as f64 / 1e9,
            _ => wall.elapsed().as_secs_f64(),
        };
        if seconds >= min_cpu_seconds && seconds > 0.0 {
            return (bytes * passes) as f64 / seconds;
        }
    }
}

/// This thread's CPU time in ns (`/proc/thread-self/schedstat`; Linux).
/// It advances at scheduler ticks, so a measurement must last many ticks.
pub fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// The median (the mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Writes `cells` to [`FILE`] in `dir`.
///
/// # Errors
///
/// When the file cannot be written.
pub fn write(dir: &Path, cells: &[Cell]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_vec_pretty(cells).map_err(std::io::Error::other)?;
    std::fs::write(dir.join(FILE), json)
}

/// Reads [`FILE`] from `dir`; empty when it is missing or does not parse.
pub fn read(dir: &Path) -> Vec<Cell> {
    std::fs::read(dir.join(FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn rows_that_disagree_are_left_out_and_ratios_are_to_the_reference() {
        let expected = Tally {
            events: 1,
            data_bytes: 1,
        };
        let spin = |n: u64| {
            move || {
                let mut x = 0u64;
                for i in 0..n {
                    x = std::hint::black_box(x.wrapping_add(i));
                }
                std::hint::black_box(x);
                expected
            }
        };
        let rows: Vec<Row<'_>> = vec![
            ("fast", expected, Box::new(spin(100_000))),
            ("wrong", expected, Box::new(Tally::default)),
            ("slow", expected, Box::new(spin(400_000))),
        ];
        let rates = measure(rows, 1_000, 3, 0.02);
        let names: Vec<&str> = rates.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["fast", "slow"]);
        assert_eq!(rates[0].reference_ratio, 1.0);
        // Four times the work: the reference is faster, by a margin no
        // scheduler noise closes.
        assert!(rates[1].reference_ratio > 1.5, "{rates:?}");
        assert!(rates[0].bytes_per_second > rates[1].bytes_per_second);
    }
}
