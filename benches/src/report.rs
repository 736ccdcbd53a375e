//! `REPORT.md` from criterion's results and the rows' checks.
//!
//! Criterion leaves, for each benchmark, `<group>/<function>/new/benchmark.json`
//! (ids and throughput) and `new/estimates.json` (time per iteration); the
//! benchmarks of this crate add `bourn-check.json` (see [`crate::check`]).
//!
//! - Groups named `decode-<workload>-<feed>` form the decode matrix: bourn
//!   beside each peer and the `memchr2` / `memcpy` bounds, the ratios and the
//!   targets.
//! - Groups named `encode-<workload>` form the encoding table (events/s).
//! - Every other group (server and client benchmarks, say) is listed as plain
//!   throughput rows.
//!
//! Times are criterion's median per iteration (thread CPU time in the
//! codec bench's groups, wall clock in the others).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::check::{self, RowCheck, Status};
use crate::rounds;

/// The bourn row of every codec group.
pub const BOURN: &str = "bourn-codec";
/// The owned decoder fed `Bytes` chunks (`Decoder::decode_bytes`).
pub const BOURN_BYTES: &str = "bourn-codec-bytes";
/// The borrowing decoder's row (`RefDecoder`).
pub const BOURN_REF: &str = "bourn-codec-ref";
/// The geometric mean of bourn-codec-ref/memchr2 over W1–W5 must reach this.
pub const REF_BOUND_TARGET: f64 = 0.7;
/// The line-scan bound row.
pub const MEMCHR2: &str = "memchr2";
/// W3's floor under the append harness ([`crate::floor::join_floor`]).
pub const JOIN_FLOOR: &str = "join-floor";
/// The line scan plus a UTF-8 check ([`crate::floor::scan_utf8`]).
pub const SCAN_UTF8: &str = "memchr2+utf8";
/// The copy bound row.
pub const MEMCPY: &str = "memcpy";
/// The owned decoder must never be slower than the fastest agreeing peer on
/// any W1–W5 workload and feed (issue 14)…
pub const PEER_FLOOR: f64 = 1.0;
/// … and beat it by this factor as a geometric mean over those cells.
pub const PEER_TARGET: f64 = 1.3;
/// The geometric mean of bourn/memchr2 over W1–W5 must reach this, per feed.
pub const BOUND_TARGET: f64 = 0.5;

/// The peers, in column order, with the version measured.
pub const PEERS: &[(&str, &str)] = &[
    ("sse-stream", "0.3.0"),
    ("sse-core", "0.2.3"),
    ("sse-parse", "0.1.0"),
    ("eventsource-stream", "0.2.3"),
];

/// What criterion measured for one benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Median time per iteration, in nanoseconds.
    pub median_ns: f64,
    /// Lower and upper bound of the median's confidence interval, in ns.
    pub ci_ns: (f64, f64),
    /// Bytes or elements per iteration.
    pub throughput: Option<Amount>,
    /// When the estimates were written.
    pub when: Option<SystemTime>,
}

/// Criterion's throughput: how much one iteration processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// Bytes per iteration.
    Bytes(u64),
    /// Elements (events) per iteration.
    Elements(u64),
}

/// One benchmark: what criterion measured and what its check found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    /// Criterion's group id.
    pub group: String,
    /// Criterion's function id.
    pub function: String,
    /// Criterion's results, when it measured the row.
    pub measured: Option<Measurement>,
    /// The row's check, when it has one.
    pub check: Option<RowCheck>,
}

impl Row {
    /// Whether the row's output was checked and found wrong (or it failed).
    pub fn disagrees(&self) -> bool {
        self.check
            .as_ref()
            .is_some_and(|c| matches!(c.status, Status::Disagrees | Status::Failed))
    }

    /// Whether the only timing is the single checking pass.
    pub fn single_pass(&self) -> bool {
        self.check
            .as_ref()
            .is_some_and(|c| c.status == Status::TooSlow)
    }

    /// Seconds per iteration as criterion measured it (median). `None` for
    /// a row that disagrees, was not sampled, or has no data.
    pub fn seconds(&self) -> Option<f64> {
        if self.disagrees() || self.single_pass() {
            return None;
        }
        self.measured.as_ref().map(|m| m.median_ns * 1e-9)
    }

    /// Bytes or elements per second: criterion's median, or for a row too
    /// slow to sample, its single checking pass (over the bytes that pass
    /// covered, possibly a prefix).
    pub fn rate(&self) -> Option<(f64, Amount)> {
        if self.disagrees() {
            return None;
        }
        if let Some(check) = self.check.as_ref().filter(|c| c.status == Status::TooSlow) {
            return (check.pass_seconds > 0.0).then(|| {
                (
                    check.bytes as f64 / check.pass_seconds,
                    Amount::Bytes(check.bytes),
                )
            });
        }
        let amount = self.measured.as_ref()?.throughput?;
        let per = match amount {
            Amount::Bytes(n) | Amount::Elements(n) => n as f64,
        };
        self.seconds()
            .filter(|s| *s > 0.0)
            .map(|s| (per / s, amount))
    }
}

/// The directory, under criterion's, where the codec benchmark writes each
/// decoder's conformance result (`<decoder>.json`).
pub const CONFORMANCE_DIR: &str = "bourn-conformance";

/// One decoder's result under the bourn-conformance vectors, as the codec
/// benchmark writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerConformance {
    /// The decoder (a benchmark row name).
    pub decoder: String,
    /// The chunkings each case ran at.
    pub plan: String,
    /// Cases run (not skipped, not needing a capability the decoder lacks).
    pub cases: u64,
    /// Cases with at least one failing run.
    pub cases_failed: u64,
    /// Cases needing a capability the decoder lacks (limits, say).
    pub unsupported: u64,
    /// Runs (case × chunking) that passed.
    pub runs_passed: u64,
    /// Runs that failed.
    pub runs_failed: u64,
    /// `group/case` of each failing case.
    pub failed_groups: Vec<String>,
}

impl PeerConformance {
    /// Where this result goes under `criterion_dir`.
    pub fn path(&self, criterion_dir: &Path) -> PathBuf {
        criterion_dir
            .join(CONFORMANCE_DIR)
            .join(format!("{}.json", self.decoder))
    }

    /// Writes the result.
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

    /// Cases passed, in percent.
    pub fn percent(&self) -> f64 {
        if self.cases == 0 {
            return 0.0;
        }
        100.0 * (self.cases - self.cases_failed) as f64 / self.cases as f64
    }
}

/// The file, under criterion's directory, where the client benchmark writes
/// each client's score under the client suite.
pub const CLIENT_CONFORMANCE_FILE: &str = "client-conformance.json";

/// One client's scores under bourn-conformance's client suite
/// (`ClientUnderTest`), as the client benchmark writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientConformance {
    /// The client (a benchmark row name).
    pub client: String,
    /// Behaviour cases passed.
    pub behaviour_passed: u64,
    /// Behaviour cases failed.
    pub behaviour_failed: u64,
    /// Behaviour cases the client's API cannot express.
    pub behaviour_not_applicable: u64,
    /// The failed behaviour cases' ids.
    pub behaviour_failures: Vec<String>,
    /// Decoder vectors over HTTP passed (every chunking).
    pub vectors_passed: u64,
    /// Decoder vectors over HTTP failed.
    pub vectors_failed: u64,
    /// Decoder vectors the client cannot be set up for (limits).
    pub vectors_not_applicable: u64,
    /// The failed vectors, `group/id`.
    pub vectors_failures: Vec<String>,
}

