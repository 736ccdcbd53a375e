//! `bourn publish`: POST events to a `bourn serve` topic, print their ids.

use std::io::{self, Write};

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::cli::PublishArgs;
use crate::exit::{Code, Failure, Outcome};
use crate::http_client::{self, HttpClient};
use crate::output::is_broken_pipe;

/// Publishes one event (`--data` or all of stdin), or one per stdin line
/// with `--lines`, and prints each assigned id on its own line.
pub async fn run(args: PublishArgs) -> Outcome {
    let uri: Uri = args
        .url
        .parse()
        .map_err(|error| Failure::error(format!("invalid URL `{}`: {error}", args.url)))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(Failure::error(format!(
            "`{}` is not an http(s) URL",
            args.url
        )));
    }
    let publisher = Publisher {
        client: http_client::client().map_err(Failure::error)?,
        uri,
        token: args.token.filter(|token| !token.is_empty()),
        event: args.event,
    };
    if args.lines {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        loop {
            let line = lines
                .next_line()
                .await
                .map_err(|error| Failure::error(format!("reading stdin: {error}")))?;
            let Some(line) = line else {
                return Ok(Code::Ok);
            };
            let id = publisher.publish(line).await?;
            print_id(&id)?;
        }
    }
    let data = match args.data {
        Some(data) => data,
        None => {
            let mut bytes = Vec::new();
            tokio::io::stdin()
                .read_to_end(&mut bytes)
                .await
                .map_err(|error| Failure::error(format!("reading stdin: {error}")))?;
            let mut text =
                String::from_utf8(bytes).map_err(|_| Failure::error("stdin is not UTF-8 text"))?;
            // `echo hi | bourn publish URL` means the data `hi`.
            if text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            text
        }
    };
    let id = publisher.publish(data).await?;
    print_id(&id)?;
    Ok(Code::Ok)
}

struct Publisher {
    client: HttpClient,
    uri: Uri,
    token: Option<String>,
    event: Option<String>,
}

impl Publisher {
    /// Sends the JSON form (any data and type travel safely in it; the hub
    /// checks them) and returns the id the hub assigned.
    async fn publish(&self, data: String) -> Result<String, Failure> {
        let body = json!({ "event": self.event, "data": data }).to_string();
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "text/plain");
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| Failure::error(format!("invalid request: {error}")))?;
        let response = self.client.request(request).await.map_err(|error| {
            Failure::new(Code::Network, format!("{}: {}", self.uri, chain(&error)))
        })?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| {
                Failure::new(
                    Code::Network,
                    format!("{}: reading the answer: {error}", self.uri),
                )
            })?
            .to_bytes();
        let text = String::from_utf8_lossy(&body).trim().to_owned();
        if !status.is_success() {
            return Err(Failure::new(Code::Status, format!("HTTP {status}: {text}")));
        }
        Ok(text)
    }
}

fn print_id(id: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{id}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if is_broken_pipe(&error) => Ok(()),
        Err(error) => Err(Failure::error(error)),
    }
}

/// An error with its causes (hyper's top-level message alone says little).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
