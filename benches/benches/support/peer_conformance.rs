//! The peers under bourn-conformance's vectors: a `DecoderUnderTest` adapter
//! per peer, and the run that writes each one's pass rate beside criterion's
//! results (`<criterion dir>/bourn-conformance/<decoder>.json`) for the report.
//!
//! Each adapter declares what its decoder can report (`Capabilities`); the
//! harness judges it on that only. Raw-block decoders (sse-stream) get the
//! minimal spec consumer the peer survey used: keep the last ID, drop blocks
//! without data, an empty type is `message`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bourn_benches::report::PeerConformance;
use bourn_conformance::chunking::Chunking;
use bourn_conformance::codec::BournDecoder;
use bourn_conformance::harness::{self, Capabilities, DecoderUnderTest, Setup};
use bourn_conformance::vectors::{self, DecoderCase, EventFrame, Frame};
use bytes::Bytes;
use futures_core::Stream;

/// Nothing beyond events and incremental output.
const EVENTS_ONLY: Capabilities = Capabilities {
    comments: false,
    retry: false,
    event_id: false,
    last_event_id: false,
    limits: false,
    initial_last_event_id: false,
    incremental: true,
};

/// Runs the vectors against bourn and every peer. `thorough`: whole, 1-, 2-
/// and 3-byte chunks and every single split point; otherwise whole and one
/// byte at a time (what the peer survey ran).
pub fn run(thorough: bool) -> Vec<PeerConformance> {
    let files = vectors::load_all().expect("bourn-conformance vectors load");
    let plan = |case: &DecoderCase| {
        let mut plan = vec![Chunking::Whole, Chunking::Every(1)];
        if thorough {
            plan.extend([Chunking::Every(2), Chunking::Every(3)]);
            plan.extend((1..case.input.len()).map(|cut| Chunking::At(vec![cut])));
        }
        plan
    };
    let mut decoders: Vec<Box<dyn DecoderUnderTest>> = vec![
        Box::new(BournDecoder::new()),
        Box::new(StreamPeer::<SseStream>::default()),
        Box::new(SseCore::default()),
        Box::new(SseParse::default()),
        Box::new(StreamPeer::<EventsourceStream>::default()),
    ];
    decoders
        .iter_mut()
        .map(|decoder| {
            let name = match decoder.name() {
                "bourn-codec" | "bourn" => "bourn-codec".to_owned(),
                other => other.to_owned(),
            };
            let report = harness::run_suite(decoder.as_mut(), &files, plan);
            let mut out = PeerConformance {
                decoder: name,
                runs_passed: report.passed as u64,
                runs_failed: report.failed as u64,
                ..PeerConformance::default()
            };
            for group in &report.groups {
                out.cases += (group.cases - group.skipped - group.unsupported) as u64;
                out.cases_failed += group.failed_cases as u64;
                out.unsupported += group.unsupported as u64;
                out.failed_groups.extend(
                    group
                        .failures
                        .iter()
                        .map(|m| format!("{}/{}", group.group, m.case_id)),
                );
            }
            out.plan = if thorough {
                "whole, 1/2/3-byte chunks, every split point".to_owned()
            } else {
                "whole and 1-byte chunks".to_owned()
            };
            out
        })
        .collect()
}

/// sse-core 0.2: sans-IO, events and `retry` frames, the last event ID.
struct SseCore(sse_core::SseDecoder);

impl Default for SseCore {
    fn default() -> Self {
        let limit = NonZeroUsize::new(bourn_codec::DEFAULT_MAX_EVENT_LEN).expect("non-zero");
        SseCore(sse_core::SseDecoder::with_limit(limit))
    }
}

impl DecoderUnderTest for SseCore {
    fn name(&self) -> &str {
        "sse-core"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            retry: true,
            last_event_id: true,
            initial_last_event_id: true,
            ..EVENTS_ONLY
        }
    }
    fn start(&mut self, setup: &Setup) {
        *self = SseCore::default();
        if let Some(id) = &setup.initial_last_event_id {
            self.0.reconnect_with_id(Some(Arc::from(id.as_str())));
        }
    }
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) {
        let mut chunk = Bytes::copy_from_slice(chunk);
        while let Some(item) = self.0.next(&mut chunk) {
            out.push(match item {
                Ok(sse_core::SseEvent::Message(m)) => Frame::Event(EventFrame {
                    event_type: m.event.into_owned(),
                    data: m.data,
                    id: None,
                    last_event_id: m.last_event_id.map(|id| id.to_string()).unwrap_or_default(),
                }),
                Ok(sse_core::SseEvent::Retry(ms)) => Frame::Retry(u64::from(ms)),
                Err(error) => Frame::Other(format!("error: {error}")),
            });
        }
    }
    fn finish(&mut self, _: &mut Vec<Frame>) {}
    fn last_event_id(&self) -> Option<String> {
        Some(
            self.0
                .last_event_id()
                .map(|id| id.to_string())
                .unwrap_or_default(),
        )
    }
}

/// sse-parse 0.1: sans-IO, events with their last event ID.
#[derive(Default)]
struct SseParse(sse_parse::SseParser);

impl SseParse {
    fn drain(&mut self, out: &mut Vec<Frame>) {
        while let Some(e) = self.0.next_event() {
            out.push(Frame::Event(EventFrame {
                event_type: e.event,
                data: e.data,
                id: None,
                last_event_id: e.id,
            }));
        }
    }
}

