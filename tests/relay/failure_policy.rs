//! The failure policy (`delivery.failure_policy`, overridable per instance with
//! `notification.webhook.failure.policy`): under `queue`, an event that exhausts its retries
//! suspends its instance; later events are stored and held, not attempted, until
//! `POST /instances/{id}/resume`, which delivers them oldest first. The suspension survives a
//! restart and shows in the instance's answer and in `/metrics`. `retry` (the default)
//! never suspends.

use reqwest::Method;
use serde_json::json;
use webhook_relay::config::{Config, Env};
use webhook_relay::event::event_id;
use webhook_relay::store::Status;

use crate::helpers::*;

/// A relay whose every event fails for good at its first attempt, under `policy`.
fn env(policy: Option<&str>) -> Env {
    let mut extra = vec![
        ("RELAY__DELIVERY__MAX_ATTEMPTS", "1"),
        // One attempt at a time per instance: held events reach the consumer in order.
        ("RELAY__DELIVERY__PER_INSTANCE_CONCURRENCY", "1"),
    ];
    if let Some(p) = policy {
        extra.push(("RELAY__DELIVERY__FAILURE_POLICY", p));
    }
    admin_env(&extra)
}

async fn suspended(app: &TestApp, id: i64) -> bool {
    let (status, answer) = app
        .admin(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(status, 200, "{answer}");
    answer["suspended"]
        .as_bool()
        .expect("the answer says whether the instance is suspended")
}

async fn wait_suspended(app: &TestApp, id: i64) {
    eventually(&format!("instance {id} is suspended"), || async {
        if suspended(app, id).await {
            Ok(())
        } else {
            Err("not suspended".to_string())
        }
    })
    .await
}

/// The value of the metric line starting with `series` (0 when absent).
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

const SUSPENDED_GAUGE: &str = "relay_instances_suspended";
const SUSPENDED_COUNT: &str =
    "relay_instance_suspension_transitions_total{transition=\"suspended\"}";
const RESUMED_COUNT: &str = "relay_instance_suspension_transitions_total{transition=\"resumed\"}";

/// Sends Box event `box_id` to instance 1; it is stored (200).
async fn send_1(app: &TestApp, box_id: &str) -> String {
    let (status, answer) = app.send(&box_payload_with_id(box_id)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "accepted", "{answer}");
    event_id(1, box_id)
}

/// Sends Box event `box_id` to instance 4 (another consumer) and waits until it is delivered:
/// delivery went on meanwhile.
async fn delivered_on_4(app: &TestApp, box_id: &str) {
    let body = box_payload_with_id(box_id);
    let (status, answer) = app.post_v2("4", &body, &box_headers(&body)).await;
    assert_eq!(status, 200, "{answer}");
    app.wait_for_status(&event_id(4, box_id), Status::Delivered)
        .await;
}

fn received_ids(receiver: &Receiver, path: &str) -> Vec<String> {
    receiver
        .received()
        .iter()
        .filter(|r| r.path == path)
        .filter_map(|r| r.header("elements-webhook-id").map(str::to_string))
        .collect()
}

/// Suspends instance 1: its first event fails for good (the consumer answers 500).
async fn suspend_1(app: &TestApp, receiver: &Receiver) -> String {
    receiver.set_path_behavior("/events", Behavior::Status(500));
    let failed = send_1(app, "fails").await;
    assert_eq!(app.wait_for_status(&failed, Status::Failed).await, 1);
    wait_suspended(app, 1).await;
    receiver.set_path_behavior("/events", Behavior::Status(200));
    failed
}

pub async fn under_queue_a_failed_event_suspends_its_instance_and_later_events_wait_for_resume(
    engine: Engine,
) {
    let receiver = Receiver::start().await;
    let app = spawn_app_env(&engine, &receiver, &env(Some("queue"))).await;
    assert!(
        !suspended(&app, 1).await,
        "not suspended before any failure"
    );
    let failed = suspend_1(&app, &receiver).await;
    let page = app.metrics_text().await;
    assert_eq!(metric(&page, SUSPENDED_GAUGE), 1.0, "{page}");
    assert_eq!(metric(&page, SUSPENDED_COUNT), 1.0, "{page}");
    assert_eq!(metric(&page, RESUMED_COUNT), 0.0, "{page}");

    // Later events are accepted and stored, not attempted; other instances go on.
    let first = send_1(&app, "held-1").await;
    delivered_on_4(&app, "other-1").await; // also puts time between the two held events
    let second = send_1(&app, "held-2").await;
    delivered_on_4(&app, "other-2").await;
    for id in [&first, &second] {
        let e = app.event(id).await.expect("stored");
        assert_eq!((e.status, e.attempts), (Status::Pending, 0), "{id} is held");
    }
    assert_eq!(
        received_ids(&receiver, "/events"),
        vec![failed.clone()],
        "nothing of instance 1 was attempted after the failure"
    );
    assert!(suspended(&app, 1).await);

    // Resuming delivers what was held, oldest first; the failed event stays failed.
    let (status, answer) = app.admin(Method::POST, "/instances/1/resume", None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["suspended"], false, "{answer}");
    assert_eq!(answer["id"], 1, "{answer}");
    app.wait_for_status(&first, Status::Delivered).await;
    app.wait_for_status(&second, Status::Delivered).await;
    assert_eq!(
        received_ids(&receiver, "/events"),
        vec![failed.clone(), first, second],
        "held events in the order they arrived"
    );
    let e = app.event(&failed).await.unwrap();
    assert_eq!((e.status, e.attempts), (Status::Failed, 1));
    let page = app.metrics_text().await;
    assert_eq!(metric(&page, SUSPENDED_GAUGE), 0.0, "{page}");
    assert_eq!(metric(&page, SUSPENDED_COUNT), 1.0, "{page}");
    assert_eq!(metric(&page, RESUMED_COUNT), 1.0, "{page}");

    // Resuming again changes nothing (and counts nothing); an unknown instance is 404.
    let (status, answer) = app
        .admin(Method::POST, "/elements/api-v2/instances/1/resume", None)
        .await;
    assert_eq!((status, &answer["suspended"]), (200, &json!(false)));
    let (status, answer) = app.admin(Method::POST, "/instances/999/resume", None).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["code"], "not_found", "{answer}");
    let page = app.metrics_text().await;
    assert_eq!(metric(&page, RESUMED_COUNT), 1.0, "{page}");

    // A replay of the failed event delivers it now.
    let (status, answer) = app
        .admin(
            Method::POST,
            &format!("/instances/events/{failed}/redeliver"),
            None,
        )
        .await;
    assert!(status == 200 || status == 202, "{status} {answer}");
    app.wait_for_status(&failed, Status::Delivered).await;
}

