//! `KeepAlive`: the comment written when a stream has been idle.

use std::time::Duration;

use bourn_codec::{ByteString, Frame};

use crate::encoded::Encoded;

/// Keep-alive policy for an [`Sse`](crate::Sse) body: after `interval`
/// without any write, a comment line is written so that proxies and clients
/// with idle timeouts keep the connection. The timer restarts on every
/// write, so a busy stream never carries keep-alives.
///
/// Default: every 15 s, the empty comment `:` (two bytes on the wire).
#[derive(Debug, Clone)]
pub struct KeepAlive {
    interval: Duration,
    comment: Encoded,
}

impl KeepAlive {
    /// The default idle interval: 15 s (axum's, warp's and sse-starlette's).
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

    /// The default policy: the empty comment after 15 s idle.
    pub fn new() -> KeepAlive {
        KeepAlive {
            interval: KeepAlive::DEFAULT_INTERVAL,
            comment: Encoded::from(Frame::Comment(ByteString::new())),
        }
    }

    /// The default comment after `interval` idle. A zero interval is raised
    /// to 1 ms so a keep-alive can never spin.
    pub fn every(interval: Duration) -> KeepAlive {
        KeepAlive {
            interval: interval.max(Duration::from_millis(1)),
            ..KeepAlive::new()
        }
    }

    /// Sets the comment text (encoded by `bourn-codec`, so a newline inside
    /// becomes several comment lines, never a field). Default: empty.
    pub fn text(mut self, text: impl Into<ByteString>) -> KeepAlive {
        self.comment = Encoded::from(Frame::Comment(text.into()));
        self
    }

    /// The idle interval. Default: 15 s.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    pub(crate) fn comment(&self) -> &Encoded {
        &self.comment
    }
}

impl Default for KeepAlive {
    fn default() -> Self {
        KeepAlive::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_setters() {
        let keep_alive = KeepAlive::new();
        assert_eq!(keep_alive.interval(), Duration::from_secs(15));
        assert_eq!(keep_alive.comment().as_bytes(), ":\n");
        let keep_alive = KeepAlive::every(Duration::ZERO).text("ping\nx");
        assert_eq!(keep_alive.interval(), Duration::from_millis(1));
        assert_eq!(keep_alive.comment().as_bytes(), ": ping\n: x\n");
    }
}
