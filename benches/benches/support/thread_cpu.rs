//! Criterion measured in this thread's CPU time.
//!
//! The codec rows run on the bench's own thread (the stream peers are
//! polled in place), so the thread's CPU time is all their work. On this
//! project's shared 2-core machines wall clock also counts the time the
//! thread waits for a core (another tenant's load, the hypervisor's steal),
//! which swung single rows by 20–40 % between runs a minute apart; CPU time
//! does not count it. Issue 14's own harness measured in thread CPU time,
//! and so do the interleaved rounds (`bourn_benches::rounds`).

use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};

/// This thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), in nanoseconds.
pub struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }

    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Times as criterion prints wall-clock ones (ns to s), throughputs per
/// second of CPU time.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical_ns < 1e3 {
            (1.0, "ns")
        } else if typical_ns < 1e6 {
            (1e-3, "µs")
        } else if typical_ns < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        for value in values.iter_mut() {
            *value *= factor;
        }
        unit
    }

    fn scale_throughputs(
        &self,
        typical_ns: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let (amount, units): (f64, [&'static str; 4]) = match *throughput {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => {
                (n as f64, ["B/s", "KiB/s", "MiB/s", "GiB/s"])
            }
            Throughput::Elements(n) => (n as f64, ["elem/s", "Kelem/s", "Melem/s", "Gelem/s"]),
        };
        let per_second = amount * 1e9 / typical_ns;
        let step = if matches!(throughput, Throughput::Elements(_)) {
            1000.0
        } else {
            1024.0
        };
        let mut scale = 1.0;
        let mut unit = units[0];
        for next in &units[1..] {
            if per_second / scale < step {
                break;
            }
            scale *= step;
            unit = next;
        }
        for value in values.iter_mut() {
            // A value is a time per iteration: its throughput, scaled.
            *value = amount * 1e9 / *value / scale;
        }
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}