pub async fn a_suspension_survives_a_restart(engine: Engine) {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    let env = env(Some("queue"));
    let app = spawn_app_at(&url, &receiver, &env, tempfile::tempdir().unwrap()).await;
    suspend_1(&app, &receiver).await;
    app.stop().await;

    let app = spawn_app_at(&url, &receiver, &env, tempfile::tempdir().unwrap()).await;
    assert!(
        suspended(&app, 1).await,
        "still suspended after the restart"
    );
    let page = app.metrics_text().await;
    assert_eq!(metric(&page, SUSPENDED_GAUGE), 1.0, "{page}");
    let held = send_1(&app, "after-restart").await;
    delivered_on_4(&app, "other").await;
    assert_eq!(app.event(&held).await.unwrap().status, Status::Pending);

    let (status, _) = app.admin(Method::POST, "/instances/1/resume", None).await;
    assert_eq!(status, 200);
    app.wait_for_status(&held, Status::Delivered).await;
}

/// `webhook-relay --config <config> instances resume <id>`, run as the real binary.
async fn resume_command(config: &std::path::Path, id: &str) -> std::process::Output {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-relay"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "instances",
            "resume",
            id,
        ])
        .env_remove("RELAY_CONFIG")
        .env_remove("RUST_LOG")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("the command exits within the deadline")
        .expect("run the binary")
}

pub async fn the_command_line_resumes_an_instance_beside_the_running_relay(engine: Engine) {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    let config = write_config(dir.path(), &url, &receiver);
    let app = spawn_app_at(
        &url,
        &receiver,
        &env(Some("queue")),
        tempfile::tempdir().unwrap(),
    )
    .await;
    suspend_1(&app, &receiver).await;
    let held = send_1(&app, "held").await;
    delivered_on_4(&app, "other").await;
    assert_eq!(app.event(&held).await.unwrap().status, Status::Pending);

    let out = resume_command(&config, "1").await;
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(
        printed,
        json!({ "id": 1, "resumed": true, "suspended": false })
    );
    // The running relay sees it and delivers what was held.
    app.wait_for_status(&held, Status::Delivered).await;
    assert!(!suspended(&app, 1).await);

    let again = resume_command(&config, "1").await;
    assert!(again.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(printed["resumed"], false, "not suspended: nothing to do");
    let unknown = resume_command(&config, "999").await;
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("no instance 999"), "{stderr}");
}

pub async fn the_retry_policy_is_the_default_and_never_suspends(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_app_env(&engine, &receiver, &env(None)).await;
    receiver.set_path_behavior("/events", Behavior::Status(500));
    let failed = send_1(&app, "fails").await;
    app.wait_for_status(&failed, Status::Failed).await;
    receiver.set_path_behavior("/events", Behavior::Status(200));
    let next = send_1(&app, "next").await;
    app.wait_for_status(&next, Status::Delivered).await;
    assert!(!suspended(&app, 1).await);
    let page = app.metrics_text().await;
    assert_eq!(metric(&page, SUSPENDED_GAUGE), 0.0, "{page}");
    assert_eq!(metric(&page, SUSPENDED_COUNT), 0.0, "{page}");
}

