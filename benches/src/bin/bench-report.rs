//! `bench-report`: writes `benches/REPORT.md` from criterion's results.
//!
//! ```text
//! bench-report [--criterion-dir DIR] [--out FILE]
//! ```
//!
//! Run it after `cargo bench -p rill-benches` (`cargo xtask bench-report` does
//! both). The criterion directory is found as criterion finds it
//! (`$CRITERION_HOME`, `$CARGO_TARGET_DIR/criterion`, the target directory
//! holding this binary); the report goes beside `benches/Cargo.toml`.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use rill_benches::criterion_dir;
use rill_benches::report::{Report, default_output};

fn main() -> ExitCode {
    let mut dir = criterion_dir();
    let mut out = default_output();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--criterion-dir", Some(value)) => dir = PathBuf::from(value),
            ("--out", Some(value)) => out = PathBuf::from(value),
            _ => {
                eprintln!("usage: bench-report [--criterion-dir DIR] [--out FILE]");
                return ExitCode::from(2);
            }
        }
    }
    let report = match Report::load(&dir) {
        Ok(report) => report,
        Err(error) => {
            eprintln!(
                "bench-report: cannot read {}: {error} (run `cargo bench -p rill-benches` first)",
                dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    if report.rows.is_empty() {
        eprintln!("bench-report: no benchmark results under {}", dir.display());
        return ExitCode::FAILURE;
    }
    if let Err(error) = std::fs::write(&out, report.render()) {
        eprintln!("bench-report: cannot write {}: {error}", out.display());
        return ExitCode::FAILURE;
    }
    println!(
        "bench-report: {} rows from {} -> {}",
        report.rows.len(),
        dir.display(),
        out.display()
    );
    ExitCode::SUCCESS
}
