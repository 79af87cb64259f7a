//! A stored row the relay did not write (an unknown status, tags that are not a list, a
//! configuration that is not JSON, an event without its body) is an error where it is read:
//! the admin API and the CLI answer an error, never a default; the relay logs it and counts
//! it in `relay_corrupt_rows_total`; and the rest of the store keeps working.

use reqwest::Method;
use serde_json::{json, Value};
use webhook_relay::config::Env;
use webhook_relay::store::{NewEvent, Status};

use crate::helpers::*;

/// Writes around the relay, as a damaged disk, a bad restore or a hand-made fix would. The
/// status CHECK constraint is set aside first, so an unknown status can be stored at all.
async fn write_raw(url: &str, statements: &[String]) {
    use sqlx::Connection;
    let sqlite = url.starts_with("sqlite");
    let set_aside = if sqlite {
        "PRAGMA ignore_check_constraints = ON"
    } else {
        "ALTER TABLE events DROP CONSTRAINT events_status_check"
    };
    let all = std::iter::once(set_aside).chain(statements.iter().map(String::as_str));
    if sqlite {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        for sql in all {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        for sql in all {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    }
}

/// `relay_corrupt_rows_total` as `/metrics` shows it.
async fn corrupt_rows(base: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("relay_corrupt_rows_total "))
        .unwrap_or_else(|| panic!("no relay_corrupt_rows_total in {text}"));
    line.rsplit_once(' ').unwrap().1.parse().unwrap()
}

/// An admin GET with valid credentials.
async fn admin_get(base: &str, path: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("authorization", admin_auth())
        .send()
        .await
        .unwrap();
    answer(res).await
}

/// Sends Box event `id` to instance 1 of `relay`; its `eventId`, once accepted.
async fn accepted(relay: &RelayProcess, id: &str) -> String {
    let body = box_payload_with_id(id);
    let mut req = reqwest::Client::new()
        .post(relay.url("/webhooks/box/1"))
        .body(body.clone());
    for (k, v) in box_headers(&body) {
        req = req.header(k, v);
    }
    let (status, answer) = answer(req.send().await.unwrap()).await;
    assert_eq!(status, 200, "{answer}");
    answer["eventId"].as_str().unwrap().to_string()
}

/// Polls the admin API until event `id` has `status`.
async fn wait_until(base: &str, id: &str, status: &str) {
    eventually(&format!("{id} is {status}"), || async {
        let (_, event) = admin_get(base, &format!("/instances/events/{id}")).await;
        match event["status"] == status {
            true => Ok(()),
            false => Err(event.to_string()),
        }
    })
    .await
}

pub async fn an_event_row_that_does_not_decode_is_an_error_logged_and_counted(engine: Engine) {
    let receiver = Receiver::start().await;
    let files = relay_files(&engine, &receiver).await;
    let mut relay = RelayProcess::start_with_env(&files.config, &files.log, &ADMIN_ON).await;
    let base = relay.url("");
    let mut ids = Vec::new();
    for name in ["odd-status", "no-body", "sound"] {
        ids.push(accepted(&relay, name).await);
    }
    for id in &ids {
        wait_until(&base, id, "delivered").await;
    }
    let (odd, bodiless, sound) = (&ids[0], &ids[1], &ids[2]);
    write_raw(
        &files.url,
        &[
            format!("UPDATE events SET status = 'archived' WHERE event_id = '{odd}'"),
            format!(
                "DELETE FROM event_bodies WHERE seq = \
                 (SELECT seq FROM events WHERE event_id = '{bodiless}')"
            ),
        ],
    )
    .await;
    assert_eq!(corrupt_rows(&base).await, 0);

    // The API answers an error, not `pending` or an empty body.
    for id in [odd, bodiless] {
        let (status, answer) = admin_get(&base, &format!("/instances/events/{id}")).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (503, Some("storage_unavailable"))
        );
    }
    let (status, _) = admin_get(&base, "/instances/1/events").await;
    assert_eq!(status, 503, "a page holding the odd row is an error too");
    assert_eq!(
        corrupt_rows(&base).await,
        3,
        "each read of a corrupt row counts"
    );

    // The CLI, beside the relay, says what does not decode.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-relay"))
        .arg("--config")
        .arg(&files.config)
        .args(["events", "show", odd])
        .env_remove("RUST_LOG")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("does not decode"), "{stderr}");
    assert!(
        stderr.contains("unknown event status \"archived\""),
        "{stderr}"
    );

    // The rest keeps working: the sound event reads, a new one is delivered.
    let (status, event) = admin_get(&base, &format!("/instances/events/{sound}")).await;
    assert_eq!((status, event["status"].as_str()), (200, Some("delivered")));
    let after = accepted(&relay, "after").await;
    receiver.wait_for_event(&after).await;

    relay.signal("TERM");
    assert!(relay.wait().await.success());
    let log = std::fs::read_to_string(&files.log).unwrap();
    assert!(log.contains("a stored row does not decode"), "{log}");
    assert!(
        log.contains(&format!("event {odd}")),
        "names the row: {log}"
    );
}

