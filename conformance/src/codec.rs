//! bourn-codec under test: the [`DecoderUnderTest`] adapter and the encoder
//! case runner.

use std::time::Duration;

use bourn_codec::{
    DecodeError, Decoder, Event, EventType, FrameRef, Id, Limits, MessageEvent, MessageEventRef,
    RefDecoder,
};
use bytes::BytesMut;

use crate::harness::{Capabilities, DecoderUnderTest, Setup};
use crate::vectors::{
    EncodeField, EncoderCase, EncoderExpect, ErrorFrame, ErrorKind, EventFrame, Frame, VectorLimits,
};

/// [`bourn_codec::Decoder`] over a [`BytesMut`], fed chunk by chunk.
#[derive(Debug, Default)]
pub struct BournDecoder {
    decoder: Decoder,
    buf: BytesMut,
}

impl BournDecoder {
    /// A decoder with the default limits.
    pub fn new() -> Self {
        BournDecoder::default()
    }

    fn drain(&mut self, eof: bool, out: &mut Vec<Frame>) {
        // Every limit error consumes at least one byte of a line, so more
        // errors than buffered bytes means the decoder stopped making
        // progress: report that instead of looping forever.
        let mut errors_left = self.buf.len() + 1;
        loop {
            let next = if eof {
                self.decoder.decode_eof(&mut self.buf)
            } else {
                self.decoder.decode(&mut self.buf)
            };
            match next {
                Ok(Some(frame)) => out.push(frame_of(frame)),
                Ok(None) => return,
                // Not fatal: the decoder resynchronises; call again.
                Err(error) => {
                    out.push(error_frame(error));
                    if errors_left == 0 {
                        out.push(Frame::Other(
                            "decoder returns errors without progress".into(),
                        ));
                        return;
                    }
                    errors_left -= 1;
                }
            }
        }
    }
}

/// The codec's limits for a case.
pub fn limits(limits: Option<VectorLimits>) -> Limits {
    let mut out = Limits::default();
    if let Some(limits) = limits {
        if let Some(len) = limits.max_line_len {
            out = out.max_line_len(len);
        }
        if let Some(len) = limits.max_event_len {
            out = out.max_event_len(len);
        }
    }
    out
}

impl DecoderUnderTest for BournDecoder {
    fn name(&self) -> &str {
        "bourn-codec"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn start(&mut self, setup: &Setup) {
        let mut decoder = Decoder::with_limits(limits(setup.limits));
        if let Some(id) = &setup.initial_last_event_id {
            decoder = decoder.with_last_event_id(id.as_str());
        }
        self.decoder = decoder;
        self.buf = BytesMut::new();
    }

    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) {
        self.buf.extend_from_slice(chunk);
        self.drain(false, out);
    }

    fn finish(&mut self, out: &mut Vec<Frame>) {
        self.drain(true, out);
    }

    fn last_event_id(&self) -> Option<String> {
        Some(self.decoder.last_event_id().to_owned())
    }
}

/// [`bourn_codec::Decoder::decode_bytes`]: each chunk handed over as
/// `Bytes`, no `BytesMut` of the caller's.
#[derive(Debug, Default)]
pub struct BournBytesDecoder {
    decoder: Decoder,
}

impl BournBytesDecoder {
    /// A decoder with the default limits.
    pub fn new() -> Self {
        BournBytesDecoder::default()
    }
}

