//! `relay-bench`: a first, rough ingest load generator. Sends distinct, correctly signed Box
//! V2 deliveries (the spec's ~2.5 KB example payload with a fresh `id` each) over keep-alive
//! connections to a running relay and prints accepted events per second and latencies.
//!
//! cargo run --release --bin relay-bench -- --url http://127.0.0.1:8080/webhooks/box/1 \
//!     --key quickstart-primary-key --requests 20000 --concurrency 64

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use clap::Parser;
use webhook_relay::box_webhook::verify::sign;

const PAYLOAD: &str = include_str!("../../tests/fixtures/box-v2-file-uploaded.json");

/// Load generator for the relay's Box V2 ingest.
#[derive(Parser)]
struct Args {
    /// The relay's V2 webhook URL for an instance.
    #[arg(long, default_value = "http://127.0.0.1:8080/webhooks/box/1")]
    url: String,
    /// That instance's Box primary key.
    #[arg(long, default_value = "quickstart-primary-key")]
    key: String,
    /// Requests to send in all.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let next = Arc::new(AtomicUsize::new(0));
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (client, next, url, key, run_id) = (
            client.clone(),
            next.clone(),
            args.url.clone(),
            args.key.clone(),
            run_id.clone(),
        );
        let total = args.requests;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut accepted, mut other) = (0usize, 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let body = PAYLOAD.replacen(
                    "\"id\": \"11446498\"",
                    &format!("\"id\": \"bench-{run_id}-{i}\""),
                    1,
                );
                let ts = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
                let signature = sign(&key, body.as_bytes(), &ts);
                let t0 = Instant::now();
                let res = client
                    .post(&url)
                    .header("box-delivery-id", i.to_string())
                    .header("box-delivery-timestamp", &ts)
                    .header("box-signature-version", "1")
                    .header("box-signature-algorithm", "HmacSHA256")
                    .header("box-signature-primary", signature)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                latencies.push(t0.elapsed());
                match res {
                    Ok(r) if r.status().as_u16() == 200 => {
                        let _ = r.bytes().await;
                        accepted += 1;
                    }
                    _ => other += 1,
                }
            }
            (accepted, other, latencies)
        }));
    }
    let (mut accepted, mut other, mut latencies) = (0, 0, Vec::<Duration>::new());
    for t in tasks {
        let (a, o, l) = t.await.expect("task");
        accepted += a;
        other += o;
        latencies.extend(l);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "requests {}  accepted {accepted}  other {other}  elapsed {:.2}s  accepted/s {:.0}  p50 {:.2}ms  p99 {:.2}ms  (concurrency {}, {} cores)",
        args.requests,
        elapsed.as_secs_f64(),
        accepted as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        args.concurrency,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
}
