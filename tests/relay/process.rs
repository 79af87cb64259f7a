//! The real binary: SIGKILL between accept and delivery loses nothing; SIGTERM drains and
//! exits 0; logs hold no secret. On PostgreSQL: two replicas share the work and survive
//! one's death, and the relay rides out a database outage.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use webhook_relay::event::event_id;
use webhook_relay::store::Status;

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

/// Prints a figure for the closing notes, whatever the capture settings.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "REPORT {line}");
}

pub async fn a_sigkill_between_accept_and_delivery_loses_nothing(engine: Engine) {
    let receiver = Receiver::start().await;
    // The consumer hangs: accepted events are stored, some in flight, none delivered.
    receiver.set_path_behavior("/events", Behavior::Hang);
    let RelayFiles {
        dir,
        url,
        config,
        log,
    } = relay_files(&engine, &receiver).await;

    let mut relay = RelayProcess::start(&config, &log).await;
    let mut accepted = HashSet::new();
    for i in 0..20 {
        let (status, answer) = send_to(&relay, &box_payload_with_id(&format!("kill-{i}"))).await;
        assert_eq!(status, 200, "{answer}");
        accepted.insert(answer["eventId"].as_str().unwrap().to_string());
    }
    receiver.wait_for(1).await; // at least one is in flight when the process dies
    relay.signal("KILL");
    let status = relay.wait().await;
    assert!(!status.success());

    // The consumer recovers; the relay restarts on the same store and delivers everything.
    let healthy = Receiver::start().await;
    let config = write_config(dir.path(), &url, &healthy);
    let mut relay = RelayProcess::start(&config, &log).await;
    let got = healthy.wait_for_all(&accepted).await;
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
    assert!(relay.wait().await.success());
    let store = webhook_relay::store::Store::open(&url).await.unwrap();
    assert_eq!(store.queue_stats().await.unwrap().counts.delivered, 20);
}

pub async fn sigterm_drains_and_exits_zero(engine: Engine) {
    let receiver = Receiver::start().await;
    let RelayFiles {
        dir: _dir,
        config,
        log,
        url,
    } = relay_files(&engine, &receiver).await;
    let mut relay = RelayProcess::start(&config, &log).await;
    for i in 0..5 {
        let (status, _) = send_to(&relay, &box_payload_with_id(&format!("term-{i}"))).await;
        assert_eq!(status, 200);
    }
    relay.signal("TERM");
    let status = tokio::time::timeout(DEADLINE, relay.wait())
        .await
        .expect("exits within the deadline");
    assert_eq!(status.code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("shutdown complete"), "{text}");
    let store = webhook_relay::store::Store::open(&url).await.unwrap();
    let counts = store.queue_stats().await.unwrap().counts;
    assert_eq!(counts.delivering, 0, "no lease is left behind: {counts:?}");
    assert_eq!(counts.pending + counts.delivered, 5);
}

pub async fn debug_logs_never_contain_a_key_token_or_signature(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.script([Behavior::Status(500)]);
    let RelayFiles {
        dir: _dir,
        config,
        log,
        ..
    } = relay_files(&engine, &receiver).await;
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
    assert!(relay.wait().await.success());

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() > 20, "trace logging produced output");
    assert!(
        text.contains("/webhooks/box/1/v1"),
        "request paths are logged"
    );
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
            .filter(|(k, _)| k == "box-signature-primary" || k == "box-signature-secondary")
            .map(|(_, v)| v.clone()),
    );
    secrets.extend(
        got.iter()
            .filter_map(|r| r.header("elements-webhook-signature"))
            .map(String::from),
    );
    for secret in secrets {
        assert!(
            !text.contains(&secret),
            "the log contains a secret: {secret}"
        );
    }
}

engine_tests!(
    a_sigkill_between_accept_and_delivery_loses_nothing,
    sigterm_drains_and_exits_zero,
    debug_logs_never_contain_a_key_token_or_signature,
);