impl DecoderUnderTest for BournBytesDecoder {
    fn name(&self) -> &str {
        "bourn-codec decode_bytes"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn start(&mut self, setup: &Setup) {
        let mut decoder = Decoder::with_limits(limits(setup.limits));
        if let Some(id) = &setup.initial_last_event_id {
            decoder = decoder.with_last_event_id(id.as_str());
        }
        self.decoder = decoder;
    }

    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) {
        let mut chunk = bytes::Bytes::copy_from_slice(chunk);
        // As in `BournDecoder::drain`: errors without progress are reported.
        let mut errors_left = chunk.len() + 1;
        loop {
            match self.decoder.decode_bytes(&mut chunk) {
                Ok(Some(frame)) => out.push(frame_of(frame)),
                Ok(None) => return,
                Err(error) => {
                    out.push(error_frame(error));
                    if errors_left == 0 {
                        out.push(Frame::Other(
                            "decoder returns errors without progress".into(),
                        ));
                        return;
                    }
                    errors_left -= 1;
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<Frame>) {
        let mut empty = BytesMut::new();
        while let Ok(Some(frame)) = self.decoder.decode_eof(&mut empty) {
            out.push(frame_of(frame));
        }
    }

    fn last_event_id(&self) -> Option<String> {
        Some(self.decoder.last_event_id().to_owned())
    }
}

/// [`bourn_codec::RefDecoder`], the borrowing decoder, fed chunk by chunk.
#[derive(Debug, Default)]
pub struct BournRefDecoder {
    decoder: RefDecoder,
}

impl BournRefDecoder {
    /// A decoder with the default limits.
    pub fn new() -> Self {
        BournRefDecoder::default()
    }
}

impl DecoderUnderTest for BournRefDecoder {
    fn name(&self) -> &str {
        "bourn-codec RefDecoder"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn start(&mut self, setup: &Setup) {
        let mut decoder = RefDecoder::with_limits(limits(setup.limits));
        if let Some(id) = &setup.initial_last_event_id {
            decoder = decoder.with_last_event_id(id);
        }
        self.decoder = decoder;
    }

    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) {
        self.decoder.feed(chunk, |frame| {
            out.push(match frame {
                Ok(frame) => frame_ref_of(frame),
                Err(error) => error_frame(error),
            })
        });
    }

    fn finish(&mut self, _: &mut Vec<Frame>) {
        self.decoder.finish();
    }

    fn last_event_id(&self) -> Option<String> {
        Some(self.decoder.last_event_id().to_owned())
    }
}

/// A borrowed codec frame as a vector frame.
pub fn frame_ref_of(frame: FrameRef<'_>) -> Frame {
    match frame {
        FrameRef::Event(event) => Frame::Event(event_ref_frame(&event)),
        FrameRef::Retry(retry) => {
            Frame::Retry(u64::try_from(retry.as_millis()).unwrap_or(u64::MAX))
        }
        FrameRef::Comment(comment) => Frame::Comment(comment.to_owned()),
        other => Frame::Other(format!("{other:?}")),
    }
}

/// A borrowed decoded event as a vector event.
pub fn event_ref_frame(event: &MessageEventRef<'_>) -> EventFrame {
    EventFrame {
        event_type: event.event_type().to_owned(),
        data: event.data().to_owned(),
        id: event.id().map(str::to_owned),
        last_event_id: event.last_event_id().to_owned(),
    }
}

/// A codec frame as a vector frame.
pub fn frame_of(frame: bourn_codec::Frame) -> Frame {
    match frame {
        bourn_codec::Frame::Event(event) => Frame::Event(event_frame(&event)),
        bourn_codec::Frame::Retry(retry) => {
            Frame::Retry(u64::try_from(retry.as_millis()).unwrap_or(u64::MAX))
        }
        bourn_codec::Frame::Comment(comment) => Frame::Comment(comment.to_string()),
        other => Frame::Other(format!("{other:?}")),
    }
}

/// A decoded event as a vector event.
pub fn event_frame(event: &MessageEvent) -> EventFrame {
    EventFrame {
        event_type: event.event_type().to_owned(),
        data: event.data().to_owned(),
        id: event.id().map(str::to_owned),
        last_event_id: event.last_event_id().to_owned(),
    }
}

/// A codec limit error as a vector frame.
pub fn error_frame(error: DecodeError) -> Frame {
    match error {
        DecodeError::LineTooLong { limit, .. } => Frame::Error(ErrorFrame {
            kind: ErrorKind::LineTooLong,
            limit,
        }),
        DecodeError::EventTooLong { limit, .. } => Frame::Error(ErrorFrame {
            kind: ErrorKind::EventTooLong,
            limit,
        }),
        other => Frame::Other(format!("{other:?}")),
    }
}

/// Builds the event of an encoder case: `comment`, `event`, `id`, `retry`,
/// `data`, in that order.
///
/// # Errors
///
/// The refusal of the `event` or the `id` value, in that order.
pub fn build(case: &EncoderCase) -> Result<Event, bourn_codec::EncodeError> {
    let input = &case.build;
    let mut builder = Event::builder();
    if let Some(comment) = &input.comment {
        builder = builder.comment(comment.as_str());
    }
    if let Some(event) = &input.event {
        builder = builder.event(EventType::new(event.as_str())?);
    }
    if let Some(id) = &input.id {
        builder = builder.id(Id::new(id.as_str())?);
    }
    if let Some(ms) = input.retry_ms {
        builder = builder.retry(Duration::from_millis(ms));
    }
    if let Some(us) = input.retry_us {
        builder = builder.retry(Duration::from_micros(us));
    }
    if let Some(data) = &input.data {
        builder = builder.data(data.as_str());
    }
    Ok(builder.build())
}

/// How an encoder case failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EncoderMismatch {
    /// The case.
    pub case_id: String,
    /// What went wrong, with both sides.
    pub problem: String,
}

/// Runs an encoder case: the exact bytes (and `encoded_len`), then decodes
/// them with the codec at every chunking of the matrix and compares with the
/// case's `decoded` frames; or checks the refusal.
///
/// # Errors
///
/// The first difference found.
pub fn run_encoder_case(case: &EncoderCase) -> Result<(), EncoderMismatch> {
    let fail = |problem: String| EncoderMismatch {
        case_id: case.id.clone(),
        problem,
    };
    match (&case.expect, build(case)) {
        (
            EncoderExpect::Bytes {
                bytes,
                decoded,
                final_last_event_id,
            },
            Ok(event),
        ) => {
            let encoded = event.to_bytes();
            if encoded != bytes.as_slice() {
                return Err(fail(format!(
                    "encoded {:?}, expected {:?}",
                    encoded.escape_ascii().to_string(),
                    bytes.escape_ascii().to_string()
                )));
            }
            if event.encoded_len() != encoded.len() {
                return Err(fail(format!(
                    "encoded_len() is {}, but {} bytes were written",
                    event.encoded_len(),
                    encoded.len()
                )));
            }
            let decode_case = crate::vectors::DecoderCase {
                id: case.id.clone(),
                description: case.description.clone(),
                input: bytes.clone(),
                limits: None,
                initial_last_event_id: None,
                expect: decoded.clone(),
                final_last_event_id: final_last_event_id.clone(),
                skip: None,
                source: None,
            };
            let mut decoder = BournDecoder::new();
            for chunking in crate::harness::full_matrix(&decode_case) {
                if let crate::harness::Outcome::Fail(mismatch) =
                    crate::harness::run_case(&mut decoder, &decode_case, &chunking)
                {
                    return Err(fail(format!("decoding the bytes: {mismatch:?}")));
                }
            }
            Ok(())
        }
        (EncoderExpect::Bytes { .. }, Err(error)) => {
            Err(fail(format!("refused ({error}), expected bytes")))
        }
        (EncoderExpect::Error { field, index }, Err(error)) => {
            let actual_field = match error.field() {
                bourn_codec::Field::Event => Some(EncodeField::Event),
                bourn_codec::Field::Id => Some(EncodeField::Id),
                _ => None,
            };
            if actual_field == Some(*field) && error.index() == *index {
                Ok(())
            } else {
                Err(fail(format!(
                    "refused {:?} at {}, expected {field:?} at {index}",
                    error.field(),
                    error.index()
                )))
            }
        }
        (EncoderExpect::Error { field, index }, Ok(event)) => Err(fail(format!(
            "built and encoded {:?}, expected a refusal of {field:?} at {index}",
            event.to_bytes().escape_ascii().to_string()
        ))),
    }
}
