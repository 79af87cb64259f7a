//! The shipped deployment files, for real: `config/deploy/nginx.conf` run by Debian's nginx
//! in front of the relay, and the Dockerfile's configuration layout.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::helpers::*;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Debian's nginx running the shipped nginx.conf with its upstreams and listeners moved to
/// loopback ports.
struct Nginx {
    child: std::process::Child,
    public: u16,
    internal: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx on two free loopback ports. A port found free can be taken by another
    /// test before nginx binds it, and two calls can find the same port (then both servers
    /// share it, and the internal one's requests meet the public one's 404: seen once in CI).
    /// nginx binds every listener before it serves any, so once the public port answers as
    /// nginx itself (its own 404, no upstream involved) both are nginx's; otherwise it starts
    /// again on other ports.
    async fn start(relay_a: &str, relay_b: &str) -> Self {
        for _ in 0..5 {
            if let Some(nginx) = Self::try_start(relay_a, relay_b).await {
                return nginx;
            }
        }
        panic!("nginx did not start on free ports in 5 tries");
    }

    async fn try_start(relay_a: &str, relay_b: &str) -> Option<Self> {
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("nginx is installed (Debian's nginx package; .ci/run installs it)");
        let shipped = std::fs::read_to_string(repo("config/deploy/nginx.conf")).unwrap();
        let (public, internal) = (free_port(), free_port());
        if public == internal {
            return None;
        }
        let conf = shipped
            .replace("relay-a:8080", relay_a)
            .replace("relay-b:8080", relay_b)
            .replace("listen 8080;", &format!("listen 127.0.0.1:{public};"))
            .replace("listen 8081;", &format!("listen 127.0.0.1:{internal};"));
        assert_ne!(
            conf, shipped,
            "the shipped file has the expected upstreams and listeners"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let child = std::process::Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&path)
            .args(["-g", "daemon off; pid nginx.pid;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let mut nginx = Self {
            child,
            public,
            internal,
            _dir: dir,
        };
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if nginx.child.try_wait().ok().flatten().is_some() {
                return None; // it could not listen: a port was taken meanwhile
            }
            let answered = http
                .get(format!("http://127.0.0.1:{public}/nginx-probe"))
                .send()
                .await;
            match answered {
                Ok(res) => {
                    let server = res.headers().get("server").and_then(|v| v.to_str().ok());
                    if server.is_some_and(|s| s.starts_with("nginx")) {
                        break;
                    }
                    return None; // someone else answers on that port
                }
                Err(_) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "nginx never listened on {public}"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
        Some(nginx)
    }

    fn url(&self, internal: bool, path: &str) -> String {
        let port = if internal { self.internal } else { self.public };
        format!("http://127.0.0.1:{port}{path}")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers too (SIGKILL would orphan them).
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Relay B is a real relay; "relay A" answers 503 to everything (a replica shutting down).
#[tokio::test]
#[cfg_attr(
    not(relay_nginx),
    ignore = "install Debian's nginx to run the deployment tests"
)]
async fn the_shipped_nginx_conf_publishes_only_box_deliveries_and_retries_only_them() {
    let receiver = Receiver::start().await;
    let files = relay_files(&Engine::Sqlite, &receiver).await;
    let mut relay = RelayProcess::start_with_env(&files.config, &files.log, &ADMIN_ON).await;
    let down = Receiver::start().await;
    down.set_default(Behavior::Status(503));
    let nginx = Nginx::start(&down.addr.to_string(), &relay.addr.to_string()).await;
    let http = reqwest::Client::new();

    // The internal listener has the rest (first: the Box deliveries below mark the failing
    // replica down for a while); an admin POST is never sent to a second replica.
    let mut created = 0;
    let mut refused = 0;
    for i in 0..4 {
        let res = http
            .post(nginx.url(true, "/instances"))
            .header("authorization", admin_auth())
            .json(&instance_body(
                &format!("via nginx {i}"),
                &receiver.url("/api"),
            ))
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            200 => created += 1,
            503 => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    let reached_down = down
        .received()
        .iter()
        .filter(|r| r.path == "/instances")
        .count();
    assert!(
        refused > 0,
        "round-robin sent some admin POSTs to the failing replica"
    );
    assert_eq!(
        refused, reached_down,
        "a refused POST was not retried elsewhere"
    );
    let res = http
        .get(relay.url("/instances"))
        .header("authorization", admin_auth())
        .send()
        .await
        .unwrap();
    let (_, list) = answer(res).await;
    let api_instances = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["name"].as_str().unwrap_or("").starts_with("via nginx"))
        .count();
    assert_eq!(
        api_instances, created,
        "each POST made at most one instance"
    );
    // The public listener passes Box deliveries, retried on the healthy replica.
    for i in 0..4 {
        let body = box_payload_with_id(&format!("through-nginx-{i}"));
        let mut req = http
            .post(nginx.url(false, "/webhooks/box/1"))
            .body(body.clone());
        for (k, v) in box_headers(&body) {
            req = req.header(k, v);
        }
        let (status, answer) = answer(req.send().await.unwrap()).await;
        assert_eq!(status, 200, "delivery {i}: {answer}");
        assert_eq!(answer["status"], "accepted");
    }
    assert!(
        down.received().iter().any(|r| r.path == "/webhooks/box/1"),
        "some deliveries went to the failing replica first, then were retried"
    );
    // ... and nothing else.
    for path in [
        "/instances",
        "/metrics",
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/console",
    ] {
        let res = http
            .get(nginx.url(false, path))
            .header("authorization", admin_auth())
            .send()
            .await
            .unwrap();
        let (status, body) = answer(res).await;
        assert_eq!(status, 404, "{path} is not public: {body}");
        assert_eq!(body["code"], "not_found");
    }

    relay.signal("TERM");
    assert!(relay.wait().await.success());
}

/// The image's configuration is a file (`config/deploy/image.toml`, installed as the default
/// config), not environment variables that would beat the user's mounted file.
#[tokio::test]
async fn the_image_defaults_live_in_a_file_so_a_mounted_config_wins() {
    let dockerfile = std::fs::read_to_string(repo("Dockerfile")).unwrap();
    assert!(
        !dockerfile.lines().any(
            |l| l.trim_start().starts_with("ENV") && l.contains("RELAY__")
                || l.trim_start().starts_with("RELAY__")
        ),
        "the Dockerfile sets no RELAY__ variable: they would override the mounted file"
    );
    assert!(dockerfile.contains("config/deploy/image.toml"));
    assert!(
        dockerfile
            .lines()
            .any(|l| l.starts_with("COPY") && l.contains("build.rs")),
        "the build script is part of the build"
    );
    let check = |config: &Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_webhook-relay"))
            .arg("--config")
            .arg(config)
            .arg("check-config")
            .env_remove("RELAY__STORAGE__URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let image = check(&repo("config/deploy/image.toml"));
    assert_eq!(image["storage"]["url"], "sqlite:///data/relay.db");
    assert_eq!(image["server"]["listen"], "0.0.0.0:8080");
    // A user's file mounted in its place: its storage URL is the one used.
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine.toml");
    std::fs::write(
        &mine,
        "[storage]\nurl = \"postgres://relay:pw@db.internal:5432/relay\"\n",
    )
    .unwrap();
    let used = check(&mine);
    assert_eq!(
        used["storage"]["url"],
        "postgres://relay:***@db.internal:5432/relay"
    );
}
