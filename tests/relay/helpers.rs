//! Test harness: a real local callback receiver, a relay started in-process (`spawn_app`) or
//! as the real binary (`RelayProcess`), each on port 0 with its own SQLite file, and Box
//! signing.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{SecondsFormat, Utc};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use webhook_relay::box_webhook::verify::sign;
use webhook_relay::config::{Config, Env};
use webhook_relay::store::{Status, Store, StoredEvent};
use webhook_relay::Application;

pub const PRIMARY: &str = "test-primary-key";
pub const SECONDARY: &str = "test-secondary-key";
pub const EVENT_KEY: &str = "test-event-signature-key";
pub const V1_TOKEN: &str = "test-v1-token";
/// How long a test waits for something that should happen (never a sleep: a deadline).
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The Box example payload (tests/fixtures), exact bytes.
pub fn box_payload() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/box-v2-file-uploaded.json"),
    )
    .expect("fixture")
}

/// The example payload with another event `id` (a distinct Box event).
pub fn box_payload_with_id(id: &str) -> Vec<u8> {
    let text = String::from_utf8(box_payload()).unwrap();
    text.replacen("\"id\": \"11446498\"", &format!("\"id\": \"{id}\""), 1)
        .into_bytes()
}

/// What a receiver does with one request.
#[derive(Debug, Clone)]
pub enum Behavior {
    /// Answer with this status.
    Status(u16),
    /// Answer with this status and a Location header.
    Redirect(u16, String),
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

/// Box V2 headers for `body`, signed with the test primary key at `timestamp`.
pub fn box_headers_at(body: &[u8], timestamp: &str) -> Vec<(String, String)> {
    vec![
        ("box-delivery-id".into(), uuid::Uuid::new_v4().to_string()),
        ("box-delivery-timestamp".into(), timestamp.into()),
        ("box-signature-version".into(), "1".into()),
        ("box-signature-algorithm".into(), "HmacSHA256".into()),
        (
            "box-signature-primary".into(),
            sign(PRIMARY, body, timestamp),
        ),
        (
            "box-signature-secondary".into(),
            sign(SECONDARY, body, timestamp),
        ),
        ("content-type".into(), "application/json".into()),
    ]
}

/// Box V2 headers for `body`, signed now.
pub fn box_headers(body: &[u8]) -> Vec<(String, String)> {
    box_headers_at(body, &Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// The relay's configuration for tests: instance 1 delivers to `{callback}/events`, instance 2
/// has events disabled, instance 3 has no Box keys, instance 4 delivers to `{callback}/other`. Fast retries; private destinations allowed.
pub fn test_config(storage_url: &str, callback: &str, extra: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
shutdown_grace_ms = 3000
[storage]
url = "{storage_url}"
[delivery]
allow_private_destinations = true
backoff_base_ms = 50
backoff_factor = 2.0
backoff_max_ms = 400
max_attempts = 4
timeout_ms = 2000
per_instance_concurrency = 2
poll_interval_ms = 200
{extra}
[[instances]]
id = 1
name = "Test Box"
tags = ["test"]
account_id = 643
[instances.configuration]
"event.notification.enabled" = true
"event.notification.callback.url" = "{callback}/events"
"event.notification.signature.key" = "{EVENT_KEY}"
"box.webhook.primary.key" = "{PRIMARY}"
"box.webhook.secondary.key" = "{SECONDARY}"
"box.webhook.v1.token" = "{V1_TOKEN}"

[[instances]]
id = 2
name = "Disabled"
[instances.configuration]
"event.notification.enabled" = false
"box.webhook.primary.key" = "{PRIMARY}"

[[instances]]
id = 3
name = "No keys"
[instances.configuration]
"event.notification.enabled" = true
"event.notification.callback.url" = "{callback}/events"

[[instances]]
id = 4
name = "Other consumer"
[instances.configuration]
"event.notification.enabled" = true
"event.notification.callback.url" = "{callback}/other"
"box.webhook.primary.key" = "{PRIMARY}"
"#
    )
}

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

    /// A storage URL no other test uses.
    pub async fn fresh_url(&self, dir: &Path) -> String {
        match self {
            Engine::Sqlite => format!("sqlite://{}", dir.join("relay.db").display()),
            Engine::Postgres(admin) => fresh_database(admin).await,
        }
    }
}

/// Creates a new, empty database on the server of `admin_url`; returns its URL.
pub async fn fresh_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("relay_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to RELAY_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    let _ = conn.close().await;
    let mut url = url::Url::parse(admin_url).expect("RELAY_TEST_POSTGRES_URL is a URL");
    url.set_path(&name);
    url.to_string()
}

/// A relay running in this process.
pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
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
    let text = test_config(url, &receiver.url(""), "");
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

