//! An axum 0.8 server with a `Channel`: `GET /events/{topic}` subscribes
//! (resuming from `Last-Event-ID` or `?lastEventId=`), `POST /events/{topic}`
//! publishes the request body as a `message`, and a ticker publishes a
//! `tick` to topic `ticks` every second.
//!
//! ```text
//! cargo run -p bourn-server --features axum --example axum [ADDR]
//! curl -N localhost:3000/events/ticks
//! curl -d hello localhost:3000/events/ticks
//! ```
//!
//! Ctrl-C ends every open stream (with a `retry:` hint), so axum's graceful
//! shutdown completes instead of waiting for clients to leave (axum #2673).
#![expect(clippy::print_stdout, reason = "an example reports its address")]

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bourn_codec::{Event, EventType};
use bourn_server::{Channel, LastEventId, Shutdown};

async fn subscribe(
    State(channel): State<Channel>,
    Path(topic): Path<String>,
    last_event_id: Option<LastEventId>,
    headers: HeaderMap,
) -> Response {
    channel
        .respond(&topic, last_event_id.as_ref(), &headers)
        .into_response()
}

async fn publish(
    State(channel): State<Channel>,
    Path(topic): Path<String>,
    body: String,
) -> Response {
    match channel.publish(&topic, Event::message(body)).await {
        Ok(id) => (StatusCode::ACCEPTED, id.to_string()).into_response(),
        Err(error) if error.is_too_many_topics() => StatusCode::TOO_MANY_REQUESTS.into_response(),
        Err(error) if error.is_outcome_unknown() => {
            (StatusCode::GATEWAY_TIMEOUT, error.to_string()).into_response()
        }
        Err(error) if error.is_unavailable() => {
            (StatusCode::SERVICE_UNAVAILABLE, error.to_string()).into_response()
        }
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let shutdown = Shutdown::new().farewell(None, Some(Duration::from_secs(2)));
    let channel = Channel::builder()
        .retry(Duration::from_secs(1))
        .shutdown(&shutdown)
        .build()?;

    let ticker = channel.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        for n in 0u64.. {
            interval.tick().await;
            let tick = Event::builder()
                .event(EventType::from_static("tick"))
                .data(n.to_string())
                .build();
            let _ = ticker.publish("ticks", tick).await;
        }
    });

    let app = Router::new()
        .route("/events/{topic}", get(subscribe).post(publish))
        .with_state(channel);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);

    let signal = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        signal.trigger();
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.triggered())
        .await?;
    Ok(())
}
