//! bourn-client as a [`ClientUnderTest`], for the client suite.

use bourn_client::{Error, EventSource, Item, RetryPolicy};
use futures_util::StreamExt;

use crate::client::{
    ClientCapabilities, ClientItem, ClientSession, ClientSetup, ClientUnderTest, NextItem,
    ReadyState,
};
use crate::codec::{error_frame, event_frame, limits};
use crate::vectors::Frame;

/// bourn-client's adapter: every capability, the reconnection time as both
/// the starting time and the first backoff, no jitter.
#[derive(Debug, Clone, Copy, Default)]
pub struct BournClient;

impl ClientUnderTest for BournClient {
    fn name(&self) -> &str {
        "bourn-client"
    }

    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities {
            method: true,
            initial_last_event_id: true,
            ready_state: true,
            limits: true,
            event_id: true,
            event_last_event_id: true,
            last_event_id: true,
        }
    }

    fn connect(&self, setup: &ClientSetup) -> Result<Box<dyn ClientSession>, String> {
        let policy = RetryPolicy::new()
            .reconnect_time(setup.reconnect_time)
            .min_backoff(setup.reconnect_time)
            .jitter(false);
        let mut builder = EventSource::builder(&setup.url)
            .retry_policy(policy)
            .limits(limits(setup.limits));
        if let Some(method) = &setup.method {
            let method = http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
            builder = builder.method(method);
        }
        if let Some(id) = &setup.last_event_id {
            builder = builder.last_event_id(id.as_str());
        }
        let source = builder.build().map_err(|e| e.to_string())?;
        Ok(Box::new(Session(source)))
    }
}

struct Session(EventSource);

impl ClientSession for Session {
    fn next(&mut self) -> NextItem<'_> {
        Box::pin(async move { self.0.next().await.map(|item| item_of(&item)) })
    }

    fn ready_state(&self) -> Option<ReadyState> {
        Some(match self.0.ready_state() {
            bourn_client::ReadyState::Connecting => ReadyState::Connecting,
            bourn_client::ReadyState::Open => ReadyState::Open,
            bourn_client::ReadyState::Closed => ReadyState::Closed,
        })
    }

    fn last_event_id(&self) -> Option<String> {
        Some(self.0.last_event_id())
    }

    fn close(&mut self) {
        self.0.close();
    }
}

/// One bourn-client item in the suite's terms.
pub fn item_of(item: &Result<Item, Error>) -> ClientItem {
    match item {
        Ok(Item::Open { .. }) => ClientItem::Open,
        Ok(Item::Event(event)) => ClientItem::Frame(Frame::Event(event_frame(event))),
        Ok(Item::Comment(text)) => ClientItem::Comment(text.clone()),
        Ok(other) => ClientItem::Error(format!("item {other:?}")),
        Err(error) if error.is_fatal() && error.is_content_type() => ClientItem::FailContentType,
        Err(error) if error.is_fatal() && error.is_status() => ClientItem::FailStatus,
        Err(error) => match error.decode_error() {
            Some(decode) => ClientItem::Frame(error_frame(decode)),
            None if !error.is_fatal() && error.is_disconnect() => ClientItem::Disconnect,
            None => ClientItem::Error(format!("{:?}:{error}", error.kind())),
        },
    }
}
