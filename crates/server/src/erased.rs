//! The object-safe twin of [`Backend`], so that a `Channel` holds any
//! backend as `Arc<dyn DynBackend>` and stays a plain, non-generic type
//! (tower's `BoxService` idiom).

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use crate::backend::{Backend, BackendError, Feed, PageLimit, Record};
use crate::event_id::EventId;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub(crate) trait DynBackend: std::fmt::Debug + Send + Sync + 'static {
    fn start(&self, feed: Feed) -> Result<(), BackendError>;
    fn append<'a>(
        &'a self,
        topic: &'a str,
        body: Bytes,
        key: Option<&'a str>,
    ) -> BoxFuture<'a, Result<EventId, BackendError>>;
    fn position<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, Result<EventId, BackendError>>;
    fn replay<'a>(
        &'a self,
        topic: &'a str,
        epoch: u64,
        after: u64,
        up_to: u64,
        limit: PageLimit,
    ) -> BoxFuture<'a, Result<Option<Vec<Record>>, BackendError>>;
    fn remove_topic<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, Result<(), BackendError>>;
    fn flush(&self) -> BoxFuture<'_, Result<(), BackendError>>;
}

impl<B: Backend> DynBackend for B {
    fn start(&self, feed: Feed) -> Result<(), BackendError> {
        Backend::start(self, feed)
    }

    fn append<'a>(
        &'a self,
        topic: &'a str,
        body: Bytes,
        key: Option<&'a str>,
    ) -> BoxFuture<'a, Result<EventId, BackendError>> {
        Box::pin(Backend::append(self, topic, body, key))
    }

    fn position<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, Result<EventId, BackendError>> {
        Box::pin(Backend::position(self, topic))
    }

    fn replay<'a>(
        &'a self,
        topic: &'a str,
        epoch: u64,
        after: u64,
        up_to: u64,
        limit: PageLimit,
    ) -> BoxFuture<'a, Result<Option<Vec<Record>>, BackendError>> {
        Box::pin(Backend::replay(self, topic, epoch, after, up_to, limit))
    }

    fn remove_topic<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(Backend::remove_topic(self, topic))
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(Backend::flush(self))
    }
}
