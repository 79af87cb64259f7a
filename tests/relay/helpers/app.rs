//! The relay started in-process on a chosen engine, with its store handle for inspection.

use std::net::SocketAddr;
use std::path::Path;

use tokio_util::sync::CancellationToken;
use webhook_relay::config::{Config, Env};
use webhook_relay::store::records::EventSummary;
use webhook_relay::store::{Status, Store};
use webhook_relay::Application;

use super::postgres::{drop_database_with, fresh_database};
use super::{answer, box_headers, eventually, test_config, Receiver, DEADLINE};

/// The storage engine a test runs against. The same behaviour suite runs on both.
#[derive(Debug, Clone)]
pub enum Engine {
    /// A fresh SQLite file in the test's temporary directory.
    Sqlite,
    /// A fresh database on the server at `RELAY_TEST_POSTGRES_URL`.
    Postgres(String),
}

static PG_NOTICE: std::sync::Once = std::sync::Once::new();

impl Engine {
    /// The PostgreSQL engine, if `RELAY_TEST_POSTGRES_URL` is set. Without it, CI (`CI` set)
    /// fails the test; a developer machine skips it and says so once, on the terminal.
    pub fn postgres() -> Option<Engine> {
        match std::env::var("RELAY_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Engine::Postgres(url)),
            _ if std::env::var_os("CI").is_some() => {
                panic!("RELAY_TEST_POSTGRES_URL is not set: the PostgreSQL suite must run in CI")
            }
            _ => {
                PG_NOTICE.call_once(|| {
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "\nNOTE: the PostgreSQL suite was NOT run: set RELAY_TEST_POSTGRES_URL \
                         (eval \"$(.ci/start-postgres)\" starts a throwaway server)\n"
                    );
                });
                None
            }
        }
    }

    /// A storage URL no other test uses, that lives as long as `dir`: the SQLite file is in
    /// it, and the PostgreSQL database is dropped once it is gone.
    pub async fn fresh_url(&self, dir: &Path) -> String {
        match self {
            Engine::Sqlite => format!("sqlite://{}", dir.join("relay.db").display()),
            Engine::Postgres(admin) => {
                let url = fresh_database(admin).await;
                drop_database_with(dir, admin, &url);
                url
            }
        }
    }
}

/// A relay running in this process.
pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub store: Store,
    pub shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// Starts a relay on `engine` whose instance 1 delivers to `receiver`.
pub async fn spawn_app(engine: &Engine, receiver: &Receiver) -> TestApp {
    spawn_app_env(engine, receiver, &Env::new()).await
}

/// Like [`spawn_app`], with `RELAY__…` overrides.
pub async fn spawn_app_env(engine: &Engine, receiver: &Receiver, env: &Env) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    spawn_app_at(&url, receiver, env, dir).await
}

/// Starts a relay on the store at `url`.
pub async fn spawn_app_at(
    url: &str,
    receiver: &Receiver,
    env: &Env,
    dir: tempfile::TempDir,
) -> TestApp {
    spawn_app_to(url, &receiver.url(""), env, dir).await
}

/// Starts a relay on the store at `url` whose callbacks live under `callback_base`.
pub async fn spawn_app_to(
    url: &str,
    callback_base: &str,
    env: &Env,
    dir: tempfile::TempDir,
) -> TestApp {
    let text = test_config(url, callback_base, "");
    let (config, instances) = Config::from_toml(&text, env).expect("test config is valid");
    let app = Application::build(config, instances)
        .await
        .expect("relay starts");
    let addr = app.local_addr();
    let store = app.store();
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        app.run_until_stopped(token).await.expect("relay runs");
    });
    TestApp {
        addr,
        http: reqwest::Client::new(),
        store,
        shutdown,
        task: Some(task),
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The `/metrics` page.
    pub async fn metrics_text(&self) -> String {
        let res = self.http.get(self.url("/metrics")).send().await.unwrap();
        res.text().await.unwrap()
    }

    /// POSTs a V2 delivery with these headers.
    pub async fn post_v2(
        &self,
        instance: &str,
        body: &[u8],
        headers: &[(String, String)],
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .http
            .post(self.url(&format!("/webhooks/box/{instance}")))
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        answer(req.send().await.expect("relay answers")).await
    }

    /// POSTs a correctly signed V2 delivery to instance 1.
    pub async fn send(&self, body: &[u8]) -> (u16, serde_json::Value) {
        self.post_v2("1", body, &box_headers(body)).await
    }

    /// Number of stored events of instance 1, as its event log lists them: one statement,
    /// so one snapshot (`queue_stats` counts status by status, and an event moving from
    /// `delivering` to `delivered` between two counts would be counted twice or not at all).
    pub async fn stored_events(&self) -> u64 {
        let events = self.store.list_events(1, &[], None, 10_000).await.unwrap();
        events.len() as u64
    }

    /// The stored event (as the event log shows it).
    pub async fn event(&self, event_id: &str) -> Option<EventSummary> {
        let detail = self.store.event_detail(event_id).await.unwrap();
        detail.map(|d| d.summary)
    }

    /// Waits until the stored event reaches `status`; returns its attempts.
    pub async fn wait_for_status(&self, event_id: &str, status: Status) -> u32 {
        wait_for_status(&self.store, event_id, status).await
    }

    /// Stops the relay (as SIGTERM would) and waits for it.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(DEADLINE, task)
                .await
                .expect("relay stops within the deadline")
                .unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Waits until the stored event reaches `status`; returns its attempts.
pub async fn wait_for_status(store: &Store, event_id: &str, status: Status) -> u32 {
    eventually(&format!("event {event_id} reaches {status:?}"), || async {
        let detail = store.event_detail(event_id).await;
        match detail
            .as_ref()
            .ok()
            .and_then(|d| d.as_ref())
            .map(|d| &d.summary)
        {
            Some(e) if e.status == status => Ok(e.attempts),
            Some(e) => Err(format!(
                "{:?}, {} attempts, {:?}",
                e.status, e.attempts, e.last_error
            )),
            None => Err(format!("{detail:?}")),
        }
    })
    .await
}
