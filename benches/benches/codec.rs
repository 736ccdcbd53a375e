//! bourn-codec beside its peers, in one run.
//!
//! Decode: W1–W5 fed whole, in 4 KiB and in 61-byte chunks; W6 in 1,460-byte
//! chunks. Rows: `bourn-codec`, `bourn-codec-bytes` (`decode_bytes`, each
//! chunk as the `Bytes` it is), `bourn-codec-ref` (the borrowing
//! `RefDecoder`, fed each chunk as it is), `sse-stream`, `sse-core`, `sse-parse`,
//! `eventsource-stream`, and two bounds over the same chunks: `memchr2`
//! (counting line endings with `memchr::memchr2_iter`) and `memcpy` (copying
//! the bytes). Chunks are cut before measuring (slices of one buffer).
//! Each decoder is driven through its public API, in its fastest documented
//! form: bourn appends each chunk to a reused `BytesMut` and drains frames (a
//! `FramedRead` reader; the issue-14 target's harness), and `bourn-codec-bytes`
//! hands each chunk over as a `Bytes` clone, as the peers get it (what
//! `EventStream` and bourn-client do); `sse-core` and `sse-parse` through their sans-IO
//! decoders; `sse-stream` and `eventsource-stream`, which have no public
//! sans-IO API, through their `Stream` adapters over an always-ready
//! in-memory stream polled with a no-op waker.
//!
//! Criterion times the rows in this thread's CPU time (`support/thread_cpu.rs`).
//!
//! Every row runs once and its output is checked against the WHATWG result
//! before it is measured; a row that disagrees is recorded, not measured
//! (see `bourn_benches::check`). Under `cargo test --benches` the workloads
//! are small and bourn disagreeing fails the test.
//!
//! Encode: events/s for W1 and W2 events, bourn-codec against sse-stream's
//! encoder (the fastest published Rust SSE encoder with a public API that
//! returns the bytes: axum's `Event` keeps its buffer private).

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]
// A benchmark panics on a broken invariant and reports rows on stderr.
#![allow(clippy::expect_used, clippy::print_stderr)]

use std::convert::Infallible;
use std::hint::black_box;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bourn_benches::check::{RowCheck, SLOW_PASS, Status};
use bourn_benches::report::{BOURN_BYTES, BOURN_REF, JOIN_FLOOR, MEMCHR2, MEMCPY, SCAN_UTF8};
use bourn_benches::workload::{self, EventSpec, FULL_SIZE};
use bourn_benches::{Feed, Tally, criterion_dir, floor, rounds};
use bytes::{Bytes, BytesMut};
use criterion::{
    BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use futures_core::Stream;

#[path = "support/peer_conformance.rs"]
mod peer_conformance;
#[path = "support/thread_cpu.rs"]
mod thread_cpu;

use thread_cpu::ThreadCpu;

/// The workload size under `cargo test --benches` (one pass per row, in a
/// debug build).
const SMOKE_SIZE: usize = 256 * 1024;
/// Events per encoding measurement.
const ENCODE_EVENTS: usize = 10_000;
/// The limit given to peers that have one: bourn's default line and event limit.
const LIMIT: usize = bourn_codec::DEFAULT_MAX_EVENT_LEN;

/// Whether criterion measures (`cargo bench`) rather than runs each
/// benchmark once (`cargo test --benches`, `--test`); criterion's own rule.
fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

/// One benchmark group with what its rows need to record their checks.
struct Group<'a> {
    inner: BenchmarkGroup<'a, ThreadCpu>,
    name: String,
    bytes: u64,
    dir: PathBuf,
    measuring: bool,
}

impl<'a> Group<'a> {
    fn new(
        c: &'a mut Criterion<ThreadCpu>,
        name: String,
        throughput: Throughput,
        bytes: u64,
    ) -> Self {
        let mut inner = c.benchmark_group(&name);
        inner.throughput(throughput);
        // A few ~10-1000 ms iterations per sample: flat sampling keeps the
        // slow peers to ten iterations.
        inner.sampling_mode(SamplingMode::Flat);
        Group {
            inner,
            name,
            bytes,
            dir: criterion_dir(),
            measuring: measuring(),
        }
    }

