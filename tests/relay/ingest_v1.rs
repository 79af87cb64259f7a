//! Box V1 callbacks: query and form merged, both parameter namings, token required.

use crate::helpers::*;

pub async fn a_v1_get_callback_with_box_placeholder_names_is_delivered(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_app(&engine, &receiver).await;
    let url = app.url(&format!(
        "/webhooks/box/1/v1?token={V1_TOKEN}&event_type=deleted&item_id=777&item_type=folder"
    ));
    let (status, answer) = answer(app.http.get(url).send().await.unwrap()).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );

    let got = receiver.wait_for(1).await;
    let v = got[0].json();
    assert_eq!(v["message"]["eventId"], answer["eventId"]);
    assert_eq!(
        v["message"]["raw"],
        serde_json::json!({"event_type": "deleted", "item_id": "777", "item_type": "folder"})
    );
    let entry = &v["message"]["events"][0];
    assert_eq!(entry["eventType"], "DELETED");
    assert_eq!(entry["objectType"], "folders");
    assert_eq!(entry["objectId"], "777");
    assert!(!String::from_utf8_lossy(&got[0].body).contains(V1_TOKEN));
}

pub async fn a_v1_form_post_with_cloud_elements_names_is_delivered(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_app(&engine, &receiver).await;
    let url = app.url(&format!("/webhooks/box/1/v1?token={V1_TOKEN}"));
    let res = app
        .http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("userId=%5B%22123%22%5D&event=uploaded&itemId=456&itemType=file&newItemId=")
        .send()
        .await
        .unwrap();
    let (status, answer) = answer(res).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    let got = receiver.wait_for(1).await;
    let v = got[0].json();
    assert_eq!(v["message"]["raw"]["userId"], "[\"123\"]");
    assert_eq!(v["message"]["events"][0]["eventType"], "CREATED");
    assert_eq!(v["message"]["events"][0]["objectType"], "files");
    assert_eq!(v["message"]["events"][0]["objectId"], "456");
}

pub async fn v1_callbacks_are_not_deduplicated(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_app(&engine, &receiver).await;
    let url = app.url(&format!(
        "/webhooks/box/1/v1?token={V1_TOKEN}&event=uploaded&itemId=1&itemType=file"
    ));
    let (_, a) = answer(app.http.get(&url).send().await.unwrap()).await;
    let (_, b) = answer(app.http.get(&url).send().await.unwrap()).await;
    assert_eq!(
        (a["status"].as_str(), b["status"].as_str()),
        (Some("accepted"), Some("accepted"))
    );
    assert_ne!(a["eventId"], b["eventId"]);
    receiver.wait_for(2).await;
}

pub async fn a_wrong_or_missing_v1_token_is_refused_and_stores_nothing(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_app(&engine, &receiver).await;
    for query in [
        "?event=uploaded&itemId=1".to_string(),
        "?token=wrong&event=uploaded&itemId=1".to_string(),
        format!("?token={V1_TOKEN}x&event=uploaded"),
        "?token=&event=uploaded".to_string(),
    ] {
        let (status, answer) = answer(
            app.http
                .get(app.url(&format!("/webhooks/box/1/v1{query}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 401, "{query}");
        assert_eq!(answer["code"], "invalid_token");
    }
    // Instance 3 has no V1 token at all: nothing can authenticate.
    let (status, _) = answer(
        app.http
            .get(app.url("/webhooks/box/3/v1?token=&event=uploaded"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(app.stored_events().await, 0);
    assert!(receiver.received().is_empty());
}

engine_tests!(
    a_v1_get_callback_with_box_placeholder_names_is_delivered,
    a_v1_form_post_with_cloud_elements_names_is_delivered,
    v1_callbacks_are_not_deduplicated,
    a_wrong_or_missing_v1_token_is_refused_and_stores_nothing,
);
