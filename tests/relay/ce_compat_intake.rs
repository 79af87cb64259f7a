//! Cloud Elements' public Box V1 intake, `POST /elements/api-v2/events/box`: Box's V1 form
//! reaches the instance whose `oauth.user.id` is its `userId`, only when that instance opted
//! in with `box.webhook.v1.match_user_id`; otherwise 404, the same whatever the reason.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const INTAKE: &str = "/elements/api-v2/events/box";

/// churros' Box event: the form Cloud Elements' Box V1 configuration receives.
fn form(user: &str, file: &str) -> String {
    format!("userId=%5B%22{user}%22%5D&event=uploaded&itemId={file}&itemType=file&newItemId=")
}

async fn post_form(app: &TestApp, body: String) -> (u16, Value) {
    let res = app
        .http
        .post(app.url(INTAKE))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    answer(res).await
}

fn with_user(name: &str, callback: &str, user: &str, opted_in: Option<bool>) -> Value {
    let mut body = instance_body(name, callback);
    body["configuration"]["oauth.user.id"] = json!(user);
    if let Some(flag) = opted_in {
        body["configuration"]["box.webhook.v1.match_user_id"] = json!(flag);
    }
    body
}

pub async fn a_v1_form_reaches_the_opted_in_instance_of_its_user(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let opted = app
        .create_instance(&with_user(
            "Opted",
            &receiver.url("/opted"),
            "1001",
            Some(true),
        ))
        .await;
    app.create_instance(&with_user(
        "Other user",
        &receiver.url("/other"),
        "2002",
        Some(true),
    ))
    .await;

    let (status, answer) = post_form(&app, form("1001", "456")).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    let event_id = answer["eventId"].as_str().unwrap();
    let got = receiver.wait_for_event(event_id).await;
    assert_eq!(got[0].path, "/opted");
    let v = got[0].json();
    assert_eq!(v["message"]["instanceId"], opted["id"]);
    assert_eq!(v["message"]["events"][0]["eventType"], "CREATED");
    assert_eq!(v["message"]["events"][0]["objectId"], "456");
    assert_eq!(v["message"]["raw"]["userId"], "[\"1001\"]");
    assert!(receiver.received().iter().all(|r| r.path != "/other"));

    // Logged as any event of that instance.
    let (status, event) = app
        .admin(
            Method::GET,
            &format!(
                "/elements/api-v2/instances/{}/events/{event_id}",
                opted["id"]
            ),
            None,
        )
        .await;
    assert_eq!(
        (status, event["status"].is_string()),
        (200, true),
        "{event}"
    );
}

pub async fn without_opt_in_or_a_matching_user_the_intake_answers_404(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    app.create_instance(&with_user("Not opted", &receiver.url("/a"), "3003", None))
        .await;
    app.create_instance(&with_user(
        "Opted out",
        &receiver.url("/b"),
        "4004",
        Some(false),
    ))
    .await;
    let disabled = app
        .create_instance(&with_user(
            "Disabled",
            &receiver.url("/c"),
            "5005",
            Some(true),
        ))
        .await;
    app.admin(
        Method::DELETE,
        &format!("/instances/{}/enabled", disabled["id"]),
        None,
    )
    .await;

    let mut answers = Vec::new();
    for body in [
        form("3003", "1"),
        form("4004", "1"),
        form("9999", "1"),
        "event=uploaded".into(),
    ] {
        let (status, error) = post_form(&app, body.clone()).await;
        assert_eq!(status, 404, "{body}: {error}");
        assert!(error["requestId"].is_string());
        answers.push((error["code"].clone(), error["detail"].clone()));
    }
    answers.dedup();
    assert_eq!(
        answers.len(),
        1,
        "one answer whatever the reason: {answers:?}"
    );

    // A disabled instance that opted in is answered as the V1 route answers it.
    let (status, answer) = post_form(&app, form("5005", "1")).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("ignored")),
        "{answer}"
    );
    assert_eq!(
        app.store
            .list_events(disabled["id"].as_i64().unwrap(), &[], None, 10)
            .await
            .unwrap()
            .len(),
        0
    );

    // A value that is not a flag is refused when set.
    let mut bad = with_user("Bad", &receiver.url("/d"), "1", None);
    bad["configuration"]["box.webhook.v1.match_user_id"] = json!("sometimes");
    let (status, error) = app.admin(Method::POST, "/instances", Some(&bad)).await;
    assert_eq!(
        (status, error["key"].as_str()),
        (400, Some("configuration.\"box.webhook.v1.match_user_id\""))
    );
}

engine_tests!(
    a_v1_form_reaches_the_opted_in_instance_of_its_user,
    without_opt_in_or_a_matching_user_the_intake_answers_404,
);