    /// A decode row: tries `run` on the workload's prefixes (256 KiB,
    /// 512 KiB, ... each ending at an event boundary), then on the whole
    /// workload, checking each output; measures it if every check agrees and
    /// no pass is too slow. A row too slow on a prefix is recorded with that
    /// prefix's rate and never sees the whole workload (eventsource-stream
    /// takes minutes for one 16 MiB chunk).
    fn row(
        &mut self,
        function: &str,
        inputs: &[Input],
        expect: impl Fn(&Input) -> Tally,
        mut run: impl FnMut(&[Bytes]) -> Tally,
    ) {
        let Some((full, prefixes)) = inputs.split_last() else {
            return;
        };
        for prefix in prefixes {
            let (status, check) =
                self.pass(function, expect(prefix), prefix.len, || run(&prefix.chunks));
            if status != Status::Agrees {
                let note = format!("on the first {} of the input", mib(prefix.len),);
                self.record(status, RowCheck { note, ..check });
                return;
            }
        }
        let (status, check) = self.pass(function, expect(full), full.len, || run(&full.chunks));
        self.record(status, check);
        if status == Status::Agrees {
            self.inner
                .bench_function(function, |b| b.iter(|| black_box(run(&full.chunks))));
        }
    }

    /// An encode row: `pass` checks what the row writes, once; returns
    /// whether to measure it.
    fn check(&mut self, function: &str, expected: Tally, pass: impl FnOnce() -> Tally) -> bool {
        let (status, check) = self.pass(function, expected, self.bytes, pass);
        self.record(status, check);
        status == Status::Agrees
    }

    /// Runs `pass` once and compares its tally with `expected`.
    fn pass(
        &self,
        function: &str,
        expected: Tally,
        bytes: u64,
        pass: impl FnOnce() -> Tally,
    ) -> (Status, RowCheck) {
        let start = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(pass));
        let elapsed = start.elapsed();
        let (status, got, note) = match outcome {
            Ok(got) if got != expected => (Status::Disagrees, got, String::new()),
            Ok(got) if elapsed > SLOW_PASS => (Status::TooSlow, got, String::new()),
            Ok(got) => (Status::Agrees, got, String::new()),
            Err(panic) => {
                let note = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                (Status::Failed, Tally::default(), note)
            }
        };
        let check = RowCheck {
            group: self.name.clone(),
            function: function.to_owned(),
            status,
            expected,
            got,
            bytes,
            pass_seconds: elapsed.as_secs_f64(),
            note,
        };
        (status, check)
    }

    /// Reports a check, fails the smoke test if bourn is wrong, and writes the
    /// check file when measuring.
    fn record(&mut self, status: Status, check: RowCheck) {
        if status != Status::Agrees {
            eprintln!(
                "{}/{}: {:?} (expected {:?}, got {:?}, one pass over {} B: {:.3} s) {}",
                self.name,
                check.function,
                status,
                check.expected,
                check.got,
                check.bytes,
                check.pass_seconds,
                check.note
            );
        }
        if check.function.starts_with("bourn-codec")
            && matches!(status, Status::Disagrees | Status::Failed)
        {
            // A fast but wrong bourn is a failure, never a row.
            assert!(
                self.measuring,
                "{} disagrees with the spec on {}",
                check.function, self.name
            );
        }
        if self.measuring {
            check
                .write(&self.dir)
                .expect("write the row's check file beside criterion's results");
        }
    }
}

