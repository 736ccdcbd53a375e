//! `tokio_util::codec` integration.

use bytes::BytesMut;

use crate::decoder::Decoder;
use crate::error::DecodeError;
use crate::event::Event;
use crate::frame::Frame;

/// A `tokio_util` codec: [`Decoder`] for reading, event encoding for writing.
///
/// Decode errors are not fatal, but `FramedRead` ends its stream after any
/// error; so the item is `Result<Frame, DecodeError>` and the codec's own
/// error is only `std::io::Error`.
///
/// ```
/// use futures_util::StreamExt;
/// use bourn_codec::SseCodec;
/// use tokio_util::codec::FramedRead;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let input: &[u8] = b"event: hi\ndata: 1\n\n";
/// let mut frames = FramedRead::new(input, SseCodec::default());
/// let frame = frames.next().await.unwrap()?.unwrap();
/// assert_eq!(frame.as_event().unwrap().event_type(), "hi");
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct SseCodec {
    decoder: Decoder,
}

impl SseCodec {
    /// A codec around this decoder.
    pub fn new(decoder: Decoder) -> Self {
        SseCodec { decoder }
    }

    /// The decoder, for its last event ID.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }
}

impl tokio_util::codec::Decoder for SseCodec {
    type Item = Result<Frame, DecodeError>;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        Ok(self.decoder.decode(src).transpose())
    }

    /// Unlike the default, which fails with "bytes remaining on stream", an
    /// unfinished event at the end is discarded, as the spec requires.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        Ok(self.decoder.decode_eof(src).transpose())
    }
}

impl tokio_util::codec::Encoder<Frame> for SseCodec {
    type Error = std::io::Error;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), Self::Error> {
        frame.encode(dst);
        Ok(())
    }
}

impl tokio_util::codec::Encoder<&Event> for SseCodec {
    type Error = std::io::Error;

    fn encode(&mut self, event: &Event, dst: &mut BytesMut) -> Result<(), Self::Error> {
        dst.reserve(event.encoded_len());
        event.encode(dst);
        Ok(())
    }
}

impl tokio_util::codec::Encoder<Event> for SseCodec {
    type Error = std::io::Error;

    fn encode(&mut self, event: Event, dst: &mut BytesMut) -> Result<(), Self::Error> {
        tokio_util::codec::Encoder::encode(self, &event, dst)
    }
}