impl DecoderUnderTest for SseParse {
    fn name(&self) -> &str {
        "sse-parse"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            last_event_id: true,
            initial_last_event_id: true,
            ..EVENTS_ONLY
        }
    }
    fn start(&mut self, setup: &Setup) {
        self.0 = match &setup.initial_last_event_id {
            Some(id) => sse_parse::SseParser::with_last_event_id(id.as_str()),
            None => sse_parse::SseParser::new(),
        };
    }
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) {
        self.0.feed(chunk);
        self.drain(out);
    }
    fn finish(&mut self, out: &mut Vec<Frame>) {
        self.0.finish();
        self.drain(out);
    }
    fn last_event_id(&self) -> Option<String> {
        Some(self.0.last_event_id().to_owned())
    }
}

/// A peer that only has a `Stream` adapter, fed through a queue.
trait StreamDecoder {
    type Stream: Stream + Unpin;
    const NAME: &'static str;
    fn capabilities() -> Capabilities;
    fn new(input: Feeder, last_event_id: Option<&str>) -> Self::Stream;
    /// Turns one item into frames, tracking the last event ID.
    fn frames(
        item: <Self::Stream as Stream>::Item,
        last_event_id: &mut String,
        out: &mut Vec<Frame>,
    );
}

struct StreamPeer<D: StreamDecoder> {
    stream: Option<D::Stream>,
    input: Feeder,
    last_event_id: String,
}

impl<D: StreamDecoder> Default for StreamPeer<D> {
    fn default() -> Self {
        StreamPeer {
            stream: None,
            input: Feeder::default(),
            last_event_id: String::new(),
        }
    }
}

impl<D: StreamDecoder> StreamPeer<D> {
    fn poll(&mut self, out: &mut Vec<Frame>) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        let mut cx = Context::from_waker(Waker::noop());
        while let Poll::Ready(Some(item)) = Pin::new(&mut *stream).poll_next(&mut cx) {
            D::frames(item, &mut self.last_event_id, out);
        }
    }
}

impl<D: StreamDecoder> DecoderUnderTest for StreamPeer<D> {
    fn name(&self) -> &str {
        D::NAME
    }
    fn capabilities(&self) -> Capabilities {
        D::capabilities()
    }
    fn start(&mut self, setup: &Setup) {
        self.input = Feeder::default();
        let id = setup.initial_last_event_id.as_deref();
        self.stream = Some(D::new(self.input.clone(), id));
        self.last_event_id = id.unwrap_or_default().to_owned();
    }
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) {
        self.input
            .0
            .borrow_mut()
            .0
            .push_back(Bytes::copy_from_slice(chunk));
        self.poll(out);
    }
    fn finish(&mut self, out: &mut Vec<Frame>) {
        self.input.0.borrow_mut().1 = true;
        self.poll(out);
    }
    fn last_event_id(&self) -> Option<String> {
        Some(self.last_event_id.clone())
    }
}

/// sse-stream 0.3: raw blocks, read by the survey's minimal spec consumer.
struct SseStream;

impl StreamDecoder for SseStream {
    type Stream = sse_stream::SseByteStream<Feeder>;
    const NAME: &'static str = "sse-stream";
    fn capabilities() -> Capabilities {
        Capabilities {
            retry: true,
            event_id: true,
            last_event_id: true,
            initial_last_event_id: true,
            ..EVENTS_ONLY
        }
    }
    fn new(input: Feeder, _: Option<&str>) -> Self::Stream {
        sse_stream::SseByteStream::new(input)
    }
    fn frames(
        item: Result<sse_stream::Sse, sse_stream::Error>,
        last_event_id: &mut String,
        out: &mut Vec<Frame>,
    ) {
        let block = match item {
            Ok(block) => block,
            Err(error) => {
                out.push(Frame::Other(format!("error: {error}")));
                return;
            }
        };
        if let Some(ms) = block.retry {
            out.push(Frame::Retry(ms));
        }
        if let Some(id) = &block.id {
            last_event_id.clone_from(id);
        }
        if let Some(data) = block.data {
            out.push(Frame::Event(EventFrame {
                event_type: block
                    .event
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "message".to_owned()),
                data,
                id: block.id,
                last_event_id: last_event_id.clone(),
            }));
        }
    }
}

/// eventsource-stream 0.2.3: events carrying the last event ID.
struct EventsourceStream;

impl StreamDecoder for EventsourceStream {
    type Stream = eventsource_stream::EventStream<Feeder>;
    const NAME: &'static str = "eventsource-stream";
    fn capabilities() -> Capabilities {
        Capabilities {
            last_event_id: true,
            initial_last_event_id: true,
            ..EVENTS_ONLY
        }
    }
    fn new(input: Feeder, last_event_id: Option<&str>) -> Self::Stream {
        let mut stream = eventsource_stream::EventStream::new(input);
        if let Some(id) = last_event_id {
            stream.set_last_event_id(id);
        }
        stream
    }
    fn frames(
        item: Result<eventsource_stream::Event, eventsource_stream::EventStreamError<Infallible>>,
        last_event_id: &mut String,
        out: &mut Vec<Frame>,
    ) {
        match item {
            Ok(event) => {
                last_event_id.clone_from(&event.id);
                out.push(Frame::Event(EventFrame {
                    event_type: event.event,
                    data: event.data,
                    id: None,
                    last_event_id: event.id,
                }));
            }
            Err(error) => out.push(Frame::Other(format!("error: {error}"))),
        }
    }
}

/// An in-memory byte stream fed from outside: pending while empty, ended
/// once closed.
#[derive(Clone, Default)]
struct Feeder(Rc<RefCell<(VecDeque<Bytes>, bool)>>);

impl Stream for Feeder {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut state = self.0.borrow_mut();
        match state.0.pop_front() {
            Some(chunk) => Poll::Ready(Some(Ok(chunk))),
            None if state.1 => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}