/// One input of a decode row: the whole workload or a prefix of it, cut
/// into the feed's chunks.
struct Input {
    chunks: Vec<Bytes>,
    len: u64,
    expected: Tally,
    line_end_bytes: u64,
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Not a measurement: runs the bourn-conformance vectors against bourn and
/// every peer and records each pass rate for the report.
fn conformance(_: &mut Criterion<ThreadCpu>) {
    let measuring = measuring();
    let dir = criterion_dir();
    // Some peers panic on some vectors (eventsource-stream on a BOM); the
    // harness counts that as a failure. Keep their messages off the log.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let results = peer_conformance::run(measuring);
    std::panic::set_hook(hook);
    for result in results {
        eprintln!(
            "conformance {}: {}/{} cases ({} unsupported), runs {}/{}",
            result.decoder,
            result.cases - result.cases_failed,
            result.cases,
            result.unsupported,
            result.runs_passed,
            result.runs_passed + result.runs_failed
        );
        if measuring {
            result
                .write(&dir)
                .expect("write the conformance result beside criterion's results");
        }
    }
}

fn decode(c: &mut Criterion<ThreadCpu>) {
    let size = if measuring() { FULL_SIZE } else { SMOKE_SIZE };
    let mut cells = Vec::new();
    for w in workload::all(size) {
        for feed in &w.feeds {
            decode_group(c, &w, *feed);
            if w.id != "W6" {
                cells.push(decode_rounds(&w, *feed));
            }
        }
    }
    if measuring() {
        rounds::write(&criterion_dir(), &cells)
            .expect("write the decode rounds beside criterion's results");
    }
}

/// The fast decode rows of one W1–W5 cell in interleaved rounds (see
/// `bourn_benches::rounds`): five rounds of at least 0.25 s of CPU time per
/// row when measuring, one pass each under `cargo test --benches`.
/// eventsource-stream is left out: it is 3–17,000× slower than bourn in
/// criterion's table, never the fastest peer.
fn decode_rounds(w: &workload::Workload, feed: Feed) -> rounds::Cell {
    let (count, min_cpu_seconds) = if measuring() { (5, 0.25) } else { (1, 0.0) };
    let chunks = feed.split(&w.bytes);
    let chunks = chunks.as_slice();
    let expected = w.expected;
    let line_ends = Tally {
        events: w.line_end_bytes,
        data_bytes: 0,
    };
    let mut buf = BytesMut::new();
    let mut rows: Vec<rounds::Row<'_>> = vec![
        (
            "bourn-codec",
            expected,
            Box::new(move || bourn(chunks, &mut buf)),
        ),
        (BOURN_BYTES, expected, Box::new(|| bourn_bytes(chunks))),
        (BOURN_REF, expected, Box::new(|| bourn_ref(chunks))),
        ("sse-stream", expected, Box::new(|| sse_stream(chunks))),
        ("sse-core", expected, Box::new(|| sse_core(chunks))),
        ("sse-parse", expected, Box::new(|| sse_parse(chunks))),
        (MEMCHR2, line_ends, Box::new(|| memchr2(chunks))),
        (SCAN_UTF8, line_ends, Box::new(|| floor::scan_utf8(chunks))),
    ];
    if w.id == "W3" {
        let (mut buf, mut joined) = (BytesMut::new(), Vec::new());
        rows.push((
            JOIN_FLOOR,
            expected,
            Box::new(move || floor::join_floor(chunks, &mut buf, &mut joined)),
        ));
    }
    let rows = rounds::measure(rows, w.bytes.len() as u64, count, min_cpu_seconds);
    for row in &rows {
        eprintln!(
            "decode-rounds {}-{} {:<18} {:>8.1} MiB/s  bourn/row {:.3}",
            w.id,
            feed.name(),
            row.name,
            row.bytes_per_second / (1024.0 * 1024.0),
            row.reference_ratio
        );
    }
    rounds::Cell {
        workload: w.id.to_owned(),
        feed: feed.name(),
        rounds: count,
        rows,
    }
}

