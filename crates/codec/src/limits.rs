//! Decoder limits.

/// Default for [`Limits::max_line_len`]: 16 MiB.
///
/// Large on purpose: LLM and image APIs stream single `data:` lines of several
/// megabytes (base64 images of ~14 MB are common).
pub const DEFAULT_MAX_LINE_LEN: usize = 16 * 1024 * 1024;

/// Default for [`Limits::max_event_len`]: 16 MiB.
pub const DEFAULT_MAX_EVENT_LEN: usize = 16 * 1024 * 1024;

/// Bounds on what a [`Decoder`](crate::Decoder) buffers.
///
/// Exceeding a limit is never fatal: the decoder reports a
/// [`DecodeError`](crate::DecodeError) naming the limit, discards the event it
/// was building, skips to the next blank line and goes on decoding. The result
/// does not depend on how the input was split into chunks.
///
/// ```
/// use bourn_codec::{Decoder, Limits};
///
/// let decoder = Decoder::with_limits(Limits::default().max_line_len(64 * 1024));
/// assert_eq!(decoder.limits().get_max_line_len(), 64 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_line_len: usize,
    max_event_len: usize,
}

impl Limits {
    /// Limits with the defaults: lines and events of up to 16 MiB.
    pub const fn new() -> Self {
        Limits {
            max_line_len: DEFAULT_MAX_LINE_LEN,
            max_event_len: DEFAULT_MAX_EVENT_LEN,
        }
    }

    /// Sets the longest line accepted, in bytes, not counting its line ending.
    ///
    /// Applies to every line, comments included, because a line is buffered
    /// whole before it is interpreted. Default: 16 MiB
    /// ([`DEFAULT_MAX_LINE_LEN`]).
    pub const fn max_line_len(mut self, bytes: usize) -> Self {
        self.max_line_len = bytes;
        self
    }

    /// Sets the largest event accepted: the length in bytes of its `data`
    /// after the lines are joined (the joining line feeds count).
    ///
    /// Default: 16 MiB ([`DEFAULT_MAX_EVENT_LEN`]).
    pub const fn max_event_len(mut self, bytes: usize) -> Self {
        self.max_event_len = bytes;
        self
    }

    /// The longest line accepted, in bytes.
    pub const fn get_max_line_len(&self) -> usize {
        self.max_line_len
    }

    /// The largest event `data` accepted, in bytes.
    pub const fn get_max_event_len(&self) -> usize {
        self.max_event_len
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}
