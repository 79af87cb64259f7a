//! Cloud Elements' compatibility surface, events: `GET /instances/events` lists every
//! instance's events newest first, `pageSize` at a time, the next page named by
//! `Elements-Next-Page-Token` and asked for with `nextPage`; `GET /instances/{id}/events[/
//! {eventId}]`; each event `{id, eventDate, status, providerData}` with Box's payload as a
//! string and a status among Cloud Elements' five.

use reqwest::Method;
use serde_json::Value;
use webhook_relay::store::Status;

use crate::helpers::*;

const CE: &str = "/elements/api-v2";
const STATUSES: [&str; 5] = ["NEW", "RECEIVED", "DISPATCHED", "CONSUMED", "NOTIFIED"];

/// Sends a distinct Box event to config instance `instance`; its eventId once delivered.
async fn delivered(app: &TestApp, instance: &str, box_id: &str) -> String {
    let body = box_payload_with_id(box_id);
    let (status, answer) = app.post_v2(instance, &body, &box_headers(&body)).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["eventId"].as_str().unwrap().to_string();
    app.wait_for_status(&id, Status::Delivered).await;
    id
}

fn assert_event_shape(event: &Value) {
    assert!(event["id"].is_string(), "{event}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(event["eventDate"].as_str().unwrap()).is_ok(),
        "{event}"
    );
    assert!(
        STATUSES.contains(&event["status"].as_str().unwrap()),
        "{event}"
    );
    assert!(event["providerData"].is_string(), "{event}");
}

pub async fn every_instances_events_page_with_page_size_and_next_page(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let mut sent = Vec::new();
    for (instance, box_id) in [
        ("1", "a1"),
        ("4", "b1"),
        ("1", "a2"),
        ("4", "b2"),
        ("1", "a3"),
    ] {
        sent.push(delivered(&app, instance, box_id).await);
    }
    sent.reverse(); // newest first

    let mut listed = Vec::new();
    let mut path = format!("{CE}/instances/events?pageSize=2");
    let mut pages = 0;
    loop {
        let (status, headers, page) = app.admin_full(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let page = page.as_array().unwrap().clone();
        assert!(page.len() <= 2);
        for event in &page {
            assert_event_shape(event);
            assert_eq!(event["status"], "NOTIFIED");
            listed.push(event["id"].as_str().unwrap().to_string());
        }
        match headers.get("elements-next-page-token") {
            Some(token) => {
                path = format!(
                    "{CE}/instances/events?pageSize=2&nextPage={}",
                    token.to_str().unwrap()
                )
            }
            None => break,
        }
    }
    assert_eq!(
        listed, sent,
        "every instance's events, newest first, each once"
    );
    assert_eq!(pages, 3);

    // One instance's list, and one event, with Box's payload as a string.
    let (status, own) = app
        .admin(Method::GET, &format!("{CE}/instances/4/events"), None)
        .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = own
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![sent[1].as_str(), sent[3].as_str()]);
    let (status, event) = app
        .admin(
            Method::GET,
            &format!("{CE}/instances/4/events/{}", sent[1]),
            None,
        )
        .await;
    assert_eq!(status, 200, "{event}");
    assert_event_shape(&event);
    assert_eq!(event["id"], sent[1].as_str());
    let provider: Value = serde_json::from_str(event["providerData"].as_str().unwrap()).unwrap();
    let payload: Value = serde_json::from_slice(&box_payload_with_id("b2")).unwrap();
    assert_eq!(provider, payload);

    // Another instance's event is not found through this one; the root keeps its shape.
    let (status, error) = app
        .admin(
            Method::GET,
            &format!("{CE}/instances/4/events/{}", sent[0]),
            None,
        )
        .await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    assert!(error["requestId"].is_string());
    let (_, root) = app.admin(Method::GET, "/instances/4/events", None).await;
    assert_eq!(root[0]["eventId"], sent[1].as_str());
    assert!(root[0].get("providerData").is_none());

    // The relay's own event routes still answer under the prefix (they fall through).
    let (status, detail) = app
        .admin(
            Method::GET,
            &format!("{CE}/instances/events/{}", sent[0]),
            None,
        )
        .await;
    assert_eq!(
        (status, detail["eventId"].as_str()),
        (200, Some(sent[0].as_str()))
    );
    let (status, replay) = app
        .admin(
            Method::POST,
            &format!("{CE}/instances/4/events/redeliver?status=delivered"),
            None,
        )
        .await;
    assert_eq!(
        (status, replay["redelivered"].as_u64()),
        (200, Some(2)),
        "{replay}"
    );

    // Wrong paging values are 400 naming the parameter.
    for (query, key) in [
        ("pageSize=0", "pageSize"),
        ("pageSize=501", "pageSize"),
        ("nextPage=x", "nextPage"),
    ] {
        let (status, error) = app
            .admin(Method::GET, &format!("{CE}/instances/events?{query}"), None)
            .await;
        assert_eq!((status, error["key"].as_str()), (400, Some(key)), "{query}");
        assert_eq!(error["message"], error["detail"]);
    }
    let (status, _) = app
        .admin(Method::GET, &format!("{CE}/instances/999/events"), None)
        .await;
    assert_eq!(status, 404);
}

pub async fn an_event_that_exhausted_its_retries_is_consumed(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.set_path_behavior("/down", Behavior::Status(500));
    let app = spawn_admin_app(&engine, &receiver).await;
    let created = app
        .create_instance(&instance_body("Down", &receiver.url("/down")))
        .await;
    let id = created["id"].as_i64().unwrap();
    let body = box_payload_with_id("down-1");
    let (status, answer) = app
        .post_v2(
            &id.to_string(),
            &body,
            &box_headers_with_key(&body, API_PRIMARY),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let event_id = answer["eventId"].as_str().unwrap();
    app.wait_for_status(event_id, Status::Failed).await;
    let (status, event) = app
        .admin(
            Method::GET,
            &format!("{CE}/instances/{id}/events/{event_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{event}");
    assert_eq!(event["status"], "CONSUMED");
    assert_eq!(event["relayStatus"], "failed");
}

engine_tests!(
    every_instances_events_page_with_page_size_and_next_page,
    an_event_that_exhausted_its_retries_is_consumed,
);
