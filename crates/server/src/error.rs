//! The crate's one error type, opaque in hyper's shape.

use std::error::Error as StdError;
use std::fmt;

/// A boxed error from a user's event stream.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong in `bourn-server`.
///
/// Opaque on purpose: ask it with the `is_*()` predicates, read
/// [`limit`](Error::limit) for a limit that was hit, and follow
/// [`source`](StdError::source) for the cause.
pub struct Error {
    kind: Kind,
    source: Option<BoxError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The channel already has its maximum number of subscribers.
    ChannelFull(usize),
    /// The topic already has its maximum number of subscribers.
    TopicFull(usize),
    /// The channel already has its maximum number of topics.
    TooManyTopics(usize),
    /// The event stream behind an `Sse` body yielded an error.
    Stream,
    /// The backend could not take or serve events now, and did nothing.
    Unavailable,
    /// The backend did not answer: the publish may or may not have happened.
    OutcomeUnknown,
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Error {
        Error { kind, source: None }
    }

    pub(crate) fn with_source(kind: Kind, source: impl Into<BoxError>) -> Error {
        Error {
            kind,
            source: Some(source.into()),
        }
    }

    /// A subscriber limit (per channel or per topic) was hit: answer so that
    /// the client comes back later (see [`Sse::busy`](crate::Sse::busy)).
    pub fn is_busy(&self) -> bool {
        matches!(self.kind, Kind::ChannelFull(_) | Kind::TopicFull(_))
    }

    /// The channel's topic limit was hit by a new topic name.
    pub fn is_too_many_topics(&self) -> bool {
        matches!(self.kind, Kind::TooManyTopics(_))
    }

    /// The user's event stream behind an [`Sse`](crate::Sse) body failed; its
    /// `source` is the stream's error. hyper then closes the connection.
    pub fn is_stream(&self) -> bool {
        matches!(self.kind, Kind::Stream)
    }

    /// The backend could not take (or serve) the event now, and did
    /// nothing: nothing was published. The `source` is the
    /// [`BackendError`](crate::backend::BackendError). Answer 503 and let the
    /// publisher retry.
    pub fn is_unavailable(&self) -> bool {
        matches!(self.kind, Kind::Unavailable)
    }

    /// The backend did not answer: the event may or may not have been
    /// published. Retrying may make a duplicate unless the publish carried
    /// an idempotency key ([`Channel::publish_idempotent`](crate::Channel::publish_idempotent)).
    /// Answer 504 with "outcome unknown", never "nothing was published".
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self.kind, Kind::OutcomeUnknown)
    }

    /// The limit that was hit, for [`is_busy`](Error::is_busy) and
    /// [`is_too_many_topics`](Error::is_too_many_topics) errors.
    pub fn limit(&self) -> Option<usize> {
        match self.kind {
            Kind::ChannelFull(n) | Kind::TopicFull(n) | Kind::TooManyTopics(n) => Some(n),
            Kind::Stream | Kind::Unavailable | Kind::OutcomeUnknown => None,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("bourn_server::Error");
        d.field("kind", &self.kind);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::ChannelFull(n) => write!(f, "the channel has its maximum of {n} subscribers"),
            Kind::TopicFull(n) => write!(f, "the topic has its maximum of {n} subscribers"),
            Kind::TooManyTopics(n) => write!(f, "the channel has its maximum of {n} topics"),
            Kind::Stream => f.write_str("the event stream failed"),
            Kind::Unavailable => f.write_str("the backend is unavailable: nothing was published"),
            Kind::OutcomeUnknown => f.write_str(
                "the backend did not answer: the event may or may not have been published",
            ),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_and_small() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert!(std::mem::size_of::<Error>() <= 4 * std::mem::size_of::<usize>());
    }

    #[test]
    fn predicates_and_limits() {
        let cases = [
            (Kind::ChannelFull(3), true, false, Some(3)),
            (Kind::TopicFull(2), true, false, Some(2)),
            (Kind::TooManyTopics(1), false, true, Some(1)),
            (Kind::Stream, false, false, None),
            (Kind::Unavailable, false, false, None),
            (Kind::OutcomeUnknown, false, false, None),
        ];
        for (kind, busy, topics, limit) in cases {
            let error = Error::new(kind);
            assert_eq!(error.is_busy(), busy, "{kind:?}");
            assert_eq!(error.is_too_many_topics(), topics, "{kind:?}");
            assert_eq!(error.limit(), limit, "{kind:?}");
            assert!(!error.to_string().is_empty());
        }
        let error = Error::with_source(Kind::Stream, "boom");
        assert!(error.is_stream() && !error.is_unavailable());
        assert!(Error::new(Kind::Unavailable).is_unavailable());
        assert!(Error::new(Kind::OutcomeUnknown).is_outcome_unknown());
        assert!(!Error::new(Kind::OutcomeUnknown).is_unavailable());
        assert_eq!(
            error.source().map(ToString::to_string).as_deref(),
            Some("boom")
        );
    }
}
