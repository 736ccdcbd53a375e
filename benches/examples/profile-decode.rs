//! A small driver for profiling bourn-codec's decoder on one workload, the
//! way the `codec` benchmark feeds it (append each chunk to a `BytesMut`,
//! drain frames). The decode loop is `profile_decode::run`, kept out of line
//! so a profiler can count it alone:
//!
//! ```text
//! # Own target directory: debug info changes the profile's artifacts.
//! CARGO_TARGET_DIR=target/profile CARGO_PROFILE_BENCH_DEBUG=true \
//!     cargo build --profile bench -p bourn-benches --example profile-decode
//! valgrind --tool=callgrind --toggle-collect='profile_decode::run' \
//!     target/profile/release/examples/profile-decode W1 whole 1
//! callgrind_annotate --inclusive=yes callgrind.out.<pid>
//! ```
//!
//! Arguments: workload (`W1`…`W6`), feed (`whole` or a chunk size in bytes),
//! repetitions. Workloads are 4 MiB (W6: 1 MiB) so a callgrind run is quick.
#![allow(clippy::expect_used, clippy::print_stderr, missing_docs)]

use std::time::Instant;

use bourn_benches::{Feed, workload};
use bourn_codec::{Decoder, Frame};
use bytes::{Bytes, BytesMut};

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
    let w = workload::all(4 << 20)
        .into_iter()
        .find(|w| w.id == id)
        .expect("a workload id, W1 to W6");
    let chunks = feed.split(&w.bytes);
    let mut buf = BytesMut::new();
    let start = Instant::now();
    let mut data = 0;
    for _ in 0..reps {
        data = run(&chunks, &mut buf);
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(
        data as u64, w.expected.data_bytes,
        "bourn-codec decodes {id}"
    );
    eprintln!(
        "{id} {}: {:.0} MiB/s",
        feed.name(),
        (w.bytes.len() * reps) as f64 / secs / (1024.0 * 1024.0)
    );
}

/// Decodes one stream; returns the total data length.
#[inline(never)]
fn run(chunks: &[Bytes], buf: &mut BytesMut) -> usize {
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
