//! Every vector at every chunking against bourn-codec; every vector (but the
//! limit ones) against the reference model; every encoder case.

use std::collections::BTreeSet;

use bourn_conformance::chunking::Chunking;
use bourn_conformance::codec::{self, BournBytesDecoder, BournDecoder, BournRefDecoder};
use bourn_conformance::harness::{self, SuiteReport};
use bourn_conformance::reference::Reference;
use bourn_conformance::vectors;

fn describe(report: &SuiteReport) -> String {
    let mut text = String::new();
    for group in &report.groups {
        for failure in &group.failures {
            text.push_str(&format!("\n[{}] {failure}", group.group));
        }
    }
    text
}

#[test]
fn files_cover_every_area_with_enough_cases() {
    let files = vectors::load_all().unwrap();
    let groups: BTreeSet<&str> = files.iter().map(|f| f.group.as_str()).collect();
    for area in [
        "line-endings",
        "bom",
        "fields",
        "data",
        "event-type",
        "id",
        "retry",
        "comments",
        "utf8",
        "eof",
        "limits",
        "spec-examples",
        "wpt",
        "peer-bugs",
        "encoder",
    ] {
        assert!(groups.contains(area), "no vectors/{area}.json");
    }
    let decoder_cases: usize = files.iter().map(|f| f.cases.len()).sum();
    let encoder_cases: usize = files.iter().map(|f| f.encoder_cases.len()).sum();
    assert!(decoder_cases >= 80, "{decoder_cases} decoder cases");
    assert!(encoder_cases >= 20, "{encoder_cases} encoder cases");
    for file in &files {
        assert!(
            !file.cases.is_empty() || !file.encoder_cases.is_empty(),
            "{} is empty",
            file.group
        );
        for case in &file.cases {
            assert!(
                case.skip.is_none(),
                "{} is skipped: {:?}",
                case.id,
                case.skip
            );
        }
    }
}

#[test]
fn codec_passes_every_vector_at_every_chunking() {
    let files = vectors::load_all().unwrap();
    let report = harness::run_suite(&mut BournDecoder::new(), &files, harness::full_matrix);
    assert_eq!(report.failed, 0, "{}", describe(&report));
    // Whole, three fixed sizes and at least one split per case were run.
    let cases: usize = files.iter().map(|f| f.cases.len()).sum();
    assert!(report.passed > cases * 5, "only {} runs", report.passed);
}

#[test]
fn decode_bytes_passes_every_vector_at_every_chunking() {
    let files = vectors::load_all().unwrap();
    let report = harness::run_suite(&mut BournBytesDecoder::new(), &files, harness::full_matrix);
    assert_eq!(report.failed, 0, "{}", describe(&report));
    let cases: usize = files.iter().map(|f| f.cases.len()).sum();
    assert!(report.passed > cases * 5, "only {} runs", report.passed);
}

#[test]
fn ref_decoder_passes_every_vector_at_every_chunking() {
    let files = vectors::load_all().unwrap();
    let report = harness::run_suite(&mut BournRefDecoder::new(), &files, harness::full_matrix);
    assert_eq!(report.failed, 0, "{}", describe(&report));
    let cases: usize = files.iter().map(|f| f.cases.len()).sum();
    assert!(report.passed > cases * 5, "only {} runs", report.passed);
}

#[test]
fn reference_model_agrees_with_every_vector() {
    let files = vectors::load_all().unwrap();
    let report = harness::run_suite(&mut Reference::default(), &files, |_| vec![Chunking::Whole]);
    assert_eq!(report.failed, 0, "{}", describe(&report));
    let limits = files.iter().find(|f| f.group == "limits").unwrap();
    let unsupported: usize = report.groups.iter().map(|g| g.unsupported).sum();
    assert_eq!(
        unsupported,
        limits.cases.len(),
        "only limit cases are unsupported"
    );
}

#[test]
fn encoder_cases() {
    let files = vectors::load_all().unwrap();
    let failures: Vec<_> = files
        .iter()
        .flat_map(|file| &file.encoder_cases)
        .filter_map(|case| codec::run_encoder_case(case).err())
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn encoder_vectors_decode_the_same_in_the_reference_model() {
    let files = vectors::load_all().unwrap();
    for case in files.iter().flat_map(|file| &file.encoder_cases) {
        if let vectors::EncoderExpect::Bytes {
            bytes,
            decoded,
            final_last_event_id,
        } = &case.expect
        {
            let out = bourn_conformance::reference::interpret(bytes, "");
            assert_eq!(&out.frames, decoded, "{}", case.id);
            assert_eq!(&out.last_event_id, final_last_event_id, "{}", case.id);
        }
    }
}

#[test]
fn a_wrong_expectation_fails() {
    // The harness must be able to fail: flip one expected frame.
    let files = vectors::load_all().unwrap();
    let mut case = files
        .iter()
        .flat_map(|f| &f.cases)
        .find(|c| c.id == "data-join")
        .unwrap()
        .clone();
    case.expect.clear();
    let outcome = harness::run_case(&mut BournDecoder::new(), &case, &Chunking::Every(1));
    assert!(matches!(outcome, harness::Outcome::Fail(_)), "{outcome:?}");
}

#[test]
fn codec_yields_every_frame_as_soon_as_its_bytes_arrive() {
    // After any prefix of a stream, the codec has yielded exactly what the
    // reference model finds in that prefix: a line is interpreted as soon as
    // its line ending (even a CR that ends the chunk) has arrived.
    use bourn_conformance::harness::{DecoderUnderTest, Setup};
    let files = vectors::load_all().unwrap();
    for case in files.iter().flat_map(|f| &f.cases) {
        if case.limits.is_some() {
            continue;
        }
        let initial = case.initial_last_event_id.clone().unwrap_or_default();
        for cut in 0..=case.input.len() {
            let mut decoder = BournDecoder::new();
            decoder.start(&Setup {
                limits: None,
                initial_last_event_id: Some(initial.clone()),
            });
            let mut frames = Vec::new();
            decoder.feed(&case.input[..cut], &mut frames);
            let model = bourn_conformance::reference::interpret(&case.input[..cut], &initial);
            assert_eq!(frames, model.frames, "{} after {cut} bytes", case.id);
            assert_eq!(
                decoder.last_event_id().unwrap(),
                model.last_event_id,
                "{} after {cut} bytes",
                case.id
            );
        }
    }
}