    /// Number of stored events.
    pub async fn stored_events(&self) -> u64 {
        let c = self.store.status_counts().await.unwrap();
        c.pending + c.delivering + c.delivered + c.failed
    }

    /// The stored event.
    pub async fn event(&self, event_id: &str) -> Option<StoredEvent> {
        self.store.get_event(event_id).await.unwrap()
    }

    /// Waits until the stored event reaches `status`; returns its attempts.
    pub async fn wait_for_status(&self, event_id: &str, status: Status) -> u32 {
        wait_for_status(&*self.store, event_id, status).await
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
pub async fn wait_for_status(store: &dyn Store, event_id: &str, status: Status) -> u32 {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let event = store.get_event(event_id).await.ok().flatten();
        if let Some(e) = &event {
            if e.status == status {
                return e.attempts;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "event {event_id} never reached {status:?}: {:?}",
            event.map(|e| (e.status, e.attempts, e.last_error))
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn answer(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, json)
}

/// The real `webhook-relay` binary, started with a config file; logs JSON to a file.
pub struct RelayProcess {
    pub child: tokio::process::Child,
    pub addr: SocketAddr,
    drain: Option<tokio::task::JoinHandle<()>>,
}

impl RelayProcess {
    pub async fn start(config: &Path, log: &Path) -> Self {
        Self::start_with_env(config, log, &[]).await
    }

    /// Starts the binary with extra environment variables.
    pub async fn start_with_env(config: &Path, log: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-relay"));
        command
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env("RELAY__LOG__FORMAT", "json")
            .env_remove("RUST_LOG");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the relay binary");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let addr = tokio::time::timeout(DEADLINE, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                use std::io::Write;
                writeln!(log_file, "{line}").unwrap();
                let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if v["message"] == "relay listening" {
                    return v["addr"].as_str().unwrap().parse::<SocketAddr>().unwrap();
                }
            }
            panic!("relay exited before listening");
        })
        .await
        .expect("relay listens within the deadline");
        // Keep draining its output so it never blocks on a full pipe.
        let drain = tokio::spawn(async move {
            use std::io::Write;
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = writeln!(log_file, "{line}");
            }
        });
        Self {
            child,
            addr,
            drain: Some(drain),
        }
    }

    /// Waits for the process to exit and for its log to be fully written.
    pub async fn wait(&mut self) -> std::process::ExitStatus {
        let status = self.child.wait().await.expect("wait for the relay");
        if let Some(drain) = self.drain.take() {
            let _ = tokio::time::timeout(DEADLINE, drain).await;
        }
        status
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// A private PostgreSQL server for one test (to stop and start it), from the binaries at
/// `RELAY_TEST_PG_BIN` or the newest `/usr/lib/postgresql/*/bin`.
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl PgCluster {
    pub fn start() -> Self {
        let bin = std::env::var_os("RELAY_TEST_PG_BIN")
            .map(PathBuf::from)
            .or_else(|| {
                let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                    .filter(|p| p.join("initdb").exists())
                    .collect();
                found.sort();
                found.pop()
            })
            .expect("PostgreSQL binaries (set RELAY_TEST_PG_BIN)");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        if is_root() {
            run(std::process::Command::new("chown")
                .arg("postgres:")
                .arg(dir.path()));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self {
            bin,
            data,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            _dir: dir,
        };
        run(cluster
            .pg("initdb")
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "-D"])
            .arg(&cluster.data));
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n",
            cluster._dir.path().display()
        );
        let path = cluster.data.join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&conf);
        std::fs::write(&path, text).unwrap();
        cluster.up();
        cluster
    }

    fn pg(&self, tool: &str) -> std::process::Command {
        let exe = self.bin.join(tool);
        if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            std::process::Command::new(exe)
        }
    }

    /// Starts the server and waits until it accepts connections.
    pub fn up(&self) {
        let log = self._dir.path().join("server.log");
        run(self
            .pg("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(log)
            .args(["-w", "start"]));
    }

    /// Stops the server (fast shutdown: clients are disconnected).
    pub fn down(&self) {
        run(self
            .pg("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"]));
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

fn run(cmd: &mut std::process::Command) {
    let out = cmd.output().expect("run a PostgreSQL tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
