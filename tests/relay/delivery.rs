//! Delivery: retries until the consumer recovers, identical bytes each time; 410 and
//! `max_attempts` end in `failed`; no redirects; private destinations refused; a slow
//! consumer does not hold up another instance.

use std::collections::HashSet;

use webhook_relay::config::Env;
use webhook_relay::event::event_id;
use webhook_relay::event::sign::verify_elements_signature;
use webhook_relay::store::Status;

use crate::helpers::*;

pub async fn a_failing_consumer_gets_the_same_event_and_bytes_once_it_recovers(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.script([
        Behavior::Status(500),
        Behavior::Status(503),
        Behavior::Status(200),
    ]);
    let app = spawn_app(&engine, &receiver).await;
    let (status, answer) = app.send(&box_payload()).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["eventId"].as_str().unwrap().to_string();

    let got = receiver.wait_for(3).await;
    let attempts = app.wait_for_status(&id, Status::Delivered).await;
    assert_eq!(attempts, 3);
    for r in &got {
        assert_eq!(r.header("elements-webhook-id"), Some(id.as_str()));
        assert_eq!(r.body, got[0].body, "every attempt sends identical bytes");
        assert_eq!(
            r.header("elements-webhook-signature"),
            got[0].header("elements-webhook-signature")
        );
        assert!(verify_elements_signature(
            EVENT_KEY,
            &r.body,
            r.header("elements-webhook-signature").unwrap()
        ));
    }
}

pub async fn gone_stops_retries_at_once(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.script([Behavior::Status(410)]);
    let app = spawn_app(&engine, &receiver).await;
    let (_, answer) = app.send(&box_payload()).await;
    let id = answer["eventId"].as_str().unwrap();
    let attempts = app.wait_for_status(id, Status::Failed).await;
    assert_eq!(attempts, 1);
    // A later event is delivered normally, and the failed one was not tried again.
    let marker_id = event_id(1, "after-410");
    app.send(&box_payload_with_id("after-410")).await;
    app.wait_for_status(&marker_id, Status::Delivered).await;
    let tries = receiver
        .received()
        .iter()
        .filter(|r| r.header("elements-webhook-id") == Some(id))
        .count();
    assert_eq!(tries, 1);
}

pub async fn after_max_attempts_the_event_is_failed_and_kept(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.set_default(Behavior::Status(500));
    let app = spawn_app(&engine, &receiver).await;
    let (_, answer) = app.send(&box_payload()).await;
    let id = answer["eventId"].as_str().unwrap();
    let attempts = app.wait_for_status(id, Status::Failed).await;
    assert_eq!(attempts, 4, "max_attempts = 4 in the test config");
    assert_eq!(receiver.received().len(), 4);
    assert_eq!(app.stored_events().await, 1);
}

pub async fn redirects_are_not_followed(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.script([Behavior::Redirect(302, receiver.url("/elsewhere"))]);
    let app = spawn_app(&engine, &receiver).await;
    let (_, answer) = app.send(&box_payload()).await;
    let id = answer["eventId"].as_str().unwrap();
    let attempts = app.wait_for_status(id, Status::Delivered).await;
    assert_eq!(attempts, 2, "the 302 counts as a failed attempt");
    let paths: Vec<_> = receiver.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/events", "/events"]);
}

pub async fn private_destinations_are_refused_unless_allowed(engine: Engine) {
    let receiver = Receiver::start().await;
    let env: Env = [(
        "RELAY__DELIVERY__ALLOW_PRIVATE_DESTINATIONS".to_string(),
        "false".to_string(),
    )]
    .into_iter()
    .collect();
    let app = spawn_app_env(&engine, &receiver, &env).await;
    let (status, answer) = app.send(&box_payload()).await;
    assert_eq!(status, 200);
    let id = answer["eventId"].as_str().unwrap();
    let attempts = app.wait_for_status(id, Status::Failed).await;
    assert_eq!(attempts, 4);
    assert!(
        receiver.received().is_empty(),
        "nothing may reach 127.0.0.1"
    );
    let event = app.event(id).await.unwrap();
    assert!(
        event
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("destination refused"),
        "{:?}",
        event.last_error
    );
}

pub async fn a_slow_consumer_does_not_hold_up_another_instance(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.set_path_behavior("/events", Behavior::Hang);
    let app = spawn_app(&engine, &receiver).await;
    // Instance 1's consumer hangs: more events than its concurrency (2) are stuck.
    for i in 0..6 {
        let (status, _) = app.send(&box_payload_with_id(&format!("slow-{i}"))).await;
        assert_eq!(status, 200);
    }
    receiver.wait_for(2).await;
    // Instance 4's consumer is healthy and gets its event now.
    let body = box_payload_with_id("fast-1");
    let (status, _) = app.post_v2("4", &body, &box_headers(&body)).await;
    assert_eq!(status, 200);
    let fast_id = event_id(4, "fast-1");
    let got = receiver.wait_for_event(&fast_id).await;
    let slow_paths: HashSet<_> = got
        .iter()
        .take_while(|r| r.header("elements-webhook-id") != Some(fast_id.as_str()))
        .filter(|r| r.path == "/events")
        .map(|r| r.header("elements-webhook-id").unwrap().to_string())
        .collect();
    assert!(
        slow_paths.len() <= 2,
        "per-instance concurrency is 2, saw {}",
        slow_paths.len()
    );
}

pub async fn a_consumer_that_times_out_is_retried(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.script([Behavior::Hang]); // longer than delivery.timeout_ms (2 s here)
    let app = spawn_app(&engine, &receiver).await;
    let (_, answer) = app.send(&box_payload()).await;
    let id = answer["eventId"].as_str().unwrap();
    let attempts = app.wait_for_status(id, Status::Delivered).await;
    assert_eq!(attempts, 2);
    assert_eq!(receiver.received().len(), 2);
}

pub async fn an_unreachable_consumer_is_retried_until_max_attempts(engine: Engine) {
    // A port nothing listens on: every attempt is a connect error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    let app = spawn_app_to(&url, &format!("http://127.0.0.1:{port}"), &Env::new(), dir).await;
    let (status, answer) = app.send(&box_payload()).await;
    assert_eq!(status, 200);
    let id = answer["eventId"].as_str().unwrap();
    assert_eq!(app.wait_for_status(id, Status::Failed).await, 4);
    let error = app.event(id).await.unwrap().last_error.unwrap_or_default();
    assert!(error.contains("connect"), "{error}");
}

pub async fn retry_after_is_honoured(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.script([Behavior::RetryAfter(503, 1)]);
    let app = spawn_app(&engine, &receiver).await;
    let (_, answer) = app.send(&box_payload()).await;
    let id = answer["eventId"].as_str().unwrap();
    app.wait_for_status(id, Status::Delivered).await;
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    // Without Retry-After the test schedule would retry after ~50 ms.
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= std::time::Duration::from_millis(900),
        "retried after {gap:?}"
    );
}

engine_tests!(
    a_consumer_that_times_out_is_retried,
    an_unreachable_consumer_is_retried_until_max_attempts,
    retry_after_is_honoured,
    a_failing_consumer_gets_the_same_event_and_bytes_once_it_recovers,
    gone_stops_retries_at_once,
    after_max_attempts_the_event_is_failed_and_kept,
    redirects_are_not_followed,
    private_destinations_are_refused_unless_allowed,
    a_slow_consumer_does_not_hold_up_another_instance,
);
