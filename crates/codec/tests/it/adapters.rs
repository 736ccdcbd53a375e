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

/// `EventStream` (which decodes with `decode_bytes`: large chunks sliced,
/// small ones copied) gives the frames and last event ID of `decode` on
/// the whole input, whatever the chunk sizes, mixed large and small.
#[tokio::test]
async fn stream_adapter_decodes_any_chunking_as_decode_does() {
    let mut rng = crate::Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..8 {
        let input = crate::mixed_stream(&mut rng, round % 2 == 0, 120_000);
        let mut whole = Decoder::new();
        let expected = crate::summary(&crate::decode_chunked(&mut whole, &input, usize::MAX));
        let mut chunks = Vec::new();
        let mut rest = &input[..];
        while !rest.is_empty() {
            let len = match round {
                0 => 16 * 1024,
                1 => 61,
                // Large chunks that end between the CR and the LF of a pair.
                2 | 3 => (16 * 1024..rest.len().saturating_sub(1))
                    .find(|&at| rest[at..].starts_with(b"\r\n"))
                    .map_or(rest.len(), |at| at + 1),
                _ => [1, 7, 4096, 16 * 1024, 20_000, 40_000][(rng.next_u64() % 6) as usize],
            };
            let (piece, tail) = rest.split_at(len.min(rest.len()));
            chunks.push(Ok::<_, std::io::Error>(Bytes::copy_from_slice(piece)));
            rest = tail;
        }
        let mut stream = EventStream::new(stream::iter(chunks));
        let mut frames = Vec::new();
        while let Some(item) = stream.next().await {
            frames.push(item.map_err(|error| match error {
                StreamError::Decode(error) => error,
                StreamError::Transport(error) => panic!("{error}"),
            }));
        }
        assert_eq!(crate::summary(&frames), expected, "round {round}");
        assert_eq!(stream.decoder().last_event_id(), whole.last_event_id());
    }
}
