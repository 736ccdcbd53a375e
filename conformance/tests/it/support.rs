//! Helpers shared by the integration tests: feeding the codec, and proptest
//! strategies biased toward the bytes that matter to the grammar.

use bourn_conformance::chunking::Chunking;
use bourn_conformance::codec::{BournBytesDecoder, BournDecoder, BournRefDecoder};
use bourn_conformance::harness::{DecoderUnderTest, Setup};
use bourn_conformance::vectors::{Frame, VectorLimits};
use proptest::prelude::*;

/// What the codec yields for `input` cut at `cuts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub frames: Vec<Frame>,
    pub last_event_id: String,
}

/// Feeds `input` to bourn-codec cut at `cuts` and finishes. Panics if a frame
/// only came out at end of stream (the codec must never withhold one).
pub fn decode(input: &[u8], cuts: &[usize], limits: Option<VectorLimits>) -> Decoded {
    decode_with(&mut BournDecoder::new(), input, cuts, limits)
}

/// As [`decode`], with `Decoder::decode_bytes`.
pub fn decode_bytes(input: &[u8], cuts: &[usize], limits: Option<VectorLimits>) -> Decoded {
    decode_with(&mut BournBytesDecoder::new(), input, cuts, limits)
}

/// As [`decode`], with the borrowing `RefDecoder`.
pub fn decode_ref(input: &[u8], cuts: &[usize], limits: Option<VectorLimits>) -> Decoded {
    decode_with(&mut BournRefDecoder::new(), input, cuts, limits)
}

fn decode_with(
    decoder: &mut dyn DecoderUnderTest,
    input: &[u8],
    cuts: &[usize],
    limits: Option<VectorLimits>,
) -> Decoded {
    decoder.start(&Setup {
        limits,
        initial_last_event_id: None,
    });
    let mut frames = Vec::new();
    for chunk in Chunking::At(cuts.to_vec()).chunks(input) {
        decoder.feed(chunk, &mut frames);
    }
    let mut withheld = Vec::new();
    decoder.finish(&mut withheld);
    assert_eq!(withheld, [], "frames withheld until end of stream");
    Decoded {
        frames,
        last_event_id: decoder.last_event_id().unwrap_or_default(),
    }
}

/// Sorted cut points inside `len` from arbitrary indices.
pub fn cuts(len: usize, picks: &[prop::sample::Index]) -> Vec<usize> {
    let mut cuts: Vec<usize> = picks.iter().map(|pick| pick.index(len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

/// One token of an arbitrary stream, biased toward line endings, colons,
/// spaces, field names, the BOM, NUL and bytes that are not UTF-8.
fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        5 => Just(b"\n".to_vec()),
        4 => Just(b"\r".to_vec()),
        2 => Just(b"\r\n".to_vec()),
        4 => Just(b":".to_vec()),
        4 => Just(b" ".to_vec()),
        3 => Just(b"data".to_vec()),
        2 => Just(b"data: ".to_vec()),
        2 => Just(b"id".to_vec()),
        2 => Just(b"event".to_vec()),
        2 => Just(b"retry".to_vec()),
        1 => Just(b"comment".to_vec()),
        1 => Just(b"\xEF\xBB\xBF".to_vec()),
        1 => Just(b"\xEF\xBB".to_vec()),
        1 => Just(b"\0".to_vec()),
        1 => Just(b"+".to_vec()),
        1 => Just("\u{e9}".as_bytes().to_vec()),
        1 => Just("\u{1F600}".as_bytes().to_vec()),
        2 => prop::sample::select(vec![0x80u8, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFE, 0xFF])
            .prop_map(|byte| vec![byte]),
        3 => "[0-9]{1,4}".prop_map(String::into_bytes),
        3 => "[a-z]{1,3}".prop_map(String::into_bytes),
        2 => any::<u8>().prop_map(|byte| vec![byte]),
    ]
}

/// An arbitrary byte string made of [`token`]s.
pub fn sse_bytes(max_tokens: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(token(), 0..max_tokens).prop_map(|tokens| tokens.concat())
}

/// Arbitrary cut picks (resolved against a length with [`cuts`]).
pub fn picks() -> impl Strategy<Value = Vec<prop::sample::Index>> {
    prop::collection::vec(any::<prop::sample::Index>(), 0..10)
}

/// proptest's default configuration, with failing cases saved to
/// `conformance/proptest-regressions/<file>` (committed, and replayed first
/// on every run). `cargo test` runs from the package root.
pub fn config(file: &'static str) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(prop::test_runner::FileFailurePersistence::Direct(
            file,
        ))),
        ..ProptestConfig::default()
    }
}
