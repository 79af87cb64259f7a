//! `relay-bench`: one command that measures the relay on this machine and prints a table
//! (also written as JSON):
//!
//! 1. the no-op baseline: the same load generator against an axum server that reads the body
//!    and answers 200 (a separate process); and the no-op forwarder, which POSTs each body
//!    on to the callback and answers once it answered (no verification, no storage);
//! 2. ingest throughput at saturation (accepted = answered 200 after commit), and its ratio
//!    to the baseline: with the callback hanging (ingest work only), and again with a healthy
//!    callback (every event also delivered meanwhile; delivered per second, to the end of
//!    the last delivery, is compared with the forwarder), then bytes per event at rest in
//!    that phase's store ([`at_rest`]);
//! 3. end-to-end latency at a fixed offered rate, send → receiver;
//! 4. drain rate: a backlog ingested while the callback hangs, then delivered;
//! 5. peak RSS of the relay with a large backlog, and during the saturation run;
//!
//! on SQLite, and again on PostgreSQL with `--postgres URL`. Each phase starts a fresh relay
//! process on a fresh store. `--smoke` runs every phase with a few hundred events (CI).
//!
//! cargo run --release --bin relay-bench   (builds the relay binary too)

mod at_rest;
mod load;
mod process;
mod receiver;
mod table;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use webhook_relay::event::event_id;
use webhook_relay::store::postgres::create_database;

use load::{fixed_rate, saturate, Target};
use process::Server;
use receiver::Receiver;
use table::print_table;

/// Benchmark of the relay: baseline, ingest, latency, drain, memory.
#[derive(Parser)]
#[command(name = "relay-bench")]
struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,
    /// A few hundred events per phase: checks the benchmark runs, measures nothing.
    #[arg(long)]
    smoke: bool,
    /// Also measure PostgreSQL (a fresh database per phase is created through this URL).
    #[arg(long)]
    postgres: Option<String>,
    /// Where to write the JSON figures.
    #[arg(long, default_value = "target/bench/latest.json")]
    out: PathBuf,
    /// Requests of the baseline and ingest saturation runs.
    #[arg(long, default_value_t = 50_000)]
    requests: usize,
    /// Concurrent keep-alive connections of the saturation runs.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Offered rate of the latency run (events/s).
    #[arg(long, default_value_t = 2_000)]
    rate: u32,
    /// Duration of the latency run (s).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Backlog of the drain run.
    #[arg(long, default_value_t = 100_000)]
    drain_backlog: usize,
    /// Backlog of the memory run.
    #[arg(long, default_value_t = 1_000_000)]
    memory_backlog: usize,
}

#[derive(Subcommand)]
enum Mode {
    /// The no-op baseline server (started by the benchmark itself).
    Noop {
        #[arg(long)]
        listen: String,
    },
    /// The no-op forwarder (started by the benchmark itself).
    Forward {
        #[arg(long)]
        listen: String,
        #[arg(long)]
        callback: String,
    },
}

