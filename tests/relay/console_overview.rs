//! The console's Overview: the last hour's and last day's events accepted, delivered and
//! failed, in total and per instance, drawn as SVG charts, and the backlog with the oldest
//! pending event's age; read from the store (both engines, over HTTP), and in a real browser.

use chrono::Utc;
use webhook_relay::store::{Lease, NewEvent, Status};

use crate::helpers::browser::{Browser, ConsoleHttp};
use crate::helpers::*;

/// Three events delivered by instance 1 and one failed by instance 4.
async fn traffic(app: &TestApp, receiver: &Receiver) {
    receiver.set_path_behavior("/other", Behavior::Status(500));
    let mut ids = Vec::new();
    for i in 0..3 {
        let (status, answer) = app.send(&box_payload_with_id(&format!("ov-{i}"))).await;
        assert_eq!(status, 200, "{answer}");
        ids.push(answer["eventId"].as_str().unwrap().to_string());
    }
    let body = box_payload_with_id("ov-fails");
    let (status, answer) = app.post_v2("4", &body, &box_headers(&body)).await;
    assert_eq!(status, 200, "{answer}");
    for id in &ids {
        app.wait_for_status(id, Status::Delivered).await;
    }
    let failed = answer["eventId"].as_str().unwrap();
    app.wait_for_status(failed, Status::Failed).await;
}

pub async fn the_overview_counts_events_per_instance_and_shows_the_backlog(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    traffic(&app, &receiver).await;
    // An event received two hours ago, held by another replica's lease for the next hour:
    // the backlog's oldest.
    let now = Utc::now().timestamp_millis();
    let held = NewEvent {
        event_id: "overview-held".into(),
        instance_id: 1,
        box_event_id: "overview-held".into(),
        body: bytes::Bytes::from_static(b"{}").into(),
        received_at_ms: now - 2 * 3_600_000 - 60_000,
        lease: Some(Lease {
            owner: "another-replica".into(),
            until_ms: now + 3_600_000,
        }),
    };
    app.store.insert_batch(&[held]).await.unwrap();

    let console = ConsoleHttp::sign_in(&app.url("")).await;
    let (status, page) = console.get("/console").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<h2 id=\"backlog\">Backlog</h2>"), "{page}");
    assert!(page.contains("<dt>Pending</dt><dd>1</dd>"), "{page}");
    assert!(
        page.contains("<dt>Oldest pending</dt><dd>2 h 1 min</dd>"),
        "{page}"
    );
    // The last hour, in total (the first totals after the backlog's).
    let hour =
        &page[page.find("id=\"span-minute\"").unwrap()..page.find("id=\"span-hour\"").unwrap()];
    assert!(hour.contains("<dt>Accepted</dt><dd>4</dd>"), "{hour}");
    assert!(hour.contains("<dt>Delivered</dt><dd>3</dd>"), "{hour}");
    assert!(hour.contains("<dt>Failed</dt><dd>1</dd>"), "{hour}");
    assert!(hour.contains(">Test Box</a>") && hour.contains(">Other consumer</a>"));
    // Charts: events and latency, in total and for each of the two instances.
    assert_eq!(hour.matches("<svg class=\"chart\"").count(), 6, "{hour}");
    assert!(hour.contains("Last hour, every instance: delivery latency p50 and p99"));
    let day = &page[page.find("id=\"span-hour\"").unwrap()..];
    assert!(
        day.contains("<dt>Accepted</dt><dd>5</dd>"),
        "the held event too: {day}"
    );
}

engine_tests!(the_overview_counts_events_per_instance_and_shows_the_backlog,);

#[tokio::test]
#[cfg_attr(
    not(relay_browser),
    ignore = "no chromedriver installed: this browser test did NOT run (apt-get install chromium chromium-driver)"
)]
async fn the_overview_draws_the_last_hour_in_a_browser() {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&Engine::Sqlite, &receiver).await;
    traffic(&app, &receiver).await;
    let browser = Browser::start().await;
    browser.sign_in(&app.url("")).await;
    browser.goto(&app.url("/console")).await;
    let text = browser.wait_for_text("Last hour").await;
    assert!(
        text.contains("Backlog") && text.contains("Last day"),
        "{text}"
    );
    assert!(text.contains("Test Box"), "{text}");
    let charts = browser
        .client
        .find_all(fantoccini::Locator::Css("svg.chart"))
        .await
        .unwrap();
    assert!(charts.len() >= 4, "{} charts", charts.len());
    // Drawn, not just present: the events chart of the last hour has a bar.
    let bars = browser
        .client
        .find_all(fantoccini::Locator::Css("svg.chart rect[height]"))
        .await
        .unwrap();
    assert!(bars.len() > 3, "bars besides the legend: {}", bars.len());
    browser.screenshot("overview").await;
    browser.close().await;
}
