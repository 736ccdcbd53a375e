//! Arbitrary bytes, fed whole: the decoder never panics, its frames are
//! well-formed, and it agrees with the spec-literal reference model.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use bourn_codec::{Decoder, Frame};
use bourn_conformance::codec::frame_of;
use bourn_conformance::reference;

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(data);
    let mut frames = Vec::new();
    // Default limits (16 MiB) are never reached by fuzz inputs.
    while let Some(frame) = decoder.decode(&mut buf).expect("no limit reached") {
        check(&frame);
        frames.push(frame_of(frame));
    }
    // End of stream only discards.
    assert_eq!(decoder.decode_eof(&mut buf), Ok(None));

    let model = reference::interpret(data, "");
    assert_eq!(frames, model.frames);
    assert_eq!(decoder.last_event_id(), model.last_event_id);
});

fn check(frame: &Frame) {
    match frame {
        Frame::Event(event) => {
            assert!(!event.data().contains('\r'));
            assert!(!event.event_type().is_empty());
            assert!(!event.event_type().contains(['\r', '\n']));
            assert!(!event.last_event_id().contains(['\r', '\n', '\0']));
            if let Some(id) = event.id() {
                assert!(!id.contains(['\r', '\n', '\0']));
            }
        }
        Frame::Comment(comment) => assert!(!comment.contains(['\r', '\n'])),
        _ => {}
    }
}
