//! Event size: the defaults take a 14 MB event; limits are reported as the codec reports them.

use bourn_client::{DecodeError, Limits};
use bourn_testkit::{Reply, Server};

use crate::util::*;

#[tokio::test]
async fn a_single_14_mb_event_passes_with_the_defaults() {
    let image = "A".repeat(14 * 1000 * 1000);
    let body = format!("event: image\ndata: {image}\n\ndata: after\n\n");
    let server = Server::replies([Reply::sse(body).chunk_size(64 * 1024)])
        .await
        .unwrap();
    let items = all(builder(server.url()).build().unwrap()).await;
    let events = events(&items);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].0, "image");
    assert_eq!(events[0].1.len(), image.len());
    assert_eq!(events[1].1, "after");
}

#[tokio::test]
async fn over_the_limits_the_event_is_reported_and_reading_goes_on() {
    let body = format!(
        "data: {}\n\ndata: ok\n\ndata: 123456\ndata: 123456\n\ndata: fine\n\n",
        "x".repeat(100)
    );
    let server = Server::replies([Reply::sse(body).chunk_size(7)])
        .await
        .unwrap();
    let source = builder(server.url())
        .limits(Limits::default().max_line_len(64).max_event_len(10))
        .build()
        .unwrap();
    let items = all(source).await;
    assert_eq!(data(&items), ["ok", "fine"]);
    let decode: Vec<_> = errors(&items)
        .into_iter()
        .filter(|e| e.is_decode())
        .collect();
    assert_eq!(decode.len(), 2);
    assert!(decode.iter().all(|e| !e.is_fatal()));
    assert!(matches!(
        decode[0].decode_error(),
        Some(DecodeError::LineTooLong {
            limit: 64,
            offset: 0
        })
    ));
    assert!(matches!(
        decode[1].decode_error(),
        Some(DecodeError::EventTooLong {
            limit: 10,
            size: 13,
            ..
        })
    ));
    // The message is the codec's.
    assert_eq!(
        decode[0].to_string(),
        decode[0].decode_error().unwrap().to_string()
    );

    let server = Server::replies([Reply::sse("data: 0123456789\n\n")])
        .await
        .unwrap();
    let items = all(builder(server.url()).max_line_len(8).build().unwrap()).await;
    assert!(errors(&items)[0].is_decode());
    let server = Server::replies([Reply::sse("data: 0123456789\n\n")])
        .await
        .unwrap();
    let items = all(builder(server.url()).max_event_len(4).build().unwrap()).await;
    assert!(errors(&items)[0].is_decode());
}
