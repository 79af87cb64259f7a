//! Event analytics (`/instances/events/analytics[/instances|/accounts]`): events accepted,
//! delivered and failed per interval and instance, with latency percentiles, read from the
//! store; an event lands in the interval of its receipt; bad ranges, intervals and foreign
//! accounts are refused in Cloud Elements' `{requestId, message}` shape.

use chrono::{SecondsFormat, TimeZone, Utc};
use reqwest::Method;
use serde_json::Value;
use webhook_relay::store::{NewEvent, Status};

use crate::helpers::*;

const ROUTES: [&str; 3] = [
    "/instances/events/analytics",
    "/instances/events/analytics/instances",
    "/instances/events/analytics/accounts",
];

fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Sums `field` over every bucket's records of instance `id` (or of every record).
fn record_sum(buckets: &Value, id: Option<i64>, field: &str) -> u64 {
    buckets
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["records"].as_array().unwrap().iter())
        .filter(|r| id.is_none_or(|id| r["instanceId"] == id))
        .map(|r| r[field].as_u64().unwrap())
        .sum()
}

fn bucket_sum(buckets: &Value, field: &str) -> u64 {
    let buckets = buckets.as_array().unwrap();
    buckets.iter().map(|b| b[field].as_u64().unwrap()).sum()
}

pub async fn analytics_count_each_instances_accepted_delivered_and_failed_events(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.set_path_behavior("/events", Behavior::Delay(40));
    receiver.set_path_behavior("/other", Behavior::Status(500));
    let app = spawn_admin_app(&engine, &receiver).await;
    let mut delivered = Vec::new();
    for i in 0..3 {
        let (status, answer) = app.send(&box_payload_with_id(&format!("an-{i}"))).await;
        assert_eq!(status, 200, "{answer}");
        delivered.push(answer["eventId"].as_str().unwrap().to_string());
    }
    let body = box_payload_with_id("an-fails");
    let (status, answer) = app.post_v2("4", &body, &box_headers(&body)).await;
    assert_eq!(status, 200, "{answer}");
    let failed = answer["eventId"].as_str().unwrap().to_string();
    for id in &delivered {
        app.wait_for_status(id, Status::Delivered).await;
    }
    app.wait_for_status(&failed, Status::Failed).await;

    // One hour by minute, ending a minute from now: 61 intervals.
    let now = Utc::now().timestamp_millis();
    let range = format!(
        "from={}&to={}&interval=minute",
        rfc3339(now - 59 * 60_000),
        rfc3339(now + 60_000)
    );
    for route in ROUTES {
        let (status, buckets) = app
            .admin(Method::GET, &format!("{route}?{range}"), None)
            .await;
        assert_eq!(status, 200, "{route}: {buckets}");
        assert_eq!(buckets.as_array().unwrap().len(), 61, "{route}");
        assert_eq!(bucket_sum(&buckets, "count"), 4, "{route}: {buckets}");
        assert_eq!(bucket_sum(&buckets, "total"), 4, "{route}");
        assert_eq!(bucket_sum(&buckets, "success"), 3, "{route}");
        assert_eq!(bucket_sum(&buckets, "failed"), 1, "{route}");
        assert_eq!(record_sum(&buckets, None, "count"), 4, "{route}");
        let first = &buckets[0];
        assert!(first["timestamp"].as_str().unwrap().ends_with(":00.000Z"));
    }
    let (_, by_instance) = app
        .admin(
            Method::GET,
            &format!("/instances/events/analytics/instances?{range}"),
            None,
        )
        .await;
    assert_eq!(record_sum(&by_instance, Some(1), "success"), 3);
    assert_eq!(record_sum(&by_instance, Some(4), "failed"), 1);
    assert_eq!(record_sum(&by_instance, Some(4), "success"), 0);
    // The receiver takes 40 ms to answer instance 1: no latency can be below that.
    let latencies: Vec<(i64, i64)> = by_instance
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["records"].as_array().unwrap().iter())
        .filter(|r| r["instanceId"] == 1 && r["success"].as_u64().unwrap() > 0)
        .map(|r| {
            let p50 = r["latencyP50Ms"].as_i64().unwrap();
            (p50, r["latencyP99Ms"].as_i64().unwrap())
        })
        .collect();
    assert!(!latencies.is_empty(), "{by_instance}");
    for (p50, p99) in latencies {
        assert!(40 <= p50 && p50 <= p99, "p50 {p50}, p99 {p99}");
    }

    let (_, by_account) = app
        .admin(
            Method::GET,
            &format!("/instances/events/analytics/accounts?{range}"),
            None,
        )
        .await;
    let accounts: Vec<&Value> = by_account
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["records"].as_array().unwrap().iter())
        .collect();
    assert!(accounts.iter().all(|r| r["accountId"] == 1), "{by_account}");
}

