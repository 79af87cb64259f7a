//! The console's events pages. In a real browser (headless Chromium over WebDriver): a signed
//! Box event sent by the test appears on the Events tab without a reload, within two seconds;
//! its page shows the delivered body, Box's payload and the attempt; **Replay** delivers it
//! again and the page shows the second attempt. Over plain HTTP, on both engines: the live
//! rows need a session, show only their instance's events (those accepted by another replica
//! on PostgreSQL too), an event is shown and replayed under its own instance only, a replay
//! without the CSRF token is refused, and **Replay failed events** delivers them again.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use webhook_relay::store::Status;

use crate::helpers::browser::{no_redirects, Browser, ConsoleHttp};
use crate::helpers::*;

#[tokio::test]
#[cfg_attr(
    not(relay_browser),
    ignore = "no chromedriver installed: this browser test did NOT run (apt-get install chromium chromium-driver)"
)]
async fn a_box_event_appears_without_a_reload_and_is_replayed_from_its_page() {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&Engine::Sqlite, &receiver).await;
    let browser = Browser::start().await;
    browser.sign_in(&app.url("")).await;
    browser.goto(&app.url("/console/instances/1/events")).await;
    browser.wait_for_text("No events yet.").await;
    // A mark on this page: still there after the event shows means no reload happened.
    browser
        .client
        .execute("window.relayTestMark = 'same page'; return null;", vec![])
        .await
        .unwrap();

    let (status, answer) = app.send(&box_payload_with_id("console-live")).await;
    assert_eq!(status, 200, "{answer}");
    let event_id = answer["eventId"].as_str().unwrap().to_string();
    let sent = Instant::now();
    browser.wait_for_text(&event_id).await;
    let took = sent.elapsed();
    assert!(
        took <= Duration::from_secs(2),
        "the event showed after {took:?}"
    );
    let mark = browser
        .client
        .execute("return window.relayTestMark || null;", vec![])
        .await
        .unwrap();
    assert_eq!(mark, "same page", "the page was not reloaded");
    app.wait_for_status(&event_id, Status::Delivered).await;
    browser.wait_for_text("delivered").await;
    browser.screenshot("events").await;

    browser.click_link(&event_id).await;
    let text = browser.wait_for_text("Delivered body").await;
    assert!(text.contains("Box's original payload"), "{text}");
    assert!(
        text.contains("\"console-live\""),
        "Box's event id in its payload: {text}"
    );
    assert!(text.contains("HTTP 200"), "{text}");
    let page = browser.client.current_url().await.unwrap().to_string();
    browser.screenshot("event").await;

    browser.click_button("Replay").await;
    browser.wait_for_text("Queued for delivery again.").await;
    let deliveries = receiver
        .wait_until(&format!("two deliveries of {event_id}"), |r| {
            r.iter()
                .filter(|x| x.header("elements-webhook-id") == Some(event_id.as_str()))
                .count()
                >= 2
        })
        .await;
    assert!(deliveries.len() >= 2);
    let attempts = eventually("the event page to show the second attempt", || async {
        browser.goto(&page).await;
        let items = browser
            .client
            .find_all(Locator::Css("ol.timeline li"))
            .await
            .unwrap();
        if items.len() == 2 {
            Ok(items.len())
        } else {
            Err(format!("{} attempts shown", items.len()))
        }
    })
    .await;
    assert_eq!(attempts, 2);
    browser.close().await;
}

/// The test relay's event id of a Box event sent to `instance`.
async fn send_to(app: &TestApp, instance: &str, box_id: &str) -> String {
    let body = box_payload_with_id(box_id);
    let (status, answer) = app.post_v2(instance, &body, &box_headers(&body)).await;
    assert_eq!(status, 200, "{answer}");
    answer["eventId"].as_str().unwrap().to_string()
}