fn decode_group(c: &mut Criterion<ThreadCpu>, w: &workload::Workload, feed: Feed) {
    let mut inputs: Vec<Input> = w
        .checkpoints
        .iter()
        .map(|p| Input {
            chunks: feed.split(&w.bytes.slice(..p.len)),
            len: p.len as u64,
            expected: p.expected,
            line_end_bytes: p.line_end_bytes,
        })
        .collect();
    inputs.push(Input {
        chunks: feed.split(&w.bytes),
        len: w.bytes.len() as u64,
        expected: w.expected,
        line_end_bytes: w.line_end_bytes,
    });
    let len = w.bytes.len() as u64;
    let name = format!("decode-{}-{}", w.id, feed.name());
    let mut g = Group::new(c, name, Throughput::Bytes(len), len);
    let spec = |input: &Input| input.expected;

    let mut buf = BytesMut::new();
    g.row("bourn-codec", &inputs, spec, |chunks| {
        bourn(chunks, &mut buf)
    });
    g.row(BOURN_BYTES, &inputs, spec, bourn_bytes);
    g.row(BOURN_REF, &inputs, spec, bourn_ref);
    g.row("sse-stream", &inputs, spec, sse_stream);
    g.row("sse-core", &inputs, spec, sse_core);
    g.row("sse-parse", &inputs, spec, sse_parse);
    g.row("eventsource-stream", &inputs, spec, eventsource_stream);

    let line_ends = |input: &Input| Tally {
        events: input.line_end_bytes,
        data_bytes: 0,
    };
    g.row(MEMCHR2, &inputs, line_ends, memchr2);
    // The least any decoder that hands out checked `&str` does.
    g.row(SCAN_UTF8, &inputs, line_ends, floor::scan_utf8);
    if w.id == "W3" {
        // The least an owned decoder does here under the append harness.
        let (mut buf, mut joined) = (BytesMut::new(), Vec::new());
        g.row(JOIN_FLOOR, &inputs, spec, |chunks| {
            floor::join_floor(chunks, &mut buf, &mut joined)
        });
    }
    let mut dst = vec![0u8; w.bytes.len()];
    let copied = |input: &Input| Tally {
        events: 0,
        data_bytes: input.len,
    };
    g.row(MEMCPY, &inputs, copied, |chunks| memcpy(chunks, &mut dst));
    assert!(dst == w.bytes, "memcpy copied the workload");
    g.inner.finish();
}

/// bourn-codec as a reader uses it: append each chunk to a `BytesMut` (kept
/// across streams, as a connection's read buffer is) and drain the frames.
fn bourn(chunks: &[Bytes], buf: &mut BytesMut) -> Tally {
    use bourn_codec::{Decoder, Frame};
    buf.clear();
    let mut decoder = Decoder::new();
    let mut tally = Tally::default();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(frame) = decoder.decode(buf).expect("bourn-codec decodes") {
            if let Frame::Event(event) = frame {
                tally.add(event.data().len());
            }
        }
    }
    while let Some(frame) = decoder.decode_eof(buf).expect("bourn-codec decodes") {
        if let Frame::Event(event) = frame {
            tally.add(event.data().len());
        }
    }
    tally
}

/// bourn-codec's `Decoder::decode_bytes`: each chunk handed over as the
/// `Bytes` it is (hyper's and reqwest's chunks), no `BytesMut` to copy into.
fn bourn_bytes(chunks: &[Bytes]) -> Tally {
    use bourn_codec::{Decoder, Frame};
    let mut decoder = Decoder::new();
    let mut tally = Tally::default();
    for chunk in chunks {
        let mut chunk = chunk.clone();
        while let Some(frame) = decoder
            .decode_bytes(&mut chunk)
            .expect("bourn-codec decodes")
        {
            if let Frame::Event(event) = frame {
                tally.add(event.data().len());
            }
        }
    }
    while let Some(frame) = decoder
        .decode_eof(&mut BytesMut::new())
        .expect("bourn-codec decodes")
    {
        if let Frame::Event(event) = frame {
            tally.add(event.data().len());
        }
    }
    tally
}

/// bourn-codec's borrowing `RefDecoder`: each chunk fed as it is (no
/// `BytesMut`), frames handed to a callback, borrowing the chunk.
fn bourn_ref(chunks: &[Bytes]) -> Tally {
    let mut decoder = bourn_codec::RefDecoder::new();
    let mut tally = Tally::default();
    for chunk in chunks {
        decoder.feed(chunk, |frame| {
            if let bourn_codec::FrameRef::Event(event) = frame.expect("bourn-codec decodes") {
                tally.add(event.data().len());
            }
        });
    }
    decoder.finish();
    tally
}

