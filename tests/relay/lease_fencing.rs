//! Outcome writes are fenced by the lease: a replica paused past its lease (a GC pause, a
//! stalled VM; here SIGSTOP) cannot overwrite the state of an event another replica took
//! over, so the event stays delivered and the consumer sees no extra attempt.

use std::time::Duration;

use crate::helpers::*;

/// Two replicas on one PostgreSQL database. A accepts an event and starts delivering it; the
/// consumer holds A's request and A is stopped (SIGSTOP) past its lease. B takes the event
/// over and delivers it slowly; A resumes meanwhile, its attempt times out, and it records a
/// retry. Without the fence that write would clear B's lease and make the event due again,
/// so a third attempt would follow; with it, A's outcome is dropped and counted.
#[tokio::test]
#[cfg_attr(
    not(relay_postgres),
    ignore = "set RELAY_TEST_POSTGRES_URL to run the PostgreSQL suite"
)]
async fn a_replica_paused_past_its_lease_cannot_undo_the_delivery_of_another() {
    let Some(engine) = Engine::postgres() else {
        return;
    };
    let receiver = Receiver::start().await;
    // A's attempt hangs; B's answers 200 after 4 s; anything after that would be a 3rd.
    receiver.script([Behavior::Hang, Behavior::Delay(4000)]);
    let files = relay_files(&engine, &receiver).await;
    let env = [
        // Lease = 2 × timeout = 10 s.
        ("RELAY__DELIVERY__TIMEOUT_MS", "5000"),
        ("RELAY__ADMIN__USER_SECRET", ADMIN_USER),
        ("RELAY__ADMIN__ORGANIZATION_SECRET", ADMIN_ORG),
    ];
    let (a_log, b_log) = (
        files.dir.path().join("a.log"),
        files.dir.path().join("b.log"),
    );
    let (mut a, mut b) = tokio::join!(
        RelayProcess::start_with_env(&files.config, &a_log, &env),
        RelayProcess::start_with_env(&files.config, &b_log, &env)
    );

    let body = box_payload_with_id("paused-replica");
    let mut req = reqwest::Client::new()
        .post(a.url("/webhooks/box/1"))
        .body(body.clone());
    for (k, v) in box_headers(&body) {
        req = req.header(k, v);
    }
    let (status, accepted) = answer(req.send().await.unwrap()).await;
    assert_eq!(
        (status, accepted["status"].as_str()),
        (200, Some("accepted"))
    );

    receiver.wait_for(1).await;
    a.signal("STOP");
    // Past A's lease, B claims the event and delivers it (slowly).
    tokio::time::timeout(Duration::from_secs(30), receiver.wait_for(2))
        .await
        .expect("B takes the event over once A's lease has expired");
    a.signal("CONT");
    // A's attempt times out now and A records a retry; B's answer comes 4 s after its
    // request. Wait until B has recorded the delivery, then longer than a retry would take.
    let event = eventually("B records the delivery", || async {
        let res = reqwest::Client::new()
            .get(b.url("/instances/1/events"))
            .header("authorization", admin_auth())
            .send()
            .await
            .unwrap();
        let (_, events) = answer(res).await;
        match events[0]["status"] == "delivered" {
            true => Ok(events[0].clone()),
            false => Err(events.to_string()),
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        receiver.received().len(),
        2,
        "the consumer saw A's attempt and B's, no third: {event}"
    );
    let res = reqwest::Client::new()
        .get(b.url("/instances/1/events"))
        .header("authorization", admin_auth())
        .send()
        .await
        .unwrap();
    let (_, events) = answer(res).await;
    assert_eq!(events[0]["status"], "delivered", "it stays delivered");
    let metrics = reqwest::get(a.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("relay_stale_outcomes_total 1"),
        "A counted its dropped outcome:\n{metrics}"
    );
    for relay in [&mut a, &mut b] {
        relay.signal("TERM");
        assert!(relay.wait().await.success());
    }
}

/// The store applies an outcome only under the lease it was made with, on both engines.
pub async fn an_outcome_under_a_lease_no_longer_held_is_dropped_and_counted(engine: Engine) {
    use std::sync::Arc;
    use webhook_relay::clock::now_ms;
    use webhook_relay::store::{AttemptOutcome, AttemptRecord, Lease, NewEvent, NextState, Status};
    let receiver = Receiver::start().await;
    let app = spawn_app(&engine, &receiver).await;
    let held = Lease {
        owner: Arc::from("the-holder"),
        until_ms: now_ms() + 600_000,
    };
    app.store
        .insert_batch(&[NewEvent {
            event_id: "fenced-event".into(),
            instance_id: 1,
            box_event_id: "fenced".into(),
            body: bytes::Bytes::from_static(b"{}").into(),
            received_at_ms: now_ms(),
            lease: Some(held.clone()),
        }])
        .await
        .unwrap();
    let outcome = |lease: Lease| AttemptOutcome {
        attempt: AttemptRecord {
            event_id: "fenced-event".into(),
            attempt: 1,
            at_ms: now_ms(),
            status_code: Some(200),
            error: None,
            duration_ms: 1,
        },
        next: NextState::Delivered,
        lease,
    };
    let stale = [
        outcome(Lease {
            owner: Arc::from("a-paused-replica"),
            until_ms: held.until_ms,
        }),
        outcome(Lease {
            owner: held.owner.clone(),
            until_ms: held.until_ms - 1,
        }),
    ];
    assert_eq!(app.store.record_attempts(&stale).await.unwrap(), 2);
    let detail = app
        .store
        .event_detail("fenced-event")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.summary.status, Status::Delivering, "unchanged");
    assert_eq!(
        app.store.record_attempts(&[outcome(held)]).await.unwrap(),
        0
    );
    let detail = app
        .store
        .event_detail("fenced-event")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.summary.status, Status::Delivered);
}

engine_tests!(an_outcome_under_a_lease_no_longer_held_is_dropped_and_counted);
