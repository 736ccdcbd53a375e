//! The client suite against bourn-client (feature `clients`): the behaviour
//! cases of `vectors/behaviour/client.json` and every decoder vector over
//! HTTP, through `ClientUnderTest`, the same runner the peer clients go
//! through in the benches.
#![cfg(feature = "clients")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bourn_conformance::bourn_client::BournClient;
use bourn_conformance::client::{self, CaseOutcome};
use bourn_conformance::client_cases;
use bourn_conformance::vectors;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_behaviour_cases() {
    let file = client_cases::load().unwrap();
    assert!(file.cases.len() >= 10, "{} client cases", file.cases.len());
    let mut ids = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for case in &file.cases {
        assert!(
            ids.insert(case.id.as_str()),
            "duplicate case id {}",
            case.id
        );
        let outcome = client::run_behaviour_case(&BournClient, case).await;
        match (outcome, &case.expected_failure) {
            (CaseOutcome::Pass, None) | (CaseOutcome::Fail(_), Some(_)) => {}
            (CaseOutcome::Fail(error), None) => failures.push(format!("{}: {error}", case.id)),
            (CaseOutcome::Pass, Some(reason)) => failures.push(format!(
                "{}: passes now, drop its expected failure ({reason})",
                case.id
            )),
            (CaseOutcome::NotApplicable(why), _) => {
                failures.push(format!(
                    "{}: not applicable to bourn-client ({why})",
                    case.id
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decoder_vector_through_client_under_test() {
    let files = vectors::load_all().unwrap();
    let report = client::run_vectors(&BournClient, &files).await;
    let failures: Vec<String> = report
        .failures()
        .map(|case| format!("{}: {:?}", case.id, case.outcome))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(report.not_applicable, 0);
    assert!(report.passed >= 300, "{} cases", report.passed);
}
