//! `cargo xtask ci`'s check against the newest dependencies: the lock file
//! pins what the workspace tests with, but a user who adds bourn-client to a
//! new project resolves the newest compatible versions. Once, http 1.6 made
//! `HeaderValue::from_str` refuse non-ASCII, and a client built that way lost
//! a non-ASCII `Last-Event-ID` silently. This builds a scratch program outside
//! the workspace, with a fresh resolution, that sends `Last-Event-ID: …`
//! (U+2026) to a loopback server and checks the UTF-8 bytes arrive.

use std::fs;

use anyhow::{Context, Result};

use crate::{root, step, target_dir};

const PROGRAM: &str = r#"
use std::io::{Read, Write};
use std::net::TcpListener;

use futures_util::StreamExt;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("http://{}/", listener.local_addr().expect("its address"));
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("a connection");
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).expect("the request");
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let reply = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: ok\n\n";
        socket.write_all(reply).expect("the reply");
        request
    });
    let mut source = bourn_client::EventSource::builder(url)
        .last_event_id("\u{2026}")
        .one_shot(true)
        .build()
        .expect("a source");
    while let Some(item) = source.next().await {
        if let Ok(bourn_client::Item::Event(_)) = item {
            break;
        }
    }
    let request = server.join().expect("the server thread");
    let expected = "last-event-id: \u{2026}\r\n".as_bytes();
    let lower: Vec<u8> = request.iter().map(u8::to_ascii_lowercase).collect();
    assert!(
        lower.windows(expected.len()).any(|w| w == expected),
        "the request lacks the UTF-8 Last-Event-ID: {:?}",
        String::from_utf8_lossy(&request)
    );
    println!("newest dependencies: a non-ASCII Last-Event-ID is sent as its UTF-8 bytes");
}
"#;

/// Builds and runs the scratch program with a fresh lock.
pub(crate) fn check() -> Result<()> {
    let dir = target_dir().join("fresh-deps");
    fs::create_dir_all(dir.join("src")).context("creating the scratch crate")?;
    let client = root().join("crates").join("client");
    let manifest = format!(
        "[package]\nname = \"fresh-deps\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nbourn-client = {{ path = {client:?} }}\n\
         tokio = {{ version = \"1\", features = [\"rt\", \"macros\"] }}\nfutures-util = \"0.3\"\n\n\
         [workspace]\n"
    );
    fs::write(dir.join("Cargo.toml"), manifest).context("writing the scratch manifest")?;
    fs::write(dir.join("src").join("main.rs"), PROGRAM).context("writing the scratch program")?;
    // A fresh resolution every time: the newest compatible versions.
    let _ = fs::remove_file(dir.join("Cargo.lock"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut update = std::process::Command::new(&cargo);
    update.arg("update").current_dir(&dir);
    step("newest dependencies: resolve", update)?;
    let mut run = std::process::Command::new(&cargo);
    run.args(["run", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", target_dir().join("fresh-deps-target"));
    step("newest dependencies: non-ASCII Last-Event-ID", run)
}
