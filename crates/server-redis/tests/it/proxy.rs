//! A TCP proxy on loopback that can stop forwarding without closing: a
//! half-open path, as a stuck proxy or a dropped NAT entry makes it.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct Proxy {
    pub port: u16,
    state: Arc<State>,
    accept: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct State {
    /// One flag per connection: set, its bytes are dropped both ways.
    connections: Mutex<Vec<Arc<AtomicBool>>>,
    /// Set: new connections are accepted but dead from the start.
    blocking: AtomicBool,
}

impl Proxy {
    pub async fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let accept = tokio::spawn({
            let state = state.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                        continue;
                    };
                    let dead = Arc::new(AtomicBool::new(state.blocking.load(Ordering::SeqCst)));
                    state.connections.lock().unwrap().push(dead.clone());
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::spawn(pipe(client_read, server_write, dead.clone()));
                    tokio::spawn(pipe(server_read, client_write, dead));
                }
            }
        });
        Proxy {
            port,
            state,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Every open connection stops forwarding (for good) but stays open.
    pub fn cut(&self) {
        for dead in self.state.connections.lock().unwrap().iter() {
            dead.store(true, Ordering::SeqCst);
        }
    }

    /// While on, new connections are accepted and forward nothing.
    pub fn block(&self, on: bool) {
        self.state.blocking.store(on, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    dead: Arc<AtomicBool>,
) {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                if !dead.load(Ordering::SeqCst) {
                    let _ = to.shutdown().await;
                }
                // A dead path never tells the other side: keep `to` open.
                if dead.load(Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
                return;
            }
            Ok(n) => n,
        };
        if !dead.load(Ordering::SeqCst) && to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
