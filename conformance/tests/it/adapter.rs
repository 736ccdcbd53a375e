//! The adapter protocol end to end: bourn's own adapter passes both modes
//! with an empty expected-failures file; each deliberate mutation of it
//! fails the run; hung, crashing and confused adapters fail their cases
//! with the reason instead of hanging the runner; the runner's exit status
//! follows the expected-failures file, stale entries included.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bourn_conformance::adapter::baseline::Baseline;
use bourn_conformance::adapter::parser::Plan;
use bourn_conformance::adapter::{self, Mode, ModeReport, RunError, Status};
use bourn_conformance::client_cases::{self, ClientFile};
use bourn_conformance::vectors::{self, VectorFile};

const ADAPTER: &str = env!("CARGO_BIN_EXE_bourn-adapter");
const RUNNER: &str = env!("CARGO_BIN_EXE_conformance-adapter");

fn bourn(args: &[&str]) -> Vec<String> {
    std::iter::once(ADAPTER)
        .chain(args.iter().copied())
        .map(str::to_owned)
        .collect()
}

fn sh(script: &str) -> Vec<String> {
    ["sh", "-c", script].map(str::to_owned).to_vec()
}

fn failed_ids(report: &ModeReport) -> Vec<&str> {
    report
        .cases
        .iter()
        .filter(|case| matches!(case.status, Status::Fail(_)))
        .map(|case| case.id.as_str())
        .collect()
}

fn reasons(report: &ModeReport) -> Vec<&str> {
    report
        .cases
        .iter()
        .filter_map(|case| match &case.status {
            Status::Fail(reason) => Some(reason.as_str()),
            _ => None,
        })
        .collect()
}

/// One small vector file (the spec's own examples).
fn small_files() -> Vec<VectorFile> {
    let files = vectors::load_all().unwrap();
    let small: Vec<_> = files
        .into_iter()
        .filter(|file| file.group == "spec-examples")
        .collect();
    assert_eq!(small.len(), 1);
    small
}

/// Parser mode at the quick plan over [`small_files`].
fn run_small(command: &[String], timeout: Duration) -> Result<ModeReport, RunError> {
    adapter::parser::run(command, &small_files(), Plan::Quick, timeout)
}

/// The run failed exactly the cases `ids` (every reason shown otherwise).
fn assert_failed(report: &ModeReport, ids: &[&str]) {
    assert_eq!(failed_ids(report), ids, "{:#?}", reasons(report));
}

/// The first failure's reason says `text`.
fn assert_first_reason(report: &ModeReport, text: &str) {
    let reasons = reasons(report);
    assert!(
        reasons.first().is_some_and(|r| r.contains(text)),
        "{reasons:?}"
    );
}

fn client_file(ids: &[&str]) -> ClientFile {
    let mut file = client_cases::load().unwrap();
    file.cases.retain(|case| ids.contains(&case.id.as_str()));
    assert_eq!(file.cases.len(), ids.len(), "{ids:?}");
    file
}

fn baseline_path(adapter: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("adapters")
        .join(adapter)
        .join("expected-failures.json")
}

#[test]
fn bourn_adapter_passes_every_parser_case_and_its_baseline_is_empty() {
    let files = vectors::load_all().unwrap();
    let report =
        adapter::parser::run(&bourn(&[]), &files, Plan::Quick, Duration::from_secs(20)).unwrap();
    assert_failed(&report, &[]);
    let cases: usize = files.iter().map(|f| f.cases.len()).sum();
    assert_eq!(report.passed + report.skipped, cases);
    assert_eq!(report.unsupported, 0);

    let baseline = Baseline::load(&baseline_path("bourn")).unwrap();
    assert!(baseline.parser.is_empty() && baseline.client.is_empty());
    assert!(baseline.compare(&report).ok());
}

#[test]
fn bourn_adapter_passes_every_client_case() {
    let file = client_cases::load().unwrap();
    let report = adapter::client::run(&bourn(&[]), &file, 4, Duration::from_secs(10)).unwrap();
    assert_failed(&report, &[]);
    assert_eq!(report.passed, file.cases.len());
}

#[test]
fn mutation_crlf_read_as_two_line_endings_fails_the_parser_run() {
    let files = vectors::load_all().unwrap();
    let mutated = bourn(&["--mutate", "crlf-twice"]);
    let report =
        adapter::parser::run(&mutated, &files, Plan::Quick, Duration::from_secs(20)).unwrap();
    let failed = failed_ids(&report);
    assert!(failed.contains(&"le-mixed"), "{failed:?}");
    assert!(!Baseline::default().compare(&report).ok());
}

#[test]
fn mutation_dropping_last_event_id_fails_the_client_run() {
    let file = client_file(&["cli-reconnect-sends-last-event-id", "cli-first-request"]);
    let mutated = bourn(&["--mutate", "drop-last-event-id"]);
    let report = adapter::client::run(&mutated, &file, 2, Duration::from_secs(10)).unwrap();
    assert_failed(&report, &["cli-reconnect-sends-last-event-id"]);
    assert_first_reason(&report, "Last-Event-ID None");
}