#[tokio::main]
async fn main() {
    let mut args = Args::parse();
    match &args.mode {
        Some(Mode::Noop { listen }) => return process::serve_noop(listen).await,
        Some(Mode::Forward { listen, callback }) => {
            return process::serve_forwarder(listen, callback).await
        }
        None => {}
    }
    if args.smoke {
        args.requests = 300;
        args.rate = 200;
        args.seconds = 1;
        args.drain_backlog = 300;
        args.memory_backlog = 300;
    }
    process::build_relay();
    let work = std::env::temp_dir().join(format!("relay-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&work).expect("work directory");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "relay-bench: {cores} cores, body {} bytes, {} connections{}",
        load::body_len(),
        args.connections,
        if args.smoke { ", SMOKE run" } else { "" }
    );

    let (receiver, receiver_addr) = Receiver::start().await;
    let callback = format!("http://{receiver_addr}/events");

    let baseline = {
        let noop = Server::noop().await;
        let target = Target {
            url: noop.url("/webhooks/box/1"),
            run: "noop".into(),
        };
        let r = saturate(&target, args.requests, args.connections).await;
        noop.stop();
        println!("baseline (no-op server): {:.0} req/s", r.rate());
        r.rate()
    };
    let forwarder = {
        receiver.reset();
        let forwarder = Server::forwarder(&callback).await;
        let target = Target {
            url: forwarder.url("/webhooks/box/1"),
            run: "forward".into(),
        };
        let r = saturate(&target, args.requests, args.connections).await;
        forwarder.stop();
        println!(
            "baseline (no-op forwarder): {:.0} req/s ({} failed)",
            r.rate(),
            r.failed
        );
        r.rate()
    };
    let baselines = Baselines {
        noop: baseline,
        forwarder,
    };

    let mut engines = vec![("sqlite", None)];
    let mut postgres_settings = Value::Null;
    if let Some(url) = &args.postgres {
        engines.push(("postgres", Some(url.clone())));
        postgres_settings = postgres_write_settings(url).await;
        println!("postgres: {}", describe_settings(&postgres_settings));
    }
    let mut results = serde_json::Map::new();
    for (engine, admin) in engines {
        let storage = |phase: &str| {
            let admin = admin.clone();
            let path = work.join(format!("{engine}-{phase}.db"));
            async move {
                match admin {
                    None => format!("sqlite://{}", path.display()),
                    Some(url) => create_database(&url)
                        .await
                        .expect("create a benchmark database through --postgres"),
                }
            }
        };
        let figures = run_engine(
            &args, &work, &receiver, &callback, &baselines, engine, storage,
        )
        .await;
        print_table(engine, &baselines, &figures);
        results.insert(engine.into(), figures);
    }

    let report = json!({
        "date": chrono::Utc::now().to_rfc3339(),
        "cores": cores,
        "smoke": args.smoke,
        "body_bytes": load::body_len(),
        "connections": args.connections,
        "baseline_rps": baseline.round(),
        "forwarder_rps": forwarder.round(),
        "engines": results,
        "postgres_settings": postgres_settings,
    });
    if let Some(dir) = args.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&report).unwrap())
        .expect("write the JSON figures");
    println!("figures written to {}", args.out.display());
    let _ = std::fs::remove_dir_all(&work);
    // A benchmark whose phases lost requests or events measured nothing: fail loudly.
    let broken: Vec<String> = report["engines"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, f)| {
            f["ingest_failed"] != 0
                || f["ingest_delivering_failed"] != 0
                || f["latency_failed"] != 0
                || f["drain_complete"] != true
                || f["latency_complete"] != true
                || f["delivering_complete"] != true
        })
        .map(|(engine, _)| engine.clone())
        .collect();
    if !broken.is_empty() {
        eprintln!("relay-bench: incomplete phases on {}", broken.join(", "));
        std::process::exit(1);
    }
}

/// The PostgreSQL server's settings that bear on what a write costs, as the server reports
/// them (`pg_settings`): its figures are those of this configuration. (The test suite's
/// server, `.ci/start-postgres`, caps its WAL at 128 MB for small CI disks, so it
/// checkpoints far more often than a server with the default 1 GB.)
async fn postgres_write_settings(url: &str) -> Value {
    use sqlx::Connection;
    const NAMES: &[&str] = &[
        "server_version",
        "max_wal_size",
        "checkpoint_timeout",
        "shared_buffers",
        "synchronous_commit",
        "fsync",
        "full_page_writes",
        "wal_compression",
    ];
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to --postgres");
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY($1) ORDER BY name",
    )
    .bind(NAMES)
    .fetch_all(&mut conn)
    .await
    .expect("read PostgreSQL's settings");
    let _ = conn.close().await;
    Value::Object(
        rows.into_iter()
            .map(|(name, value)| (name, Value::String(value)))
            .collect(),
    )
}

