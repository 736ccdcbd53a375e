//! `conformance-report`: runs every vector group against bourn-codec at every
//! chunking (and against the reference model, whole), prints a table of
//! groups × pass/fail, then a table of cases per component (codec, server,
//! client, backends), and exits non-zero on any failure.
//!
//! ```text
//! conformance-report [--json PATH] [--junit PATH]
//! ```
//!
//! `--json PATH` also writes the full report (counts and the first failing
//! run of each failing case) as JSON; `--junit PATH` writes JUnit XML (one
//! suite per group and component, one test case per vector case).
// A report binary: printing its table is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use bourn_conformance::chunking::Chunking;
use bourn_conformance::codec::{self, BournDecoder, EncoderMismatch};
use bourn_conformance::harness::{self, SuiteReport};
use bourn_conformance::junit::{self, TestCase, TestSuite};
use bourn_conformance::reference::Reference;
use bourn_conformance::vectors::{self, VectorFile};
use serde::Serialize;

#[derive(Debug, Serialize)]
struct EncoderReport {
    group: String,
    cases: usize,
    passed: usize,
    failed: usize,
    failures: Vec<EncoderMismatch>,
}

#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    decoder_cases: usize,
    encoder_cases: usize,
    codec: SuiteReport,
    reference: SuiteReport,
    encoder: Vec<EncoderReport>,
}

fn main() -> ExitCode {
    let mut json = None;
    let mut junit_path = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => match args.next() {
                Some(path) => json = Some(PathBuf::from(path)),
                None => return usage("--json needs a path"),
            },
            "--junit" => match args.next() {
                Some(path) => junit_path = Some(PathBuf::from(path)),
                None => return usage("--junit needs a path"),
            },
            "-h" | "--help" => {
                println!("usage: conformance-report [--json PATH] [--junit PATH]");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument `{other}`")),
        }
    }

    let files = match vectors::load_all() {
        Ok(files) => files,
        Err(error) => {
            eprintln!("conformance-report: {error}");
            return ExitCode::from(2);
        }
    };
    let report = run(&files);
    print!("{}", table(&report));
    match coverage(&files) {
        Ok(rows) => print!("{}", coverage_table(&rows)),
        Err(error) => {
            eprintln!("conformance-report: {error}");
            return ExitCode::from(2);
        }
    }

    if let Some(path) = json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(|error| error.to_string())
            .and_then(|text| std::fs::write(&path, text + "\n").map_err(|e| e.to_string()));
        if let Err(error) = written {
            eprintln!("conformance-report: writing {}: {error}", path.display());
            return ExitCode::from(2);
        }
        println!("wrote {}", path.display());
    }
    if let Some(path) = junit_path {
        let xml = junit::render("bourn conformance", &junit_suites(&files, &report));
        if let Err(error) = std::fs::write(&path, xml) {
            eprintln!("conformance-report: writing {}: {error}", path.display());
            return ExitCode::from(2);
        }
        println!("wrote {}", path.display());
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!(
        "conformance-report: {problem}\nusage: conformance-report [--json PATH] [--junit PATH]"
    );
    ExitCode::from(2)
}

fn run(files: &[VectorFile]) -> Report {
    let codec = harness::run_suite(&mut BournDecoder::new(), files, harness::full_matrix);
    let reference = harness::run_suite(&mut Reference::default(), files, |_| vec![Chunking::Whole]);
    let encoder: Vec<EncoderReport> = files
        .iter()
        .filter(|file| !file.encoder_cases.is_empty())
        .map(|file| {
            let failures: Vec<_> = file
                .encoder_cases
                .iter()
                .filter_map(|case| codec::run_encoder_case(case).err())
                .collect();
            EncoderReport {
                group: file.group.clone(),
                cases: file.encoder_cases.len(),
                passed: file.encoder_cases.len() - failures.len(),
                failed: failures.len(),
                failures,
            }
        })
        .collect();
    let ok = codec.failed == 0 && reference.failed == 0 && encoder.iter().all(|e| e.failed == 0);
    Report {
        ok,
        decoder_cases: files.iter().map(|f| f.cases.len()).sum(),
        encoder_cases: files.iter().map(|f| f.encoder_cases.len()).sum(),
        codec,
        reference,
        encoder,
    }
}

