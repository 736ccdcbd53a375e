//! The HTTP endpoints of resumable runs (see [`super::runs`]).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use bourn_server::LastEventId;
use http::header::{AUTHORIZATION, LOCATION};
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use serde::Deserialize;
use serde_json::json;

use super::auth;
use super::routes::App;
use super::runs::{self, AbortAnswer, RunRequest, StartError};

/// `?token=` for followers (a browser's EventSource cannot send headers).
#[derive(Debug, Deserialize)]
pub struct TokenParam {
    token: Option<String>,
}

/// Who a run counts against for --max-runs-per-client: the bearer token
/// presented, or every anonymous client together.
fn client_key(headers: &HeaderMap) -> String {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map_or_else(|| "anonymous".to_owned(), |value| format!("token:{value}"))
}

fn no_runs(app: &App) -> Response {
    app.reject(
        StatusCode::NOT_FOUND,
        "this hub has no upstreams for runs: start it with --upstream NAME=URL",
    )
}

fn unknown_run(app: &App, id: &str) -> Response {
    app.reject(
        StatusCode::NOT_FOUND,
        format_args!("no run {id} on this hub"),
    )
}

/// `POST /runs`: starts a run; `201` with its id and where to follow it.
pub async fn create(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    if !app.runs().config().enabled() {
        return no_runs(&app);
    }
    if let Some(response) = app.check_publisher(&headers, "starting a run") {
        return response;
    }
    let body = match app.bounded_body(&headers, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let run: RunRequest = match serde_json::from_slice(&body) {
        Ok(run) => run,
        Err(error) => {
            return app.reject(
                StatusCode::BAD_REQUEST,
                format_args!(
                    "invalid run (expected JSON {{\"upstream\": \"name\", \"body\": …, \"headers\": {{…}}}}): {error}"
                ),
            );
        }
    };
    let id = match app
        .runs()
        .start(app.channel(), client_key(&headers), &run)
        .await
    {
        Ok(id) => id,
        Err(StartError::Refused(refusal)) => {
            let mut response = app.reject(refusal.status, refusal.message);
            if refusal.status == StatusCode::TOO_MANY_REQUESTS {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static("5"));
            }
            return response;
        }
        Err(StartError::Publish(error)) => return app.publish_failed(&error),
    };
    let location = format!("/runs/{id}");
    let mut response = (
        StatusCode::CREATED,
        axum::Json(json!({
            "id": id,
            "url": location,
            "events": format!("/runs/{id}/events"),
        })),
    )
        .into_response();
    if let Ok(value) = HeaderValue::try_from(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// The runs page, served at `GET /runs/view`.
const PAGE: &str = include_str!("runs.html");

/// `GET /runs/view`: start a run, follow it, reload, abort.
pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// `GET /runs`: the configured upstreams' names and the runs this node
/// drives or drove (publish token).
pub async fn list(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(denied) = auth::check(app.config().publish_token.as_deref(), &headers, None) {
        return app.denied(denied, "listing runs");
    }
    let runs = app.runs();
    let upstreams: Vec<&String> = runs.config().upstreams.keys().collect();
    axum::Json(json!({ "upstreams": upstreams, "runs": runs.list() })).into_response()
}

/// `GET /runs/ID`: what this node knows of a run.
pub async fn describe(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(params): Query<TokenParam>,
    headers: HeaderMap,
) -> Response {
    if let Err(denied) = auth::check(
        app.config().subscribe_token.as_deref(),
        &headers,
        params.token.as_deref(),
    ) {
        return app.denied(denied, "reading a run");
    }
    if !runs::valid_id(&id) {
        return unknown_run(&app, &id);
    }
    if let Some(run) = app.runs().describe(&id) {
        return axum::Json(run).into_response();
    }
    match app.runs().exists(app.channel(), &id).await {
        Ok(true) => axum::Json(json!({
            "id": id,
            "state": "elsewhere",
            "events": format!("/runs/{id}/events"),
        }))
        .into_response(),
        Ok(false) => unknown_run(&app, &id),
        Err(error) => app.publish_failed(&error),
    }
}

/// `GET /runs/ID/events`: the run's events from its start, or after the
/// `Last-Event-ID` the follower sends, then `bourn-end`.
pub async fn follow(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(params): Query<TokenParam>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Err(denied) = auth::check(
        app.config().subscribe_token.as_deref(),
        &headers,
        params.token.as_deref(),
    ) {
        return app.denied(denied, "following a run");
    }
    if !runs::valid_id(&id) {
        return unknown_run(&app, &id);
    }
    let channel = app.channel();
    let given = LastEventId::from_parts(&headers, &uri, Some(LastEventId::DEFAULT_QUERY_PARAM));
    let from = match app.runs().follow_from(channel, &id, given).await {
        Ok(Some(from)) => from,
        Ok(None) => return unknown_run(&app, &id),
        Err(error) => return app.publish_failed(&error),
    };
    let topic = runs::topic(&id);
    match channel.subscribe(&topic, Some(&from)) {
        Ok(subscription) => app.stream(subscription),
        Err(error) => app.turned_away(&topic, &error, &headers),
    }
}

/// `DELETE /runs/ID` and `POST /runs/ID/abort`: stops the upstream request
/// and ends the run with `aborted`; `200` with the end, `409` if it had
/// ended, `202` if the end was not seen within 2 s.
pub async fn abort(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(response) = app.check_publisher(&headers, "aborting a run") {
        return response;
    }
    if !runs::valid_id(&id) {
        return unknown_run(&app, &id);
    }
    match app.runs().exists(app.channel(), &id).await {
        Ok(true) => {}
        Ok(false) => return unknown_run(&app, &id),
        Err(error) => return app.publish_failed(&error),
    }
    match app.runs().abort(app.channel(), &id).await {
        Ok(AbortAnswer::Ended(end)) => axum::Json(json!({ "id": id, "end": end })).into_response(),
        Ok(AbortAnswer::AlreadyEnded(end)) => (
            StatusCode::CONFLICT,
            axum::Json(json!({ "id": id, "error": "the run had already ended", "end": end })),
        )
            .into_response(),
        Ok(AbortAnswer::Pending) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({ "id": id, "state": "abort requested; its end was not seen yet" })),
        )
            .into_response(),
        Err(error) => app.publish_failed(&error),
    }
}