/// `passed / applicable (percent)`.
fn score(passed: u64, failed: u64) -> String {
    let applicable = passed + failed;
    if applicable == 0 {
        return "—".to_owned();
    }
    format!(
        "{passed} / {applicable} ({:.1}%)",
        100.0 * passed as f64 / applicable as f64
    )
}

/// The client conformance section: each client's scores beside its CPU
/// time per event (`cpu_us`: client → µs per event, W1 in 16 KiB chunks,
/// from the client bench's cost pass).
pub fn render_client_conformance(
    results: &[ClientConformance],
    cpu_us: &BTreeMap<String, f64>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n## Client conformance\n");
    let _ = writeln!(
        out,
        "Each client through bourn-conformance's `ClientUnderTest` (the peers' adapters: \
         `benches/benches/support/peer_clients.rs`), over loopback against a scripted server: \
         the client behaviour cases (`conformance/vectors/behaviour/client.json`: requests, \
         items, reconnection, failure) and every decoder vector played as a response body \
         (whole, 1-byte and 3-byte chunks; a case passes when every chunking passes). A case \
         the client's API cannot express is not applicable, never a pass. Speed beside it: \
         CPU µs per event, W1 in 16 KiB chunks (client cost pass above).\n"
    );
    let _ = writeln!(
        out,
        "| client | behaviour cases passed | n/a | decoder vectors over HTTP passed | n/a | CPU µs / event (W1 16KiB) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.client,
            score(r.behaviour_passed, r.behaviour_failed),
            r.behaviour_not_applicable,
            score(r.vectors_passed, r.vectors_failed),
            r.vectors_not_applicable,
            cpu_us
                .get(&r.client)
                .map_or("—".to_owned(), |us| format!("{us:.3}"))
        );
    }
    for r in results {
        let list = |ids: &[String]| {
            let mut shown: Vec<String> = ids.iter().take(10).map(|id| format!("`{id}`")).collect();
            if ids.len() > 10 {
                shown.push(format!("and {} more", ids.len() - 10));
            }
            shown.join(", ")
        };
        if !r.behaviour_failures.is_empty() {
            let _ = writeln!(
                out,
                "\n- {} fails behaviour cases: {}.",
                r.client,
                list(&r.behaviour_failures)
            );
        }
        if !r.vectors_failures.is_empty() {
            let _ = writeln!(
                out,
                "\n- {} fails vectors over HTTP: {}.",
                r.client,
                list(&r.vectors_failures)
            );
        }
    }
    out
}

/// All rows found under a criterion directory.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Rows by (group, function).
    pub rows: BTreeMap<(String, String), Row>,
    /// Conformance results by decoder.
    pub conformance: BTreeMap<String, PeerConformance>,
    /// The decode rows timed in interleaved rounds (`decode-rounds.json`).
    pub rounds: Vec<rounds::Cell>,
}

#[derive(Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<ThroughputJson>,
}

#[derive(Deserialize)]
enum ThroughputJson {
    Bytes(u64),
    BytesDecimal(u64),
    Elements(u64),
}

#[derive(Deserialize)]
struct EstimatesJson {
    median: EstimateJson,
}

#[derive(Deserialize)]
struct EstimateJson {
    point_estimate: f64,
    confidence_interval: IntervalJson,
}

#[derive(Deserialize)]
struct IntervalJson {
    lower_bound: f64,
    upper_bound: f64,
}

