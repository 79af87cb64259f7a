//! Event-type selection: Cloud Elements' `event.metadata` (event types per Box object) and
//! `event.notification.triggers` (Box trigger names with `*`), each as JSON text or JSON,
//! through V2 and V1. A delivery outside the selection is verified, answered 200 `ignored`
//! with the reason, not stored, and counted; selected ones are delivered. Bad values: 400
//! naming the key.

use reqwest::Method;
use serde_json::{json, Value};
use webhook_relay::event::event_id;
use webhook_relay::store::Status;

use crate::helpers::*;

/// The example payload as Box event `id` with `trigger`.
fn payload(id: &str, trigger: &str) -> Vec<u8> {
    let text = String::from_utf8(box_payload_with_id(id)).unwrap();
    text.replacen(
        "\"trigger\": \"FILE.UPLOADED\"",
        &format!("\"trigger\": \"{trigger}\""),
        1,
    )
    .into_bytes()
}

/// An API instance delivering to the receiver's `/api`, with `configuration` added.
async fn instance_with(app: &TestApp, receiver: &Receiver, configuration: Value) -> i64 {
    let mut body = instance_body("Selective", &receiver.url("/api"));
    for (k, v) in configuration.as_object().unwrap() {
        body["configuration"][k] = v.clone();
    }
    let created = app.create_instance(&body).await;
    assert!(
        created["warnings"].as_array().unwrap().is_empty(),
        "{created}"
    );
    created["id"].as_i64().unwrap()
}

/// Sends a V2 delivery of `trigger`; returns Box's answer.
async fn send(app: &TestApp, id: i64, box_id: &str, trigger: &str) -> Value {
    let body = payload(box_id, trigger);
    let (status, answer) = app
        .post_v2(
            &id.to_string(),
            &body,
            &box_headers_with_key(&body, API_PRIMARY),
        )
        .await;
    assert_eq!(status, 200, "{trigger}: {answer}");
    answer
}

fn assert_ignored(answer: &Value) {
    assert_eq!(answer["status"], "ignored", "{answer}");
    assert!(
        answer["reason"].as_str().unwrap().contains("not selected"),
        "{answer}"
    );
}

async fn stored(app: &TestApp, id: i64) -> usize {
    app.store
        .list_events(id, &[], None, 100)
        .await
        .unwrap()
        .len()
}

fn ignored_count(page: &str) -> f64 {
    let series = "relay_events_ignored_total{reason=\"not_selected\"} ";
    page.lines()
        .find_map(|l| l.strip_prefix(series))
        .map_or(0.0, |v| v.parse().unwrap())
}

async fn set(app: &TestApp, id: i64, key: &str, value: Value) -> (u16, Value) {
    app.admin(
        Method::PATCH,
        &format!("/instances/{id}/configuration/{key}"),
        Some(&json!({ "propertyValue": value })),
    )
    .await
}

pub async fn event_metadata_selects_box_events_by_object_and_event_type(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    // As Cloud Elements' Box element writes it: a JSON object.
    let metadata = json!({"webhook": {"file": {"eventTypes": ["created", "deleted"]}}});
    let id = instance_with(&app, &receiver, json!({ "event.metadata": metadata })).await;

    let accepted = send(&app, id, "up", "FILE.UPLOADED").await;
    assert_eq!(accepted["status"], "accepted", "{accepted}");
    assert_eq!(
        send(&app, id, "trash", "FILE.TRASHED").await["status"],
        "accepted"
    );
    assert_ignored(&send(&app, id, "rename", "FILE.RENAMED").await);
    assert_ignored(&send(&app, id, "folder", "FOLDER.CREATED").await);
    app.wait_for_status(&event_id(id, "up"), Status::Delivered)
        .await;
    app.wait_for_status(&event_id(id, "trash"), Status::Delivered)
        .await;
    assert_eq!(
        stored(&app, id).await,
        2,
        "ignored deliveries are not stored"
    );
    assert_eq!(ignored_count(&app.metrics_text().await), 2.0);

    // As JSON text, through the configuration entry: now folders' created events too.
    let text = json!({"webhook": {"file": {"eventTypes": ["created"]},
                                  "folder": {"eventTypes": ["CREATED"]}}})
    .to_string();
    let (status, entry) = set(&app, id, "event.metadata", json!(text)).await;
    assert_eq!(status, 200, "{entry}");
    assert_eq!(
        send(&app, id, "folder-2", "FOLDER.CREATED").await["status"],
        "accepted"
    );
    assert_ignored(&send(&app, id, "trash-2", "FILE.TRASHED").await);
    app.wait_for_status(&event_id(id, "folder-2"), Status::Delivered)
        .await;
    let delivered: Vec<String> = receiver
        .received()
        .iter()
        .filter_map(|r| r.header("elements-webhook-id").map(str::to_string))
        .collect();
    assert_eq!(
        delivered.len(),
        3,
        "only selected events reach the consumer"
    );
}

