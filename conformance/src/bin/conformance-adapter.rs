//! `conformance-adapter`: runs the conformance suite against any
//! implementation through the JSON-lines adapter protocol
//! (`conformance/PROTOCOL.md`), prints a table, and compares the run with
//! the implementation's expected failures.
//!
//! ```text
//! conformance-adapter parser|client [--expect FILE] [--json PATH] [--junit PATH]
//!                     [--quick] [--timeout-ms N] [--jobs N] -- CMD [ARG...]
//! ```
//!
//! Exit status: 0 when the failures are exactly the expected ones (none
//! without `--expect`), 1 on a new failure or a stale entry, 2 when the
//! run could not happen (bad arguments, an adapter that cannot start).
// A report binary: printing its table is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bourn_conformance::adapter::baseline::{Baseline, Verdict};
use bourn_conformance::adapter::parser::Plan;
use bourn_conformance::adapter::{self, Mode, ModeReport, Status};
use bourn_conformance::junit::{self, TestCase, TestSuite};
use bourn_conformance::{client_cases, vectors};
use serde::Serialize;

const USAGE: &str = "usage: conformance-adapter parser|client [--expect FILE] [--json PATH] \
                     [--junit PATH] [--quick] [--timeout-ms N] [--jobs N] -- CMD [ARG...]";

struct Options {
    mode: Mode,
    expect: Option<PathBuf>,
    json: Option<PathBuf>,
    junit: Option<PathBuf>,
    plan: Plan,
    timeout: Option<Duration>,
    jobs: usize,
    command: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut args = args.iter();
    let mode = match args.next().map(String::as_str) {
        Some("parser") => Mode::Parser,
        Some("client") => Mode::Client,
        Some(other) => return Err(format!("unknown mode `{other}` (parser or client)")),
        None => return Err("no mode given".to_owned()),
    };
    let mut options = Options {
        mode,
        expect: None,
        json: None,
        junit: None,
        plan: Plan::Full,
        timeout: None,
        jobs: 4,
        command: Vec::new(),
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--expect" => options.expect = Some(PathBuf::from(value("--expect")?)),
            "--json" => options.json = Some(PathBuf::from(value("--json")?)),
            "--junit" => options.junit = Some(PathBuf::from(value("--junit")?)),
            "--quick" => options.plan = Plan::Quick,
            "--timeout-ms" => {
                let text = value("--timeout-ms")?;
                let ms: u64 = text
                    .parse()
                    .map_err(|_| format!("--timeout-ms: `{text}` is not a number of ms"))?;
                options.timeout = Some(Duration::from_millis(ms.max(1)));
            }
            "--jobs" => {
                let text = value("--jobs")?;
                options.jobs = text
                    .parse()
                    .ok()
                    .filter(|n| (1..=64).contains(n))
                    .ok_or_else(|| format!("--jobs: `{text}` is not 1..=64"))?;
            }
            "--" => {
                options.command = args.cloned().collect();
                break;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if options.command.is_empty() {
        return Err("no adapter command after `--`".to_owned());
    }
    Ok(options)
}

#[derive(Serialize)]
struct JsonReport<'a> {
    ok: bool,
    report: &'a ModeReport,
    verdict: &'a Verdict,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") && !args.iter().any(|a| a == "--") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match parse_args(&args) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("conformance-adapter: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let baseline = match &options.expect {
        Some(path) => match Baseline::load(path) {
            Ok(baseline) => baseline,
            Err(problem) => {
                eprintln!("conformance-adapter: {problem}");
                return ExitCode::from(2);
            }
        },
        None => Baseline::default(),
    };
    let run = match options.mode {
        Mode::Parser => vectors::load_all()
            .map_err(|e| e.to_string())
            .and_then(|files| {
                let timeout = options.timeout.unwrap_or(Duration::from_secs(5));
                adapter::parser::run(&options.command, &files, options.plan, timeout)
                    .map_err(|e| e.to_string())
            }),
        Mode::Client => client_cases::load()
            .map_err(|e| e.to_string())
            .and_then(|file| {
                let timeout = options.timeout.unwrap_or(Duration::from_secs(10));
                adapter::client::run(&options.command, &file, options.jobs, timeout)
                    .map_err(|e| e.to_string())
            }),
    };
    let report = match run {
        Ok(report) => report,
        Err(problem) => {
            eprintln!("conformance-adapter: {problem}");
            return ExitCode::from(2);
        }
    };
    let verdict = baseline.compare(&report);
    print!("{}", report.table());
    println!(
        "expected failures: {} of {} listed",
        verdict.expected,
        baseline.entries(options.mode).len()
    );
    for problem in &verdict.new_failures {
        println!("\nNEW FAILURE {}: {}", problem.case, problem.detail);
    }
    for problem in &verdict.stale {
        println!("\nSTALE ENTRY {}: {}", problem.case, problem.detail);
    }
    let ok = verdict.ok();
    if let Some(path) = &options.json {
        let json = JsonReport {
            ok,
            report: &report,
            verdict: &verdict,
        };
        let text = serde_json::to_string_pretty(&json).unwrap_or_default() + "\n";
        if let Err(error) = std::fs::write(path, text) {
            eprintln!("conformance-adapter: writing {}: {error}", path.display());
            return ExitCode::from(2);
        }
        println!("wrote {}", path.display());
    }
    if let Some(path) = &options.junit {
        if let Err(error) = std::fs::write(path, junit_xml(&report, &baseline)) {
            eprintln!("conformance-adapter: writing {}: {error}", path.display());
            return ExitCode::from(2);
        }
        println!("wrote {}", path.display());
    }
    println!(
        "\n{}: {}",
        report.implementation,
        if ok {
            "as expected"
        } else {
            "FAILURES against the expected-failures file"
        }
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One suite per group; an expected failure is reported as skipped with
/// its reason, so CI shows red exactly when the run fails.
fn junit_xml(report: &ModeReport, baseline: &Baseline) -> String {
    let mut suites: Vec<TestSuite> = Vec::new();
    for case in &report.cases {
        let listed = baseline
            .entries(report.mode)
            .iter()
            .find(|entry| entry.case == case.id);
        let verdict = match (&case.status, listed) {
            (Status::Pass, None) => junit::Verdict::Pass,
            (Status::Pass, Some(entry)) => junit::Verdict::Fail(format!(
                "passes, but the expected-failures file lists it ({}): drop the entry",
                entry.reason
            )),
            (Status::Fail(_), Some(entry)) => {
                junit::Verdict::Skip(format!("expected failure: {}", entry.reason))
            }
            (Status::Fail(reason), None) => junit::Verdict::Fail(reason.clone()),
            (Status::Unsupported(what), _) => junit::Verdict::Skip(format!("unsupported: {what}")),
            (Status::Skipped(why), _) => junit::Verdict::Skip(why.clone()),
        };
        let name = format!("{}/{}/{}", report.implementation, report.mode, case.group);
        let test = TestCase {
            name: case.id.clone(),
            verdict,
        };
        match suites.last_mut() {
            Some(suite) if suite.name == name => suite.cases.push(test),
            _ => suites.push(TestSuite {
                name,
                cases: vec![test],
            }),
        }
    }
    junit::render(&report.implementation, &suites)
}