fn describe_settings(settings: &Value) -> String {
    settings
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, value)| format!("{name} {}", value.as_str().unwrap_or("?")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The two baselines of a run, requests per second.
pub struct Baselines {
    /// The no-op server.
    pub noop: f64,
    /// The no-op forwarder.
    pub forwarder: f64,
}

async fn run_engine<F, Fut>(
    args: &Args,
    work: &Path,
    receiver: &Receiver,
    callback: &str,
    baselines: &Baselines,
    engine: &str,
    storage: F,
) -> Value
where
    F: Fn(&'static str) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    // Ingest at saturation: the callback hangs, so the relay does ingest work only.
    receiver.reset();
    receiver.set_down(true);
    let relay = Server::relay(work, &storage("ingest").await, callback).await;
    let target = Target {
        url: relay.url("/webhooks/box/1"),
        run: format!("ingest-{}", uuid::Uuid::new_v4().simple()),
    };
    // PostgreSQL's own CPU is counted beside the relay's (its server runs no other work).
    let database_cpu = || match engine {
        "postgres" => process::postgres_cpu_seconds(),
        _ => 0.0,
    };
    let (cpu_before, db_before) = (relay.cpu_seconds(), database_cpu());
    let ingest = saturate(&target, args.requests, args.connections).await;
    let ingest_cpu_us = (relay.cpu_seconds() - cpu_before) * 1e6 / ingest.ok.max(1) as f64;
    let ingest_db_cpu_us = (database_cpu() - db_before) * 1e6 / ingest.ok.max(1) as f64;
    let ingest_rss = relay.peak_rss_mib();
    relay.stop();
    receiver.set_down(false);
    println!(
        "ingest: {:.0} accepted/s ({} failed), relay CPU {ingest_cpu_us:.0} µs per event \
         (+ database {ingest_db_cpu_us:.0} µs)",
        ingest.rate(),
        ingest.failed
    );

    // The same with a healthy callback: every accepted event is also delivered meanwhile.
    // Delivered per second counts to the last delivery, like the forwarder's answers.
    receiver.reset();
    let busy_store = storage("ingest-delivering").await;
    let relay = Server::relay(work, &busy_store, callback).await;
    let target = Target {
        url: relay.url("/webhooks/box/1"),
        run: format!("busy-{}", uuid::Uuid::new_v4().simple()),
    };
    let (cpu_before, db_before) = (relay.cpu_seconds(), database_cpu());
    let started = Instant::now();
    let busy = saturate(&target, args.requests, args.connections).await;
    let delivering_complete = receiver
        .wait_distinct(busy.ok, Duration::from_secs(120))
        .await;
    let delivered_rate = receiver.distinct() as f64 / started.elapsed().as_secs_f64();
    let busy_cpu_us = (relay.cpu_seconds() - cpu_before) * 1e6 / busy.ok.max(1) as f64;
    let busy_db_cpu_us = (database_cpu() - db_before) * 1e6 / busy.ok.max(1) as f64;
    let busy_rss = relay.peak_rss_mib();
    relay.stop();
    println!(
        "ingest while delivering: {:.0} accepted/s ({} failed), {delivered_rate:.0} delivered/s \
         (all delivered: {delivering_complete}), relay CPU {busy_cpu_us:.0} µs per event \
         (+ database {busy_db_cpu_us:.0} µs)",
        busy.rate(),
        busy.failed
    );
    let at_rest = at_rest::measure(&busy_store)
        .await
        .expect("measure the delivering phase's store");
    println!(
        "at rest: {:.0} bytes per delivered event ({} bytes, {} delivered; {})",
        at_rest.per_event(),
        at_rest.bytes,
        at_rest.delivered,
        at_rest.how
    );

    // End-to-end latency at a fixed rate.
    receiver.reset();
    let relay = Server::relay(work, &storage("latency").await, callback).await;
    let target = Target {
        url: relay.url("/webhooks/box/1"),
        run: format!("latency-{}", uuid::Uuid::new_v4().simple()),
    };
    let (sent, failed) = fixed_rate(&target, args.rate, Duration::from_secs(args.seconds)).await;
    let accepted = sent.iter().filter(|s| s.is_some()).count();
    let all_arrived = receiver
        .wait_distinct(accepted, Duration::from_secs(120))
        .await;
    let mut latencies: Vec<f64> = sent
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let sent = (*s)?;
            let id = event_id(1, &format!("{}-{i}", target.run));
            receiver
                .arrival(&id)
                .map(|at| at.duration_since(sent).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(|a, b| a.total_cmp(b));
    relay.stop();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i]
    };
    println!(
        "latency at {}/s: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms ({} failed, all arrived: {all_arrived})",
        args.rate,
        pct(0.5),
        pct(0.99),
        pct(0.999),
        failed
    );

    // Drain: backlog while the callback hangs, then the callback comes back.
    receiver.reset();
    receiver.set_down(true);
    let relay = Server::relay(work, &storage("drain").await, callback).await;
    let target = Target {
        url: relay.url("/webhooks/box/1"),
        run: format!("drain-{}", uuid::Uuid::new_v4().simple()),
    };
    let backlog = saturate(&target, args.drain_backlog, args.connections).await;
    let up = Instant::now();
    receiver.set_down(false);
    let drained = receiver
        .wait_distinct(backlog.ok, Duration::from_secs(600))
        .await;
    let drain_secs = up.elapsed().as_secs_f64();
    let drain_requests = receiver.requests();
    relay.stop();
    let drain_rate = backlog.ok as f64 / drain_secs;
    println!(
        "drain: {} events in {drain_secs:.2} s = {drain_rate:.0} events/s (complete: {drained})",
        backlog.ok
    );

    // Memory with a large backlog (callback hanging, so everything stays pending).
    receiver.reset();
    receiver.set_down(true);
    let relay = Server::relay(work, &storage("memory").await, callback).await;
    let target = Target {
        url: relay.url("/webhooks/box/1"),
        run: format!("memory-{}", uuid::Uuid::new_v4().simple()),
    };
    let memory = saturate(&target, args.memory_backlog, args.connections).await;
    let backlog_rss = relay.peak_rss_mib();
    relay.stop();
    receiver.set_down(false);
    println!(
        "memory: peak RSS {backlog_rss:.1} MiB with {} pending ({:.0} accepted/s while backlogged)",
        memory.ok,
        memory.rate()
    );

    json!({
        "ingest_accepted_per_s": ingest.rate().round(),
        "ingest_failed": ingest.failed,
        "ingest_ratio_to_baseline": (ingest.rate() / baselines.noop * 1000.0).round() / 1000.0,
        "ingest_peak_rss_mib": (ingest_rss * 10.0).round() / 10.0,
        "ingest_relay_cpu_us_per_event": ingest_cpu_us.round(),
        "ingest_delivering_relay_cpu_us_per_event": busy_cpu_us.round(),
        "ingest_database_cpu_us_per_event": ingest_db_cpu_us.round(),
        "ingest_delivering_database_cpu_us_per_event": busy_db_cpu_us.round(),
        "ingest_delivering_accepted_per_s": busy.rate().round(),
        "ingest_delivering_failed": busy.failed,
        "ingest_delivering_ratio_to_baseline": (busy.rate() / baselines.noop * 1000.0).round() / 1000.0,
        "ingest_delivering_peak_rss_mib": (busy_rss * 10.0).round() / 10.0,
        "delivering_delivered_per_s": delivered_rate.round(),
        "delivering_complete": delivering_complete,
        "delivering_ratio_to_forwarder": (delivered_rate / baselines.forwarder * 1000.0).round() / 1000.0,
        "at_rest": at_rest.to_json(),
        "latency_rate_per_s": args.rate,
        "latency_seconds": args.seconds,
        "latency_events": latencies.len(),
        "latency_failed": failed,
        "latency_complete": all_arrived,
        "latency_p50_ms": (pct(0.5) * 100.0).round() / 100.0,
        "latency_p99_ms": (pct(0.99) * 100.0).round() / 100.0,
        "latency_p999_ms": (pct(0.999) * 100.0).round() / 100.0,
        "drain_events": backlog.ok,
        "drain_seconds": (drain_secs * 100.0).round() / 100.0,
        "drain_events_per_s": drain_rate.round(),
        "drain_complete": drained,
        "drain_callback_requests": drain_requests,
        "backlog_events": memory.ok,
        "backlog_peak_rss_mib": (backlog_rss * 10.0).round() / 10.0,
    })
}