/// The report as JUnit suites: per group, the codec's decoder cases (a case
/// fails with its first failing chunking), the reference model's, and the
/// encoder cases.
fn junit_suites(files: &[VectorFile], report: &Report) -> Vec<TestSuite> {
    let mut suites = Vec::new();
    for (name, suite) in [
        ("bourn-codec", &report.codec),
        ("reference", &report.reference),
    ] {
        for (file, group) in files
            .iter()
            .filter(|f| !f.cases.is_empty())
            .zip(&suite.groups)
        {
            let cases = file
                .cases
                .iter()
                .map(|case| {
                    let failure = group.failures.iter().find(|f| f.case_id == case.id);
                    let verdict = match (&case.skip, failure) {
                        (Some(reason), _) => junit::Verdict::Skip(reason.clone()),
                        (None, Some(failure)) => junit::Verdict::Fail(failure.to_string()),
                        (None, None) if group.unsupported == group.cases => {
                            junit::Verdict::Skip("the reference model has no limits".to_owned())
                        }
                        (None, None) => junit::Verdict::Pass,
                    };
                    TestCase {
                        name: case.id.clone(),
                        verdict,
                    }
                })
                .collect();
            suites.push(TestSuite {
                name: format!("{name}/{}", file.group),
                cases,
            });
        }
    }
    for (file, encoder) in files
        .iter()
        .filter(|f| !f.encoder_cases.is_empty())
        .zip(&report.encoder)
    {
        let cases = file
            .encoder_cases
            .iter()
            .map(|case| {
                let failure = encoder.failures.iter().find(|f| f.case_id == case.id);
                TestCase {
                    name: case.id.clone(),
                    verdict: failure.map_or(junit::Verdict::Pass, |f| {
                        junit::Verdict::Fail(f.problem.clone())
                    }),
                }
            })
            .collect();
        suites.push(TestSuite {
            name: format!("bourn-codec encoder/{}", file.group),
            cases,
        });
    }
    suites
}

/// One row of the coverage table: how many cases of a group each component
/// runs (`None`: the group does not apply to it).
#[derive(Debug, PartialEq, Eq)]
struct Coverage {
    group: String,
    codec: Option<usize>,
    server: Option<usize>,
    client: Option<usize>,
    backends: Option<usize>,
}

/// The checks of the backend suite (`src/backend.rs`, feature `backends`):
/// its public `async fn`s generic over a `Backend`.
fn backend_checks() -> usize {
    include_str!("../backend.rs")
        .lines()
        .filter(|line| line.starts_with("pub async fn ") && line.contains("<B: Backend>"))
        .count()
}

/// The cases of a behaviour file (`vectors/behaviour/<name>.json`).
fn behaviour_cases(name: &str) -> Result<usize, String> {
    let path = vectors::dir()
        .join("behaviour")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    value["cases"]
        .as_array()
        .map(Vec::len)
        .ok_or_else(|| format!("{}: no `cases` array", path.display()))
}

/// Which component runs how many cases of each group. The codec column is
/// what this binary runs; the server, client and backends columns count the
/// cases `cargo test -p bourn-conformance --all-features` (and bourn-client's
/// `conformance` test, for the decoder vectors over HTTP) runs.
fn coverage(files: &[VectorFile]) -> Result<Vec<Coverage>, String> {
    let mut rows = Vec::new();
    for file in files {
        let decoder = file.cases.iter().filter(|c| c.skip.is_none()).count();
        let encoder = file.encoder_cases.len();
        let encoded = file
            .encoder_cases
            .iter()
            .filter(|c| matches!(c.expect, vectors::EncoderExpect::Bytes { .. }))
            .count();
        let some = |n: usize| (n > 0).then_some(n);
        rows.push(Coverage {
            group: file.group.clone(),
            codec: some(decoder + encoder),
            // Encoder vectors that encode: an Sse body and a Channel topic.
            server: some(encoded),
            // Decoder vectors through the client over HTTP.
            client: some(decoder),
            backends: None,
        });
    }
    rows.push(Coverage {
        group: "server behaviour".to_owned(),
        codec: None,
        server: Some(behaviour_cases("server")?),
        client: None,
        backends: None,
    });
    rows.push(Coverage {
        group: "client behaviour".to_owned(),
        codec: None,
        server: None,
        client: Some(behaviour_cases("client")?),
        backends: None,
    });
    // The end-to-end property (tests/it/e2e.rs): each case publishes to a
    // Channel topic and reads it back with bourn-client through drops.
    let e2e_cases = bourn_conformance::e2e::CASES as usize;
    rows.push(Coverage {
        group: "e2e property".to_owned(),
        codec: None,
        server: Some(e2e_cases),
        client: Some(e2e_cases),
        backends: None,
    });
    rows.push(Coverage {
        group: "backend contract".to_owned(),
        codec: None,
        server: None,
        client: None,
        backends: Some(backend_checks()),
    });
    Ok(rows)
}

fn coverage_table(rows: &[Coverage]) -> String {
    let cell = |n: Option<usize>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let mut out = String::new();
    let _ = writeln!(out, "\ncases per component");
    let _ = writeln!(
        out,
        "{:<20} {:>7} {:>7} {:>7} {:>9}",
        "group", "codec", "server", "client", "backends"
    );
    let _ = writeln!(out, "{}", "-".repeat(54));
    for row in rows {
        let _ = writeln!(
            out,
            "{:<20} {:>7} {:>7} {:>7} {:>9}",
            row.group,
            cell(row.codec),
            cell(row.server),
            cell(row.client),
            cell(row.backends)
        );
    }
    let _ = writeln!(out, "{}", "-".repeat(54));
    let total = |f: fn(&Coverage) -> Option<usize>| rows.iter().filter_map(f).sum::<usize>();
    let _ = writeln!(
        out,
        "{:<20} {:>7} {:>7} {:>7} {:>9}",
        "total",
        total(|r| r.codec),
        total(|r| r.server),
        total(|r| r.client),
        total(|r| r.backends)
    );
    let _ = writeln!(
        out,
        "codec: run above. server: each case over HTTP/1.1 and HTTP/2 (encoder cases through an \
         Sse body and a Channel topic), client: bourn-testkit scripted server, backends: the \
         `backends` suite's checks; e2e property: proptest cases, each a Channel topic read by \
         bourn-client over HTTP through a proxy that re-chunks and cuts connections; those run in `cargo test -p bourn-conformance \
         --all-features` (decoder vectors through the client: bourn-client's tests)."
    );
    out
}

