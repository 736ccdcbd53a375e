//! Expected failures: the cases an implementation is known to fail, each
//! with a reason. A run is green when its failures are exactly these: a new
//! failure fails it, and so does an entry that now passes or names no case
//! that failed (stale), so the baseline cannot rot.
//!
//! ```json
//! {
//!   "implementation": "eventsource-parser 3.0.6",
//!   "parser": [{"case": "bom-stripped", "reason": "strips U+FEFF only when written as UTF-8 bytes decoded as Latin-1"}],
//!   "client": []
//! }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Mode, ModeReport, Status};

/// One expected failure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The case id.
    pub case: String,
    /// Why the implementation fails it.
    pub reason: String,
}

/// An implementation's expected-failures file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Which implementation (informative).
    #[serde(default)]
    pub implementation: String,
    /// Parser-mode expected failures.
    #[serde(default)]
    pub parser: Vec<Entry>,
    /// Client-mode expected failures.
    #[serde(default)]
    pub client: Vec<Entry>,
}

impl Baseline {
    /// Reads and checks a file: every entry has a non-empty reason and no
    /// case is listed twice.
    ///
    /// # Errors
    ///
    /// The problem, naming the file (and the entry).
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let baseline: Baseline =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for (mode, entries) in [("parser", &baseline.parser), ("client", &baseline.client)] {
            let mut seen = std::collections::BTreeSet::new();
            for entry in entries {
                if entry.reason.trim().is_empty() {
                    return Err(format!(
                        "{}: {mode} entry `{}` has no reason",
                        path.display(),
                        entry.case
                    ));
                }
                if !seen.insert(&entry.case) {
                    return Err(format!(
                        "{}: {mode} entry `{}` is listed twice",
                        path.display(),
                        entry.case
                    ));
                }
            }
        }
        Ok(baseline)
    }

    /// The entries for `mode`.
    pub fn entries(&self, mode: Mode) -> &[Entry] {
        match mode {
            Mode::Parser => &self.parser,
            Mode::Client => &self.client,
        }
    }

    /// Compares a run with the baseline.
    pub fn compare(&self, report: &ModeReport) -> Verdict {
        let expected: BTreeMap<&str, &str> = self
            .entries(report.mode)
            .iter()
            .map(|entry| (entry.case.as_str(), entry.reason.as_str()))
            .collect();
        let mut verdict = Verdict::default();
        for case in &report.cases {
            match (&case.status, expected.get(case.id.as_str())) {
                (Status::Fail(reason), None) => verdict.new_failures.push(Problem {
                    case: case.id.clone(),
                    detail: reason.clone(),
                }),
                (Status::Fail(_), Some(_)) => verdict.expected += 1,
                (Status::Pass, Some(reason)) => verdict.stale.push(Problem {
                    case: case.id.clone(),
                    detail: format!("listed as failing ({reason}) but passes now"),
                }),
                (Status::Unsupported(what), Some(reason)) => verdict.stale.push(Problem {
                    case: case.id.clone(),
                    detail: format!("listed as failing ({reason}) but not run (lacks {what})"),
                }),
                (Status::Skipped(why), Some(reason)) => verdict.stale.push(Problem {
                    case: case.id.clone(),
                    detail: format!("listed as failing ({reason}) but skipped ({why})"),
                }),
                (_, None) => {}
            }
        }
        for entry in self.entries(report.mode) {
            if !report.cases.iter().any(|case| case.id == entry.case) {
                verdict.stale.push(Problem {
                    case: entry.case.clone(),
                    detail: "listed as failing but no such case exists".to_owned(),
                });
            }
        }
        verdict
    }
}

/// One problem with a run against its baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The case id.
    pub case: String,
    /// The failure, or why the entry is stale.
    pub detail: String,
}

/// A run against its baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Failures the baseline expects.
    pub expected: usize,
    /// Failures it does not list.
    pub new_failures: Vec<Problem>,
    /// Entries for cases that pass, do not run or do not exist.
    pub stale: Vec<Problem>,
}

impl Verdict {
    /// No new failure and no stale entry.
    pub fn ok(&self) -> bool {
        self.new_failures.is_empty() && self.stale.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::CaseResult;

    fn report(cases: &[(&str, Status)]) -> ModeReport {
        ModeReport {
            implementation: "x".into(),
            mode: Mode::Parser,
            capabilities: None,
            passed: 0,
            failed: 0,
            unsupported: 0,
            skipped: 0,
            cases: cases
                .iter()
                .map(|(id, status)| CaseResult {
                    group: "g".into(),
                    id: (*id).into(),
                    status: status.clone(),
                    runs: 1,
                })
                .collect(),
        }
    }

    fn entry(case: &str) -> Entry {
        Entry {
            case: case.into(),
            reason: "known".into(),
        }
    }

    #[test]
    fn new_failures_and_stale_entries_both_fail_the_run() {
        let baseline = Baseline {
            parser: vec![entry("a"), entry("b"), entry("gone")],
            ..Baseline::default()
        };
        let run = report(&[
            ("a", Status::Fail("x".into())),
            ("b", Status::Pass),
            ("c", Status::Fail("y".into())),
            ("d", Status::Pass),
        ]);
        let verdict = baseline.compare(&run);
        assert_eq!(verdict.expected, 1);
        assert_eq!(verdict.new_failures.len(), 1);
        assert_eq!(verdict.new_failures[0].case, "c");
        let stale: Vec<_> = verdict.stale.iter().map(|p| p.case.as_str()).collect();
        assert_eq!(stale, ["b", "gone"]);
        assert!(!verdict.ok());

        let exact = Baseline {
            parser: vec![entry("a"), entry("c")],
            ..Baseline::default()
        };
        assert!(exact.compare(&run).ok());
    }

    #[test]
    fn entries_need_a_reason() {
        let dir = std::env::temp_dir().join(format!("bourn-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let path = dir.join("expected-failures.json");
        std::fs::write(&path, r#"{"parser": [{"case": "a", "reason": " "}]}"#).ok();
        let error = Baseline::load(&path).err().unwrap_or_default();
        assert!(error.contains("has no reason"), "{error}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
