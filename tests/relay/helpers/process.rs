//! The real `webhook-relay` binary as a child process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::{Receiver, DEADLINE};

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
        let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-relay"));
        Self::start_command(command, config, log, env).await
    }

    /// Starts the binary with its open-file limit (soft and hard) at `nofile`, through
    /// util-linux's `prlimit`.
    pub async fn start_with_nofile(
        config: &Path,
        log: &Path,
        env: &[(&str, &str)],
        nofile: u32,
    ) -> Self {
        let mut command = tokio::process::Command::new("prlimit");
        command
            .arg(format!("--nofile={nofile}:{nofile}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_webhook-relay"));
        Self::start_command(command, config, log, env).await
    }

    async fn start_command(
        mut command: tokio::process::Command,
        config: &Path,
        log: &Path,
        env: &[(&str, &str)],
    ) -> Self {
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

/// Writes the test configuration for the store at `url`, delivering to `receiver`, as
/// `dir/relay.toml`; returns its path.
pub fn write_config(dir: &Path, url: &str, receiver: &Receiver) -> PathBuf {
    let config = dir.join("relay.toml");
    std::fs::write(&config, super::test_config(url, &receiver.url(""), "")).unwrap();
    config
}

/// What a test needs to run the real binary: a directory, a fresh store on `engine`, the
/// test configuration delivering to a receiver, and a log path.
pub struct RelayFiles {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub config: PathBuf,
    pub log: PathBuf,
}

/// A fresh store on `engine` and the test configuration delivering to `receiver`.
pub async fn relay_files(engine: &super::Engine, receiver: &Receiver) -> RelayFiles {
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    let config = write_config(dir.path(), &url, receiver);
    let log = dir.path().join("relay.log");
    RelayFiles {
        dir,
        url,
        config,
        log,
    }
}

/// A memory figure of process `pid` from `/proc/{pid}/status`, in KiB (`VmRSS:` now,
/// `VmHWM:` its peak).
pub fn vm_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
