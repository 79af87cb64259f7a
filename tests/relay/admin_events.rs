//! Admin API, events: the log pages newest first with a stable cursor, an event's detail
//! lists every attempt, single and bulk replays end in delivery with the same bytes, and
//! Standard Webhooks signatures verify.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::json;
use webhook_relay::event::sign::standard_signature;
use webhook_relay::secret::StandardKey;
use webhook_relay::store::Status;

use crate::helpers::*;

/// Sends `n` distinct events to instance 1 and waits for their delivery; their ids, in order.
async fn send_delivered(app: &TestApp, receiver: &Receiver, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let (status, answer) = app
            .send(&box_payload_with_id(&format!("{prefix}-{i}")))
            .await;
        assert_eq!(status, 200, "{answer}");
        ids.push(answer["eventId"].as_str().unwrap().to_string());
    }
    receiver.wait_for_all(&ids).await;
    for id in &ids {
        app.wait_for_status(id, Status::Delivered).await;
    }
    ids
}

pub async fn the_event_log_pages_newest_first_with_a_stable_cursor(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let mut ids = send_delivered(&app, &receiver, "log", 5).await;
    ids.reverse(); // newest first

    let (status, headers, first) = app
        .admin_full(Method::GET, "/instances/1/events?limit=2", None)
        .await;
    assert_eq!(status, 200, "{first}");
    let cursor = headers["next-cursor"].to_str().unwrap().to_string();
    // An event arriving while paging does not shift the pages that follow.
    send_delivered(&app, &receiver, "late", 1).await;
    let mut seen: Vec<String> = first
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventId"].as_str().unwrap().to_string())
        .collect();
    let mut next = Some(cursor);
    let mut pages = 1;
    while let Some(cursor) = next {
        let (status, headers, page) = app
            .admin_full(
                Method::GET,
                &format!("/instances/1/events?limit=2&cursor={cursor}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page.as_array()
                .unwrap()
                .iter()
                .map(|e| e["eventId"].as_str().unwrap().to_string()),
        );
        next = headers
            .get("next-cursor")
            .map(|v| v.to_str().unwrap().to_string());
        pages += 1;
    }
    assert_eq!(seen, ids, "every event once, newest first");
    assert_eq!(pages, 3);

    let (_, all) = app.admin(Method::GET, "/instances/1/events", None).await;
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 6);
    let e = &all[1];
    assert_eq!(e["status"], "delivered");
    assert_eq!(e["elementsStatus"], "NOTIFIED");
    assert_eq!(e["attemptCount"], 1);
    assert_eq!(e["instanceId"], 1);
    assert_eq!(e["boxEventId"], "log-4");
    assert!(e["receivedAt"].as_str().unwrap().ends_with('Z'));
    assert!(e["finishedAt"].is_string());

    for (filter, expected) in [
        ("delivered", 6),
        ("NOTIFIED", 6),
        ("failed", 0),
        ("pending", 0),
        ("RECEIVED", 0),
    ] {
        let (status, list) = app
            .admin(
                Method::GET,
                &format!("/instances/1/events?status={filter}"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(list.as_array().unwrap().len(), expected, "{filter}");
    }
    for (query, key) in [
        ("status=lost", "status"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=x", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=-5", "cursor"),
    ] {
        let (status, answer) = app
            .admin(Method::GET, &format!("/instances/1/events?{query}"), None)
            .await;
        assert_eq!(
            (status, answer["key"].as_str()),
            (400, Some(key)),
            "{query}"
        );
    }
    let (status, _) = app.admin(Method::GET, "/instances/777/events", None).await;
    assert_eq!(status, 404);
    let (_, other) = app.admin(Method::GET, "/instances/4/events", None).await;
    assert_eq!(other, json!([]), "another instance's log is its own");
}

pub async fn an_event_detail_lists_every_attempt(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.script([Behavior::Status(500), Behavior::Status(200)]);
    let app = spawn_admin_app(&engine, &receiver).await;
    let (_, accepted) = app.send(&box_payload()).await;
    let id = accepted["eventId"].as_str().unwrap();
    app.wait_for_status(id, Status::Delivered).await;

    let (status, detail) = app
        .admin(Method::GET, &format!("/instances/events/{id}"), None)
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["eventId"], id);
    assert_eq!(detail["status"], "delivered");
    assert_eq!(detail["attemptCount"], 2);
    let attempts = detail["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["statusCode"], 500);
    assert_eq!(attempts[1]["statusCode"], 200);
    assert_eq!(attempts[1]["error"], json!(null));
    assert!(attempts[0]["at"].as_str().unwrap() <= attempts[1]["at"].as_str().unwrap());
    assert!(attempts.iter().all(|a| a["durationMs"].is_i64()));
    assert_eq!(detail["body"]["message"]["eventId"], id);
    assert_eq!(
        detail["body"],
        receiver.received()[1].json(),
        "the body as delivered"
    );

    let (status, _) = app
        .admin(Method::GET, "/instances/events/no-such-event", None)
        .await;
    assert_eq!(status, 404);
}

pub async fn a_replayed_event_is_delivered_again_with_the_same_bytes(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let ids = send_delivered(&app, &receiver, "replay", 1).await;
    let id = &ids[0];
    let (status, answer) = app
        .admin(
            Method::POST,
            &format!("/instances/events/{id}/redeliver"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "queued");

    let got = receiver
        .wait_until("the replay", |r| {
            r.iter()
                .filter(|x| x.header("elements-webhook-id") == Some(id))
                .count()
                == 2
        })
        .await;
    assert_eq!(got[0].body, got[1].body, "identical bytes");
    assert_eq!(
        got[0].header("elements-webhook-signature"),
        got[1].header("elements-webhook-signature")
    );
    app.wait_for_status(id, Status::Delivered).await;
    let (_, detail) = app
        .admin(Method::GET, &format!("/instances/events/{id}"), None)
        .await;
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 2);

    let (status, _) = app
        .admin(Method::POST, "/instances/events/nope/redeliver", None)
        .await;
    assert_eq!(status, 404);
}

pub async fn an_event_being_delivered_cannot_be_replayed(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.set_path_behavior("/events", Behavior::Hang);
    let app = spawn_admin_app(&engine, &receiver).await;
    let (_, accepted) = app.send(&box_payload()).await;
    let id = accepted["eventId"].as_str().unwrap();
    receiver.wait_for_event(id).await; // the attempt is in flight
    let (status, answer) = app
        .admin(
            Method::POST,
            &format!("/instances/events/{id}/redeliver"),
            None,
        )
        .await;
    assert_eq!((status, answer["code"].as_str()), (409, Some("in_flight")));
}

pub async fn failed_events_of_an_instance_are_replayed_in_bulk(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.set_path_behavior("/other", Behavior::Status(500));
    let app = spawn_admin_app(&engine, &receiver).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let body = box_payload_with_id(&format!("bulk-{i}"));
        let (status, answer) = app.post_v2("4", &body, &box_headers(&body)).await;
        assert_eq!(status, 200, "{answer}");
        ids.push(answer["eventId"].as_str().unwrap().to_string());
    }
    for id in &ids {
        app.wait_for_status(id, Status::Failed).await;
    }
    // A delivered event of the same instance is left alone.
    receiver.set_path_behavior("/other", Behavior::Status(200));
    let body = box_payload_with_id("bulk-ok");
    let (_, ok) = app.post_v2("4", &body, &box_headers(&body)).await;
    let ok_id = ok["eventId"].as_str().unwrap().to_string();
    app.wait_for_status(&ok_id, Status::Delivered).await;

    let (status, answer) = app
        .admin(
            Method::POST,
            "/instances/4/events/redeliver?status=failed",
            None,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["redelivered"], 3);
    for id in &ids {
        let attempts = app.wait_for_status(id, Status::Delivered).await;
        assert_eq!(attempts, 1, "a fresh schedule");
    }
    let delivered: HashSet<_> = receiver
        .received()
        .iter()
        .filter(|r| r.path == "/other")
        .filter_map(|r| r.header("elements-webhook-id").map(String::from))
        .collect();
    assert!(ids.iter().all(|id| delivered.contains(id)));
    let ok_tries = receiver
        .received()
        .iter()
        .filter(|r| r.header("elements-webhook-id") == Some(ok_id.as_str()))
        .count();
    assert_eq!(ok_tries, 1, "the delivered event was not replayed");
    let (_, again) = app
        .admin(Method::POST, "/instances/4/events/redeliver", None)
        .await;
    assert_eq!(again["redelivered"], 0, "nothing failed any more");
    let (status, _) = app
        .admin(
            Method::POST,
            "/instances/4/events/redeliver?status=pending",
            None,
        )
        .await;
    assert_eq!(status, 400);
}

pub async fn standard_webhooks_headers_verify(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let mut body = instance_body("Standard", &receiver.url("/standard"));
    body["configuration"]["event.notification.standard.secret"] = json!(API_STANDARD_SECRET);
    let created = app.create_instance(&body).await;
    assert_eq!(
        created["configuration"]["event.notification.standard.secret"],
        "********"
    );
    let id = created["id"].as_i64().unwrap().to_string();
    let payload = box_payload();
    let (_, accepted) = app
        .post_v2(&id, &payload, &box_headers_with_key(&payload, API_PRIMARY))
        .await;
    let event_id = accepted["eventId"].as_str().unwrap();
    let got = receiver.wait_for_event(event_id).await;
    let r = &got[0];
    assert_eq!(r.header("webhook-id"), Some(event_id));
    let timestamp: i64 = r.header("webhook-timestamp").unwrap().parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    let key = StandardKey::parse(API_STANDARD_SECRET).unwrap();
    assert_eq!(
        r.header("webhook-signature"),
        Some(standard_signature(key.bytes(), event_id, timestamp, &r.body).as_str())
    );
    // Instances without the secret get no Standard Webhooks headers.
    send_delivered(&app, &receiver, "plain", 1).await;
    let plain = receiver.received();
    let plain = plain.iter().find(|r| r.path == "/events").unwrap();
    assert!(plain.header("webhook-signature").is_none());
}

engine_tests!(
    the_event_log_pages_newest_first_with_a_stable_cursor,
    an_event_detail_lists_every_attempt,
    a_replayed_event_is_delivered_again_with_the_same_bytes,
    an_event_being_delivered_cannot_be_replayed,
    failed_events_of_an_instance_are_replayed_in_bulk,
    standard_webhooks_headers_verify,
);
