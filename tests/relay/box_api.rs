//! Box V2 webhooks set up through the relay, against a local fake Box: instances provisioned
//! with an OAuth code (a refused one creates nothing), webhooks created, listed, updated and
//! deleted, Box's errors passed on, and the created webhook's address receiving signed
//! deliveries end to end. Tokens: `box_tokens.rs`.

use reqwest::Method;
use serde_json::json;
use webhook_relay::store::Status;

use crate::helpers::*;

pub async fn webhooks_are_created_listed_updated_and_deleted_through_the_relay(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let body = oauth_instance_body("Box OAuth", &receiver.url("/api"), &fake.issue_code());
    let (status, created) = app.admin(Method::POST, "/instances", Some(&body)).await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_i64().unwrap();
    let token = created["token"].as_str().unwrap();
    // Box's tokens are never returned, and are sealed in the store.
    let issued = fake.issued();
    assert_eq!(issued.len(), 2, "one access and one refresh token");
    let stored = app
        .store
        .get_tokens(id)
        .await
        .unwrap()
        .expect("tokens stored");
    for t in &issued {
        assert!(!created.to_string().contains(t.as_str()));
        assert!(!stored.access_token.contains(t.as_str()));
        assert!(!stored.refresh_token.clone().unwrap().contains(t.as_str()));
    }
    assert_eq!(created["configuration"]["oauth.api.secret"], "********");

    // Create: Box's webhook points at the relay's public address for this instance.
    let (status, _, hook) = app
        .element(
            Method::POST,
            "/webhooks",
            token,
            Some(&folder_hook("12345", &["FILE.UPLOADED", "WEBHOOK.DELETED"])),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let hook_id = hook["id"].as_str().unwrap().to_string();
    let address = format!("{PUBLIC_URL}/webhooks/box/{id}");
    assert_eq!(hook["address"], address.as_str());
    assert_eq!(hook["type"], "webhook");
    assert_eq!(
        fake.webhooks()[&hook_id]["target"],
        json!({"id": "12345", "type": "folder"})
    );
    assert_eq!(
        fake.bearers(),
        vec![issued[0].clone()],
        "called with the instance's token"
    );
    let row = app.store.get_webhook(&hook_id).await.unwrap().unwrap();
    assert_eq!(
        (row.instance_id, row.address.as_str()),
        (id, address.as_str())
    );

    // List and show mirror Box's; update changes Box's webhook and the record.
    let (status, _, list) = app.element(Method::GET, "/webhooks", token, None).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], hook_id.as_str());
    let (status, _, shown) = app
        .element(Method::GET, &format!("/webhooks/{hook_id}"), token, None)
        .await;
    assert_eq!((status, &shown), (200, &hook));
    let (status, _, updated) = app
        .element(
            Method::PUT,
            &format!("/webhooks/{hook_id}"),
            token,
            Some(&json!({"triggers": ["FILE.UPLOADED", "FILE.DELETED", "WEBHOOK.DELETED"]})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        fake.webhooks()[&hook_id]["triggers"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let row = app.store.get_webhook(&hook_id).await.unwrap().unwrap();
    assert_eq!(row.triggers.len(), 3);

    // Box delivers to that address with the instance's keys: accepted and delivered.
    let payload = box_payload_with_id("through-the-relay");
    let (status, accepted) = app
        .post_v2(
            &id.to_string(),
            &payload,
            &box_headers_with_key(&payload, API_PRIMARY),
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    receiver
        .wait_for_event(accepted["eventId"].as_str().unwrap())
        .await;

    // Box deletes the webhook: the event is delivered and the record marked deleted.
    let deleted_event = webhook_deleted_event("wh-deleted-1", &hook_id);
    let (status, accepted) = app
        .post_v2(
            &id.to_string(),
            &deleted_event,
            &box_headers_with_key(&deleted_event, API_PRIMARY),
        )
        .await;
    assert_eq!(
        (status, accepted["status"].as_str()),
        (200, Some("accepted"))
    );
    let event_id = accepted["eventId"].as_str().unwrap();
    app.wait_for_status(event_id, Status::Delivered).await;
    let row = app.store.get_webhook(&hook_id).await.unwrap().unwrap();
    assert!(row.deleted_at_ms.is_some());
    assert_eq!(
        row.deleted_reason.as_deref(),
        Some("auto_cleanup"),
        "Box's reason"
    );

    // Delete through the relay.
    let (_, _, other) = app
        .element(
            Method::POST,
            "/webhooks",
            token,
            Some(&folder_hook("777", &["FILE.MOVED"])),
        )
        .await;
    let other_id = other["id"].as_str().unwrap();
    let (status, _, _) = app
        .element(
            Method::DELETE,
            &format!("/webhooks/{other_id}"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert!(!fake.webhooks().contains_key(other_id));
    let row = app.store.get_webhook(other_id).await.unwrap().unwrap();
    assert_eq!(
        row.deleted_reason.as_deref(),
        Some("deleted through the relay")
    );
}

pub async fn a_refused_authorization_creates_nothing(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let (status, answer) = app
        .admin(
            Method::POST,
            "/instances",
            Some(&oauth_instance_body(
                "Bad",
                &receiver.url("/api"),
                "no-such-code",
            )),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], "box_error");
    assert_eq!(answer["box"]["code"], "invalid_grant");
    assert_eq!(
        answer["box"]["message"],
        "Auth code doesn't exist or is invalid for the client"
    );
    let mut no_secret = oauth_instance_body("Bad", &receiver.url("/api"), &fake.issue_code());
    no_secret["configuration"]["oauth.api.secret"] = json!(null);
    let (status, answer) = app
        .admin(Method::POST, "/instances", Some(&no_secret))
        .await;
    assert_eq!(
        (status, answer["key"].as_str()),
        (400, Some("configuration.\"oauth.api.secret\""))
    );
    let (_, list) = app.admin(Method::GET, "/instances", None).await;
    assert_eq!(list.as_array().unwrap().len(), 4, "nothing created: {list}");
}

pub async fn boxs_errors_come_back_with_boxs_status_code_and_message(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let (_, token) = provision(&app, &fake, &receiver, "Box OAuth").await;
    let hook = folder_hook("555", &["FILE.UPLOADED"]);
    let (status, _, _) = app
        .element(Method::POST, "/webhooks", &token, Some(&hook))
        .await;
    assert_eq!(status, 201);

    // A webhook on the target that points elsewhere: Box's 409 stands (one pointing at this
    // instance is adopted: box_lifecycle.rs).
    let foreign = fake.add_webhook(
        json!({"id": "558", "type": "folder"}),
        "https://elsewhere.example.com/hooks",
        &["FILE.UPLOADED"],
    );
    let (status, _, conflict) = app
        .element(
            Method::POST,
            "/webhooks",
            &token,
            Some(&folder_hook("558", &["FILE.UPLOADED"])),
        )
        .await;
    fake.forget_webhook(&foreign);
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["box"]["code"], "conflict");
    assert!(conflict["box"]["message"]
        .as_str()
        .unwrap()
        .contains("already exists"));
    fake.fail_next(
        403,
        "access_denied_insufficient_permissions",
        "Access denied - insufficient permission",
        None,
    );
    let (status, _, denied) = app
        .element(
            Method::POST,
            "/webhooks",
            &token,
            Some(&folder_hook("556", &["FILE.UPLOADED"])),
        )
        .await;
    assert_eq!(
        (status, denied["box"]["code"].as_str()),
        (403, Some("access_denied_insufficient_permissions"))
    );
    // Box's own 404 comes back as Box said it (Box lost a webhook the relay recorded).
    let lost = fake.webhooks().keys().next().unwrap().clone();
    fake.forget_webhook(&lost);
    let (status, _, missing) = app
        .element(Method::GET, &format!("/webhooks/{lost}"), &token, None)
        .await;
    assert_eq!(
        (status, missing["box"]["code"].as_str()),
        (404, Some("not_found"))
    );
    fake.fail_next(
        429,
        "rate_limit_exceeded",
        "Request rate limit exceeded, please try again later",
        Some(7),
    );
    let (status, headers, limited) = app.element(Method::GET, "/webhooks", &token, None).await;
    assert_eq!(
        (status, limited["box"]["code"].as_str()),
        (429, Some("rate_limit_exceeded"))
    );
    assert_eq!(headers["retry-after"], "7");

    // Checked before Box is called.
    for (body, key) in [
        (
            folder_hook("557", &["FILE.UPLOADED", "FILE.EXPLODED"]),
            "triggers[1]",
        ),
        (folder_hook("557", &[]), "triggers"),
        (folder_hook("0", &["FILE.UPLOADED"]), "target.id"),
        (
            json!({"target": {"id": "1", "type": "drive"}, "triggers": ["FILE.UPLOADED"]}),
            "target.type",
        ),
    ] {
        let (status, _, answer) = app
            .element(Method::POST, "/webhooks", &token, Some(&body))
            .await;
        assert_eq!(
            (status, answer["key"].as_str()),
            (400, Some(key)),
            "{answer}"
        );
    }
    let (_, _, root) = app
        .element(
            Method::POST,
            "/webhooks",
            &token,
            Some(&folder_hook("0", &["FILE.UPLOADED"])),
        )
        .await;
    assert!(root["detail"].as_str().unwrap().contains("root folder"));
    // Element credentials: the user secret and an instance token, both right.
    for auth in [
        format!("User {ADMIN_USER}, Element wrong-token"),
        format!("User wrong, Element {token}"),
        format!("User {ADMIN_USER}, Organization {ADMIN_ORG}"),
    ] {
        let res = app
            .http
            .get(app.url("/webhooks"))
            .header("authorization", auth)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    assert!(
        fake.webhooks().is_empty(),
        "no refused request created a webhook in Box"
    );
}

engine_tests!(
    webhooks_are_created_listed_updated_and_deleted_through_the_relay,
    a_refused_authorization_creates_nothing,
    boxs_errors_come_back_with_boxs_status_code_and_message,
);
