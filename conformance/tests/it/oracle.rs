//! rill-codec equals the spec-literal reference model on arbitrary bytes at
//! arbitrary chunkings.

use proptest::prelude::*;
use rill_conformance::reference;

use super::support::{config, cuts, decode, picks, sse_bytes};

proptest! {
    #![proptest_config(config("proptest-regressions/oracle.txt"))]

    #[test]
    fn codec_equals_reference(input in sse_bytes(48), picks in picks()) {
        let expected = reference::interpret(&input, "");
        let actual = decode(&input, &cuts(input.len(), &picks), None);
        prop_assert_eq!(&actual.frames, &expected.frames, "input {:?}", input.escape_ascii().to_string());
        prop_assert_eq!(&actual.last_event_id, &expected.last_event_id);
    }

    #[test]
    fn codec_equals_reference_one_byte_at_a_time(input in sse_bytes(32)) {
        let expected = reference::interpret(&input, "");
        let every: Vec<usize> = (1..input.len()).collect();
        let actual = decode(&input, &every, None);
        prop_assert_eq!(&actual.frames, &expected.frames, "input {:?}", input.escape_ascii().to_string());
        prop_assert_eq!(&actual.last_event_id, &expected.last_event_id);
    }

    #[test]
    fn codec_equals_reference_on_any_bytes(input in prop::collection::vec(any::<u8>(), 0..64), picks in picks()) {
        let expected = reference::interpret(&input, "");
        let actual = decode(&input, &cuts(input.len(), &picks), None);
        prop_assert_eq!(&actual.frames, &expected.frames);
        prop_assert_eq!(&actual.last_event_id, &expected.last_event_id);
    }
}
