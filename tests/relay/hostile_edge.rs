//! The public edge against an attacker who holds what an unauthenticated client can hold:
//! connections that never speak (in any protocol), more of them than the process has file
//! descriptors, large bodies that never finish, and probes that try to learn whether an
//! instance has keys. Black box, against the real binary.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::helpers::*;

/// The start of an HTTP/2 connection: the client preface.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame.
const H2_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

/// A figure for the closing report, shown whether or not the test passes.
fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "REPORT {line}");
}

fn long() -> bool {
    std::env::var_os("RELAY_TEST_LONG").is_some()
}

/// True when the peer closes `stream` (EOF or reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // an answer (e.g. an HTTP/2 SETTINGS); keep reading
        }
    }
}

/// A GET on a fresh connection: (status, time to the answer).
async fn timed_get(addr: std::net::SocketAddr, path: &str) -> (u16, Duration) {
    let started = Instant::now();
    let status = tokio::time::timeout(DEADLINE, async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: relay\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.ok()?;
        String::from_utf8_lossy(&buf[..n])
            .split(' ')
            .nth(1)?
            .parse()
            .ok()
    })
    .await
    .ok()
    .flatten()
    .unwrap_or(0);
    (status, started.elapsed())
}

pub async fn connections_that_never_speak_are_closed_and_cannot_starve_the_relay(engine: Engine) {
    let receiver = Receiver::start().await;
    let files = relay_files(&engine, &receiver).await;
    let timeout = Duration::from_millis(2000);
    let idle = Duration::from_millis(1500);
    let mut relay = RelayProcess::start_with_nofile(
        &files.config,
        &files.log,
        &[
            ("RELAY__SERVER__REQUEST_TIMEOUT_MS", "2000"),
            ("RELAY__SERVER__IDLE_TIMEOUT_MS", "1500"),
        ],
        256,
    )
    .await;
    let addr = relay.addr;
    let rounds = if long() { 5 } else { 1 };
    let count = if long() { 5000 } else { 400 };
    for round in 0..rounds {
        // Silent, a lone `P`, an HTTP/2 preface, a preface and SETTINGS: none sends a request.
        let mut idle_sockets = Vec::new();
        for i in 0..count {
            // A listener that stopped accepting lets its backlog fill: connects then hang.
            let connect = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr));
            let Ok(Ok(mut s)) = connect.await else {
                continue;
            };
            let _ = match i % 4 {
                0 => Ok(()),
                1 => s.write_all(b"P").await,
                2 => s.write_all(H2_PREFACE).await,
                _ => s.write_all(&[H2_PREFACE, H2_SETTINGS].concat()).await,
            };
            idle_sockets.push(s);
        }
        // With more idle sockets than the process has descriptors, a fresh client is served.
        let (status, took) = timed_get(addr, "/healthz").await;
        assert_eq!(
            status, 200,
            "round {round}: /healthz beside {count} idle sockets"
        );
        assert!(took < timeout, "round {round}: answered in {took:?}");
        report(&format!(
            "round {round}: /healthz answered in {took:?} beside {} idle sockets, open-file limit 256",
            idle_sockets.len()
        ));
        let body = box_payload_with_id(&format!("beside-idle-{round}"));
        let res = reqwest::Client::new()
            .post(relay.url("/webhooks/box/1"))
            .headers(to_header_map(&box_headers(&body)))
            .body(body)
            .send()
            .await
            .expect("a Box delivery is answered");
        assert_eq!(res.status(), 200, "round {round}");
        // Every idle socket is closed by the relay: those it accepted after the request
        // timeout, those it made room with at once.
        let mut open = 0;
        for s in &mut idle_sockets {
            if !closed_within(s, timeout + Duration::from_secs(3)).await {
                open += 1;
            }
        }
        assert_eq!(open, 0, "round {round}: sockets still open");
    }

    // A keep-alive connection idle after its request is closed after the idle timeout.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let answered = Instant::now();
    assert!(closed_within(&mut s, idle + Duration::from_secs(3)).await);
    assert!(
        answered.elapsed() >= idle - Duration::from_millis(300),
        "kept for the idle timeout, closed after {:?}",
        answered.elapsed()
    );
    relay.signal("TERM");
    assert!(relay.wait().await.success());
}

