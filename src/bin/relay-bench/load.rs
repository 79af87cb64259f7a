//! Load generation: distinct, correctly signed Box V2 deliveries (the spec's ~2.5 KB example
//! payload with a fresh `id`), over many keep-alive connections, either closed-loop (as fast
//! as answers come back) or open-loop at a fixed rate.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use webhook_relay::box_webhook::verify::sign;

const PAYLOAD: &str = include_str!("../../../tests/fixtures/box-v2-file-uploaded.json");

/// The Box primary key of the benchmark instance.
pub const KEY: &str = "bench-primary-key";

/// Where and how to send.
#[derive(Clone)]
pub struct Target {
    /// Full URL of the V2 route (or of the no-op server).
    pub url: String,
    /// Prefix of Box event ids, unique per phase.
    pub run: String,
}

/// One signed delivery.
pub fn delivery(run: &str, i: usize) -> (String, String, String) {
    let box_id = format!("{run}-{i}");
    let body = PAYLOAD.replacen("\"id\": \"11446498\"", &format!("\"id\": \"{box_id}\""), 1);
    let ts = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let signature = sign(KEY, body.as_bytes(), &ts);
    (body, ts, signature)
}

/// Body size of a delivery.
pub fn body_len() -> usize {
    delivery("x", 0).0.len()
}

fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

async fn send(client: &reqwest::Client, target: &Target, i: usize) -> bool {
    let (body, ts, signature) = delivery(&target.run, i);
    let res = client
        .post(&target.url)
        .header("box-delivery-id", i.to_string())
        .header("box-delivery-timestamp", ts)
        .header("box-signature-version", "1")
        .header("box-signature-algorithm", "HmacSHA256")
        .header("box-signature-primary", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    match res {
        Ok(r) => {
            let ok = r.status().as_u16() == 200;
            let _ = r.bytes().await;
            ok
        }
        Err(_) => false,
    }
}

/// Result of a closed-loop run.
pub struct Saturation {
    /// Requests answered 200.
    pub ok: usize,
    /// Others (errors, non-200).
    pub failed: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl Saturation {
    /// Answered-200 per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// Sends `total` requests over `connections` connections, each sending as soon as the
/// previous answer arrived.
pub async fn saturate(target: &Target, total: usize, connections: usize) -> Saturation {
    let client = client(connections);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, next, target) = (client.clone(), next.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0, 0);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                if send(&client, &target, i).await {
                    ok += 1;
                } else {
                    failed += 1;
                }
            }
            (ok, failed)
        }));
    }
    let (mut ok, mut failed) = (0, 0);
    for t in tasks {
        let (o, f) = t.await.expect("sender");
        ok += o;
        failed += f;
    }
    Saturation {
        ok,
        failed,
        elapsed: started.elapsed(),
    }
}

/// Sends at `rate` per second for `duration`; returns the send instant of each index that
/// was answered 200 (by index), and how many failed.
pub async fn fixed_rate(
    target: &Target,
    rate: u32,
    duration: Duration,
) -> (Vec<Option<Instant>>, usize) {
    let total = (f64::from(rate) * duration.as_secs_f64()) as usize;
    let client = client(256);
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = started + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (client, target) = (client.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            send(&client, &target, i).await.then_some(sent)
        }));
    }
    let mut sent = Vec::with_capacity(total);
    let mut failed = 0;
    for t in tasks {
        let s = t.await.expect("sender");
        if s.is_none() {
            failed += 1;
        }
        sent.push(s);
    }
    (sent, failed)
}
