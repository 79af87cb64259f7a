//! `/metrics`: the Prometheus text exposition moves as webhooks arrive and events flow.

use std::collections::HashMap;

use webhook_relay::store::Status;

use crate::helpers::*;

/// Samples by `name{labels}`.
async fn scrape(app: &TestApp) -> HashMap<String, f64> {
    let res = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

fn get(samples: &HashMap<String, f64>, key: &str) -> f64 {
    *samples.get(key).unwrap_or_else(|| {
        panic!(
            "no sample {key} in {:#?}",
            samples.keys().collect::<Vec<_>>()
        )
    })
}

pub async fn metrics_move_as_events_flow(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.set_path_behavior("/other", Behavior::Hang);
    let app = spawn_app(&engine, &receiver).await;
    let before = scrape(&app).await;
    assert_eq!(get(&before, "relay_events{status=\"pending\"}"), 0.0);
    assert_eq!(get(&before, "relay_oldest_pending_event_age_seconds"), 0.0);
    assert!(!before
        .keys()
        .any(|k| k.starts_with("relay_webhooks_received_total")));

    let body = box_payload();
    let (_, accepted) = app.send(&body).await;
    let id = accepted["eventId"].as_str().unwrap().to_string();
    app.send(&body).await; // duplicate
    let mut bad = box_headers(&body);
    bad.retain(|(k, _)| k != "box-signature-secondary");
    for (k, v) in bad.iter_mut() {
        if k == "box-signature-primary" {
            *v = "AAAA".into();
        }
    }
    app.post_v2("1", &body, &bad).await; // invalid signature
    app.post_v2("999", &body, &box_headers(&body)).await; // unknown instance
    app.post_v2("2", &body, &box_headers(&body)).await; // ignored
    app.http
        .get(app.url("/webhooks/box/1/v1?token=wrong&event=uploaded"))
        .send()
        .await
        .unwrap();
    app.wait_for_status(&id, Status::Delivered).await;
    // One event stuck in flight at a hanging consumer.
    let other = box_payload_with_id("metrics-other");
    app.post_v2("4", &other, &box_headers(&other)).await;
    receiver
        .wait_until("the hanging attempt", |r| {
            r.iter().any(|x| x.path == "/other")
        })
        .await;

    let after = scrape(&app).await;
    for (key, value) in [
        (
            "relay_webhooks_received_total{instance=\"1\",outcome=\"accepted\"}",
            1.0,
        ),
        (
            "relay_webhooks_received_total{instance=\"1\",outcome=\"duplicate\"}",
            1.0,
        ),
        (
            "relay_webhooks_received_total{instance=\"1\",outcome=\"invalid_signature\"}",
            1.0,
        ),
        (
            "relay_webhooks_received_total{instance=\"1\",outcome=\"invalid_token\"}",
            1.0,
        ),
        (
            "relay_webhooks_received_total{instance=\"unknown\",outcome=\"not_found\"}",
            1.0,
        ),
        (
            "relay_webhooks_received_total{instance=\"2\",outcome=\"ignored\"}",
            1.0,
        ),
        (
            "relay_webhooks_received_total{instance=\"4\",outcome=\"accepted\"}",
            1.0,
        ),
        (
            "relay_deliveries_total{instance=\"1\",outcome=\"delivered\"}",
            1.0,
        ),
        ("relay_delivery_duration_seconds_count", 1.0),
        ("relay_events{status=\"delivered\"}", 1.0),
        ("relay_events{status=\"delivering\"}", 1.0),
        ("relay_events{status=\"failed\"}", 0.0),
    ] {
        assert_eq!(get(&after, key), value, "{key}");
    }
    assert!(get(&after, "relay_oldest_pending_event_age_seconds") > 0.0);
    assert!(get(&after, "relay_commit_batch_size_count{writer=\"ingest\"}") >= 1.0);
    assert!(get(&after, "relay_commit_batch_size_sum{writer=\"ingest\"}") >= 2.0);
    assert!(get(&after, "relay_commit_batch_size_count{writer=\"outcomes\"}") >= 1.0);
}

engine_tests!(metrics_move_as_events_flow,);
