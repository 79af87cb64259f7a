//! The real binary: SIGKILL between accept and delivery loses nothing; SIGTERM drains and
//! exits 0.

use std::collections::HashSet;

use webhook_relay::event::event_id;

use crate::helpers::*;

async fn send_to(relay: &RelayProcess, body: &[u8]) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new()
        .post(relay.url("/webhooks/box/1"))
        .body(body.to_vec());
    for (k, v) in box_headers(body) {
        req = req.header(k, v);
    }
    answer(req.send().await.expect("relay answers")).await
}

#[tokio::test]
async fn a_sigkill_between_accept_and_delivery_loses_nothing() {
    let receiver = Receiver::start().await;
    // The consumer hangs: accepted events are stored, some in flight, none delivered.
    receiver.set_path_behavior("/events", Behavior::Hang);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, test_config(&db, &receiver.url(""), "")).unwrap();
    let log = dir.path().join("relay.log");

    let mut relay = RelayProcess::start(&config, &log).await;
    let mut accepted = HashSet::new();
    for i in 0..20 {
        let (status, answer) = send_to(&relay, &box_payload_with_id(&format!("kill-{i}"))).await;
        assert_eq!(status, 200, "{answer}");
        accepted.insert(answer["eventId"].as_str().unwrap().to_string());
    }
    receiver.wait_for(1).await; // at least one is in flight when the process dies
    relay.signal("KILL");
    let status = relay.child.wait().await.unwrap();
    assert!(!status.success());
    assert_eq!(count_events(&db).await, 20);

    // The consumer recovers; the relay restarts on the same file and delivers everything.
    let healthy = Receiver::start().await;
    std::fs::write(&config, test_config(&db, &healthy.url(""), "")).unwrap();
    let mut relay = RelayProcess::start(&config, &log).await;
    let got = healthy
        .wait_until("every accepted event", |r| {
            let seen: HashSet<_> = r
                .iter()
                .filter_map(|x| x.header("elements-webhook-id"))
                .collect();
            accepted.iter().all(|id| seen.contains(id.as_str()))
        })
        .await;
    for i in 0..20 {
        assert!(accepted.contains(&event_id(1, &format!("kill-{i}"))));
    }
    for r in &got {
        let v = r.json();
        assert_eq!(
            v["message"]["eventId"],
            r.header("elements-webhook-id").unwrap()
        );
    }
    relay.signal("TERM");
    assert!(relay.child.wait().await.unwrap().success());
}

#[tokio::test]
async fn sigterm_drains_and_exits_zero() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, test_config(&db, &receiver.url(""), "")).unwrap();
    let log = dir.path().join("relay.log");
    let mut relay = RelayProcess::start(&config, &log).await;
    for i in 0..5 {
        let (status, _) = send_to(&relay, &box_payload_with_id(&format!("term-{i}"))).await;
        assert_eq!(status, 200);
    }
    relay.signal("TERM");
    let status = tokio::time::timeout(DEADLINE, relay.child.wait())
        .await
        .expect("exits within the deadline")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("shutdown complete"), "{text}");
}

#[tokio::test]
async fn debug_logs_never_contain_a_key_token_or_signature() {
    let receiver = Receiver::start().await;
    receiver.script([Behavior::Status(500)]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, test_config(&db, &receiver.url(""), "")).unwrap();
    let log = dir.path().join("relay.log");
    let mut relay =
        RelayProcess::start_with_env(&config, &log, &[("RELAY__LOG__LEVEL", "trace")]).await;
    let http = reqwest::Client::new();

    // Accepted V2 (delivered after one failure), refused V2, V1 accepted, V1 refused.
    let body = box_payload();
    let headers = box_headers(&body);
    let (status, _) = send_to(&relay, &body).await;
    assert_eq!(status, 200);
    let mut bad = http.post(relay.url("/webhooks/box/1")).body(body.clone());
    for (k, v) in &headers {
        bad = bad.header(
            k,
            if k == "box-signature-primary" {
                "AAAA"
            } else {
                v
            },
        );
    }
    bad.header("box-signature-secondary", "AAAA")
        .send()
        .await
        .unwrap();
    http.get(relay.url(&format!(
        "/webhooks/box/1/v1?token={V1_TOKEN}&event=uploaded&itemId=9"
    )))
    .send()
    .await
    .unwrap();
    http.get(relay.url("/webhooks/box/1/v1?token=guessed-token&event=uploaded"))
        .send()
        .await
        .unwrap();
    let got = receiver.wait_for(3).await;
    relay.signal("TERM");
    assert!(relay.child.wait().await.unwrap().success());

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() > 20, "trace logging produced output");
    let mut secrets: Vec<String> = vec![
        PRIMARY.into(),
        SECONDARY.into(),
        EVENT_KEY.into(),
        V1_TOKEN.into(),
        "guessed-token".into(),
    ];
    secrets.extend(
        headers
            .iter()
            .filter(|(k, _)| k.starts_with("box-signature-"))
            .filter(|(k, _)| k.ends_with("primary") || k.ends_with("secondary"))
            .map(|(_, v)| v.clone()),
    );
    secrets.extend(
        got.iter()
            .filter_map(|r| r.header("elements-webhook-signature"))
            .map(String::from),
    );
    assert!(
        text.contains("/webhooks/box/1/v1"),
        "request paths are logged"
    );
    for secret in secrets {
        assert!(
            !text.contains(&secret),
            "the log contains a secret: {secret}"
        );
    }
}