/// sse-stream 0.3: `SseByteStream` (its parser is private). It returns raw
/// blocks; the spec consumer dispatches only blocks with data.
fn sse_stream(chunks: &[Bytes]) -> Tally {
    let mut tally = Tally::default();
    let stream = sse_stream::SseByteStream::new(futures_util::stream::iter(
        chunks.iter().cloned().map(Ok::<_, Infallible>),
    ));
    drain(stream, |item| {
        if let Some(data) = item.expect("sse-stream decodes").data {
            tally.add(data.len());
        }
    });
    tally
}

/// sse-core 0.2: the sans-IO `SseDecoder::next(&mut impl Buf)`, with bourn's
/// default limit (its own default, 512 KiB, drops W6's event).
fn sse_core(chunks: &[Bytes]) -> Tally {
    let limit = NonZeroUsize::new(LIMIT).expect("a non-zero limit");
    let mut decoder = sse_core::SseDecoder::with_limit(limit);
    let mut tally = Tally::default();
    for chunk in chunks {
        let mut chunk = chunk.clone();
        while let Some(event) = decoder.next(&mut chunk) {
            if let sse_core::SseEvent::Message(message) = event.expect("sse-core decodes") {
                tally.add(message.data.len());
            }
        }
    }
    tally
}

/// sse-parse 0.1: the sans-IO `SseParser` (`feed`, `next_event`, `finish`).
fn sse_parse(chunks: &[Bytes]) -> Tally {
    let mut parser = sse_parse::SseParser::new();
    let mut tally = Tally::default();
    for chunk in chunks {
        parser.feed(chunk);
        while let Some(event) = parser.next_event() {
            tally.add(event.data.len());
        }
    }
    parser.finish();
    while let Some(event) = parser.next_event() {
        tally.add(event.data.len());
    }
    tally
}

/// eventsource-stream 0.2.3: `EventStream` (Stream only).
fn eventsource_stream(chunks: &[Bytes]) -> Tally {
    let mut tally = Tally::default();
    let stream = eventsource_stream::EventStream::new(futures_util::stream::iter(
        chunks.iter().cloned().map(Ok::<_, Infallible>),
    ));
    drain(stream, |item| {
        tally.add(item.expect("eventsource-stream decodes").data.len());
    });
    tally
}

/// The line-scan bound: count line-ending bytes in every chunk.
fn memchr2(chunks: &[Bytes]) -> Tally {
    let events = chunks
        .iter()
        .map(|chunk| memchr::memchr2_iter(b'\n', b'\r', chunk).count() as u64)
        .sum();
    Tally {
        events,
        data_bytes: 0,
    }
}

/// The copy bound: copy every chunk into one buffer.
fn memcpy(chunks: &[Bytes], dst: &mut [u8]) -> Tally {
    let mut at = 0;
    for chunk in chunks {
        dst[at..at + chunk.len()].copy_from_slice(chunk);
        at += chunk.len();
    }
    black_box(&dst);
    Tally {
        events: 0,
        data_bytes: at as u64,
    }
}

/// Polls an always-ready stream to its end.
fn drain<S: Stream>(stream: S, mut each: impl FnMut(S::Item)) {
    let mut stream = pin!(stream);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match stream.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(item)) => each(item),
            Poll::Ready(None) => return,
            Poll::Pending => panic!("an in-memory stream is never pending"),
        }
    }
}

