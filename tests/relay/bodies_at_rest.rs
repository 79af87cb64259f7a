//! Bodies at rest: stored compressed, yet delivered, shown in the event log and replayed
//! byte for byte; and a body stored before compression (as the relay wrote it until
//! migration 0012) still reads and delivers.

use reqwest::Method;
use webhook_relay::store::{NewEvent, Status};

use crate::helpers::*;

/// Runs one statement with a blob and an event id bound, beside the relay.
async fn with_blob(url: &str, sql: &str, blob: &[u8], event_id: &str) -> Vec<Vec<u8>> {
    use sqlx::Connection;
    if url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        let query = sqlx::query_scalar(sql).bind(blob).bind(event_id);
        query.fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let query = sqlx::query_scalar(sql).bind(blob).bind(event_id);
        query.fetch_all(&mut conn).await.unwrap()
    }
}

/// The first request that delivered `event_id`.
fn first_of(got: Vec<Received>, event_id: &str) -> Received {
    let mine = got
        .into_iter()
        .find(|r| r.header("elements-webhook-id") == Some(event_id));
    mine.expect("the event was delivered")
}

/// The body row of `event_id` exactly as stored.
async fn stored_body(url: &str, event_id: &str) -> Vec<u8> {
    let sql = "SELECT b.body FROM event_bodies b JOIN events e ON e.seq = b.seq \
               WHERE e.event_id = $2 AND $1 IS NOT NULL";
    let mut rows = with_blob(url, sql, b"", event_id).await;
    rows.pop().expect("the event has a body row")
}

pub async fn a_compressed_body_is_delivered_logged_and_replayed_byte_for_byte(engine: Engine) {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    let app = spawn_app_at(&url, &receiver, &admin_env(&[]), dir).await;
    let (status, answer) = app.send(&box_payload_with_id("at-rest-1")).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["eventId"].as_str().unwrap().to_string();
    let first = first_of(receiver.wait_for_event(&id).await, &id);
    app.wait_for_status(&id, Status::Delivered).await;

    // Stored in far fewer bytes than it has, behind the format's marker…
    let stored = stored_body(&url, &id).await;
    assert_eq!(stored[0], webhook_relay::store::body::ZSTD_DICT_V1);
    assert!(
        stored.len() * 3 < first.body.len(),
        "{} bytes stored for a {}-byte body",
        stored.len(),
        first.body.len()
    );
    // …yet the event log holds the very bytes delivered…
    let detail = app.store.event_detail(&id).await.unwrap().unwrap();
    assert_eq!(detail.body, first.body);
    // …and a replay, read from the store, sends them again.
    let path = format!("/instances/events/{id}/redeliver");
    let (status, answer) = app.admin(Method::POST, &path, None).await;
    assert_eq!(status, 200, "{answer}");
    let got = receiver
        .wait_until("the replay", |r| {
            let mine = r
                .iter()
                .filter(|x| x.header("elements-webhook-id") == Some(&id));
            mine.count() == 2
        })
        .await;
    let sent: Vec<_> = got
        .iter()
        .filter(|x| x.header("elements-webhook-id") == Some(&id))
        .collect();
    assert_eq!(sent[1].body, first.body, "the replay sends the same bytes");
}

pub async fn a_body_stored_before_compression_still_reads_and_delivers(engine: Engine) {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    let app = spawn_app_at(&url, &receiver, &admin_env(&[]), dir).await;
    // Stored for later (due in a second), then its body row rewritten as the relay wrote
    // bodies before compression: the JSON itself. Migration 0012 leaves such rows alone.
    let event = NewEvent {
        event_id: "evt-stored-plain".into(),
        instance_id: 1,
        box_event_id: "box-stored-plain".into(),
        body: bytes::Bytes::from_static(b"{\"placeholder\":true}").into(),
        received_at_ms: webhook_relay::clock::now_ms() + 1000,
        lease: None,
    };
    app.store.insert_batch(&[event]).await.unwrap();
    let plain = br#"{"severity":"medium","message":{"eventId":"evt-stored-plain","raw":{}}}"#;
    let sql = "UPDATE event_bodies SET body = $1 WHERE seq = \
               (SELECT seq FROM events WHERE event_id = $2) RETURNING body";
    assert_eq!(
        with_blob(&url, sql, plain, "evt-stored-plain").await.len(),
        1
    );
    assert_eq!(stored_body(&url, "evt-stored-plain").await, plain);

    let detail = app.store.event_detail("evt-stored-plain").await.unwrap();
    assert_eq!(&detail.unwrap().body[..], plain, "the event log reads it");
    let got = receiver.wait_for_event("evt-stored-plain").await;
    let got = first_of(got, "evt-stored-plain");
    assert_eq!(&got.body[..], plain, "delivered as stored");
    app.wait_for_status("evt-stored-plain", Status::Delivered)
        .await;
    let (status, shown) = app
        .admin(Method::GET, "/instances/events/evt-stored-plain", None)
        .await;
    assert_eq!((status, &shown["status"]), (200, &"delivered".into()));
}

pub async fn a_body_that_does_not_decompress_is_failed_not_sent(engine: Engine) {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    let app = spawn_app_at(&url, &receiver, &admin_env(&[]), dir).await;
    let event = NewEvent {
        event_id: "evt-damaged".into(),
        instance_id: 1,
        box_event_id: "box-damaged".into(),
        body: bytes::Bytes::from_static(b"{\"placeholder\":true}").into(),
        received_at_ms: webhook_relay::clock::now_ms() + 1000,
        lease: None,
    };
    app.store.insert_batch(&[event]).await.unwrap();
    // The format's marker, then bytes that are no zstd frame (a damaged disk).
    let damaged = [
        webhook_relay::store::body::ZSTD_DICT_V1,
        0x28,
        0xb5,
        0x00,
        0x13,
    ];
    let sql = "UPDATE event_bodies SET body = $1 WHERE seq = \
               (SELECT seq FROM events WHERE event_id = $2) RETURNING body";
    assert_eq!(with_blob(&url, sql, &damaged, "evt-damaged").await.len(), 1);

    let (status, answer) = app
        .admin(Method::GET, "/instances/events/evt-damaged", None)
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("storage_unavailable"))
    );
    // Its detail cannot be read (the body is part of it): the log's list shows it failed.
    let failed = eventually("the damaged event is failed", || async {
        let failed = app.store.list_events(1, &[Status::Failed], None, 10).await;
        failed
            .unwrap()
            .pop()
            .ok_or_else(|| "not failed yet".to_string())
    })
    .await;
    assert_eq!(failed.event_id, "evt-damaged");
    let error = failed.last_error.unwrap_or_default();
    assert!(error.contains("does not decompress"), "{error}");
    assert!(receiver.received().is_empty(), "nothing was sent");
}

engine_tests!(
    a_compressed_body_is_delivered_logged_and_replayed_byte_for_byte,
    a_body_stored_before_compression_still_reads_and_delivers,
    a_body_that_does_not_decompress_is_failed_not_sent,
);
