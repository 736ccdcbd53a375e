//! A small driver for profiling bourn-codec's decoder on one workload, the
//! way the `codec` benchmark feeds it, beside the peers it is compared with.
//! The decode loop of every row is `profile_decode::run`, kept out of line so
//! a profiler can count it alone:
//!
//! ```text
//! # Own target directory: debug info changes the profile's artifacts.
//! CARGO_TARGET_DIR=target/profile CARGO_PROFILE_BENCH_DEBUG=true \
//!     cargo build --profile bench -p bourn-benches --example profile-decode
//! valgrind --tool=callgrind --toggle-collect='profile_decode::run' \
//!     target/profile/release/examples/profile-decode W1 whole 1 bourn
//! callgrind_annotate --inclusive=yes callgrind.out.<pid>
//! ```
//!
//! Arguments: workload (`W1`…`W6`), feed (`whole` or a chunk size in bytes),
//! repetitions, row (`bourn`, the default: `Decoder::decode` on a reused
//! `BytesMut`; `bourn-bytes`: `Decoder::decode_bytes` on each chunk as it
//! is; `bourn-ref`: `RefDecoder::feed` on each chunk; `sse-core`;
//! `sse-stream`; `memchr2`; `memchr2+utf8`: the same scan and a SIMD UTF-8
//! check of each chunk, what any decoder handing out `&str` must do at
//! least; `owned-floor`: the append, the scan and one shared, checked
//! `ByteString` per non-blank line, nothing parsed; `copy-floor`: the same
//! with each line checked and copied into a `ByteString` of its own (an
//! allocation per line, no reference count); `join-floor`: W3's floor
//! for multi-line data, `bourn_benches::floor::join_floor`; `append`: the
//! harness's copy of each chunk into the `BytesMut` alone). Workloads are
//! 4 MiB
//! (W6: 1 MiB; `PROFILE_MIB` sets another size) so a callgrind run is
//! quick. CPU time is read from `/proc/thread-self/schedstat`, which
//! advances at scheduler ticks (4 ms here): give a timed run enough
//! repetitions to last a quarter of a second or more.
#![allow(clippy::expect_used, clippy::print_stderr, missing_docs)]

use std::convert::Infallible;
use std::num::NonZeroUsize;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bourn_benches::{Feed, workload};
use bourn_codec::{Decoder, Frame};
use bytes::{Buf, Bytes, BytesMut};
use futures_core::Stream;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let id = args.get(1).map_or("W1", String::as_str);
    let feed = match args.get(2).map_or("whole", String::as_str) {
        "whole" => Feed::Whole,
        n => Feed::Chunks(n.parse().expect("a chunk size in bytes")),
    };
    let reps: usize = args
        .get(3)
        .map_or(1, |r| r.parse().expect("a repetition count"));
    let row = args.get(4).map_or("bourn", String::as_str);
    // PROFILE_MIB: the workloads' size (default 4; `bench-report` uses 16).
    let mib: usize = std::env::var("PROFILE_MIB")
        .ok()
        .map_or(4, |m| m.parse().expect("PROFILE_MIB in MiB"));
    let w = workload::all(mib << 20)
        .into_iter()
        .find(|w| w.id == id)
        .expect("a workload id, W1 to W6");
    let chunks = feed.split(&w.bytes);
    let mut buf = BytesMut::new();
    let (start, cpu) = (Instant::now(), bourn_benches::rounds::thread_cpu_ns());
    let mut data = 0;
    for _ in 0..reps {
        data = run(row, &chunks, &mut buf);
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu_secs = bourn_benches::rounds::thread_cpu_ns()
        .map_or(secs, |ns| (ns - cpu.unwrap_or(0)) as f64 / 1e9);
    let expected = if row.starts_with("memchr2") {
        w.line_end_bytes
    } else if row == "append" {
        w.bytes.len() as u64
    } else if row == "owned-floor" || row == "copy-floor" {
        w.bytes.len() as u64 - w.line_end_bytes
    } else {
        w.expected.data_bytes
    };
    assert_eq!(data as u64, expected, "{row} decodes {id}");
    let mib = (w.bytes.len() * reps) as f64 / (1024.0 * 1024.0);
    eprintln!(
        "{row} {id} {}: {:.0} MiB/s of CPU time ({:.0} MiB/s wall)",
        feed.name(),
        mib / cpu_secs,
        mib / secs
    );
}

/// Decodes one stream with `row`; returns the total data length (memchr2:
/// the line-ending bytes).
#[inline(never)]
fn run(row: &str, chunks: &[Bytes], buf: &mut BytesMut) -> usize {
    match row {
        "bourn" => bourn(chunks, buf),
        "bourn-ref" => bourn_ref(chunks),
        "bourn-bytes" => bourn_bytes(chunks),
        "sse-core" => sse_core(chunks),
        "sse-stream" => sse_stream(chunks),
        "memchr2" => chunks
            .iter()
            .map(|chunk| memchr::memchr2_iter(b'\n', b'\r', chunk).count())
            .sum(),
        "owned-floor" => owned_floor(chunks, buf),
        "copy-floor" => copy_floor(chunks, buf),
        "join-floor" => {
            let tally = bourn_benches::floor::join_floor(chunks, buf, &mut Vec::new());
            tally.data_bytes as usize
        }
        "append" => chunks
            .iter()
            .map(|chunk| {
                buf.clear();
                buf.extend_from_slice(chunk);
                buf.len()
            })
            .sum(),
        "memchr2+utf8" => bourn_benches::floor::scan_utf8(chunks).events as usize,
        _ => panic!("unknown row {row}"),
    }
}