pub async fn the_live_rows_need_a_session_and_show_only_their_instances_events(engine: Engine) {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    let env = admin_env(&[]);
    let app = spawn_app_at(&url, &receiver, &env, dir).await;
    // On PostgreSQL a second replica takes the events; on SQLite (one relay per file) the same.
    let other = match engine {
        Engine::Postgres(_) => {
            Some(spawn_app_at(&url, &receiver, &env, tempfile::tempdir().unwrap()).await)
        }
        Engine::Sqlite => None,
    };
    let intake = other.as_ref().unwrap_or(&app);
    let console = ConsoleHttp::sign_in(&app.url("")).await;

    let res = no_redirects()
        .get(app.url("/console/instances/1/events/rows"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "no session: to the sign-in page");
    assert_eq!(res.headers()["location"], "/console/sign-in");

    let mine = send_to(intake, "1", "live-mine").await;
    let theirs = send_to(intake, "4", "live-theirs").await;
    let rows = eventually("the live rows to show the new event", || async {
        let (status, rows) = console.get("/console/instances/1/events/rows").await;
        if status == 200 && rows.contains(&mine) {
            Ok(rows)
        } else {
            Err(format!("{status}: {rows}"))
        }
    })
    .await;
    assert!(!rows.contains(&theirs), "another instance's event: {rows}");
    assert!(rows.contains(&format!("/console/instances/1/events/{mine}")));
    let res = console
        .http
        .get(app.url("/console/instances/1/events/rows"))
        .header("cookie", &console.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-console-fragment"], "event-rows");
    let (status, _) = console.get("/console/instances/99/events/rows").await;
    assert_eq!(status, 404);
    let (status, filtered) = console
        .get("/console/instances/1/events/rows?status=failed")
        .await;
    assert_eq!(status, 200);
    assert!(!filtered.contains(&mine), "{filtered}");

    // An event is shown and replayed under its own instance only.
    let (status, page) = console
        .get(&format!("/console/instances/1/events/{theirs}"))
        .await;
    assert_eq!(status, 404, "{page}");
    intake.wait_for_status(&theirs, Status::Delivered).await;
    let res = console
        .post(&format!("/console/instances/1/events/{theirs}/replay"), &[])
        .await;
    assert_eq!(res.status(), 404);
    let (status, page) = console
        .get(&format!("/console/instances/4/events/{theirs}"))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Delivered body") && page.contains(&theirs));
    assert_eq!(
        app.event(&theirs).await.unwrap().status,
        Status::Delivered,
        "nothing was queued again"
    );
}

pub async fn a_replay_needs_the_csrf_token_and_replay_failed_events_delivers_them(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.set_path_behavior("/other", Behavior::Status(500));
    let app = spawn_admin_app(&engine, &receiver).await;
    let console = ConsoleHttp::sign_in(&app.url("")).await;
    let failed = send_to(&app, "4", "replay-failed").await;
    app.wait_for_status(&failed, Status::Failed).await;

    // Without the token: refused, nothing queued.
    let res = console
        .http
        .post(app.url(&format!("/console/instances/4/events/{failed}/replay")))
        .header("cookie", &console.cookie)
        .form(&[("nothing", "here")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.event(&failed).await.unwrap().status, Status::Failed);

    let (status, page) = console.get("/console/instances/4/events").await;
    assert_eq!(status, 200);
    assert!(page.contains("Replay failed events"), "{page}");
    receiver.set_path_behavior("/other", Behavior::Status(200));
    let res = console
        .post("/console/instances/4/events/replay-failed", &[])
        .await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, "/console/instances/4/events?replayed=1");
    app.wait_for_status(&failed, Status::Delivered).await;
    let (_, page) = console.get(&to).await;
    assert!(
        page.contains("1 failed event(s) queued for delivery again."),
        "{page}"
    );

    // One event's Replay, with the token: queued, then delivered once more.
    let count = |r: &[Received]| {
        r.iter()
            .filter(|x| x.header("elements-webhook-id") == Some(failed.as_str()))
            .count()
    };
    let before = count(&receiver.received());
    let res = console
        .post(&format!("/console/instances/4/events/{failed}/replay"), &[])
        .await;
    assert_eq!(res.status(), 303);
    receiver
        .wait_until("the replayed event to arrive again", |r| count(r) > before)
        .await;
}

engine_tests!(
    the_live_rows_need_a_session_and_show_only_their_instances_events,
    a_replay_needs_the_csrf_token_and_replay_failed_events_delivers_them,
);
