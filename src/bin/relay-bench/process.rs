//! The processes under test: the relay (the real binary, beside this one) and the two
//! baselines, the no-op server (this binary's `noop` mode) and the no-op forwarder (its
//! `forward` mode), each a separate process on 127.0.0.1.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::load::KEY;

/// A child process serving HTTP.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .expect("own path")
        .with_file_name(name)
}

/// When started by `cargo run`, builds the relay binary with the same profile first, so one
/// command measures the current sources (a no-op when it is up to date).
pub fn build_relay() {
    let Some(cargo) = std::env::var_os("CARGO") else {
        return;
    };
    let exe = std::env::current_exe().expect("own path");
    let release = exe
        .parent()
        .and_then(|d| d.file_name())
        .is_some_and(|d| d == "release");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--bin", "webhook-relay"]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build");
    assert!(status.success(), "building webhook-relay failed");
}

impl Server {
    /// Starts the relay with a store at `storage_url`, delivering to `callback`.
    pub async fn relay(dir: &Path, storage_url: &str, callback: &str) -> Server {
        let port = free_port();
        let config = dir.join("bench-relay.toml");
        // PostgreSQL requires a secrets key (replicas share it); a fresh one per relay.
        let secrets_key = webhook_relay::secret::Cipher::generate_key();
        let secrets_key = secrets_key.expose();
        std::fs::write(
            &config,
            format!(
                r#"
[server]
listen = "127.0.0.1:{port}"
shutdown_grace_ms = 2000
[storage]
url = "{storage_url}"
[secrets]
encryption_key = "{secrets_key}"
[delivery]
allow_private_destinations = true
concurrency = 64
per_instance_concurrency = 64
timeout_ms = 2000
# Short retries: the drain phase measures throughput, not the backoff schedule.
backoff_base_ms = 100
backoff_factor = 2.0
backoff_max_ms = 1000
max_attempts = 1000
[log]
level = "warn"
[[instances]]
id = 1
name = "Bench"
[instances.configuration]
"event.notification.enabled" = true
"event.notification.callback.url" = "{callback}"
"event.notification.signature.key" = "bench-event-key"
"box.webhook.primary.key" = "{KEY}"
"#
            ),
        )
        .expect("write the relay's config");
        let relay = sibling("webhook-relay");
        assert!(
            relay.exists(),
            "{} not found: run the benchmark with cargo run, or cargo build the relay first",
            relay.display()
        );
        let child = Command::new(relay)
            .arg("--config")
            .arg(&config)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the relay");
        Self::ready(child, port).await
    }

    /// Starts the no-op baseline server (this binary, `noop` mode).
    pub async fn noop() -> Server {
        let port = free_port();
        let child = Command::new(std::env::current_exe().expect("own path"))
            .args(["noop", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .spawn()
            .expect("start the no-op server");
        Self::ready(child, port).await
    }

    /// Starts the no-op forwarder (this binary, `forward` mode), forwarding to `callback`.
    pub async fn forwarder(callback: &str) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(std::env::current_exe().expect("own path"))
            .args(["forward", "--listen", &listen, "--callback", callback])
            .stdout(Stdio::null())
            .spawn()
            .expect("start the no-op forwarder");
        Self::ready(child, port).await
    }

    async fn ready(child: Child, port: u16) -> Server {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::Client::new();
        loop {
            let ok = http
                .get(format!("http://{addr}/readyz"))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ok {
                return Server { child, addr };
            }
            assert!(
                Instant::now() < deadline,
                "server on {addr} never became ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// URL of a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Peak resident memory so far (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    /// CPU time (user + system) the process has used so far, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        process_cpu_seconds(self.child.id(), false).unwrap_or(0.0)
    }

    /// SIGTERM, then wait.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// CPU time (user + system) of process `pid` so far, in seconds; with `children`, also that
/// of its children it has waited for (PostgreSQL's postmaster reaps its ended backends).
fn process_cpu_seconds(pid: u32, children: bool) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name: utime, stime, cutime and cstime are the
    // 12th to 15th.
    let fields: Vec<f64> = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|v| v.parse::<f64>().unwrap_or(0.0))
        .collect();
    let own = fields.first()? + fields.get(1)?;
    let reaped = if children {
        fields.get(2)? + fields.get(3)?
    } else {
        0.0
    };
    // Linux reports these in USER_HZ, 100 per second on every mainstream platform.
    Some((own + reaped) / 100.0)
}

/// CPU time of every PostgreSQL server process on this machine (named `postgres`: the
/// postmaster, its backends and helpers, and the backends it has reaped), in seconds. The
/// benchmark's server is the machine's only one; readable as the same user or as root.
pub fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim_end() == "postgres")
        })
        .filter_map(|pid| process_cpu_seconds(pid, true))
        .sum()
}

/// The no-op server: reads the body, answers 200 (also `/readyz`).
pub async fn serve_noop(listen: &str) {
    let app = axum::Router::new().fallback(|_body: axum::body::Bytes| async { "ok" });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .expect("bind the no-op server");
    axum::serve(listener, app).await.expect("no-op server");
}

/// The no-op forwarder: the least a relay can do. It POSTs each body on to `callback` over
/// kept-alive connections and answers 200 once the callback answered 2xx (502 otherwise):
/// no verification, no storage. `/readyz` answers at once.
pub async fn serve_forwarder(listen: &str, callback: &str) {
    use axum::http::StatusCode;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client");
    let callback: std::sync::Arc<str> = callback.into();
    let forward = move |body: axum::body::Bytes| {
        let (client, callback) = (client.clone(), callback.clone());
        async move {
            let sent = client
                .post(&*callback)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    let _ = r.bytes().await;
                    StatusCode::OK
                }
                _ => StatusCode::BAD_GATEWAY,
            }
        }
    };
    let app = axum::Router::new()
        .route("/readyz", axum::routing::get(|| async { "ok" }))
        .fallback(forward);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .expect("bind the no-op forwarder");
    axum::serve(listener, app).await.expect("no-op forwarder");
}
