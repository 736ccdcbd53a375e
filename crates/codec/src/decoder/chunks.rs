//! `Decoder::decode_bytes`: chunks as hyper and reqwest hand them over,
//! large ones sliced, small ones copied.

use bytes::{Buf, Bytes, BytesMut};

use super::Core;
use crate::error::DecodeError;
use crate::frame::Frame;

/// `decode_bytes` slices chunks of at least this size; smaller ones are
/// copied.
const MIN_SLICED: usize = 16 * 1024;

impl Core {
    /// [`Decoder::decode_bytes`](super::Decoder::decode_bytes), with the held
    /// line `held`.
    #[inline]
    pub(super) fn decode_bytes(
        &mut self,
        held: &mut BytesMut,
        chunk: &mut Bytes,
    ) -> Result<Option<Frame>, DecodeError> {
        if chunk.len() < MIN_SLICED {
            return self.decode_copied(held, chunk);
        }
        self.decode_sliced(held, chunk)
    }

    /// A chunk under 16 KiB (or what is left of a larger one) is appended
    /// to the held bytes at once, which then are decoded as `decode` would
    /// (the held bytes follow any lines still in the block): slicing it
    /// costs a block, a refcount pair and a UTF-8 check per chunk, and
    /// multi-line data then goes through blocks rather than the in-buffer
    /// join; measured, that is more than the copy (4 KiB chunks:
    /// 0.84-0.97x of `decode`).
    #[inline(always)]
    fn decode_copied(
        &mut self,
        held: &mut BytesMut,
        chunk: &mut Bytes,
    ) -> Result<Option<Frame>, DecodeError> {
        if !chunk.is_empty() {
            held.extend_from_slice(chunk);
            chunk.clear();
        }
        self.decode(held)
    }

    /// A chunk of 16 KiB or more: its complete lines are sliced from it as
    /// a block when nothing is held.
    #[inline(never)]
    fn decode_sliced(
        &mut self,
        held: &mut BytesMut,
        chunk: &mut Bytes,
    ) -> Result<Option<Frame>, DecodeError> {
        loop {
            // Lines already cut, and the held partial line once completed.
            let frame = self.decode(held);
            if !matches!(frame, Ok(None)) {
                return frame;
            }
            if chunk.len() < MIN_SLICED {
                // What is left of the chunk (nothing, or a piece after its
                // last line ending).
                return self.decode_copied(held, chunk);
            }
            if held.is_empty() && self.bom_checked && !self.skip_lf && !self.discarding_line {
                // Nothing held: every complete line of the chunk is a block,
                // without a copy.
                let Some(last) = self.ends.rfind(chunk) else {
                    // No line ending: all of it is held.
                    held.extend_from_slice(chunk);
                    chunk.clear();
                    continue;
                };
                let first = self.ends.find(chunk).unwrap_or(last);
                let end = last + 1;
                let at_end = end == chunk.len();
                self.scanned = 0;
                let bytes = chunk.split_to(end);
                self.set_block(bytes, first, at_end);
                continue;
            }
            // Held bytes, or no line ending: copy up to the first line
            // ending (all of the chunk without one) and decode from there.
            let take = match self.ends.find(chunk) {
                Some(end) if chunk[end] == b'\r' && chunk.get(end + 1) == Some(&b'\n') => end + 2,
                Some(end) => end + 1,
                None => chunk.len(),
            };
            held.extend_from_slice(&chunk[..take]);
            chunk.advance(take);
        }
    }
}