#[test]
fn mutation_reconnecting_after_a_204_fails_the_client_run() {
    let file = client_file(&["cli-204-fails"]);
    let mutated = bourn(&["--mutate", "reconnect-after-fail"]);
    let report = adapter::client::run(&mutated, &file, 1, Duration::from_secs(10)).unwrap();
    assert_failed(&report, &["cli-204-fails"]);
}

#[test]
fn a_hung_parser_adapter_fails_each_case_with_the_reason() {
    let hung = sh(r#"echo '{"hello": "hung", "parser": {}}'; exec sleep 60"#);
    let report = run_small(&hung, Duration::from_millis(200)).unwrap();
    assert!(report.failed > 0 && report.passed == 0, "{report:#?}");
    for reason in reasons(&report) {
        assert!(reason.contains("timed out"), "{reason}");
    }
}

#[test]
fn a_crashing_parser_adapter_fails_each_case_with_its_exit_status() {
    let crashing =
        sh(r#"echo '{"hello": "crash", "parser": {}}'; read line; echo oops >&2; exit 3"#);
    let report = run_small(&crashing, Duration::from_secs(10)).unwrap();
    assert!(report.failed > 0 && report.passed == 0, "{report:#?}");
    for reason in reasons(&report) {
        assert!(
            reason.contains("exit status: 3") && reason.contains("oops"),
            "{reason}"
        );
    }
}

#[test]
fn a_confused_parser_adapter_fails_with_what_was_wrong() {
    // One output where there must be one per chunk plus one for the end.
    let confused = sh(
        r#"echo '{"hello": "confused", "parser": {}}'; while read line; do echo '{"outputs": [[]]}'; done"#,
    );
    let report = run_small(&confused, Duration::from_secs(10)).unwrap();
    assert!(report.failed > 0);
    assert_first_reason(&report, "1 outputs for 1 chunks");
}

#[test]
fn an_adapter_without_the_mode_or_a_hello_is_an_error_not_a_hang() {
    let parser_only = sh(r#"echo '{"hello": "p", "parser": {}}'; exec sleep 60"#);
    let file = client_file(&["cli-first-request"]);
    let error = adapter::client::run(&parser_only, &file, 1, Duration::from_secs(1)).unwrap_err();
    assert!(
        error.to_string().contains("declares no `client` mode"),
        "{error}"
    );

    let garbage = sh("echo hello; exec sleep 60");
    let error = run_small(&garbage, Duration::from_secs(1)).unwrap_err();
    assert!(error.to_string().contains("bad line"), "{error}");

    let missing = vec!["/nonexistent/adapter".to_owned()];
    let error = run_small(&missing, Duration::from_secs(1)).unwrap_err();
    assert!(error.to_string().contains("cannot start"), "{error}");
}

#[test]
fn a_hung_client_adapter_fails_the_case_with_the_reason() {
    let hung =
        sh(r#"echo '{"hello": "hung", "client": {"initial_reconnect_ms": true}}'; exec sleep 60"#);
    let file = client_file(&["cli-first-request"]);
    let report = adapter::client::run(&hung, &file, 1, Duration::from_millis(300)).unwrap();
    assert_eq!(report.mode, Mode::Client);
    assert_failed(&report, &["cli-first-request"]);
    assert_first_reason(&report, "timed out");
}

#[test]
fn the_runner_exit_status_follows_the_expected_failures_file() {
    let dir = std::env::temp_dir().join(format!("bourn-runner-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |expect: &str, mutate: bool| {
        let path = dir.join("expected-failures.json");
        std::fs::write(&path, expect).unwrap();
        let mut command = Command::new(RUNNER);
        command
            .args(["parser", "--quick", "--expect"])
            .arg(&path)
            .arg("--junit")
            .arg(dir.join("report.xml"))
            .args(["--", ADAPTER]);
        if mutate {
            command.args(["--mutate", "crlf-twice"]);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status.code(), stdout)
    };
    let (code, stdout) = run(r#"{"parser": []}"#, false);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains(": as expected"), "{stdout}");

    // A listed case that passes is stale.
    let (code, stdout) = run(r#"{"parser": [{"case": "le-crlf", "reason": "x"}]}"#, false);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("STALE ENTRY le-crlf"), "{stdout}");

    // A failure nobody listed is new.
    let (code, stdout) = run(r#"{"parser": []}"#, true);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("NEW FAILURE le-mixed"), "{stdout}");
    let xml = std::fs::read_to_string(dir.join("report.xml")).unwrap();
    assert!(xml.contains("<failure"), "{xml}");

    // An unknown flag is a usage error, not a run.
    let output = Command::new(RUNNER)
        .args(["parser", "--frobnicate"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn protocol_md_quotes_the_example_adapters_as_they_are() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let protocol = std::fs::read_to_string(root.join("PROTOCOL.md")).unwrap();
    for adapter in ["node-eventsource-parser", "node-eventsource"] {
        let path = root.join("adapters").join(adapter).join("adapter.mjs");
        let source = std::fs::read_to_string(&path).unwrap();
        assert!(
            protocol.contains(&format!("```js\n{source}```")),
            "PROTOCOL.md no longer quotes {} as it is",
            path.display()
        );
    }
}