pub async fn an_event_counts_in_the_interval_it_was_received(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let hour = 3_600_000;
    let now = Utc::now().timestamp_millis();
    let received = now - 3 * hour;
    let event = NewEvent {
        event_id: "analytics-earlier".into(),
        instance_id: 4,
        box_event_id: "analytics-earlier".into(),
        body: bytes::Bytes::from_static(b"{}").into(),
        received_at_ms: received,
        lease: None,
    };
    app.store.insert_batch(&[event]).await.unwrap();

    let path = format!(
        "/instances/events/analytics?from={}&to={now}&interval=hour",
        now - 5 * hour
    );
    let (status, buckets) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{buckets}");
    let buckets = buckets.as_array().unwrap();
    assert_eq!(buckets.len(), 6);
    let hour_of_receipt = rfc3339(received / hour * hour);
    let counted: Vec<(&str, u64)> = buckets
        .iter()
        .filter(|b| b["count"].as_u64().unwrap() > 0)
        .map(|b| {
            (
                b["timestamp"].as_str().unwrap(),
                b["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counted, vec![(hour_of_receipt.as_str(), 1)]);
    assert_eq!(buckets[2]["records"][0]["instanceId"], 4);

    // A range that ends before it is received does not count it.
    let path = format!(
        "/instances/events/analytics?from={}&to={}&interval=hour",
        now - 5 * hour,
        received
    );
    let (_, buckets) = app.admin(Method::GET, &path, None).await;
    assert_eq!(bucket_sum(&buckets, "count"), 0, "{buckets}");
}

pub async fn bad_ranges_intervals_and_accounts_are_refused_as_cloud_elements_does(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let now = Utc::now().timestamp_millis();
    let backwards = format!(
        "from={}&to={}&interval=minute",
        rfc3339(now - 3_600_000),
        rfc3339(now - 7_200_000)
    );
    let cases = [
        (backwards.as_str(), 400, Some("to")),
        ("interval=second", 400, Some("interval")),
        (
            "from=2024-01-01T00:00:00Z&interval=minute",
            400,
            Some("interval"),
        ),
        ("from=yesterday", 400, Some("from")),
        ("accountIds[]=0", 403, None),
        ("accountIds%5B%5D=1&accountIds%5B%5D=2", 403, None),
    ];
    for base in ["", "/elements/api-v2"] {
        for route in ROUTES {
            for (query, code, key) in &cases {
                let path = format!("{base}{route}?{query}");
                let (status, body) = app.admin(Method::GET, &path, None).await;
                assert_eq!(status, *code, "{path}: {body}");
                assert!(
                    body["requestId"].as_str().is_some_and(|r| r.len() >= 16),
                    "{body}"
                );
                assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
                assert_eq!(body["message"], body["detail"]);
                assert_eq!(body["key"].as_str(), *key, "{path}: {body}");
            }
            let path = format!("{base}{route}?accountIds[]=1&interval=day");
            let (status, body) = app.admin(Method::GET, &path, None).await;
            assert_eq!(status, 200, "{path}: {body}");
            let res = app.http.get(app.url(&path)).send().await.unwrap();
            assert_eq!(res.status(), 401, "{path} without credentials");
        }
    }
}

engine_tests!(
    analytics_count_each_instances_accepted_delivered_and_failed_events,
    an_event_counts_in_the_interval_it_was_received,
    bad_ranges_intervals_and_accounts_are_refused_as_cloud_elements_does,
);
