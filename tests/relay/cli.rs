//! `webhook-relay events list|show|redeliver` against the configured store, beside a running
//! relay that then delivers what the command re-queued.

use std::path::Path;

use serde_json::Value;
use webhook_relay::config::Env;
use webhook_relay::store::Status;

use crate::helpers::*;

/// Runs `webhook-relay --config <config> events <args>`; (exit ok, stdout as JSON, stderr).
async fn events(config: &Path, args: &[&str]) -> (bool, Value, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-relay"))
        .arg("--config")
        .arg(config)
        .arg("events")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("run the binary");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub async fn the_events_command_lists_shows_and_replays(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.set_path_behavior("/other", Behavior::Status(500));
    let RelayFiles {
        dir, url, config, ..
    } = relay_files(&engine, &receiver).await;
    let app = spawn_app_at(&url, &receiver, &Env::new(), dir).await;

    let mut failed = Vec::new();
    for i in 0..3 {
        let body = box_payload_with_id(&format!("cli-{i}"));
        let (_, answer) = app.post_v2("4", &body, &box_headers(&body)).await;
        failed.push(answer["eventId"].as_str().unwrap().to_string());
    }
    for id in &failed {
        app.wait_for_status(id, Status::Failed).await;
    }

    let (ok, list, stderr) = events(&config, &["list", "--instance", "4", "--limit", "2"]).await;
    assert!(ok, "{stderr}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["eventId"], failed[2].as_str(), "newest first");
    assert_eq!(list[0]["status"], "failed");
    let cursor = stderr
        .lines()
        .find_map(|l| l.strip_prefix("more: --cursor "))
        .expect("the next page's cursor");
    let (_, rest, stderr) = events(&config, &["list", "--instance", "4", "--cursor", cursor]).await;
    assert_eq!(rest.as_array().unwrap().len(), 1);
    assert_eq!(rest[0]["eventId"], failed[0].as_str());
    assert!(!stderr.contains("more:"));

    let (ok, shown, _) = events(&config, &["show", &failed[0]]).await;
    assert!(ok);
    assert_eq!(shown["attempts"].as_array().unwrap().len(), 4);
    assert_eq!(shown["attempts"][0]["statusCode"], 500);
    let (ok, _, stderr) = events(&config, &["show", "no-such-event"]).await;
    assert!(!ok);
    assert!(stderr.contains("no event no-such-event"), "{stderr}");
    let (ok, _, stderr) = events(&config, &["list", "--instance", "4", "--status", "lost"]).await;
    assert!(!ok && stderr.contains("unknown status"), "{stderr}");

    // The consumer recovers; the command re-queues, the running relay delivers.
    receiver.set_path_behavior("/other", Behavior::Status(200));
    let (ok, one, _) = events(&config, &["redeliver", &failed[0]]).await;
    assert!(ok);
    assert_eq!(one["status"], "queued");
    app.wait_for_status(&failed[0], Status::Delivered).await;
    let (ok, bulk, _) = events(&config, &["redeliver", "--instance", "4"]).await;
    assert!(ok);
    assert_eq!(bulk["redelivered"], 2);
    for id in &failed {
        app.wait_for_status(id, Status::Delivered).await;
    }
    receiver.wait_for_all(&failed).await;
}

engine_tests!(the_events_command_lists_shows_and_replays,);
