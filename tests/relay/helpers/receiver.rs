//! A real HTTP callback receiver on 127.0.0.1 that records what it gets and answers as the
//! test scripts it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::DEADLINE;

/// What a receiver does with one request.
#[derive(Debug, Clone)]
pub enum Behavior {
    /// Answer with this status.
    Status(u16),
    /// Answer with this status and a Location header.
    Redirect(u16, String),
    /// Answer with this status and `Retry-After: <seconds>`.
    RetryAfter(u16, u64),
    /// Never answer (until the test ends).
    Hang,
    /// Answer 200 after this many milliseconds.
    Delay(u64),
}

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("received body is JSON")
    }
}

#[derive(Default)]
struct ReceiverState {
    script: Mutex<VecDeque<Behavior>>,
    by_path: Mutex<HashMap<String, Behavior>>,
    default: Mutex<Option<Behavior>>,
    received: Mutex<Vec<Received>>,
    notify: Notify,
}

/// A real HTTP callback receiver on 127.0.0.1.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<ReceiverState>,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(addr: &str) -> Self {
        let state = Arc::new(ReceiverState::default());
        let s = state.clone();
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move {
                let by_path = s.by_path.lock().unwrap().get(uri.path()).cloned();
                let behavior = by_path
                    .or_else(|| s.script.lock().unwrap().pop_front())
                    .or_else(|| s.default.lock().unwrap().clone())
                    .unwrap_or(Behavior::Status(200));
                s.received.lock().unwrap().push(Received {
                    path: uri.path().to_string(),
                    headers,
                    body,
                    at: std::time::Instant::now(),
                });
                s.notify.notify_waiters();
                respond(behavior).await
            }
        });
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers the next requests this way, in order; then the default.
    pub fn script(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        self.state.script.lock().unwrap().extend(behaviors);
    }

    /// Answers every request to `path` this way (before any script).
    pub fn set_path_behavior(&self, path: &str, behavior: Behavior) {
        self.state
            .by_path
            .lock()
            .unwrap()
            .insert(path.into(), behavior);
    }

    /// Answers every request not scripted this way.
    pub fn set_default(&self, behavior: Behavior) {
        *self.state.default.lock().unwrap() = Some(behavior);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits until `pred` holds for the received requests, or panics at the deadline.
    pub async fn wait_until(
        &self,
        what: &str,
        pred: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let notified = self.state.notify.notified();
            {
                let got = self.state.received.lock().unwrap();
                if pred(&got) {
                    return got.clone();
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let got = self.received();
                assert!(
                    pred(&got),
                    "timed out waiting for {what}; received {} requests",
                    got.len()
                );
                return got;
            }
        }
    }

    /// Waits until `n` requests were received.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        self.wait_until(&format!("{n} requests"), |r| r.len() >= n)
            .await
    }

    /// Waits until every one of these `eventId`s has arrived at least once.
    pub async fn wait_for_all<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a String> + Clone,
    ) -> Vec<Received> {
        self.wait_until("every accepted event", |r| {
            let seen: std::collections::HashSet<_> = r
                .iter()
                .filter_map(|x| x.header("elements-webhook-id"))
                .collect();
            ids.clone().into_iter().all(|id| seen.contains(id.as_str()))
        })
        .await
    }

    /// Waits for a request carrying this `Elements-Webhook-Id`.
    pub async fn wait_for_event(&self, event_id: &str) -> Vec<Received> {
        self.wait_until(&format!("event {event_id}"), |r| {
            r.iter()
                .any(|x| x.header("elements-webhook-id") == Some(event_id))
        })
        .await
    }
}

async fn respond(behavior: Behavior) -> Response {
    match behavior {
        Behavior::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Behavior::Redirect(code, to) => {
            (StatusCode::from_u16(code).unwrap(), [("location", to)]).into_response()
        }
        Behavior::RetryAfter(code, secs) => (
            StatusCode::from_u16(code).unwrap(),
            [("retry-after", secs.to_string())],
        )
            .into_response(),
        Behavior::Delay(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            StatusCode::OK.into_response()
        }
        Behavior::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
    }
}
