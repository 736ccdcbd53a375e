//! State shared between the stream and its handles.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bourn_codec::ByteString;
use futures_util::task::AtomicWaker;
use http::Uri;

/// The state of an [`EventSource`](crate::EventSource), as the spec's `readyState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ReadyState {
    /// Connecting, or waiting to reconnect (0).
    Connecting = 0,
    /// A connection is open and events are dispatched as they arrive (1).
    Open = 1,
    /// Closed for good: a fatal error (a `204` included), the end of a
    /// one-shot stream, [`close`](Handle::close), or the source was
    /// dropped (2).
    Closed = 2,
}

impl ReadyState {
    fn from_u8(value: u8) -> ReadyState {
        match value {
            0 => ReadyState::Connecting,
            1 => ReadyState::Open,
            _ => ReadyState::Closed,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    state: AtomicU8,
    closed: AtomicBool,
    restart: AtomicBool,
    last_event_id: Mutex<ByteString>,
    url: Mutex<Uri>,
    waker: AtomicWaker,
}

impl Shared {
    pub(crate) fn new(last_event_id: ByteString, url: Uri) -> Shared {
        Shared {
            state: AtomicU8::new(ReadyState::Connecting as u8),
            closed: AtomicBool::new(false),
            restart: AtomicBool::new(false),
            last_event_id: Mutex::new(last_event_id),
            url: Mutex::new(url),
            waker: AtomicWaker::new(),
        }
    }

    /// Asks the stream to reconnect now; it is woken to do so.
    pub(crate) fn restart(&self) {
        self.restart.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Whether a restart was asked for since the last call (clears it).
    pub(crate) fn take_restart(&self) -> bool {
        self.restart.load(Ordering::Acquire) && self.restart.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn url(&self) -> Uri {
        self.url
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_url(&self, url: &Uri) {
        let mut shared = self.url.lock().unwrap_or_else(PoisonError::into_inner);
        if *shared != *url {
            *shared = url.clone();
        }
    }

    pub(crate) fn ready_state(&self) -> ReadyState {
        ReadyState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Sets the state unless `close()` already made it `Closed`.
    pub(crate) fn set_state(&self, state: ReadyState) {
        if !self.is_closed() {
            self.state.store(state as u8, Ordering::Release);
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Ends the source: `Closed` at once, and the stream task is woken so it
    /// drops its connection or timer and ends.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.state
            .store(ReadyState::Closed as u8, Ordering::Release);
        self.waker.wake();
    }

    /// Closed because the stream ended (not through `close()`).
    pub(crate) fn finish(&self) {
        self.state
            .store(ReadyState::Closed as u8, Ordering::Release);
    }

    pub(crate) fn register(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }

    pub(crate) fn last_event_id(&self) -> String {
        let shared = self
            .last_event_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        String::from(&**shared)
    }

    /// Publishes the decoder's last event ID if it differs from `mirror`
    /// (the stream's clone of it), as the decoder documents: by value.
    /// Most calls see the very string `mirror` holds; `mirror` keeps it
    /// alive and shared strings never change, so the same address and
    /// length mean the same bytes, and the bytes are only compared when
    /// the address moved.
    pub(crate) fn sync_last_event_id(&self, mirror: &mut ByteString, current: &ByteString) {
        let same_string = mirror.as_ptr() == current.as_ptr() && mirror.len() == current.len();
        if same_string || mirror == current {
            return;
        }
        *mirror = current.clone();
        *self
            .last_event_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = current.clone();
    }
}

/// A cloneable handle to an [`EventSource`](crate::EventSource), usable
/// from any task or thread while the stream is polled elsewhere.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), bourn_client::Error> {
/// use bourn_client::{EventSource, ReadyState};
///
/// let source = EventSource::builder("http://127.0.0.1:9/").last_event_id("41").build()?;
/// let handle = source.handle();
/// assert_eq!(handle.ready_state(), ReadyState::Connecting);
/// assert_eq!(handle.last_event_id(), "41");
/// handle.close();
/// assert_eq!(source.ready_state(), ReadyState::Closed);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    pub(crate) fn new(shared: Arc<Shared>) -> Handle {
        Handle { shared }
    }

    /// `Connecting`, `Open` or `Closed`.
    pub fn ready_state(&self) -> ReadyState {
        self.shared.ready_state()
    }

    /// The last event ID string: what the next reconnection sends as
    /// `Last-Event-ID` (nothing when empty).
    pub fn last_event_id(&self) -> String {
        self.shared.last_event_id()
    }

    /// Closes the source for good: the state is `Closed` at once, and the
    /// stream drops its connection (or stops waiting to reconnect) and ends
    /// the next time it is polled, which this call triggers.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Reconnects now, as if the server had dropped the connection: the
    /// open connection (or the attempt in progress, or the wait before the
    /// next one) is abandoned and a new attempt starts at once, sending the
    /// last event ID, with the server's `retry:` and the backoff state kept.
    /// No error item is yielded for it; the new connection yields
    /// [`Item::Open`](crate::Item::Open). The [request hook](crate::Builder::on_request)
    /// is called with [`RequestReason::Reconnect`](crate::RequestReason::Reconnect),
    /// so this is how to apply new credentials at once. Nothing happens on
    /// a closed source or one not yet polled.
    pub fn restart(&self) {
        self.shared.restart();
    }

    /// The URL the next connection goes to: the final URL, after redirects,
    /// of the last connection that opened (the builder's until then).
    pub fn url(&self) -> Uri {
        self.shared.url()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("ready_state", &self.ready_state())
            .finish()
    }
}