fn table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20} {:>6} {:>8} {:>8} {:>7}   {:<18}",
        "group", "cases", "runs", "passed", "failed", "reference (whole)"
    );
    let _ = writeln!(out, "{}", "-".repeat(74));
    for (group, model) in report.codec.groups.iter().zip(&report.reference.groups) {
        let reference = if model.unsupported == model.cases {
            "n/a (limits)".to_owned()
        } else {
            format!(
                "{}/{} {}",
                model.passed,
                model.runs,
                if model.failed == 0 { "ok" } else { "FAIL" }
            )
        };
        let _ = writeln!(
            out,
            "{:<20} {:>6} {:>8} {:>8} {:>7}   {:<18}{}",
            group.group,
            group.cases,
            group.runs,
            group.passed,
            group.failed,
            reference,
            if group.failed == 0 { "" } else { "  FAIL" }
        );
    }
    for encoder in &report.encoder {
        let _ = writeln!(
            out,
            "{:<20} {:>6} {:>8} {:>8} {:>7}   {:<18}{}",
            encoder.group,
            encoder.cases,
            encoder.cases,
            encoder.passed,
            encoder.failed,
            "(encoder cases)",
            if encoder.failed == 0 { "" } else { "  FAIL" }
        );
    }
    let _ = writeln!(out, "{}", "-".repeat(74));
    let encoder_passed: usize = report.encoder.iter().map(|e| e.passed).sum();
    let encoder_failed: usize = report.encoder.iter().map(|e| e.failed).sum();
    let _ = writeln!(
        out,
        "{:<20} {:>6} {:>8} {:>8} {:>7}",
        "total",
        report.decoder_cases + report.encoder_cases,
        report.codec.passed + report.codec.failed + report.encoder_cases,
        report.codec.passed + encoder_passed,
        report.codec.failed + encoder_failed,
    );

    for group in report.codec.groups.iter().chain(&report.reference.groups) {
        for failure in &group.failures {
            let _ = writeln!(out, "\nFAIL {}/{failure}", group.group);
        }
    }
    for encoder in &report.encoder {
        for failure in &encoder.failures {
            let _ = writeln!(
                out,
                "\nFAIL {}/{}: {}",
                encoder.group, failure.case_id, failure.problem
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        if report.ok {
            "conformance: all green"
        } else {
            "conformance: FAILURES"
        }
    );
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn coverage_counts_every_component() {
        let files = vectors::load_all().unwrap();
        let rows = coverage(&files).unwrap();
        let total = |f: fn(&Coverage) -> Option<usize>| rows.iter().filter_map(f).sum::<usize>();
        assert!(total(|r| r.codec) > 200);
        assert!(total(|r| r.server) > 30);
        assert!(total(|r| r.client) > 200);
        assert_eq!(backend_checks(), 9, "the backend suite's check functions");
        let table = coverage_table(&rows);
        assert!(table.contains("server behaviour"), "{table}");
        let e2e = rows.iter().find(|r| r.group == "e2e property").unwrap();
        assert_eq!(e2e.server, Some(bourn_conformance::e2e::CASES as usize));
        assert_eq!(e2e.client, e2e.server);
    }

    #[test]
    fn junit_has_a_test_case_per_vector_case_and_shows_failures() {
        let files = vectors::load_all().unwrap();
        let mut report = run(&files);
        let decoder: usize = files.iter().map(|f| f.cases.len()).sum();
        let encoder: usize = files.iter().map(|f| f.encoder_cases.len()).sum();
        let suites = junit_suites(&files, &report);
        let total: usize = suites.iter().map(|s| s.cases.len()).sum();
        assert_eq!(total, 2 * decoder + encoder);
        let xml = junit::render("bourn conformance", &suites);
        assert!(xml.contains("failures=\"0\""), "{xml}");

        // A failing run shows up as a <failure> naming the case.
        let group = &mut report.codec.groups[0];
        let case = &files[0].cases[0];
        group.failures.push(harness::Mismatch {
            case_id: case.id.clone(),
            chunking: "whole".to_owned(),
            expected: Vec::new(),
            actual: Vec::new(),
            withheld: Vec::new(),
            expected_last_event_id: None,
            actual_last_event_id: None,
            panic: Some("injected".to_owned()),
        });
        let xml = junit::render("bourn conformance", &junit_suites(&files, &report));
        assert!(
            xml.contains(&format!("<testcase name=\"{}\"", case.id)),
            "{xml}"
        );
        assert!(xml.contains("panicked: injected"), "{xml}");
    }
}