pub async fn an_instance_row_that_does_not_decode_is_an_error_not_a_default(engine: Engine) {
    let receiver = Receiver::start().await;
    let store_dir = tempfile::tempdir().unwrap(); // outlives the first relay
    let url = engine.fresh_url(store_dir.path()).await;
    let app = spawn_app_at(
        &url,
        &receiver,
        &admin_env(&[]),
        tempfile::tempdir().unwrap(),
    )
    .await;
    let mut ids = Vec::new();
    for name in ["Odd tags", "Odd configuration", "Sound"] {
        let created = app
            .create_instance(&instance_body(name, &receiver.url("/api")))
            .await;
        ids.push(created["id"].as_i64().unwrap());
    }
    let (tags, configuration, sound) = (ids[0], ids[1], ids[2]);
    // Changed behind the relay's back, then announced, as another replica would.
    write_raw(
        &url,
        &[
            format!("UPDATE instances SET tags = '{{\"not\": \"a list\"}}' WHERE id = {tags}"),
            format!("UPDATE instances SET configuration = '{{not json' WHERE id = {configuration}"),
            "UPDATE instances_meta SET revision = revision + 1".to_string(),
        ],
    )
    .await;

    // What reads the rows answers an error (a change is refused), not a default.
    for id in [tags, configuration] {
        let patch = json!({ "name": "renamed" });
        let path = format!("/instances/{id}");
        let (status, answer) = app.admin(Method::PATCH, &path, Some(&patch)).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (503, Some("storage_unavailable"))
        );
    }
    // The replica's refresh counts them too (each second); its last good view stays.
    assert!(corrupt_rows(&app.url("")).await >= 2);

    // The rest keeps working: the sound instance reads; the file's instance delivers.
    let (status, shown) = app
        .admin(Method::GET, &format!("/instances/{sound}"), None)
        .await;
    assert_eq!((status, &shown["tags"]), (200, &json!(["Docs"])));
    let (status, answer) = app.send(&box_payload()).await;
    assert_eq!(status, 200, "{answer}");
    app.wait_for_status(answer["eventId"].as_str().unwrap(), Status::Delivered)
        .await;
    app.stop().await;

    // A relay starting on the store refuses, naming the row, rather than starting without it.
    let config = test_config(&url, &receiver.url(""), "");
    let (config, instances) = webhook_relay::Config::from_toml(&config, &Env::new()).unwrap();
    let refused = webhook_relay::Application::build(config, instances).await;
    let message = refused
        .err()
        .expect("no start on a corrupt row")
        .to_string();
    assert!(message.contains("does not decode"), "{message}");
}

pub async fn a_claimed_event_without_its_body_is_failed_not_sent_empty(engine: Engine) {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    let app = spawn_app_at(&url, &receiver, &Env::new(), dir).await;
    // Stored for later (due in a second); its body row is lost before it is claimed.
    let event = NewEvent {
        event_id: "evt-without-body".into(),
        instance_id: 1,
        box_event_id: "box-without-body".into(),
        body: bytes::Bytes::from_static(b"{}").into(),
        received_at_ms: webhook_relay::clock::now_ms() + 1000,
        lease: None,
    };
    app.store.insert_batch(&[event]).await.unwrap();
    write_raw(
        &url,
        &["DELETE FROM event_bodies WHERE seq = \
           (SELECT seq FROM events WHERE event_id = 'evt-without-body')"
            .to_string()],
    )
    .await;

    let failed = eventually("the bodiless event is failed", || async {
        let failed = app.store.list_events(1, &[Status::Failed], None, 10).await;
        failed
            .unwrap()
            .pop()
            .ok_or_else(|| "not failed yet".to_string())
    })
    .await;
    assert_eq!(failed.event_id, "evt-without-body");
    let error = failed.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("body is missing"), "{error}");
    assert!(receiver.received().is_empty(), "nothing was sent");
    assert_eq!(corrupt_rows(&app.url("")).await, 1);

    // The rest keeps working.
    let (status, answer) = app.send(&box_payload()).await;
    assert_eq!(status, 200, "{answer}");
    app.wait_for_status(answer["eventId"].as_str().unwrap(), Status::Delivered)
        .await;
}

engine_tests!(
    an_event_row_that_does_not_decode_is_an_error_logged_and_counted,
    an_instance_row_that_does_not_decode_is_an_error_not_a_default,
    a_claimed_event_without_its_body_is_failed_not_sent_empty,
);
