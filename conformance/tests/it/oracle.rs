//! bourn-codec equals the spec-literal reference model on arbitrary bytes at
//! arbitrary chunkings.

use bourn_conformance::reference;
use proptest::prelude::*;

use super::support::{config, cuts, decode, decode_bytes, decode_ref, picks, sse_bytes};

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
    fn decode_bytes_equals_reference(input in prop::collection::vec(any::<u8>(), 0..64), picks in picks()) {
        let expected = reference::interpret(&input, "");
        let actual = decode_bytes(&input, &cuts(input.len(), &picks), None);
        prop_assert_eq!(&actual.frames, &expected.frames);
        prop_assert_eq!(&actual.last_event_id, &expected.last_event_id);
    }

    #[test]
    fn decode_bytes_equals_reference_on_sse(input in sse_bytes(48), picks in picks()) {
        let expected = reference::interpret(&input, "");
        let actual = decode_bytes(&input, &cuts(input.len(), &picks), None);
        prop_assert_eq!(&actual.frames, &expected.frames, "input {:?}", input.escape_ascii().to_string());
        prop_assert_eq!(&actual.last_event_id, &expected.last_event_id);
    }

    #[test]
    fn ref_decoder_equals_reference(input in sse_bytes(48), picks in picks()) {
        let expected = reference::interpret(&input, "");
        let actual = decode_ref(&input, &cuts(input.len(), &picks), None);
        prop_assert_eq!(&actual.frames, &expected.frames, "input {:?}", input.escape_ascii().to_string());
        prop_assert_eq!(&actual.last_event_id, &expected.last_event_id);
    }

    #[test]
    fn ref_decoder_equals_reference_on_any_bytes(input in prop::collection::vec(any::<u8>(), 0..64), picks in picks()) {
        let expected = reference::interpret(&input, "");
        let actual = decode_ref(&input, &cuts(input.len(), &picks), None);
        prop_assert_eq!(&actual.frames, &expected.frames);
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

proptest! {
    #![proptest_config(config("proptest-regressions/oracle-prefix.txt"))]

    /// After any prefix, the codec has yielded all the reference model finds
    /// in that prefix: nothing waits for bytes it does not need.
    #[test]
    fn codec_yields_frames_without_waiting(input in sse_bytes(48), picks in picks()) {
        let cuts = cuts(input.len(), &picks);
        let mut decoder = bourn_codec::Decoder::new();
        let mut buf = bytes::BytesMut::new();
        let mut frames = Vec::new();
        let mut fed = 0;
        for &cut in cuts.iter().chain([&input.len()]) {
            buf.extend_from_slice(&input[fed..cut]);
            fed = cut;
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                frames.push(bourn_conformance::codec::frame_of(frame));
            }
            let model = reference::interpret(&input[..cut], "");
            prop_assert_eq!(&frames, &model.frames, "after {} of {:?}", cut, input.escape_ascii().to_string());
            prop_assert_eq!(decoder.last_event_id(), model.last_event_id.as_str());
        }
    }
}