/// Two replicas on one PostgreSQL database behind a (simulated) load balancer; one is
/// SIGKILLed mid-stream. Every event answered 2xx is delivered; only events the dead
/// replica held may arrive twice.
#[tokio::test]
#[cfg_attr(
    not(relay_postgres),
    ignore = "set RELAY_TEST_POSTGRES_URL to run the PostgreSQL suite"
)]
async fn postgres_two_replicas_survive_one_being_killed() {
    let Some(engine) = Engine::postgres() else {
        return;
    };
    let receiver = Receiver::start().await;
    receiver.set_default(Behavior::Delay(20));
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    let config = write_config(dir.path(), &url, &receiver);
    // Both start at once on an empty database: migrations must not race.
    let (a_log, b_log) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let (mut a, mut b) = tokio::join!(
        RelayProcess::start(&config, &a_log),
        RelayProcess::start(&config, &b_log)
    );

    const SENT: usize = 300;
    let mut accepted_by: HashMap<String, char> = HashMap::new();
    let mut b_alive = true;
    for i in 0..SENT {
        if i == SENT / 2 {
            b.signal("KILL");
            b.wait().await;
            b_alive = false;
        }
        let body = box_payload_with_id(&format!("replica-{i}"));
        // The load balancer: alternate; a replica that does not answer gets skipped.
        let mut targets = if i % 2 == 0 {
            vec![('a', &a), ('b', &b)]
        } else {
            vec![('b', &b), ('a', &a)]
        };
        if !b_alive {
            targets.retain(|(name, _)| *name == 'a');
        }
        for (name, relay) in targets {
            let mut req = reqwest::Client::new()
                .post(relay.url("/webhooks/box/1"))
                .body(body.clone());
            for (k, v) in box_headers(&body) {
                req = req.header(k, v);
            }
            if let Ok(res) = req.send().await {
                let (status, answer) = answer(res).await;
                if status == 200 {
                    assert_eq!(answer["status"], "accepted", "{answer}");
                    accepted_by.insert(answer["eventId"].as_str().unwrap().to_string(), name);
                    break;
                }
            }
        }
        // Box retries land anywhere: the other replica must see the same event as a duplicate.
        if i == 10 {
            let (status, answer) = send_to(&a, &box_payload_with_id("replica-9")).await;
            assert_eq!(
                (status, answer["status"].as_str()),
                (200, Some("duplicate"))
            );
            let (status, answer) = send_to(&b, &box_payload_with_id("replica-10")).await;
            assert_eq!(
                (status, answer["status"].as_str()),
                (200, Some("duplicate"))
            );
        }
    }
    assert_eq!(
        accepted_by.len(),
        SENT,
        "the surviving replica accepts everything"
    );
    let got = receiver.wait_for_all(accepted_by.keys()).await;
    let mut times: HashMap<String, usize> = HashMap::new();
    for r in &got {
        let id = r.header("elements-webhook-id").unwrap().to_string();
        assert_eq!(r.json()["message"]["eventId"], id.as_str());
        *times.entry(id).or_default() += 1;
    }
    let duplicates: usize = times.values().map(|n| n - 1).sum();
    for (id, n) in &times {
        if *n > 1 {
            assert_eq!(
                accepted_by.get(id),
                Some(&'b'),
                "only the dead replica's events may repeat"
            );
        }
    }
    let by_b = accepted_by.values().filter(|r| **r == 'b').count();
    report(&format!(
        "two replicas: sent {SENT}, accepted {} (by the killed replica {by_b}), delivered {} distinct, {} deliveries, duplicates {duplicates}",
        accepted_by.len(),
        times.len(),
        got.len()
    ));
    a.signal("TERM");
    assert!(a.wait().await.success());
}

/// PostgreSQL stops mid-stream and starts again: ingest answers 503 meanwhile, readiness
/// says not ready, nothing accepted is lost, and delivery resumes with no restart.
#[tokio::test]
#[cfg_attr(
    not(relay_postgres),
    ignore = "set RELAY_TEST_POSTGRES_URL to run the PostgreSQL suite"
)]
async fn postgres_outage_is_503_and_loses_nothing() {
    if Engine::postgres().is_none() {
        return;
    }
    let cluster = PgCluster::start();
    let url = fresh_database(&cluster.url).await;
    let receiver = Receiver::start().await;
    receiver.set_default(Behavior::Delay(100));
    let app = spawn_app_at(
        &url,
        &receiver,
        &Default::default(),
        tempfile::tempdir().unwrap(),
    )
    .await;

    let mut accepted = HashSet::new();
    for i in 0..40 {
        let (status, a) = app
            .send(&box_payload_with_id(&format!("outage-a-{i}")))
            .await;
        assert_eq!(status, 200, "{a}");
        accepted.insert(a["eventId"].as_str().unwrap().to_string());
    }
    cluster.down();
    let mut refused = 0;
    for i in 0..10 {
        let (status, a) = app
            .send(&box_payload_with_id(&format!("outage-b-{i}")))
            .await;
        assert_eq!(status, 503, "while the database is down: {a}");
        assert_eq!(a["code"], "storage_unavailable");
        refused += 1;
    }
    let (ready, _) = answer(app.http.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(ready, 503);

    cluster.up();
    eventually("ready again once the database is back", || async {
        match answer(app.http.get(app.url("/readyz")).send().await.unwrap()).await {
            (200, _) => Ok(()),
            (status, body) => Err(format!("{status} {body}")),
        }
    })
    .await;
    for i in 0..40 {
        let (status, a) = app
            .send(&box_payload_with_id(&format!("outage-c-{i}")))
            .await;
        assert_eq!(status, 200, "{a}");
        accepted.insert(a["eventId"].as_str().unwrap().to_string());
    }
    let got = receiver.wait_for_all(&accepted).await;
    for id in &accepted {
        app.wait_for_status(id, Status::Delivered).await;
    }
    let distinct: HashSet<_> = got
        .iter()
        .filter_map(|r| r.header("elements-webhook-id"))
        .collect();
    report(&format!(
        "postgres outage: sent {}, accepted {}, refused with 503 {refused}, delivered {} distinct, duplicates {}",
        accepted.len() + refused,
        accepted.len(),
        distinct.len(),
        got.len() - distinct.len()
    ));
    app.stop().await;
}
