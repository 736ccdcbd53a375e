//! The response body that plays a [`Reply`](crate::Reply)'s chunks.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

use crate::reply::End;

/// How long a dropped connection waits after its last chunk, so that hyper
/// has flushed the bytes before the drop point.
const DROP_GRACE: Duration = Duration::from_millis(2);

/// A response body that yields scripted chunks with delays between them and
/// then ends cleanly, fails (hyper then tears the connection down) or stalls.
pub struct ScriptBody {
    chunks: VecDeque<Bytes>,
    delay: Duration,
    end: End,
    sleep: Option<Pin<Box<Sleep>>>,
    sent_any: bool,
    waited: bool,
    dropping: bool,
}

impl fmt::Debug for ScriptBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptBody")
            .field("chunks_left", &self.chunks.len())
            .field("end", &self.end)
            .finish()
    }
}

/// The error a dropping body yields to make hyper abort the connection.
#[derive(Debug)]
struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by the test script")
    }
}

impl std::error::Error for Dropped {}

impl ScriptBody {
    pub(crate) fn new(chunks: Vec<Bytes>, delay: Duration, end: End) -> Self {
        ScriptBody {
            chunks: chunks.into(),
            delay,
            end,
            sleep: None,
            sent_any: false,
            waited: false,
            dropping: false,
        }
    }

    /// Polls the pending delay, if any; `Ready` once it has elapsed.
    fn poll_sleep(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        Poll::Ready(())
    }
}

impl Body for ScriptBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.poll_sleep(cx).is_pending() {
            return Poll::Pending;
        }
        if this.dropping {
            return Poll::Ready(Some(Err(Box::new(Dropped))));
        }
        if !this.chunks.is_empty() {
            if this.sent_any && !this.delay.is_zero() && !this.waited {
                this.waited = true;
                this.sleep = Some(Box::pin(tokio::time::sleep(this.delay)));
                if this.poll_sleep(cx).is_pending() {
                    return Poll::Pending;
                }
            }
            this.waited = false;
            this.sent_any = true;
            return match this.chunks.pop_front() {
                Some(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
                None => Poll::Ready(None),
            };
        }
        match this.end {
            End::Clean => Poll::Ready(None),
            // Never woken: hyper keeps the connection until the client leaves.
            End::Stall => Poll::Pending,
            End::Drop => {
                this.dropping = true;
                this.sleep = Some(Box::pin(tokio::time::sleep(DROP_GRACE)));
                match this.poll_sleep(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(Dropped)))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.end == End::Clean && self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