pub async fn trigger_patterns_select_v2_and_v1_deliveries_in_both_forms(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let id = instance_with(
        &app,
        &receiver,
        json!({ "event.notification.triggers": "FILE.*, folder.deleted" }),
    )
    .await;
    assert_eq!(
        send(&app, id, "p", "FILE.PREVIEWED").await["status"],
        "accepted"
    );
    assert_eq!(
        send(&app, id, "d", "FOLDER.DELETED").await["status"],
        "accepted"
    );
    assert_ignored(&send(&app, id, "c", "FOLDER.CREATED").await);

    // V1 callbacks are judged as the V2 trigger they stand for.
    let v1 = |query: &str| {
        let url = app.url(&format!(
            "/webhooks/box/{id}/v1?token={API_V1_TOKEN}&{query}"
        ));
        let http = app.http.clone();
        async move { answer(http.get(url).send().await.unwrap()).await }
    };
    let (status, a) = v1("event=uploaded&itemId=1&itemType=file").await;
    assert_eq!((status, &a["status"]), (200, &json!("accepted")), "{a}");
    let (status, a) = v1("event_type=created&item_id=2&item_type=folder").await;
    assert_eq!(status, 200);
    assert_ignored(&a);

    // A JSON array, as the value itself.
    let (status, entry) = set(
        &app,
        id,
        "event.notification.triggers",
        json!(["COMMENT.*"]),
    )
    .await;
    assert_eq!(status, 200, "{entry}");
    assert_ignored(&send(&app, id, "u", "FILE.UPLOADED").await);
    assert_eq!(
        send(&app, id, "m", "COMMENT.CREATED").await["status"],
        "accepted"
    );
    for box_id in ["p", "d", "m"] {
        app.wait_for_status(&event_id(id, box_id), Status::Delivered)
            .await;
    }
    assert_eq!(
        stored(&app, id).await,
        4,
        "three V2 and one V1 event stored"
    );
    assert_eq!(ignored_count(&app.metrics_text().await), 3.0);

    // Without a selection, every event is delivered again.
    let removal = json!({ "configuration": { "event.notification.triggers": null } });
    let (status, answer) = app
        .admin(Method::PATCH, &format!("/instances/{id}"), Some(&removal))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        send(&app, id, "u2", "FILE.UPLOADED").await["status"],
        "accepted"
    );
}

pub async fn selections_that_name_nothing_box_sends_are_refused(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    for (key, value, says) in [
        (
            "event.notification.triggers",
            json!("FILE.UPLODED"),
            "FILE.UPLOADED",
        ),
        (
            "event.notification.triggers",
            json!(["FILE.*", 3]),
            "strings",
        ),
        ("event.notification.triggers", json!(" , "), "empty"),
        ("event.metadata", json!("{not json"), "not JSON"),
        (
            "event.metadata",
            json!({"file": {"eventTypes": ["created"]}}),
            "webhook",
        ),
        (
            "event.metadata",
            json!({"webhook": {"files": {"eventTypes": []}}}),
            "`file`",
        ),
        (
            "event.metadata",
            json!({"webhook": {"file": {"eventTypes": ["moved"]}}}),
            "moved",
        ),
    ] {
        let mut body = instance_body("Bad", &receiver.url("/api"));
        body["configuration"][key] = value.clone();
        let (status, answer) = app.admin(Method::POST, "/instances", Some(&body)).await;
        assert_eq!(status, 400, "{value}: {answer}");
        assert_eq!(answer["code"], "invalid_value", "{answer}");
        assert_eq!(
            answer["key"],
            format!("configuration.\"{key}\""),
            "{answer}"
        );
        assert!(
            answer["detail"].as_str().unwrap().contains(says),
            "{answer}"
        );
    }
    let id = instance_with(
        &app,
        &receiver,
        json!({ "event.notification.triggers": "FILE.*" }),
    )
    .await;
    let (status, answer) = set(&app, id, "event.notification.triggers", json!("FOLDR.*")).await;
    assert_eq!(status, 400, "{answer}");
    let (_, after) = app
        .admin(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(
        after["configuration"]["event.notification.triggers"], "FILE.*",
        "nothing changed: {after}"
    );
}

engine_tests!(
    event_metadata_selects_box_events_by_object_and_event_type,
    trigger_patterns_select_v2_and_v1_deliveries_in_both_forms,
    selections_that_name_nothing_box_sends_are_refused,
);