impl Report {
    /// Reads every benchmark and check under `criterion_dir`.
    ///
    /// # Errors
    ///
    /// When the directory cannot be read. Files that do not parse are skipped.
    pub fn load(criterion_dir: &Path) -> io::Result<Report> {
        let mut report = Report {
            rounds: rounds::read(criterion_dir),
            ..Report::default()
        };
        let mut dirs = vec![criterion_dir.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    // `base` and `change` hold older runs; `report` is HTML.
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    if name == "new" {
                        report.add_measurement(&path);
                    } else if !matches!(name, "base" | "change" | "report") {
                        dirs.push(path);
                    }
                } else if dir.file_name().is_some_and(|n| n == CONFORMANCE_DIR)
                    && path.extension().is_some_and(|e| e == "json")
                {
                    if let Some(result) = std::fs::read(&path)
                        .ok()
                        .and_then(|b| serde_json::from_slice::<PeerConformance>(&b).ok())
                    {
                        report.conformance.insert(result.decoder.clone(), result);
                    }
                } else if path.file_name().is_some_and(|n| n == check::FILE_NAME) {
                    if let Ok(check) = RowCheck::read(&path) {
                        let key = (check.group.clone(), check.function.clone());
                        report.row(key).check = Some(check);
                    }
                }
            }
        }
        Ok(report)
    }

    fn row(&mut self, key: (String, String)) -> &mut Row {
        self.rows.entry(key.clone()).or_insert_with(|| Row {
            group: key.0,
            function: key.1,
            ..Row::default()
        })
    }

    fn add_measurement(&mut self, new_dir: &Path) {
        let read = |name: &str| std::fs::read(new_dir.join(name)).ok();
        let Some(benchmark) =
            read("benchmark.json").and_then(|b| serde_json::from_slice::<BenchmarkJson>(&b).ok())
        else {
            return;
        };
        let Some(estimates) =
            read("estimates.json").and_then(|b| serde_json::from_slice::<EstimatesJson>(&b).ok())
        else {
            return;
        };
        let function = match (benchmark.function_id, benchmark.value_str) {
            (Some(f), Some(v)) => format!("{f}/{v}"),
            (Some(f), None) => f,
            (None, Some(v)) => v,
            (None, None) => String::new(),
        };
        let when = std::fs::metadata(new_dir.join("estimates.json"))
            .and_then(|m| m.modified())
            .ok();
        let throughput = benchmark.throughput.map(|t| match t {
            ThroughputJson::Bytes(n) | ThroughputJson::BytesDecimal(n) => Amount::Bytes(n),
            ThroughputJson::Elements(n) => Amount::Elements(n),
        });
        self.row((benchmark.group_id, function)).measured = Some(Measurement {
            median_ns: estimates.median.point_estimate,
            ci_ns: (
                estimates.median.confidence_interval.lower_bound,
                estimates.median.confidence_interval.upper_bound,
            ),
            throughput,
            when,
        });
    }

    fn get(&self, group: &str, function: &str) -> Option<&Row> {
        self.rows.get(&(group.to_owned(), function.to_owned()))
    }

    /// The decode groups, as (workload, feed) in order: W1…, then by feed
    /// (whole, KiB chunks largest first, byte chunks largest first).
    pub fn decode_cells(&self) -> Vec<(String, String)> {
        let mut cells: Vec<(String, String)> = self
            .rows
            .keys()
            .filter_map(|(group, _)| split_decode_group(group))
            .collect();
        cells.sort_by_key(|(w, f)| (w.clone(), feed_rank(f)));
        cells.dedup();
        cells
    }

    /// The peers seen in decode groups, in [`PEERS`] order, then any others.
    pub fn peers(&self) -> Vec<String> {
        let mut seen: Vec<String> = self
            .rows
            .values()
            .filter(|r| r.group.starts_with("decode-"))
            .map(|r| r.function.clone())
            .filter(|f| {
                ![
                    BOURN,
                    BOURN_BYTES,
                    BOURN_REF,
                    MEMCHR2,
                    SCAN_UTF8,
                    MEMCPY,
                    JOIN_FLOOR,
                ]
                .contains(&f.as_str())
            })
            .collect();
        seen.sort_by_key(|f| {
            (
                PEERS.iter().position(|(p, _)| p == f).unwrap_or(usize::MAX),
                f.clone(),
            )
        });
        seen.dedup();
        seen
    }

    /// `function`'s rate in `group`, if measured and agreeing.
    fn rate_of(&self, group: &str, function: &str) -> Option<f64> {
        let row = self.get(group, function)?;
        if row.disagrees() {
            return None;
        }
        Some(row.rate()?.0)
    }

    /// bourn's rate divided by `function`'s: how many times faster bourn is.
    pub fn ratio(&self, group: &str, function: &str) -> Option<f64> {
        let (bourn, _) = self.get(group, BOURN)?.rate()?;
        let (other, _) = self.get(group, function)?.rate()?;
        Some(bourn / other)
    }

    /// The fastest peer that agrees with the spec on `group`, and bourn's
    /// ratio to it.
    pub fn fastest_peer(&self, group: &str) -> Option<(String, f64)> {
        self.peers()
            .into_iter()
            .filter_map(|p| self.ratio(group, &p).map(|r| (p, r)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// `row`'s ratio to the fastest agreeing peer on each W1–W5 cell of
    /// criterion's table (the lowest ratio over the peers).
    fn peer_ratios(&self, cells: &[(String, String)], row: &str) -> PeerRatios {
        let mut ratios = PeerRatios::default();
        for (w, f) in cells.iter().filter(|(w, _)| is_w1_to_w5(w)) {
            let group = decode_group(w, f);
            let fastest = self
                .peers()
                .into_iter()
                .filter_map(|peer| {
                    let r = self.get(&group, row)?.rate()?.0 / self.rate_of(&group, &peer)?;
                    Some((peer, r))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1));
            match fastest {
                Some((peer, ratio)) => ratios.push(format!("{w} {f}"), peer, ratio),
                None => ratios
                    .misses
                    .push(format!("{w} {f}: no {row} or no agreeing peer measured")),
            }
        }
        ratios
    }

    /// `row`'s ratio to the fastest peer on each W1–W5 cell of the
    /// interleaved rounds (for a row other than the reference, the quotient
    /// of the medians of the reference's ratios).
    fn rounds_peer_ratios(&self, row: &str) -> PeerRatios {
        let mut ratios = PeerRatios::default();
        for cell in self.rounds.iter().filter(|c| is_w1_to_w5(&c.workload)) {
            let Some((peer, r)) = rounds_fastest_peer(cell) else {
                continue;
            };
            let own = if row == BOURN {
                Some(1.0)
            } else {
                cell.row(row).map(|x| x.reference_ratio)
            };
            if let Some(own) = own.filter(|own| *own > 0.0) {
                ratios.push(
                    format!("{} {}", cell.workload, cell.feed),
                    peer.to_owned(),
                    r / own,
                );
            }
        }
        ratios
    }

    /// The markdown report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "# bourn benchmark report")?;
        writeln!(out)?;
        writeln!(
            out,
            "Generated by `bench-report` (`cargo xtask bench-report`) from criterion's \
             results in `target/criterion`; do not edit by hand. Times are criterion's \
             median per iteration: of the bench thread's CPU time in the decode and encode \
             groups (the codec bench: time waiting for a core on a shared machine does not \
             count), of wall-clock time in the others. {}",
            machine()
        )?;
        if let Some(span) = self.span() {
            writeln!(out)?;
            writeln!(out, "Measured {span}.")?;
        }
        let cells = self.decode_cells();
        if !cells.is_empty() {
            self.render_targets(out, &cells)?;
            self.render_decode(out, &cells)?;
        } else if !self.rounds.is_empty() {
            self.render_targets(out, &cells)?;
        }
        self.render_rounds(out)?;
        self.render_conformance(out)?;
        self.render_encode(out)?;
        self.render_others(out)?;
        self.render_checks(out)?;
        if Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("PROFILE.md")
            .is_file()
        {
            writeln!(out)?;
            writeln!(out, "## Decoder profile")?;
            writeln!(out)?;
            writeln!(
                out,
                "Where bourn-codec's decoder spends its instructions, measured with callgrind, \
                 and what would change it: [PROFILE.md](PROFILE.md) (written by hand; its \
                 numbers are dated there)."
            )?;
        }
        writeln!(out)?;
        writeln!(out, "## Method")?;
        writeln!(out)?;
        writeln!(out, "{METHOD}")?;
        Ok(())
    }

    /// The first target judged on the interleaved rounds, when they ran.
    /// The decode rows timed in interleaved rounds: bourn's ratios.
    fn render_rounds(&self, out: &mut String) -> std::fmt::Result {
        if self.rounds.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        writeln!(out, "## Decode ratios, interleaved rounds")?;
        writeln!(out)?;
        writeln!(
            out,
            "The same rows and inputs as above (eventsource-stream left out), timed a second \
             way: in each of {} rounds every row runs back to back, in a rotating order, for \
             at least 0.25 s of its thread's CPU time; a ratio is the median over rounds of \
             bourn's rate divided by the row's rate in the same round. Criterion times one \
             row after another, and on a shared machine the whole machine's speed drifts \
             between rows; a ratio taken within a round does not carry that drift. \
             `ref/…` ratios are quotients of bourn's medians.",
            self.rounds.first().map_or(0, |c| c.rounds)
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "| workload | feed | bourn | bourn/sse-stream | bourn/sse-core | bourn/sse-parse | \
             bourn/fastest peer | bourn/memchr2 | bytes/fastest peer | ref/fastest peer | \
             ref/memchr2 |"
        )?;
        writeln!(
            out,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for cell in &self.rounds {
            let ratio = |name: &str| cell.row(name).map(|r| r.reference_ratio);
            let show = |r: Option<f64>| r.map_or("—".to_owned(), |r| format!("{r:.2}×"));
            let bourn = cell
                .row(BOURN)
                .map_or("—".to_owned(), |r| bytes_per_second(r.bytes_per_second));
            let fastest = rounds_fastest_peer(cell);
            let mark = match fastest {
                Some((_, r)) if r < PEER_FLOOR && is_w1_to_w5(&cell.workload) => " ⚠",
                _ => "",
            };
            let fastest_cell = fastest.map_or("—".to_owned(), |(peer, r)| {
                format!("{r:.2}× ({peer}){mark}")
            });
            // bourn/peer ÷ bourn/other = other/peer.
            let versus = |other: Option<f64>| match (fastest, other) {
                (Some((peer, r)), Some(o)) if o > 0.0 => format!("{:.2}× ({peer})", r / o),
                _ => "—".to_owned(),
            };
            let memchr = ratio(MEMCHR2);
            let of_memchr = |other: Option<f64>| match (memchr, other) {
                (Some(m), Some(o)) if o > 0.0 => format!("{:.2}×", m / o),
                _ => "—".to_owned(),
            };
            writeln!(
                out,
                "| {} | {} | {bourn} | {} | {} | {} | {fastest_cell} | {} | {} | {} | {} |",
                cell.workload,
                cell.feed,
                show(ratio("sse-stream")),
                show(ratio("sse-core")),
                show(ratio("sse-parse")),
                show(memchr),
                versus(ratio(BOURN_BYTES)),
                versus(ratio(BOURN_REF)),
                of_memchr(ratio(BOURN_REF)),
            )?;
        }
        Ok(())
    }

    fn span(&self) -> Option<String> {
        let times: Vec<SystemTime> = self
            .rows
            .values()
            .filter_map(|r| r.measured.as_ref()?.when)
            .collect();
        let first = times.iter().min()?;
        let last = times.iter().max()?;
        Some(format!("between {} and {} (UTC)", utc(*first), utc(*last)))
    }

    fn render_targets(&self, out: &mut String, cells: &[(String, String)]) -> std::fmt::Result {
        writeln!(out)?;
        writeln!(out, "## Targets")?;
        writeln!(out)?;
        // 1. bourn >= 1x the fastest agreeing peer on every W1–W5 cell, and
        //    >= 1.3x as their geometric mean: `decode` fed as the issue's
        //    harness feeds it (each chunk appended to a reused `BytesMut`).
        let owned = self.peer_ratios(cells, BOURN);
        let target = format!(
            "- bourn (the owned `Decoder`, `decode` on a reused `BytesMut`) ≥ {PEER_FLOOR}× the \
             fastest spec-agreeing peer on every W1–W5 workload and feed, and ≥ {PEER_TARGET}× \
             as their geometric mean"
        );
        if !cells.is_empty() {
            writeln!(
                out,
                "{target}: {} — {}.",
                owned.verdict(false),
                owned.summary()
            )?;
        }
        let rounds = self.rounds_peer_ratios(BOURN);
        if !rounds.ratios.is_empty() {
            let lead = if cells.is_empty() {
                format!("{target}, on the interleaved rounds")
            } else {
                "  The same target on the interleaved rounds".to_owned()
            };
            writeln!(
                out,
                "{lead} (CPU time, ratios within a round; table below): {} — {}.",
                rounds.verdict(true),
                rounds.summary()
            )?;
        }
        // The same measure for `decode_bytes`, what `EventStream` and
        // bourn-client call, fed as the peers are (a clone of each chunk).
        let bytes = self.peer_ratios(cells, BOURN_BYTES);
        if !bytes.ratios.is_empty() {
            let rounds = self.rounds_peer_ratios(BOURN_BYTES);
            writeln!(
                out,
                "- {BOURN_BYTES} (`decode_bytes`: what `EventStream` and bourn-client call; \
                 each chunk a clone of a `Bytes`, as the peers are fed), the same measure: \
                 {} — {}; interleaved rounds: {}.",
                bytes.verdict(false),
                bytes.summary(),
                rounds.summary()
            )?;
        }
        self.render_floor(out, cells)?;
        // 2. geomean bourn/memchr2 over W1–W5 >= 0.5, per feed.
        let mut feeds: Vec<String> = cells.iter().map(|(_, f)| f.clone()).collect();
        feeds.sort_by_key(|f| feed_rank(f));
        feeds.dedup();
        let mut all = Vec::new();
        let mut parts = Vec::new();
        let mut met = true;
        for feed in &feeds {
            let ratios: Vec<f64> = cells
                .iter()
                .filter(|(w, f)| f == feed && is_w1_to_w5(w))
                .filter_map(|(w, f)| self.ratio(&decode_group(w, f), MEMCHR2))
                .collect();
            if ratios.is_empty() {
                continue;
            }
            let mean = geomean(&ratios);
            met &= mean >= BOUND_TARGET && ratios.len() == 5;
            parts.push(format!("{feed} {mean:.3} (n={})", ratios.len()));
            all.extend(ratios);
        }
        if !all.is_empty() {
            let verdict = if met { "**met**" } else { "**NOT met**" };
            writeln!(
                out,
                "- bourn ≥ {BOUND_TARGET}× the memchr2 line-scan bound, geometric mean over \
                 W1–W5: {verdict} — per feed: {}; all feeds: {:.3}.",
                parts.join(", "),
                geomean(&all)
            )?;
        }
        // 3. the borrowing decoder: geomean bourn-codec-ref/memchr2 over W1–W5.
        let ref_ratios = self.w1_to_w5_rate_ratios(cells, BOURN_REF, MEMCHR2);
        if !ref_ratios.is_empty() {
            let mean = geomean(&ref_ratios);
            let verdict = if mean >= REF_BOUND_TARGET {
                "**met**"
            } else {
                "**NOT met**"
            };
            writeln!(
                out,
                "- {BOURN_REF} (the borrowing `RefDecoder`) ≥ {REF_BOUND_TARGET}× the memchr2 \
                 bound, geometric mean over W1–W5 and every feed: {verdict} — {mean:.3} \
                 (n={}).",
                ref_ratios.len()
            )?;
            self.render_scan_utf8(out, cells)?;
        }
        let wrong: Vec<String> = cells
            .iter()
            .filter(|(w, f)| {
                self.get(&decode_group(w, f), BOURN)
                    .is_some_and(Row::disagrees)
            })
            .map(|(w, f)| format!("{w} {f}"))
            .collect();
        if !wrong.is_empty() {
            writeln!(
                out,
                "- **bourn-codec disagrees with the spec on {}**: those cells are not results.",
                wrong.join(", ")
            )?;
        }
        Ok(())
    }

    /// `num`'s criterion rate divided by `den`'s, in each W1–W5 cell of
    /// `cells` where both agree with the spec.
    fn w1_to_w5_rate_ratios(&self, cells: &[(String, String)], num: &str, den: &str) -> Vec<f64> {
        cells
            .iter()
            .filter(|(w, _)| is_w1_to_w5(w))
            .filter_map(|(w, f)| {
                let group = decode_group(w, f);
                Some(self.rate_of(&group, num)? / self.rate_of(&group, den)?)
            })
            .collect()
    }

    /// [`SCAN_UTF8`], the least any decoder that hands out checked `&str`
    /// does, against the memchr2 bound (geometric means over W1–W5, in
    /// criterion and in the rounds): where it is below [`REF_BOUND_TARGET`],
    /// so is every such decoder.
    fn render_scan_utf8(&self, out: &mut String, cells: &[(String, String)]) -> std::fmt::Result {
        let measured = |num: &str, den: &str| self.w1_to_w5_rate_ratios(cells, num, den);
        // In the rounds a row's ratio is bourn/row, so num/den = (bourn/den) / (bourn/num).
        let rounds = |num: &str, den: &str| -> Vec<f64> {
            self.rounds
                .iter()
                .filter(|c| is_w1_to_w5(&c.workload))
                .filter_map(|c| {
                    let num = c.row(num)?.reference_ratio;
                    let den = c.row(den)?.reference_ratio;
                    (num > 0.0).then(|| den / num)
                })
                .collect()
        };
        let mean = |ratios: Vec<f64>| {
            if ratios.is_empty() {
                "—".to_owned()
            } else {
                format!("{:.3} (n={})", geomean(&ratios), ratios.len())
            }
        };
        let (scan, scan_rounds) = (measured(SCAN_UTF8, MEMCHR2), rounds(SCAN_UTF8, MEMCHR2));
        if scan.is_empty() && scan_rounds.is_empty() {
            return Ok(());
        }
        writeln!(
            out,
            "  {SCAN_UTF8} (the same scan plus one simdutf8 check of each chunk: the least any \
             decoder that hands out checked `&str` does, with no line read and nothing copied) \
             divided by memchr2, geometric mean over W1–W5: criterion {}, rounds {}. Where it \
             is below {REF_BOUND_TARGET}×, no such decoder reaches the target. {BOURN_REF} \
             divided by {SCAN_UTF8}: criterion {}, rounds {}.",
            mean(scan),
            mean(scan_rounds),
            mean(measured(BOURN_REF, SCAN_UTF8)),
            mean(rounds(BOURN_REF, SCAN_UTF8)),
        )
    }

    /// W3's floor under the append harness ([`JOIN_FLOOR`]) against the
    /// fastest peer, in criterion and in the rounds: where it is below 1×
    /// (in the rounds, which compare rows timed together), no owned decoder
    /// fed that way can meet the 1× floor on that cell.
    fn render_floor(&self, out: &mut String, cells: &[(String, String)]) -> std::fmt::Result {
        let measured: Vec<String> = cells
            .iter()
            .filter(|(w, _)| w == "W3")
            .filter_map(|(w, f)| {
                let group = decode_group(w, f);
                let (peer, _) = self.fastest_peer(&group)?;
                let floor = self.rate_of(&group, JOIN_FLOOR)? / self.rate_of(&group, &peer)?;
                let bourn = self.ratio(&group, JOIN_FLOOR)?;
                Some(format!(
                    "{f} {floor:.2}× {peer} (bourn {bourn:.2}× the floor)"
                ))
            })
            .collect();
        let rounds: Vec<String> = self
            .rounds
            .iter()
            .filter(|c| c.workload == "W3")
            .filter_map(|cell| {
                // bourn/peer ÷ bourn/floor = floor/peer.
                let (peer, bourn) = rounds_fastest_peer(cell)?;
                let own = cell.row(JOIN_FLOOR)?.reference_ratio;
                (own > 0.0).then(|| {
                    format!(
                        "{} {:.2}× {peer} (bourn {own:.2}× the floor)",
                        cell.feed,
                        bourn / own
                    )
                })
            })
            .collect();
        if measured.is_empty() && rounds.is_empty() {
            return Ok(());
        }
        writeln!(
            out,
            "  W3's floor under the same harness ({JOIN_FLOOR}: the append, the line scan, \
             each value copied into one reused buffer and checked as UTF-8 with simdutf8 once \
             per event; nothing parsed, nothing allocated or handed out), divided by the \
             fastest peer: criterion {}; rounds {}. Where the floor itself is below 1× in the \
             rounds, no owned decoder fed by appending to a `BytesMut` can be ≥ 1× there; \
             criterion times rows minutes apart, so its floor ratios carry the machine's drift.",
            if measured.is_empty() {
                "—".to_owned()
            } else {
                measured.join(", ")
            },
            if rounds.is_empty() {
                "—".to_owned()
            } else {
                rounds.join(", ")
            },
        )
    }

    fn render_decode(&self, out: &mut String, cells: &[(String, String)]) -> std::fmt::Result {
        let peers = self.peers();
        writeln!(out)?;
        writeln!(out, "## Decode throughput")?;
        writeln!(out)?;
        writeln!(
            out,
            "GiB/s of input (MiB/s below 1 GiB/s). `—` not measured; `✗` output \
             disagrees with the spec (see below); `†` a single pass, too slow to sample \
             (over a prefix when the row was too slow to finish the workload: see \
             \"Rows not compared\"; a super-linear row is slower still on the whole)."
        )?;
        writeln!(out)?;
        let mut header =
            format!("| workload | feed | {BOURN} | bourn events/s | {BOURN_BYTES} | {BOURN_REF} |");
        let mut rule = String::from("|---|---|---:|---:|---:|---:|");
        for p in &peers {
            let _ = write!(header, " {p} |");
            rule.push_str("---:|");
        }
        header.push_str(" memchr2 | memcpy |");
        rule.push_str("---:|---:|");
        writeln!(out, "{header}")?;
        writeln!(out, "{rule}")?;
        for (w, f) in cells {
            let group = decode_group(w, f);
            let mut line = format!("| {w} | {f} | {} |", self.rate_cell(&group, BOURN));
            let events = self.get(&group, BOURN).and_then(|r| {
                let check = r.check.as_ref()?;
                let (rate, _) = r.rate()?;
                Some(check.expected.events as f64 * rate / check.bytes as f64)
            });
            let _ = write!(line, " {} |", events.map_or("—".to_owned(), per_second));
            let _ = write!(line, " {} |", self.rate_cell(&group, BOURN_BYTES));
            let _ = write!(line, " {} |", self.rate_cell(&group, BOURN_REF));
            for p in &peers {
                let _ = write!(line, " {} |", self.rate_cell(&group, p));
            }
            let _ = write!(
                line,
                " {} | {} |",
                self.rate_cell(&group, MEMCHR2),
                self.rate_cell(&group, MEMCPY)
            );
            writeln!(out, "{line}")?;
        }

        writeln!(out)?;
        writeln!(out, "## Decode ratios")?;
        writeln!(out)?;
        writeln!(
            out,
            "bourn's speed divided by each row's (> 1: bourn is faster). Targets: ≥ \
             {PEER_FLOOR} against the fastest agreeing peer in every W1–W5 cell (⚠ below) and \
             ≥ {PEER_TARGET} as their geometric mean; ≥ {BOUND_TARGET} against memchr2 \
             (geometric mean W1–W5)."
        )?;
        writeln!(out)?;
        let mut header = String::from("| workload | feed |");
        let mut rule = String::from("|---|---|");
        for p in &peers {
            let _ = write!(header, " bourn/{p} |");
            rule.push_str("---:|");
        }
        header.push_str(
            " bourn/fastest peer | bourn/memchr2 | bourn/memcpy | bytes/fastest peer | \
             ref/fastest peer | ref/memchr2 |",
        );
        rule.push_str("---:|---:|---:|---:|---:|---:|");
        writeln!(out, "{header}")?;
        writeln!(out, "{rule}")?;
        for (w, f) in cells {
            let group = decode_group(w, f);
            let mut line = format!("| {w} | {f} |");
            for p in &peers {
                let _ = write!(line, " {} |", self.ratio_cell(&group, p));
            }
            let fastest = match self.fastest_peer(&group) {
                Some((peer, r)) => {
                    let mark = if r >= PEER_FLOOR || !is_w1_to_w5(w) {
                        ""
                    } else {
                        " ⚠"
                    };
                    format!("{r:.2}× ({peer}){mark}")
                }
                None => "—".to_owned(),
            };
            let _ = write!(
                line,
                " {fastest} | {} | {} |",
                self.ratio_cell(&group, MEMCHR2),
                self.ratio_cell(&group, MEMCPY)
            );
            let of_ref = |function: &str| {
                let r = self.rate_of(&group, BOURN_REF)? / self.rate_of(&group, function)?;
                Some(r)
            };
            let fastest_ref = self
                .fastest_peer(&group)
                .and_then(|(peer, _)| Some((of_ref(&peer)?, peer)))
                .map_or("—".to_owned(), |(r, peer)| format!("{r:.2}× ({peer})"));
            let fastest_bytes = self
                .fastest_peer(&group)
                .and_then(|(peer, _)| {
                    let r = self.rate_of(&group, BOURN_BYTES)? / self.rate_of(&group, &peer)?;
                    Some((r, peer))
                })
                .map_or("—".to_owned(), |(r, peer)| format!("{r:.2}× ({peer})"));
            let _ = write!(
                line,
                " {fastest_bytes} | {fastest_ref} | {} |",
                of_ref(MEMCHR2).map_or("—".to_owned(), |r| format!("{r:.2}×"))
            );
            writeln!(out, "{line}")?;
        }
        Ok(())
    }

    fn rate_cell(&self, group: &str, function: &str) -> String {
        let Some(row) = self.get(group, function) else {
            return "—".to_owned();
        };
        if row.disagrees() {
            return "✗".to_owned();
        }
        match row.rate() {
            Some((rate, Amount::Bytes(_))) => {
                let dagger = if row.single_pass() { " †" } else { "" };
                format!("{}{dagger}", bytes_per_second(rate))
            }
            Some((rate, Amount::Elements(_))) => per_second(rate),
            None => "—".to_owned(),
        }
    }

    fn ratio_cell(&self, group: &str, function: &str) -> String {
        if self.get(group, function).is_some_and(Row::disagrees) {
            return "✗".to_owned();
        }
        match self.ratio(group, function) {
            Some(r) => {
                let dagger = if self.get(group, function).is_some_and(Row::single_pass) {
                    " †"
                } else {
                    ""
                };
                if r >= 100.0 {
                    format!("{r:.0}×{dagger}")
                } else {
                    format!("{r:.2}×{dagger}")
                }
            }
            None => "—".to_owned(),
        }
    }

    fn render_conformance(&self, out: &mut String) -> std::fmt::Result {
        if self.conformance.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        writeln!(out, "## Conformance (bourn-conformance vectors)")?;
        writeln!(out)?;
        writeln!(
            out,
            "Each decoder through a `DecoderUnderTest` adapter that declares what it can \
             report (comments, `retry`, ids, limits); cases needing a capability it lacks \
             are left out, expected frames are projected onto the rest. A case passes when \
             every chunking passes."
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "| decoder | cases passed | cases run | unsupported | runs passed / run | chunkings |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---|")?;
        let mut order: Vec<&PeerConformance> = self.conformance.values().collect();
        order.sort_by_key(|c| {
            (
                c.decoder != BOURN,
                PEERS
                    .iter()
                    .position(|(p, _)| *p == c.decoder)
                    .unwrap_or(usize::MAX),
            )
        });
        for c in &order {
            writeln!(
                out,
                "| {} | {} ({:.1}%) | {} | {} | {} / {} | {} |",
                c.decoder,
                c.cases - c.cases_failed,
                c.percent(),
                c.cases,
                c.unsupported,
                c.runs_passed,
                c.runs_passed + c.runs_failed,
                c.plan
            )?;
        }
        for c in order.iter().filter(|c| !c.failed_groups.is_empty()) {
            let mut failed = c.failed_groups.clone();
            let more = failed.len().saturating_sub(12);
            failed.truncate(12);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            writeln!(out)?;
            writeln!(
                out,
                "- {} fails: {}{more}.",
                c.decoder,
                failed
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        Ok(())
    }

    fn render_encode(&self, out: &mut String) -> std::fmt::Result {
        let mut groups: Vec<&str> = self
            .rows
            .keys()
            .map(|(g, _)| g.as_str())
            .filter(|g| g.starts_with("encode-"))
            .collect();
        groups.dedup();
        if groups.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        writeln!(out, "## Encode")?;
        writeln!(out)?;
        writeln!(
            out,
            "Events per second encoding prebuilt events. `{BOURN}`: `Event::to_bytes` (one \
             exact-size `Bytes` per event); `{BOURN}-append`: `Event::encode` into one reused \
             `BytesMut`; `sse-stream`: `Sse::encode` (by value, one `Bytes` per event; the \
             clones it needs are made outside the timed loop). sse-stream is the comparison: \
             the fastest published Rust encoder we know whose output is reachable through its \
             public API (axum's `Event` keeps its buffer private)."
        )?;
        writeln!(out)?;
        writeln!(out, "| workload | row | events/s | bourn-codec / row |")?;
        writeln!(out, "|---|---|---:|---:|")?;
        for group in groups {
            let workload = group.trim_start_matches("encode-");
            for ((g, function), _) in self.rows.range((group.to_owned(), String::new())..) {
                if g != group {
                    break;
                }
                writeln!(
                    out,
                    "| {workload} | {function} | {} | {} |",
                    self.rate_cell(group, function),
                    self.ratio_cell(group, function)
                )?;
            }
        }
        Ok(())
    }

    fn render_others(&self, out: &mut String) -> std::fmt::Result {
        let others: Vec<&Row> = self
            .rows
            .values()
            .filter(|r| !r.group.starts_with("decode-") && !r.group.starts_with("encode-"))
            .filter(|r| r.measured.is_some() || r.single_pass())
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        writeln!(out, "## Other benchmarks")?;
        writeln!(out)?;
        writeln!(out, "| group | benchmark | time | throughput |")?;
        writeln!(out, "|---|---|---:|---:|")?;
        for row in others {
            let time = row
                .seconds()
                .or_else(|| row.check.as_ref().map(|c| c.pass_seconds))
                .map_or("—".to_owned(), duration);
            writeln!(
                out,
                "| {} | {} | {time} | {} |",
                row.group,
                row.function,
                self.rate_cell(&row.group, &row.function)
            )?;
        }
        Ok(())
    }

    fn render_checks(&self, out: &mut String) -> std::fmt::Result {
        let flagged: Vec<&RowCheck> = self
            .rows
            .values()
            .filter_map(|r| r.check.as_ref())
            .filter(|c| c.status != Status::Agrees)
            .collect();
        writeln!(out)?;
        writeln!(out, "## Rows not compared")?;
        writeln!(out)?;
        if flagged.is_empty() {
            writeln!(
                out,
                "Every row's output matched the WHATWG result for its workload."
            )?;
            return Ok(());
        }
        writeln!(
            out,
            "Each row ran once before measuring and its dispatched events and total data \
             bytes were compared with the WHATWG result (bounds: line-ending bytes, bytes \
             copied). These rows were not sampled:"
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "| group | row | verdict | expected (events, data B) | got | pass | over |"
        )?;
        writeln!(out, "|---|---|---|---:|---:|---:|---:|")?;
        for c in flagged {
            let verdict = match c.status {
                Status::Disagrees => "disagrees with the spec".to_owned(),
                Status::Failed => format!("failed: {}", c.note.replace('|', "\\|")),
                Status::TooSlow => "too slow to sample (this pass is its time)".to_owned(),
                Status::Agrees => String::new(),
            };
            let verdict = if c.note.is_empty() || c.status == Status::Failed {
                verdict
            } else {
                format!("{verdict}, {}", c.note)
            };
            writeln!(
                out,
                "| {} | {} | {verdict} | {}, {} | {}, {} | {} | {:.2} MiB |",
                c.group,
                c.function,
                c.expected.events,
                c.expected.data_bytes,
                c.got.events,
                c.got.data_bytes,
                duration(c.pass_seconds),
                c.bytes as f64 / (1024.0 * 1024.0)
            )?;
        }
        Ok(())
    }
}

const METHOD: &str = "\
- Workloads (`bourn_benches::workload`), ~16 MiB each, generated in memory: W1 small JSON \
events (~100 B, `data:` only); W2 `id` + `event` + `data`; W3 64 KiB events of 1,000 \
`data:` lines; W4 W1 with CRLF; W5 tiny LLM-token events (~25 B); W6 one 4 MiB `data:` \
line. W1–W5 are fed whole, in 4 KiB and in 61-byte chunks; W6 in 1,460-byte chunks. \
Chunks are cut before measuring (slices of one buffer).
- bourn appends each chunk to a `BytesMut` kept across iterations (a connection's read \
buffer) and drains frames, `decode_eof` at the end; the copy into that buffer is timed. \
sse-core (`SseDecoder::next`, limit set to bourn's 16 MiB default because its 512 KiB \
default drops W6's event) and sse-parse (`feed`/`next_event`) run sans-IO; sse-stream and \
eventsource-stream, which have no public sans-IO API, run through their `Stream` adapters \
over an always-ready in-memory stream polled with a no-op waker. sse-stream returns raw \
blocks; blocks with data count as events.
- Bounds: `memchr::memchr2_iter` counting `\\n`/`\\r` over the same chunks, and a \
`memcpy` of the chunks into one buffer.
- Every row runs once and its dispatched events and total data bytes are compared with \
the WHATWG result before criterion measures it: a row that disagrees is listed under \
\"Rows not compared\", never compared. Each row is first run on prefixes of its \
workload (256 KiB, 512 KiB, … ending at event boundaries), then on the whole: a row \
with a pass over 2 s is not sampled and that pass is its time (†), over the bytes it \
covered (eventsource-stream takes minutes on one 16 MiB chunk).
- criterion: 10 flat samples, 0.5 s warm-up, 2 s measurement, `lto = true`, \
`codegen-units = 1` for every crate alike. The machine is shared: compare within one run.";

/// A bourn row's ratios to the fastest agreeing peer over the W1–W5 cells.
#[derive(Debug, Default)]
struct PeerRatios {
    ratios: Vec<f64>,
    /// The lowest ratio, and where.
    lowest: Option<(f64, String)>,
    /// Cells below [`PEER_FLOOR`] (or not measured).
    misses: Vec<String>,
}

impl PeerRatios {
    fn push(&mut self, cell: String, peer: String, ratio: f64) {
        self.ratios.push(ratio);
        if ratio < PEER_FLOOR {
            self.misses.push(format!("{cell}: {ratio:.2}× {peer}"));
        }
        if self.lowest.as_ref().is_none_or(|(r, _)| ratio < *r) {
            self.lowest = Some((ratio, format!("{cell}, vs {peer}")));
        }
    }

    fn mean(&self) -> f64 {
        if self.ratios.is_empty() {
            0.0
        } else {
            geomean(&self.ratios)
        }
    }

    /// Both targets: ≥ [`PEER_FLOOR`] everywhere and ≥ [`PEER_TARGET`] as
    /// the geometric mean (over all 15 cells when `all`: rounds, which
    /// list only the cells they measured).
    fn verdict(&self, all: bool) -> &'static str {
        if self.misses.is_empty() && self.mean() >= PEER_TARGET && (!all || self.ratios.len() == 15)
        {
            "**met**"
        } else {
            "**NOT met**"
        }
    }

    /// "geometric mean …× (n=…), lowest …× (…); below 1×: …".
    fn summary(&self) -> String {
        let mut out = format!(
            "geometric mean {:.2}× (n={})",
            self.mean(),
            self.ratios.len()
        );
        if let Some((ratio, at)) = &self.lowest {
            let _ = write!(out, ", lowest {ratio:.2}× ({at})");
        }
        if !self.misses.is_empty() {
            let _ = write!(out, "; below {PEER_FLOOR}×: {}", self.misses.join("; "));
        }
        out
    }
}

/// The fastest peer of a rounds cell: the peer row with the lowest
/// bourn/row ratio, and that ratio.
fn rounds_fastest_peer(cell: &rounds::Cell) -> Option<(&str, f64)> {
    cell.rows
        .iter()
        .filter(|r| PEERS.iter().any(|(name, _)| *name == r.name))
        .map(|r| (r.name.as_str(), r.reference_ratio))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

fn split_decode_group(group: &str) -> Option<(String, String)> {
    let rest = group.strip_prefix("decode-")?;
    let (workload, feed) = rest.split_once('-')?;
    Some((workload.to_owned(), feed.to_owned()))
}

fn decode_group(workload: &str, feed: &str) -> String {
    format!("decode-{workload}-{feed}")
}

fn is_w1_to_w5(workload: &str) -> bool {
    matches!(workload, "W1" | "W2" | "W3" | "W4" | "W5")
}

/// whole first, then chunk sizes from largest to smallest.
fn feed_rank(feed: &str) -> (u8, std::cmp::Reverse<u64>) {
    if feed == "whole" {
        return (0, std::cmp::Reverse(u64::MAX));
    }
    let bytes = if let Some(k) = feed.strip_suffix("KiB") {
        k.parse::<u64>().map_or(0, |k| k * 1024)
    } else {
        feed.trim_end_matches('B').parse().unwrap_or(0)
    };
    (1, std::cmp::Reverse(bytes))
}

/// The geometric mean (1 for an empty slice).
pub fn geomean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 1.0;
    }
    (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp()
}

fn bytes_per_second(rate: f64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;
    if rate >= GIB {
        format!("{:.2} GiB/s", rate / GIB)
    } else if rate >= 10.0 * MIB {
        format!("{:.0} MiB/s", rate / MIB)
    } else {
        format!("{:.2} MiB/s", rate / MIB)
    }
}

fn per_second(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M/s", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1} k/s", rate / 1e3)
    } else {
        format!("{rate:.1}/s")
    }
}

fn duration(seconds: f64) -> String {
    if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.2} µs", seconds * 1e6)
    }
}