pub async fn an_instance_policy_wins_over_the_relay_setting(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.set_path_behavior("/api", Behavior::Status(500));
    receiver.set_path_behavior("/events", Behavior::Status(500));
    // The relay says retry; the API instance says queue.
    let app = spawn_app_env(&engine, &receiver, &env(Some("retry"))).await;
    let mut body = instance_body("Queued", &receiver.url("/api"));
    body["configuration"]["notification.webhook.failure.policy"] = json!("queue");
    let created = app.create_instance(&body).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["suspended"], false, "{created}");
    assert_eq!(
        created["configuration"]["notification.webhook.failure.policy"], "queue",
        "{created}"
    );
    assert!(
        created["warnings"].as_array().unwrap().is_empty(),
        "a known key: {created}"
    );

    let payload = box_payload_with_id("api-fails");
    let (status, answer) = app
        .post_v2(
            &id.to_string(),
            &payload,
            &box_headers_with_key(&payload, API_PRIMARY),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    app.wait_for_status(&event_id(id, "api-fails"), Status::Failed)
        .await;
    wait_suspended(&app, id).await;

    // Instance 1 follows the relay's retry: its failure suspends nothing.
    let failed = send_1(&app, "fails").await;
    app.wait_for_status(&failed, Status::Failed).await;
    assert!(!suspended(&app, 1).await);

    // The key changed back to retry: resumed, later failures suspend no more.
    let (status, answer) = app
        .admin(
            Method::PATCH,
            &format!("/instances/{id}/configuration/notification.webhook.failure.policy"),
            Some(&json!({ "propertyValue": "retry" })),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = app
        .admin(Method::POST, &format!("/instances/{id}/resume"), None)
        .await;
    assert_eq!(status, 200);
    let payload = box_payload_with_id("api-fails-again");
    app.post_v2(
        &id.to_string(),
        &payload,
        &box_headers_with_key(&payload, API_PRIMARY),
    )
    .await;
    app.wait_for_status(&event_id(id, "api-fails-again"), Status::Failed)
        .await;
    assert!(!suspended(&app, id).await);
}

pub async fn failure_policies_other_than_retry_or_queue_are_refused(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_app_env(&engine, &receiver, &env(None)).await;
    let mut body = instance_body("Bad", &receiver.url("/api"));
    body["configuration"]["notification.webhook.failure.policy"] = json!("drop");
    let (status, answer) = app.admin(Method::POST, "/instances", Some(&body)).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], "invalid_value", "{answer}");
    assert_eq!(
        answer["key"], "configuration.\"notification.webhook.failure.policy\"",
        "{answer}"
    );
    assert!(
        answer["detail"].as_str().unwrap().contains("\"queue\""),
        "{answer}"
    );

    body["configuration"]["notification.webhook.failure.policy"] = json!("queue");
    let created = app.create_instance(&body).await;
    let id = created["id"].as_i64().unwrap();
    for value in [json!("sometimes"), json!(3), json!(["queue"])] {
        let (status, answer) = app
            .admin(
                Method::PATCH,
                &format!("/instances/{id}/configuration/notification.webhook.failure.policy"),
                Some(&json!({ "propertyValue": value })),
            )
            .await;
        assert_eq!(status, 400, "{value}: {answer}");
        let patch = json!({ "configuration": { "notification.webhook.failure.policy": value } });
        let (status, answer) = app
            .admin(Method::PATCH, &format!("/instances/{id}"), Some(&patch))
            .await;
        assert_eq!(status, 400, "{value}: {answer}");
    }
    let (_, after) = app
        .admin(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(
        after["configuration"]["notification.webhook.failure.policy"], "queue",
        "nothing changed: {after}"
    );

    // The relay setting is checked when the configuration is read.
    let mut bad = Env::new();
    bad.insert("RELAY__DELIVERY__FAILURE_POLICY".into(), "drop".into());
    let text = test_config("sqlite://unused.db", "http://127.0.0.1:1", "");
    let error = Config::from_toml(&text, &bad)
        .expect_err("an unknown policy is refused")
        .to_string();
    assert!(error.contains("failure_policy"), "{error}");
    assert!(error.contains("queue"), "{error}");
}

engine_tests!(
    under_queue_a_failed_event_suspends_its_instance_and_later_events_wait_for_resume,
    a_suspension_survives_a_restart,
    the_command_line_resumes_an_instance_beside_the_running_relay,
    the_retry_policy_is_the_default_and_never_suspends,
    an_instance_policy_wins_over_the_relay_setting,
    failure_policies_other_than_retry_or_queue_are_refused,
);