pub(crate) fn to_header_map(headers: &[(String, String)]) -> reqwest::header::HeaderMap {
    headers
        .iter()
        .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
        .collect()
}

pub async fn unfinished_large_bodies_are_bounded_by_the_body_budget(engine: Engine) {
    let receiver = Receiver::start().await;
    let files = relay_files(&engine, &receiver).await;
    let mut relay = RelayProcess::start_with_env(
        &files.config,
        &files.log,
        &[("RELAY__SERVER__REQUEST_TIMEOUT_MS", "20000")],
    )
    .await;
    let addr = relay.addr;
    let pid = relay.child.id().unwrap();
    // Warm up (allocator arenas, connection pools), then measure from here.
    let body = box_payload_with_id("warm-up");
    let (status, _) = post_box(&relay, &body).await;
    assert_eq!(status, 200);
    let before = vm_kib(pid, "VmRSS:");

    // 300 clients, each declaring 1 MB, sending all but the last byte, then waiting. Their
    // signature headers are there (forged: the relay cannot know before the body).
    let clients = 300;
    let size = 1_000_000;
    let forged = box_headers(b"not this body");
    let mut head = String::from("POST /webhooks/box/1 HTTP/1.1\r\nHost: relay\r\n");
    for (k, v) in &forged {
        if k != "content-type" {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!("Content-Length: {size}\r\n\r\n"));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let head = head.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.ok()?;
            s.write_all(head.as_bytes()).await.ok()?;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < size - 1 {
                let n = chunk.len().min(size - 1 - sent);
                if s.write_all(&chunk[..n]).await.is_err() {
                    break; // refused: the relay answered and closed
                }
                sent += n;
            }
            Some(s)
        }));
    }
    let mut sockets = Vec::new();
    for t in tasks {
        if let Some(s) = t.await.unwrap() {
            sockets.push(s);
        }
    }
    // The 503s carry Retry-After; the others are still held by the relay.
    let mut overloaded = 0;
    for s in &mut sockets {
        let mut buf = [0u8; 1024];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(20), s.read(&mut buf)).await {
            let text = String::from_utf8_lossy(&buf[..n]).to_lowercase();
            if text.starts_with("http/1.1 503") {
                assert!(text.contains("retry-after: 5"), "{text}");
                assert!(text.contains("\"code\":\"overloaded\""), "{text}");
                overloaded += 1;
            }
        }
    }
    assert!(
        overloaded > 200,
        "most were refused over the budget: {overloaded}"
    );
    // A fresh client is served meanwhile, and a genuine Box delivery is accepted.
    let (status, took) = timed_get(addr, "/healthz").await;
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(1), "{took:?}");
    let body = box_payload_with_id("beside-large-bodies");
    let (status, answer) = post_box(&relay, &body).await;
    assert_eq!(status, 200, "{answer}");
    let peak = vm_kib(pid, "VmHWM:");
    let grown = peak.saturating_sub(before) / 1024;
    report(&format!(
        "{clients} unfinished 1 MB bodies: RSS {} -> peak {} MiB (+{grown} MiB), {overloaded} answered 503",
        before / 1024,
        peak / 1024
    ));
    assert!(grown < 80, "RSS grew by {grown} MiB");
    drop(sockets);
    relay.signal("TERM");
    assert!(relay.wait().await.success());
}

pub(crate) async fn post_box(relay: &RelayProcess, body: &[u8]) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(relay.url("/webhooks/box/1"))
        .headers(to_header_map(&box_headers(body)))
        .body(body.to_vec())
        .send()
        .await
        .expect("answered");
    answer(res).await
}

engine_tests!(
    connections_that_never_speak_are_closed_and_cannot_starve_the_relay,
    unfinished_large_bodies_are_bounded_by_the_body_budget,
);
