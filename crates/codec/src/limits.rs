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
/// assert_eq!(decoder.limits().max_line_len, 64 * 1024);
/// ```
///
/// The fields are public to read (and to change); the struct is
/// `#[non_exhaustive]`, so it is built with [`Limits::new`] and the setters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest line accepted, in bytes, not counting its line ending.
    /// Default: 16 MiB ([`DEFAULT_MAX_LINE_LEN`]).
    pub max_line_len: usize,
    /// The largest event `data` accepted, in bytes (the joining line feeds
    /// count). Default: 16 MiB ([`DEFAULT_MAX_EVENT_LEN`]).
    pub max_event_len: usize,
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}
