//! Cloud Elements' `/instances/configuration[/{configId}]` without an id: the instance is the
//! one whose Element token is sent, and no token reaches another instance's entries.

use reqwest::Method;
use serde_json::json;
use webhook_relay::instance::entries::entry_id;

use crate::ce_instances::{find, CALLBACK};
use crate::helpers::*;

pub async fn element_tokens_reach_only_their_own_configuration(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let a = app
        .create_instance(&instance_body("A", &receiver.url("/a")))
        .await;
    let b = app
        .create_instance(&instance_body("B", &receiver.url("/b")))
        .await;
    let (a_id, b_id) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    let a_token = a["token"].as_str().unwrap();

    let (status, _, own) = app
        .element(Method::GET, "/instances/configuration", a_token, None)
        .await;
    assert_eq!(status, 200, "{own}");
    let (_, listed) = app
        .admin(
            Method::GET,
            &format!("/instances/{a_id}/configuration"),
            None,
        )
        .await;
    assert_eq!(
        own, listed,
        "the caller's instance, as the platform route answers it"
    );
    assert_eq!(
        find(&own, CALLBACK)["propertyValue"],
        receiver.url("/a").as_str()
    );
    assert_eq!(
        find(&own, "box.webhook.primary.key")["propertyValue"],
        "********"
    );

    // A's token reaches A's entries by id or key …
    let own_entry = format!("/instances/configuration/{}", entry_id(a_id, CALLBACK));
    let (status, _, entry) = app.element(Method::GET, &own_entry, a_token, None).await;
    assert_eq!(
        (status, entry["propertyValue"].as_str()),
        (200, receiver.url("/a").as_str().into())
    );
    let body = json!({"propertyValue": receiver.url("/a2")});
    let (status, _, entry) = app
        .element(
            Method::PATCH,
            &format!("/instances/configuration/{CALLBACK}"),
            a_token,
            Some(&body),
        )
        .await;
    assert_eq!(
        (status, entry["id"].as_i64()),
        (200, Some(entry_id(a_id, CALLBACK)))
    );
    let (_, shown) = app
        .admin(Method::GET, &format!("/instances/{a_id}"), None)
        .await;
    assert_eq!(
        shown["configuration"][CALLBACK],
        receiver.url("/a2").as_str()
    );
    let (status, _, error) = app
        .element(
            Method::PATCH,
            &own_entry,
            a_token,
            Some(&json!({"propertyValue": "ftp://x"})),
        )
        .await;
    assert_eq!(
        (status, error["key"].as_str()),
        (
            400,
            Some("configuration.\"event.notification.callback.url\"")
        )
    );

    // … never B's: B's entry ids are not A's entries.
    let b_entry = format!("/instances/configuration/{}", entry_id(b_id, CALLBACK));
    let (status, _, _) = app.element(Method::GET, &b_entry, a_token, None).await;
    assert_eq!(status, 404);
    let evil = json!({"propertyValue": receiver.url("/stolen")});
    let (status, _, _) = app
        .element(Method::PATCH, &b_entry, a_token, Some(&evil))
        .await;
    assert_eq!(status, 404);
    let (_, b_conf) = app
        .admin(
            Method::GET,
            &format!("/instances/{b_id}/configuration"),
            None,
        )
        .await;
    assert_eq!(
        find(&b_conf, CALLBACK)["propertyValue"],
        receiver.url("/b").as_str()
    );

    // Wrong credentials: a wrong token, or the platform's credentials, on the Element routes.
    let (status, _, _) = app
        .element(Method::GET, "/instances/configuration", "not-a-token", None)
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .admin(Method::GET, "/instances/configuration", None)
        .await;
    assert_eq!(status, 401);
}

engine_tests!(element_tokens_reach_only_their_own_configuration,);
