use bourn_codec::{Decoder, EventStream, Frame, Limits, SseCodec, StreamError};
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use tokio_util::codec::FramedRead;

#[tokio::test]
async fn stream_adapter_reports_errors_and_goes_on() {
    let chunks = stream::iter([
        Ok(Bytes::from_static(b"data: 0123456789\n\nda")),
        Err(std::io::Error::other("reset")),
        Ok(Bytes::from_static(b"ta: ok\n\ndata:cut")),
    ]);
    let decoder = Decoder::with_limits(Limits::default().max_line_len(8));
    let items: Vec<_> = EventStream::with_decoder(chunks, decoder).collect().await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(matches!(items[0], Err(StreamError::Decode(_))));
    assert!(matches!(items[1], Err(StreamError::Transport(_))));
    assert_eq!(items[2].as_ref().unwrap().as_event().unwrap().data(), "ok");
}

#[tokio::test]
async fn tokio_util_codec_discards_an_unfinished_event_at_eof() {
    let input: &[u8] = b"retry: 5\ndata: a\n\ndata: unfinished";
    let frames: Vec<_> = FramedRead::new(input, SseCodec::default())
        .map(|item| item.unwrap().unwrap())
        .collect()
        .await;
    assert_eq!(frames.len(), 2);
    assert!(matches!(frames[0], Frame::Retry(_)));
    assert_eq!(frames[1].as_event().unwrap().data(), "a");
}
