//! Under arbitrary small limits the decoder never panics, gives the same
//! frames under any chunking, resumes after the next blank line, and agrees
//! with the reference model whenever no limit was hit.

use bourn_conformance::reference;
use bourn_conformance::vectors::{EventFrame, Frame, VectorLimits};
use proptest::prelude::*;

use super::support::{config, cuts, decode, picks, sse_bytes};

fn limits(min_line: usize, min_event: usize) -> impl Strategy<Value = VectorLimits> {
    (min_line..min_line + 24, min_event..min_event + 48).prop_map(|(line, event)| VectorLimits {
        max_line_len: Some(line),
        max_event_len: Some(event),
    })
}

proptest! {
    #![proptest_config(config("proptest-regressions/limits.txt"))]

    #[test]
    fn same_frames_under_any_chunking(input in sse_bytes(48), limits in limits(0, 0), picks in picks()) {
        let whole = decode(&input, &[], Some(limits));
        let chunked = decode(&input, &cuts(input.len(), &picks), Some(limits));
        prop_assert_eq!(&chunked, &whole, "{:?}", input.escape_ascii().to_string());
        let every: Vec<usize> = (1..input.len()).collect();
        let bytewise = decode(&input, &every, Some(limits));
        prop_assert_eq!(&bytewise, &whole);
    }

    #[test]
    fn resumes_after_the_next_blank_line(prefix in sse_bytes(48), limits in limits(8, 2), picks in picks()) {
        let mut input = prefix;
        input.extend_from_slice(b"\n\ndata: ok\n\n");
        let decoded = decode(&input, &cuts(input.len(), &picks), Some(limits));
        let Some(Frame::Event(last)) = decoded.frames.last() else {
            return Err(TestCaseError::fail(format!("no final event: {:?}", decoded.frames)));
        };
        let expected = EventFrame {
            event_type: "message".into(),
            data: "ok".into(),
            id: None,
            last_event_id: decoded.last_event_id.clone(),
        };
        prop_assert_eq!(last, &expected);
    }

    #[test]
    fn without_errors_limits_change_nothing(input in sse_bytes(32), limits in limits(4, 4), picks in picks()) {
        let decoded = decode(&input, &cuts(input.len(), &picks), Some(limits));
        if !decoded.frames.iter().any(|frame| matches!(frame, Frame::Error(_))) {
            let model = reference::interpret(&input, "");
            prop_assert_eq!(&decoded.frames, &model.frames);
            prop_assert_eq!(&decoded.last_event_id, &model.last_event_id);
        }
    }
}
