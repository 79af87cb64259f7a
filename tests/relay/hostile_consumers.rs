//! Hostile consumers: a callback that never answers, crawls, sends an endless body,
//! redirects (to itself, to loopback, to a metadata address), resets the connection, or
//! answers 200 only after the timeout. Each attempt is recorded as failed and retried per
//! policy, none takes longer than the timeout, and another instance is delivered on time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use webhook_relay::store::Status;

use crate::helpers::*;

/// A raw TCP consumer that misbehaves according to the request path.
struct Hostile {
    addr: std::net::SocketAddr,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Hostile {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let h = hits.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(misbehave(stream, h.clone(), addr));
            }
        });
        Self { addr, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

async fn misbehave(
    mut stream: TcpStream,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    me: std::net::SocketAddr,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let path = head.split(' ').nth(1).unwrap_or("").to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = stream.read_exact(&mut body).await;
    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let redirect =
        |to: String| format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n");
    match path.as_str() {
        "/silent" => tokio::time::sleep(Duration::from_secs(3600)).await,
        "/crawl" => {
            for b in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" {
                if stream.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        "/endless-500" | "/endless-200" => {
            let status = if path == "/endless-200" {
                "200 OK"
            } else {
                "500 Internal Server Error"
            };
            let _ = stream
                .write_all(
                    format!("HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n\r\n").as_bytes(),
                )
                .await;
            let chunk = vec![b'z'; 16 * 1024];
            while stream.write_all(&chunk).await.is_ok() {}
        }
        "/reset" => {
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        "/late" => {
            tokio::time::sleep(Duration::from_millis(2600)).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
        "/to-itself" => {
            let _ = stream
                .write_all(redirect(format!("http://{me}/to-itself")).as_bytes())
                .await;
        }
        "/to-loopback" => {
            let _ = stream
                .write_all(redirect(format!("http://127.0.0.1:{}/target", me.port())).as_bytes())
                .await;
        }
        "/to-metadata" => {
            let _ = stream
                .write_all(redirect("http://169.254.169.254/latest/meta-data/".into()).as_bytes())
                .await;
        }
        _ => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    }
}

pub async fn hostile_consumers_fail_within_the_timeout_and_others_are_delivered_on_time(
    engine: Engine,
) {
    let receiver = Receiver::start().await;
    let hostile = Hostile::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let mut events = Vec::new();
    for path in [
        "/silent",
        "/crawl",
        "/endless-500",
        "/reset",
        "/late",
        "/to-itself",
        "/to-loopback",
        "/to-metadata",
        "/endless-200",
    ] {
        let created = app
            .create_instance(&instance_body(path, &hostile.url(path)))
            .await;
        let id = created["id"].as_i64().unwrap().to_string();
        let body = box_payload_with_id(&format!("hostile{path}"));
        let (status, accepted) = app
            .post_v2(&id, &body, &box_headers_with_key(&body, API_PRIMARY))
            .await;
        assert_eq!(status, 200, "{accepted}");
        events.push((path, accepted["eventId"].as_str().unwrap().to_string()));
    }

    // Meanwhile, instance 1's consumer is healthy: each of its events arrives on time.
    let mut worst = Duration::ZERO;
    for i in 0..10 {
        let sent = std::time::Instant::now();
        let (_, accepted) = app
            .send(&box_payload_with_id(&format!("healthy-{i}")))
            .await;
        let got = receiver
            .wait_for_event(accepted["eventId"].as_str().unwrap())
            .await;
        let arrived = got
            .iter()
            .find(|r| r.header("elements-webhook-id") == accepted["eventId"].as_str())
            .unwrap()
            .at;
        worst = worst.max(arrived.saturating_duration_since(sent));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        worst < Duration::from_secs(1),
        "a healthy consumer waited {worst:?}"
    );

    let mut report = Vec::new();
    for (path, id) in &events {
        let expected = if *path == "/endless-200" {
            Status::Delivered
        } else {
            Status::Failed
        };
        let attempts = app.wait_for_status(id, expected).await;
        let (_, detail) = app
            .admin(Method::GET, &format!("/instances/events/{id}"), None)
            .await;
        let tries = detail["attempts"].as_array().unwrap();
        assert_eq!(tries.len() as u32, attempts, "{path}");
        for t in tries {
            let took = t["durationMs"].as_i64().unwrap();
            assert!(
                took <= 2_000 + 500,
                "{path}: an attempt took {took} ms (timeout 2000)"
            );
            if expected == Status::Failed {
                assert!(
                    t["error"].is_string()
                        || t["statusCode"]
                            .as_i64()
                            .is_some_and(|c| !(200..300).contains(&c)),
                    "{path}: {t}"
                );
            }
        }
        report.push(format!(
            "{path}: {} attempt(s), {}",
            tries.len(),
            tries[0]["error"].as_str().map_or_else(
                || format!("HTTP {}", tries[0]["statusCode"]),
                str::to_string
            )
        ));
    }
    // max_attempts = 4 in the test config; redirects are never followed.
    for (path, _) in events.iter().filter(|(p, _)| *p != "/endless-200") {
        assert_eq!(hostile.hits(path), 4, "{path}: tried per policy");
    }
    assert_eq!(hostile.hits("/endless-200"), 1, "a 2xx ends delivery");
    assert_eq!(hostile.hits("/target"), 0, "redirects are not followed");
    use std::io::Write;
    for line in report {
        let _ = writeln!(std::io::stderr(), "REPORT hostile consumer {line}");
    }
}

engine_tests!(hostile_consumers_fail_within_the_timeout_and_others_are_delivered_on_time,);