/// `YYYY-MM-DD HH:MM` for a system time.
fn utc(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The CPU and core count, from `/proc/cpuinfo` where there is one.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    match cpu {
        Some(cpu) => format!("Machine: {cpu}, {cores} cores available."),
        None => format!("Machine: {cores} cores available."),
    }
}

/// Where `REPORT.md` goes by default: beside this crate's `Cargo.toml`.
pub fn default_output() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("REPORT.md")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tally;

    fn row(group: &str, function: &str, ns: f64, status: Status) -> Row {
        Row {
            group: group.into(),
            function: function.into(),
            measured: Some(Measurement {
                median_ns: ns,
                ci_ns: (ns, ns),
                throughput: Some(Amount::Bytes(1 << 30)),
                when: None,
            }),
            check: Some(RowCheck {
                group: group.into(),
                function: function.into(),
                status,
                expected: Tally {
                    events: 10,
                    data_bytes: 100,
                },
                got: Tally::default(),
                bytes: 1 << 30,
                pass_seconds: 5.0,
                note: String::new(),
            }),
        }
    }

    #[test]
    fn ratios_skip_disagreeing_peers_and_flag_misses() {
        let mut report = Report::default();
        for (w, scale) in [
            ("W1", 1.0),
            ("W2", 1.0),
            ("W3", 1.0),
            ("W4", 1.0),
            ("W5", 1.0),
        ] {
            let g = decode_group(w, "whole");
            for r in [
                row(&g, BOURN, 1e9 * scale, Status::Agrees),
                row(&g, BOURN_BYTES, 2e9, Status::Agrees),
                row(&g, "sse-core", 3e9, Status::Agrees),
                row(&g, "sse-stream", 1e8, Status::Disagrees),
                row(&g, MEMCHR2, 4e8, Status::Agrees),
            ] {
                report.rows.insert((r.group.clone(), r.function.clone()), r);
            }
        }
        let slow = row(
            "decode-W6-1460B",
            "eventsource-stream",
            1.0,
            Status::TooSlow,
        );
        report
            .rows
            .insert((slow.group.clone(), slow.function.clone()), slow);
        let r = row("decode-W6-1460B", BOURN, 1e9, Status::Agrees);
        report.rows.insert((r.group.clone(), r.function.clone()), r);
        let other = row("server-fanout", "1000 subscribers", 2e6, Status::Agrees);
        report
            .rows
            .insert((other.group.clone(), other.function.clone()), other);

        assert_eq!(
            report.fastest_peer("decode-W1-whole"),
            Some(("sse-core".to_owned(), 3.0))
        );
        // The single pass of 5 s against bourn's 1 s.
        assert_eq!(
            report.ratio("decode-W6-1460B", "eventsource-stream"),
            Some(5.0)
        );
        let md = report.render();
        assert!(
            md.contains("and ≥ 1.3× as their geometric mean: **met** — geometric mean 3.00× (n=5)"),
            "{md}"
        );
        // decode_bytes, judged the same way: 3e9 / 2e9.
        assert!(
            md.contains(
                "the peers are fed), the same measure: **met** — geometric mean 1.50× (n=5)"
            ),
            "{md}"
        );
        // bourn/memchr2 = 0.4 on every cell.
        assert!(md.contains("W1–W5: **NOT met**"), "{md}");
        assert!(md.contains("| W1 | whole |"), "{md}");
        assert!(md.contains("disagrees with the spec"), "{md}");
        assert!(md.contains("| server-fanout | 1000 subscribers |"), "{md}");
        assert!(md.contains("5.00× †"), "{md}");

        // One W1–W5 cell slower than the fastest peer: not met, whatever
        // the mean, and the cell is named and flagged.
        let g = decode_group("W3", "whole");
        let r = row(&g, BOURN, 4e9, Status::Agrees);
        report.rows.insert((r.group.clone(), r.function.clone()), r);
        let md = report.render();
        assert!(md.contains("as their geometric mean: **NOT met**"), "{md}");
        assert!(md.contains("; below 1×: W3 whole: 0.75× sse-core."), "{md}");
        assert!(md.contains("0.75× (sse-core) ⚠"), "{md}");
    }

    #[test]
    fn rounds_are_judged_on_their_own_fastest_peer() {
        let rate = |name: &str, ratio: f64| rounds::RowRate {
            name: name.into(),
            bytes_per_second: f64::from(1u32 << 30) / ratio,
            reference_ratio: ratio,
        };
        let mut report = Report::default();
        for w in ["W1", "W2", "W3", "W4", "W5"] {
            for feed in ["whole", "4KiB", "61B"] {
                report.rounds.push(rounds::Cell {
                    workload: w.into(),
                    feed: feed.into(),
                    rounds: 5,
                    rows: vec![
                        rate(BOURN, 1.0),
                        rate(BOURN_REF, 0.5),
                        rate("sse-core", 1.5),
                        rate("sse-stream", 1.4),
                        rate(MEMCHR2, 0.25),
                    ],
                });
            }
        }
        let md = report.render();
        assert!(
            md.contains(
                "as their geometric mean, on the interleaved rounds (CPU time, ratios within a \
                 round; table below): **met** — geometric mean 1.40× (n=15), lowest 1.40× (W1 \
                 whole, vs sse-stream)."
            ),
            "{md}"
        );
        // ref/fastest peer = 1.4 / 0.5; ref/memchr2 = 0.25 / 0.5.
        assert!(
            md.contains("| W1 | whole | 1.00 GiB/s | 1.40× | 1.50× | — | 1.40× (sse-stream) | 0.25× | — | 2.80× (sse-stream) | 0.50× |"),
            "{md}"
        );
        // One cell below the fastest peer: not met, named and flagged.
        report.rounds[2].rows[3] = rate("sse-stream", 0.9);
        let md = report.render();
        assert!(
            md.contains("**NOT met** — geometric mean 1.36× (n=15), lowest 0.90× (W1 61B, vs sse-stream); below 1×: W1 61B: 0.90× sse-stream."),
            "{md}"
        );
        assert!(md.contains("0.90× (sse-stream) ⚠"), "{md}");
    }

    /// The rounds of `workload`'s whole feed, with each row's bourn/row ratio.
    fn whole_cell(workload: &str, rows: &[(&str, f64)]) -> rounds::Cell {
        rounds::Cell {
            workload: workload.into(),
            feed: "whole".into(),
            rounds: 5,
            rows: rows
                .iter()
                .map(|&(name, ratio)| rounds::RowRate {
                    name: name.into(),
                    bytes_per_second: 1.0 / ratio,
                    reference_ratio: ratio,
                })
                .collect(),
        }
    }

    #[test]
    fn w3_floor_is_set_against_the_fastest_peer_and_is_not_a_peer() {
        let mut report = Report::default();
        let g = decode_group("W3", "whole");
        for r in [
            row(&g, BOURN, 2e9, Status::Agrees),
            row(&g, "sse-stream", 1e9, Status::Agrees),
            row(&g, "sse-core", 3e9, Status::Agrees),
            row(&g, JOIN_FLOOR, 1.6e9, Status::Agrees),
        ] {
            report.rows.insert((r.group.clone(), r.function.clone()), r);
        }
        // Faster than every peer, the floor is still no peer.
        assert_eq!(
            report.fastest_peer(&g),
            Some(("sse-stream".to_owned(), 0.5))
        );
        report.rounds.push(whole_cell(
            "W3",
            &[(BOURN, 1.0), ("sse-stream", 0.8), (JOIN_FLOOR, 0.9)],
        ));
        let md = report.render();
        // Criterion: floor/peer = 1e9 / 1.6e9, bourn/floor = 1.6e9 / 2e9;
        // rounds: floor/peer = 0.8 / 0.9.
        assert!(
            md.contains(
                "divided by the fastest peer: criterion whole 0.62× sse-stream (bourn 0.80× the \
                 floor); rounds whole 0.89× sse-stream (bourn 0.90× the floor)."
            ),
            "{md}"
        );
    }

    #[test]
    fn scan_utf8_is_set_against_memchr2_and_is_not_a_peer() {
        let mut report = Report::default();
        let g = decode_group("W1", "whole");
        for r in [
            row(&g, BOURN, 1e9, Status::Agrees),
            row(&g, BOURN_REF, 2e9, Status::Agrees),
            row(&g, "sse-core", 5e9, Status::Agrees),
            row(&g, MEMCHR2, 1e9, Status::Agrees),
            row(&g, SCAN_UTF8, 1.6e9, Status::Agrees),
        ] {
            report.rows.insert((r.group.clone(), r.function.clone()), r);
        }
        assert_eq!(report.peers(), ["sse-core"]);
        report.rounds.push(whole_cell(
            "W1",
            &[
                (BOURN, 1.0),
                (BOURN_REF, 0.4),
                (MEMCHR2, 0.2),
                (SCAN_UTF8, 0.25),
            ],
        ));
        let md = report.render();
        // Criterion (rates are per unit of the rows' time): 1e9 / 1.6e9 and
        // 1.6e9 / 2e9; rounds: 0.2 / 0.25 and 0.25 / 0.4.
        assert!(
            md.contains(
                "divided by memchr2, geometric mean over W1–W5: criterion 0.625 (n=1), rounds \
                 0.800 (n=1). Where it is below 0.7×, no such decoder reaches the target. \
                 bourn-codec-ref divided by memchr2+utf8: criterion 0.800 (n=1), rounds 0.625 \
                 (n=1)."
            ),
            "{md}"
        );
    }

    #[test]
    fn feeds_sort_whole_then_larger_chunks() {
        let mut feeds = vec!["61B", "whole", "4KiB", "1460B"];
        feeds.sort_by_key(|f| feed_rank(f));
        assert_eq!(feeds, ["whole", "4KiB", "1460B", "61B"]);
    }

    #[test]
    fn formats_times() {
        assert_eq!(utc(SystemTime::UNIX_EPOCH), "1970-01-01 00:00");
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(utc(t), "2023-11-14 22:13");
        assert!((geomean(&[1.0, 4.0]) - 2.0).abs() < 1e-12);
    }
}
