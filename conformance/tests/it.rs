//! rill-conformance integration tests: the vectors at every chunking, the
//! reference model against the codec, round trips and limits (proptest), and
//! the encoder's output (insta).

mod it {
    mod encoder;
    mod endings;
    mod limits;
    mod oracle;
    mod roundtrip;
    mod support;
    mod vectors;
}
