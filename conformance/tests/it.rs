//! bourn-conformance integration tests: the vectors at every chunking, the
//! reference model against the codec, round trips and limits (proptest), and
//! the encoder's output (insta).

// Test helpers (renderers, builders) may panic too: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod it {
    #[cfg(feature = "adapters")]
    mod adapter;
    mod e2e;
    mod encoder;
    mod endings;
    mod http;
    mod limits;
    mod oracle;
    mod roundtrip;
    mod server;
    mod support;
    mod vectors;
}