fn encode(c: &mut Criterion<ThreadCpu>) {
    let n = if measuring() { ENCODE_EVENTS } else { 100 };
    for (id, with_id_and_type) in [("W1", false), ("W2", true)] {
        let specs = workload::encode_events(with_id_and_type, n);
        let expected = Tally {
            events: n as u64,
            data_bytes: specs.iter().map(|s| s.data.len() as u64).sum(),
        };
        let bourn_events: Vec<bourn_codec::Event> = specs.iter().map(bourn_event).collect();
        let peer_events: Vec<sse_stream::Sse> = specs
            .iter()
            .map(|s| sse_stream::Sse {
                event: s.event.clone(),
                data: Some(s.data.clone()),
                id: s.id.clone(),
                retry: None,
            })
            .collect();
        let wire_len = bourn_events.iter().map(|e| e.encoded_len() as u64).sum();
        let mut g = Group::new(
            c,
            format!("encode-{id}"),
            Throughput::Elements(n as u64),
            wire_len,
        );

        // Each check decodes what the row wrote and compares it with the
        // events; the measurement only encodes.
        let check = |wire: &[Bytes]| verify_encoding(&specs, wire);
        let bourn_wire = || -> Vec<Bytes> { bourn_events.iter().map(|e| e.to_bytes()).collect() };
        if g.check("bourn-codec", expected, || check(&bourn_wire())) {
            g.inner.bench_function("bourn-codec", |b| {
                b.iter(|| {
                    for event in &bourn_events {
                        black_box(event.to_bytes());
                    }
                })
            });
        }
        // The same, appended to one reused buffer (a response body's writer).
        let mut out = BytesMut::with_capacity(wire_len as usize);
        let appended = || {
            let mut out = BytesMut::new();
            for event in &bourn_events {
                event.encode(&mut out);
            }
            vec![out.freeze()]
        };
        if g.check("bourn-codec-append", expected, || check(&appended())) {
            g.inner.bench_function("bourn-codec-append", |b| {
                b.iter(|| {
                    out.clear();
                    for event in &bourn_events {
                        event.encode(&mut out);
                    }
                    black_box(&out);
                })
            });
        }
        // sse-stream encodes by value (`Sse::encode(self)`): the clones are
        // made outside the timed routine.
        let peer_wire = || -> Vec<Bytes> {
            peer_events
                .iter()
                .map(|e| e.clone().encode().expect("sse-stream encodes"))
                .collect()
        };
        if g.check("sse-stream", expected, || check(&peer_wire())) {
            g.inner.bench_function("sse-stream", |b| {
                b.iter_batched(
                    || peer_events.clone(),
                    |events| {
                        for event in events {
                            black_box(event.encode().expect("sse-stream encodes"));
                        }
                    },
                    BatchSize::LargeInput,
                )
            });
        }
        g.inner.finish();
    }
}

fn bourn_event(spec: &EventSpec) -> bourn_codec::Event {
    let mut builder = bourn_codec::Event::builder();
    if let Some(event) = &spec.event {
        let event = bourn_codec::EventType::new(event.clone());
        builder = builder.event(event.expect("benchmark event types are valid"));
    }
    if let Some(id) = &spec.id {
        builder = builder.id(bourn_codec::Id::new(id.clone()).expect("benchmark ids are valid"));
    }
    builder.data(spec.data.clone()).build()
}

/// Decodes `wire` with bourn-codec and compares the events with `specs`.
fn verify_encoding(specs: &[EventSpec], wire: &[Bytes]) -> Tally {
    let mut buf = BytesMut::new();
    let mut decoder = bourn_codec::Decoder::new();
    let mut tally = Tally::default();
    let mut specs = specs.iter();
    for chunk in wire {
        buf.extend_from_slice(chunk);
        while let Some(frame) = decoder.decode(&mut buf).expect("bourn-codec decodes") {
            let Some(event) = frame.into_event() else {
                continue;
            };
            let same = specs.next().is_some_and(|spec| {
                spec.data == event.data()
                    && spec.event.as_deref().unwrap_or("message") == event.event_type()
                    && spec.id.as_deref() == event.id()
            });
            if same {
                tally.add(event.data().len());
            }
        }
    }
    tally
}

fn config() -> Criterion<ThreadCpu> {
    // The machine has 2 shared cores and the run must stay under ~10 minutes:
    // ten flat samples over 2 s per row, timed in this thread's CPU time
    // (see `thread_cpu`).
    Criterion::default()
        .with_measurement(ThreadCpu)
        .output_directory(&criterion_dir())
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .nresamples(10_000)
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = conformance, decode, encode
}
criterion_main!(benches);
