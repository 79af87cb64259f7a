//! Admin API, instances: credentials, Cloud Elements' shapes, masking, validation, the config
//! file's instances read-only, and an instance created through the API receiving Box events.

use reqwest::Method;
use serde_json::{json, Value};
use webhook_relay::event::sign::verify_elements_signature;

use crate::helpers::*;

/// An instance's answer as shown after its creation: the token masked (only the creation
/// answer shows it).
pub(crate) fn masked_token(created: &Value) -> Value {
    let mut shown = created.clone();
    shown["token"] = json!("********");
    shown
}

pub async fn admin_routes_refuse_missing_or_wrong_credentials_alike(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let mut bodies = Vec::new();
    for header in [
        None,
        Some(format!("User {ADMIN_USER}, Organization wrong")),
        Some(format!("User wrong, Organization {ADMIN_ORG}")),
        Some(format!("User {ADMIN_USER}")),
        Some(format!("Bearer {ADMIN_USER}")),
    ] {
        let mut req = app.http.get(app.url("/instances"));
        if let Some(h) = &header {
            req = req.header("authorization", h);
        }
        let (status, body) = answer(req.send().await.unwrap()).await;
        assert_eq!(status, 401, "{header:?}: {body}");
        assert_eq!(body["code"], "unauthorized");
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "no hint which part was wrong: {bodies:?}"
    );
    // Refused writes change nothing.
    let res = app
        .http
        .post(app.url("/instances"))
        .header(
            "authorization",
            format!("User {ADMIN_USER}, Organization x"),
        )
        .json(&instance_body("Sneaky", &receiver.url("/api")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (status, list) = app.admin(Method::GET, "/instances", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        list.as_array().unwrap().len(),
        4,
        "only the config file's: {list}"
    );
}

pub async fn without_admin_secrets_the_admin_api_does_not_exist(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_app(&engine, &receiver).await;
    for path in ["/instances", "/instances/1", "/openapi.json"] {
        let res = app
            .http
            .get(app.url(path))
            .header("authorization", admin_auth())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
}

pub async fn an_instance_created_through_the_api_receives_box_events_end_to_end(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let created = app
        .create_instance(&instance_body("API Instance", &receiver.url("/api")))
        .await;

    // Cloud Elements' answer: numeric id past the config file's, a token, strings, masks.
    let id = created["id"].as_i64().expect("numeric id");
    assert!(id > 4, "ids after the config file's: {created}");
    let token = created["token"].as_str().unwrap();
    assert!(token.len() >= 32, "a random token: {created}");
    assert_eq!(created["name"], "API Instance");
    assert_eq!(created["element"]["key"], "box");
    assert_eq!(created["tags"], json!(["Docs"]));
    assert_eq!(created["eventsEnabled"], true);
    assert_eq!(created["disabled"], false);
    let conf = &created["configuration"];
    assert_eq!(conf["event.notification.enabled"], "true");
    assert_eq!(
        conf["event.notification.callback.url"],
        receiver.url("/api").as_str()
    );
    assert_eq!(conf["event.vendor.type"], "webhook");
    assert_eq!(
        conf["box.webhook.secondary.key"],
        json!(null),
        "unset keys are null"
    );
    for key in [
        "event.notification.signature.key",
        "box.webhook.primary.key",
        "box.webhook.v1.token",
        "oauth.api.secret",
    ] {
        assert_eq!(conf[key], "********", "{key} is masked");
    }
    let text = created.to_string();
    for secret in [API_PRIMARY, API_EVENT_KEY, API_V1_TOKEN, API_OAUTH_SECRET] {
        assert!(!text.contains(secret), "answer holds {secret}");
    }
    assert!(
        !text.contains("accepted and ignored"),
        "providerData is not echoed"
    );

    // A Box V2 delivery signed with the instance's key, to its address, arrives signed.
    let body = box_payload();
    let (status, accepted) = app
        .post_v2(
            &id.to_string(),
            &body,
            &box_headers_with_key(&body, API_PRIMARY),
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    let event_id = accepted["eventId"].as_str().unwrap().to_string();
    let got = receiver.wait_for_event(&event_id).await;
    let delivery = got
        .iter()
        .find(|r| r.path == "/api")
        .expect("delivered to /api");
    assert!(verify_elements_signature(
        API_EVENT_KEY,
        &delivery.body,
        delivery.header("elements-webhook-signature").unwrap()
    ));
    let event = delivery.json();
    assert_eq!(event["message"]["instanceId"], id);
    assert_eq!(event["message"]["instanceName"], "API Instance");
    assert_eq!(event["message"]["instanceTags"], json!(["Docs"]));
    assert_eq!(event["topic"], format!("instance-{id}-box-events"));

    // The config file's keys do not open the API instance, and V1 uses its own token.
    let (status, refused) = app
        .post_v2(&id.to_string(), &body, &box_headers(&body))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (401, Some("invalid_signature"))
    );
    let res = app
        .http
        .get(app.url(&format!(
            "/webhooks/box/{id}/v1?token={API_V1_TOKEN}&event=uploaded&itemId=7&itemType=file"
        )))
        .send()
        .await
        .unwrap();
    let (status, v1) = answer(res).await;
    assert_eq!(
        (status, v1["status"].as_str()),
        (200, Some("accepted")),
        "{v1}"
    );
}

pub async fn instances_are_listed_shown_patched_and_deleted(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let created = app
        .create_instance(&instance_body("Before", &receiver.url("/api")))
        .await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/instances/{id}");

    let (status, list) = app.admin(Method::GET, "/instances", None).await;
    assert_eq!(status, 200);
    let list = list.as_array().unwrap();
    let ids: Vec<i64> = list.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(
        ids,
        vec![1, 2, 3, 4, id],
        "config file's and the API's, by id"
    );
    assert_eq!(list[0]["readOnly"], true);
    assert_eq!(
        list[0]["configuration"]["box.webhook.primary.key"],
        "********"
    );
    assert_eq!(list[4]["readOnly"], false);
    let (status, shown) = app.admin(Method::GET, &path, None).await;
    assert_eq!((status, &shown), (200, &masked_token(&created)));

    // PATCH merges: given keys replace, null removes, others stay.
    let patch = json!({
        "name": "After",
        "tags": ["a", "b"],
        "configuration": {
            "event.notification.enabled": false,
            "box.webhook.v1.token": null,
            "event.vendor.type": "polling"
        }
    });
    let (status, patched) = app.admin(Method::PATCH, &path, Some(&patch)).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "After");
    assert_eq!(patched["tags"], json!(["a", "b"]));
    assert_eq!(patched["eventsEnabled"], false);
    assert_eq!(
        patched["token"], "********",
        "the token is shown only in the answer that creates the instance"
    );
    let conf = &patched["configuration"];
    assert_eq!(conf["event.notification.enabled"], "false");
    assert_eq!(conf["box.webhook.v1.token"], json!(null));
    assert_eq!(conf["event.vendor.type"], "polling");
    assert_eq!(
        conf["box.webhook.primary.key"], "********",
        "untouched key stays"
    );
    // The change is live: Box deliveries are now ignored, V1's token is gone.
    let body = box_payload();
    let (status, ignored) = app
        .post_v2(
            &id.to_string(),
            &body,
            &box_headers_with_key(&body, API_PRIMARY),
        )
        .await;
    assert_eq!((status, ignored["status"].as_str()), (200, Some("ignored")));
    let res = app
        .http
        .get(app.url(&format!(
            "/webhooks/box/{id}/v1?token={API_V1_TOKEN}&event=x"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // `disabled` also ignores deliveries.
    let (status, disabled) = app
        .admin(
            Method::PATCH,
            &path,
            Some(&json!({"disabled": true, "configuration": {"event.notification.enabled": true}})),
        )
        .await;
    assert_eq!((status, disabled["disabled"].as_bool()), (200, Some(true)));
    let (_, ignored) = app
        .post_v2(
            &id.to_string(),
            &body,
            &box_headers_with_key(&body, API_PRIMARY),
        )
        .await;
    assert_eq!(ignored["reason"], "the instance is disabled");

    let (status, deleted) = app.admin(Method::DELETE, &path, None).await;
    assert_eq!((status, deleted["id"].as_i64()), (200, Some(id)));
    let (status, _) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 404);
    let (status, _) = app.admin(Method::DELETE, &path, None).await;
    assert_eq!(status, 404);
    let (status, gone) = app
        .post_v2(
            &id.to_string(),
            &body,
            &box_headers_with_key(&body, API_PRIMARY),
        )
        .await;
    assert_eq!((status, gone["code"].as_str()), (404, Some("not_found")));

    // Ids are never given twice, even after a delete.
    let again = app
        .create_instance(&instance_body("Again", &receiver.url("/api")))
        .await;
    assert!(again["id"].as_i64().unwrap() > id);
}

engine_tests!(
    admin_routes_refuse_missing_or_wrong_credentials_alike,
    without_admin_secrets_the_admin_api_does_not_exist,
    an_instance_created_through_the_api_receives_box_events_end_to_end,
    instances_are_listed_shown_patched_and_deleted,
);

/// Two replicas on one PostgreSQL database: an instance created, changed or deleted through
/// one is served accordingly by the other within its refresh interval.
#[tokio::test]
#[cfg_attr(
    not(relay_postgres),
    ignore = "set RELAY_TEST_POSTGRES_URL to run the PostgreSQL suite"
)]
async fn postgres_replicas_share_instances_created_through_the_api() {
    let Some(Engine::Postgres(admin_url)) = Engine::postgres() else {
        return;
    };
    let receiver = Receiver::start().await;
    let url = fresh_database(&admin_url).await;
    let env = admin_env(&[]);
    let a = spawn_app_at(&url, &receiver, &env, tempfile::tempdir().unwrap()).await;
    let b = spawn_app_at(&url, &receiver, &env, tempfile::tempdir().unwrap()).await;
    let created = a
        .create_instance(&instance_body("Shared", &receiver.url("/api")))
        .await;
    let id = created["id"].as_i64().unwrap();
    // The other replica answers the admin API at once (it reads the store on a miss)…
    let (status, shown) = b
        .admin(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!((status, shown["name"].as_str()), (200, Some("Shared")));

    let body = box_payload();
    let send_b = || async {
        b.post_v2(
            &id.to_string(),
            &body,
            &box_headers_with_key(&body, API_PRIMARY),
        )
        .await
    };
    let (status, accepted) = send_b().await;
    assert_eq!(
        (status, accepted["status"].as_str()),
        (200, Some("accepted"))
    );
    receiver
        .wait_for_event(accepted["eventId"].as_str().unwrap())
        .await;

    // …and sees a change made through the first within its refresh interval.
    let (status, _) = a
        .admin(
            Method::PATCH,
            &format!("/instances/{id}"),
            Some(&json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 200);
    wait_for_answer(&send_b, |s, a| s == 200 && a["status"] == "ignored").await;
    let (status, _) = a
        .admin(Method::DELETE, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(status, 200);
    wait_for_answer(&send_b, |s, _| s == 404).await;
    // Two replicas creating at once never share an id.
    let (bx, by) = (
        instance_body("X", &receiver.url("/api")),
        instance_body("Y", &receiver.url("/api")),
    );
    let (x, y) = tokio::join!(a.create_instance(&bx), b.create_instance(&by));
    assert_ne!(x["id"], y["id"]);
}

async fn wait_for_answer<F, Fut>(send: &F, done: impl Fn(u16, &serde_json::Value) -> bool)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (u16, serde_json::Value)>,
{
    eventually("the other replica catches up", || async {
        let (status, answer) = send().await;
        match done(status, &answer) {
            true => Ok(()),
            false => Err(format!("{status} {answer}")),
        }
    })
    .await
}
