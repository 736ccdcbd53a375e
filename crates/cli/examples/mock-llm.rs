//! A stand-in for an LLM streaming API, for trying `bourn serve`'s runs
//! without a key: every request gets an OpenAI-style Chat Completions
//! stream of words, one every 100 ms, then `data: [DONE]`.
//!
//! ```sh
//! cargo run -p bourn-cli --example mock-llm -- 127.0.0.1:9009 200
//! ```
//!
//! (address, then the number of words; defaults 127.0.0.1:9009 and 200).
#![expect(clippy::print_stdout, reason = "an example says where it listens")]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9009".to_owned());
    let words: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "mock LLM API on http://{}/v1/chat/completions ({words} words per answer)",
        listener.local_addr()?
    );
    loop {
        let (mut socket, peer) = listener.accept().await?;
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            println!("request from {peer}");
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for i in 0..words {
                let chunk = format!(
                    "data: {{\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"word{i} \"}}}}]}}\n\n"
                );
                if socket.write_all(chunk.as_bytes()).await.is_err() {
                    println!("{peer} closed the stream after {i} words");
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = socket.write_all(b"data: [DONE]\n\n").await;
        });
    }
}