/// The least work an owned decoder that allocates nothing per event does
/// on the harness's feed: the append of each chunk, a line-end scan, and
/// for every non-blank line a shared slice of the buffer made a
/// `ByteString` (one UTF-8 check and one reference-count pair per value,
/// the only safe way to hand out shared text). No field is parsed, no
/// event assembled. Returns the bytes of the lines (all but line endings).
/// A floor for single-line events (W1, W2, W4, W5); W3's joined lines cost
/// a copy each instead.
fn owned_floor(chunks: &[Bytes], buf: &mut BytesMut) -> usize {
    floor(chunks, buf, |buf, end| {
        let line = buf.split_to(end).freeze();
        bytestring::ByteString::try_from(line).expect("the workloads are UTF-8")
    })
}

/// `owned_floor`, but each line is checked in place and copied into a
/// `ByteString` of its own (one allocation per line, no reference count,
/// nothing split from the buffer): the allocating alternative, which no
/// decoder here may take (issue 14 keeps single-line events free of
/// allocations). Returns the bytes of the lines.
fn copy_floor(chunks: &[Bytes], buf: &mut BytesMut) -> usize {
    floor(chunks, buf, |buf, end| {
        let line = std::str::from_utf8(&buf[..end]).expect("the workloads are UTF-8");
        let text = bytestring::ByteString::from(line);
        buf.advance(end);
        text
    })
}

/// The floors' loop: appends each chunk, and hands every non-blank line
/// (`buf[..end]`) to `take`, which makes it a `ByteString` and drops it
/// from `buf`. Returns the bytes of the lines.
fn floor(
    chunks: &[Bytes],
    buf: &mut BytesMut,
    take: impl Fn(&mut BytesMut, usize) -> bytestring::ByteString,
) -> usize {
    buf.clear();
    let mut kept = 0;
    let mut scanned = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(at) = memchr::memchr2(b'\n', b'\r', &buf[scanned..]) {
            let end = scanned + at;
            if end > 0 {
                kept += std::hint::black_box(take(buf, end)).len();
            }
            buf.advance(1);
            scanned = 0;
        }
        scanned = buf.len();
    }
    kept
}

fn bourn(chunks: &[Bytes], buf: &mut BytesMut) -> usize {
    buf.clear();
    let mut decoder = Decoder::new();
    let mut data = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(frame) = decoder.decode(buf).expect("bourn-codec decodes") {
            if let Frame::Event(event) = frame {
                data += event.data().len();
            }
        }
    }
    data
}

fn bourn_bytes(chunks: &[Bytes]) -> usize {
    let mut decoder = Decoder::new();
    let mut data = 0;
    for chunk in chunks {
        let mut chunk = chunk.clone();
        while let Some(frame) = decoder
            .decode_bytes(&mut chunk)
            .expect("bourn-codec decodes")
        {
            if let Frame::Event(event) = frame {
                data += event.data().len();
            }
        }
    }
    data
}

fn bourn_ref(chunks: &[Bytes]) -> usize {
    let mut decoder = bourn_codec::RefDecoder::new();
    let mut data = 0;
    for chunk in chunks {
        decoder.feed(chunk, |frame| {
            if let bourn_codec::FrameRef::Event(event) = frame.expect("bourn-codec decodes") {
                data += event.data().len();
            }
        });
    }
    decoder.finish();
    data
}

fn sse_core(chunks: &[Bytes]) -> usize {
    let limit = NonZeroUsize::new(bourn_codec::DEFAULT_MAX_EVENT_LEN).expect("a limit");
    let mut decoder = sse_core::SseDecoder::with_limit(limit);
    let mut data = 0;
    for chunk in chunks {
        let mut chunk = chunk.clone();
        while let Some(event) = decoder.next(&mut chunk) {
            if let sse_core::SseEvent::Message(message) = event.expect("sse-core decodes") {
                data += message.data.len();
            }
        }
    }
    data
}

fn sse_stream(chunks: &[Bytes]) -> usize {
    let stream = sse_stream::SseByteStream::new(futures_util::stream::iter(
        chunks.iter().cloned().map(Ok::<_, Infallible>),
    ));
    let mut stream = pin!(stream);
    let mut cx = Context::from_waker(Waker::noop());
    let mut data = 0;
    loop {
        match stream.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(item)) => {
                if let Some(d) = item.expect("sse-stream decodes").data {
                    data += d.len();
                }
            }
            Poll::Ready(None) => return data,
            Poll::Pending => panic!("an in-memory stream is never pending"),
        }
    }
}
