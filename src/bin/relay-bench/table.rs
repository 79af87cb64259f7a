//! The printed table of one engine's figures, beside the targets.

use serde_json::Value;

use crate::Baselines;

/// Prints one engine's table (targets of issue 15; PostgreSQL's ratios are lower).
pub fn print_table(engine: &str, baselines: &Baselines, f: &Value) {
    let n = |k: &str| f[k].as_f64().unwrap_or(f64::NAN);
    let ratio_target = if engine == "postgres" { 0.3 } else { 0.5 };
    // On PostgreSQL the database server's CPU per event is counted too (none on SQLite,
    // which runs inside the relay and is in the relay's figure).
    let cpu = |relay: &str, database: &str| match engine {
        "postgres" => format!(
            "{:.0} µs relay + {:.0} µs PostgreSQL CPU each",
            n(relay),
            n(database)
        ),
        _ => format!("{:.0} µs relay CPU each", n(relay)),
    };
    println!();
    println!("| {engine} | figure | target (2 cores) |");
    println!("|---|---|---|");
    println!("| no-op baseline | {:.0} req/s | |", baselines.noop);
    println!("| no-op forwarder | {:.0} req/s | |", baselines.forwarder);
    println!(
        "| ingest at saturation | {:.0} accepted/s = {:.2} of the no-op server ({}) | ≥ {ratio_target} |",
        n("ingest_accepted_per_s"),
        n("ingest_ratio_to_baseline"),
        cpu(
            "ingest_relay_cpu_us_per_event",
            "ingest_database_cpu_us_per_event"
        ),
    );
    println!(
        "| ingest while delivering to a healthy callback | {:.0} accepted/s = {:.2} of the no-op server ({}) | |",
        n("ingest_delivering_accepted_per_s"),
        n("ingest_delivering_ratio_to_baseline"),
        cpu(
            "ingest_delivering_relay_cpu_us_per_event",
            "ingest_delivering_database_cpu_us_per_event"
        ),
    );
    println!(
        "| delivering (same phase, to the last delivery) | {:.0} delivered/s = {:.2} of the no-op forwarder | ≥ {ratio_target} |",
        n("delivering_delivered_per_s"),
        n("delivering_ratio_to_forwarder"),
    );
    let at_rest = &f["at_rest"];
    println!(
        "| bytes per event at rest ({:.0} delivered) | {:.0} bytes ({}) | ≤ 1,536 |",
        at_rest["delivered_events"].as_f64().unwrap_or(f64::NAN),
        at_rest["bytes_per_event"].as_f64().unwrap_or(f64::NAN),
        at_rest["how"].as_str().unwrap_or("?"),
    );
    println!(
        "| end-to-end latency at {:.0}/s | p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms | p99 ≤ 10, p99.9 ≤ 20 ms |",
        n("latency_rate_per_s"),
        n("latency_p50_ms"),
        n("latency_p99_ms"),
        n("latency_p999_ms")
    );
    println!(
        "| drain of {:.0} events | {:.0} events/s ({:.2} s) | ≥ 30,000/s |",
        n("drain_events"),
        n("drain_events_per_s"),
        n("drain_seconds")
    );
    println!(
        "| peak RSS, {:.0} pending | {:.1} MiB | ≤ 48 MiB |",
        n("backlog_events"),
        n("backlog_peak_rss_mib")
    );
    println!(
        "| peak RSS, saturation runs (idle / delivering) | {:.1} / {:.1} MiB | |",
        n("ingest_peak_rss_mib"),
        n("ingest_delivering_peak_rss_mib")
    );
    let by_relation = at_rest["bytes_per_event_by_relation"].as_object();
    let split: Vec<String> = by_relation
        .into_iter()
        .flatten()
        .filter(|(_, b)| b.as_f64().unwrap_or(0.0) >= 1.0)
        .map(|(name, b)| format!("{name} {b}"))
        .collect();
    println!("bytes per event by table and index: {}", split.join(", "));
    println!();
}
