//! The benchmark's callback: records when each event first arrives. "Down" means it holds
//! requests without answering, like a consumer that stopped responding; coming back up
//! answers the held requests at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use tokio::net::TcpListener;

/// Shared state of the receiver.
#[derive(Clone)]
pub struct Receiver {
    down: Arc<tokio::sync::watch::Sender<bool>>,
    arrivals: Arc<Mutex<HashMap<String, Instant>>>,
    requests: Arc<AtomicU64>,
}

impl Receiver {
    /// Serves on an ephemeral port of 127.0.0.1.
    pub async fn start() -> (Self, SocketAddr) {
        let receiver = Self {
            down: Arc::new(tokio::sync::watch::channel(false).0),
            arrivals: Arc::default(),
            requests: Arc::default(),
        };
        let r = receiver.clone();
        let app = Router::new().fallback(move |headers: HeaderMap, _body: Bytes| {
            let r = r.clone();
            async move {
                let mut down = r.down.subscribe();
                let _ = down.wait_for(|d| !d).await;
                r.requests.fetch_add(1, Ordering::Relaxed);
                if let Some(id) = headers
                    .get("elements-webhook-id")
                    .and_then(|v| v.to_str().ok())
                {
                    r.arrivals
                        .lock()
                        .unwrap()
                        .entry(id.to_string())
                        .or_insert_with(Instant::now);
                }
                StatusCode::OK
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, addr)
    }

    /// Stop or resume answering.
    pub fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }

    /// Distinct events received.
    pub fn distinct(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }

    /// Requests answered (duplicates included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// First arrival of an event.
    pub fn arrival(&self, event_id: &str) -> Option<Instant> {
        self.arrivals.lock().unwrap().get(event_id).copied()
    }

    /// Forget everything received.
    pub fn reset(&self) {
        self.arrivals.lock().unwrap().clear();
        self.requests.store(0, Ordering::Relaxed);
    }

    /// Waits until `n` distinct events arrived or `limit` passed; returns whether they did.
    pub async fn wait_distinct(&self, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.distinct() < n {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }
}
