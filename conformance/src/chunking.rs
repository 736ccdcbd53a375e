//! The chunking matrix: the ways one input is cut into chunks before it is fed.
//!
//! Most SSE bugs in the wild are chunk-boundary bugs (a CRLF or a BOM split
//! across reads, a CR ending a read), so every vector runs whole, in 1-, 2-
//! and 3-byte chunks, split at every single point, at every pair of points
//! for short inputs, and at random points.

use std::fmt;

/// Inputs up to this length also run at every pair of split points.
pub const THREE_WAY_MAX_LEN: usize = 24;

/// How many random chunkings [`matrix`] adds.
pub const RANDOM_CHUNKINGS: usize = 8;

/// One way to cut an input into chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunking {
    /// The whole input in one chunk.
    Whole,
    /// Chunks of this many bytes (the last may be shorter).
    Every(usize),
    /// Cut at these offsets (ascending, each inside the input).
    At(Vec<usize>),
    /// Cut at pseudo-random offsets drawn from `seed`.
    Random {
        /// The seed the offsets were drawn from.
        seed: u64,
        /// The offsets (ascending, each inside the input).
        at: Vec<usize>,
    },
}

impl Chunking {
    /// Random cut points for an input of `len` bytes, drawn from `seed`:
    /// between one and eight cuts, or none for inputs shorter than two bytes.
    pub fn random(len: usize, seed: u64) -> Chunking {
        let mut rng = SplitMix64(seed);
        let mut at = Vec::new();
        if len >= 2 {
            let cuts = 1 + (rng.next() % 8) as usize;
            for _ in 0..cuts {
                at.push(1 + (rng.next() % (len as u64 - 1)) as usize);
            }
            at.sort_unstable();
            at.dedup();
        }
        Chunking::Random { seed, at }
    }

    /// The chunks of `input`. Never yields an empty chunk, except the one
    /// chunk of an empty input cut [`Whole`](Chunking::Whole).
    pub fn chunks<'a>(&self, input: &'a [u8]) -> Vec<&'a [u8]> {
        match self {
            Chunking::Whole => vec![input],
            Chunking::Every(size) => input.chunks((*size).max(1)).collect(),
            Chunking::At(at) | Chunking::Random { at, .. } => {
                let mut chunks = Vec::with_capacity(at.len() + 1);
                let mut start = 0;
                for &cut in at {
                    let cut = cut.min(input.len());
                    if cut > start {
                        chunks.push(&input[start..cut]);
                        start = cut;
                    }
                }
                if start < input.len() {
                    chunks.push(&input[start..]);
                }
                chunks
            }
        }
    }
}

impl fmt::Display for Chunking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Chunking::Whole => f.write_str("whole"),
            Chunking::Every(size) => write!(f, "{size}-byte chunks"),
            Chunking::At(at) => write!(f, "split at {at:?}"),
            Chunking::Random { seed, at } => write!(f, "random (seed {seed}) split at {at:?}"),
        }
    }
}

/// The full matrix for an input of `len` bytes: whole; 1-, 2- and 3-byte
/// chunks; every single split point; every pair of split points when `len`
/// is at most [`THREE_WAY_MAX_LEN`]; and [`RANDOM_CHUNKINGS`] random
/// chunkings drawn from `seed`.
pub fn matrix(len: usize, seed: u64) -> Vec<Chunking> {
    let mut plan = vec![
        Chunking::Whole,
        Chunking::Every(1),
        Chunking::Every(2),
        Chunking::Every(3),
    ];
    plan.extend((1..len).map(|cut| Chunking::At(vec![cut])));
    if len <= THREE_WAY_MAX_LEN {
        for first in 1..len {
            plan.extend((first + 1..len).map(|second| Chunking::At(vec![first, second])));
        }
    }
    let mut rng = SplitMix64(seed);
    plan.extend((0..RANDOM_CHUNKINGS).map(|_| Chunking::random(len, rng.next())));
    plan
}

/// A stable seed for a case id (FNV-1a), so random chunkings repeat run to run.
pub fn seed_for(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// SplitMix64: tiny, deterministic, good enough to pick cut points.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_input_without_empty_chunks() {
        let input = b"data: abc\n\n";
        for chunking in matrix(input.len(), 7) {
            let chunks = chunking.chunks(input);
            assert_eq!(chunks.concat(), input, "{chunking}");
            assert!(chunks.iter().all(|c| !c.is_empty()), "{chunking}");
        }
    }

    #[test]
    fn matrix_size() {
        // 4 fixed + 10 single splits + 45 pairs + 8 random.
        assert_eq!(matrix(11, 0).len(), 4 + 10 + 45 + RANDOM_CHUNKINGS);
        // No pairs past the three-way limit.
        assert_eq!(matrix(30, 0).len(), 4 + 29 + RANDOM_CHUNKINGS);
    }

    #[test]
    fn every_and_at() {
        assert_eq!(
            Chunking::Every(2).chunks(b"abcde"),
            [&b"ab"[..], b"cd", b"e"]
        );
        assert_eq!(
            Chunking::At(vec![1, 3]).chunks(b"abcde"),
            [&b"a"[..], b"bc", b"de"]
        );
        assert_eq!(Chunking::Whole.chunks(b""), [&b""[..]]);
    }

    #[test]
    fn random_is_deterministic_and_in_range() {
        for seed in 0..100 {
            let Chunking::Random { at, .. } = Chunking::random(5, seed) else {
                panic!("random")
            };
            assert!(at.iter().all(|&cut| (1..5).contains(&cut)), "{at:?}");
            assert_eq!(Chunking::random(5, seed), Chunking::random(5, seed));
        }
    }
}
