//! `conformance-report`: runs every vector group against bourn-codec at every
//! chunking (and against the reference model, whole), prints a table of
//! groups × pass/fail, and exits non-zero on any failure.
//!
//! ```text
//! conformance-report [--json PATH]
//! ```
//!
//! `--json PATH` also writes the full report (counts and the first failing
//! run of each failing case) as JSON.
// A report binary: printing its table is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use bourn_conformance::chunking::Chunking;
use bourn_conformance::codec::{self, BournDecoder, EncoderMismatch};
use bourn_conformance::harness::{self, SuiteReport};
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
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => match args.next() {
                Some(path) => json = Some(PathBuf::from(path)),
                None => return usage("--json needs a path"),
            },
            "-h" | "--help" => {
                println!("usage: conformance-report [--json PATH]");
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
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("conformance-report: {problem}\nusage: conformance-report [--json PATH]");
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

fn table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:>6} {:>8} {:>8} {:>7}   {:<18}",
        "group", "cases", "runs", "passed", "failed", "reference (whole)"
    );
    let _ = writeln!(out, "{}", "-".repeat(70));
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
            "{:<16} {:>6} {:>8} {:>8} {:>7}   {:<18}{}",
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
            "{:<16} {:>6} {:>8} {:>8} {:>7}   {:<18}{}",
            encoder.group,
            encoder.cases,
            encoder.cases,
            encoder.passed,
            encoder.failed,
            "(encoder cases)",
            if encoder.failed == 0 { "" } else { "  FAIL" }
        );
    }
    let _ = writeln!(out, "{}", "-".repeat(70));
    let encoder_passed: usize = report.encoder.iter().map(|e| e.passed).sum();
    let encoder_failed: usize = report.encoder.iter().map(|e| e.failed).sum();
    let _ = writeln!(
        out,
        "{:<16} {:>6} {:>8} {:>8} {:>7}",
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
