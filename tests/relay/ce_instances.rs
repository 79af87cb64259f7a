//! Cloud Elements' instance calls scripts make: configuration entries read and changed one at
//! a time by instance id, enable/disable observed through Box deliveries, and the `tags[]`
//! filter. (By Element token, without the id: `ce_element_config.rs`.)

use reqwest::Method;
use serde_json::{json, Value};
use webhook_relay::instance::entries::entry_id;

use crate::helpers::*;

pub(crate) const CALLBACK: &str = "event.notification.callback.url";
const ENABLED: &str = "event.notification.enabled";

/// The entry of `key` in a configuration list.
pub(crate) fn find<'v>(list: &'v Value, key: &str) -> &'v Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == key)
        .unwrap_or_else(|| panic!("{key} listed: {list}"))
}

pub async fn configuration_entries_are_listed_shown_and_changed_with_secrets_masked(
    engine: Engine,
) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let created = app
        .create_instance(&instance_body("Conf", &receiver.url("/api")))
        .await;
    let id = created["id"].as_i64().unwrap();
    let base = format!("/instances/{id}/configuration");

    let (status, list) = app.admin(Method::GET, &base, None).await;
    assert_eq!(status, 200, "{list}");
    for entry in list.as_array().unwrap() {
        let keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "key", "name", "propertyValue"], "{entry}");
        let key = entry["key"].as_str().unwrap();
        assert_eq!(entry["id"], entry_id(id, key), "stable id of {key}");
    }
    let callback = find(&list, CALLBACK);
    assert_eq!(callback["propertyValue"], receiver.url("/api").as_str());
    assert_eq!(callback["name"], "Event Notification Callback URL");
    for secret in [
        "event.notification.signature.key",
        "box.webhook.primary.key",
        "box.webhook.v1.token",
        "oauth.api.secret",
    ] {
        assert_eq!(find(&list, secret)["propertyValue"], "********", "{secret}");
    }
    assert_eq!(
        find(&list, "box.webhook.secondary.key")["propertyValue"],
        Value::Null
    );
    let text = list.to_string();
    assert!(!text.contains(API_EVENT_KEY) && !text.contains(API_OAUTH_SECRET));

    // One entry, by its id or by its key.
    let entry_path = format!("{base}/{}", callback["id"]);
    let (status, one) = app.admin(Method::GET, &entry_path, None).await;
    assert_eq!((status, &one), (200, callback));
    let (_, by_key) = app
        .admin(Method::GET, &format!("{base}/{CALLBACK}"), None)
        .await;
    assert_eq!(&by_key, callback);

    // Changed, as Cloud Elements' scripts do: the entry sent back with a new value.
    let mut changed = callback.clone();
    changed["propertyValue"] = json!(receiver.url("/moved"));
    let (status, answer) = app.admin(Method::PATCH, &entry_path, Some(&changed)).await;
    assert_eq!((status, &answer), (200, &changed));
    let (_, instance) = app
        .admin(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(
        instance["configuration"][CALLBACK],
        receiver.url("/moved").as_str()
    );
    // A secret changed is answered masked.
    let secret_path = format!("{base}/event.notification.signature.key");
    let body = json!({"propertyValue": "a-new-event-key"});
    let (status, answer) = app.admin(Method::PATCH, &secret_path, Some(&body)).await;
    assert_eq!(
        (status, answer["propertyValue"].as_str()),
        (200, Some("********"))
    );
    assert!(!answer.to_string().contains("a-new-event-key"));
    // `null` removes the key; a boolean reads as the string.
    let (_, answer) = app
        .admin(
            Method::PATCH,
            &secret_path,
            Some(&json!({"propertyValue": null})),
        )
        .await;
    assert_eq!(answer["propertyValue"], Value::Null);
    let enabled_path = format!("{base}/{}", entry_id(id, ENABLED));
    let (status, answer) = app
        .admin(
            Method::PATCH,
            &enabled_path,
            Some(&json!({"propertyValue": false})),
        )
        .await;
    assert_eq!(
        (status, answer["propertyValue"].as_str()),
        (200, Some("false"))
    );

    // Refusals name the key; nothing changes.
    for (body, key) in [
        (
            json!({"propertyValue": "sometimes"}),
            format!("configuration.\"{ENABLED}\""),
        ),
        // A list is taken only by the keys that read JSON.
        (
            json!({"propertyValue": ["x"]}),
            format!("configuration.\"{ENABLED}\""),
        ),
        (json!({"name": "no value"}), "propertyValue".to_string()),
        (
            json!({"propertyValue": "true", "key": CALLBACK}),
            "key".to_string(),
        ),
        (
            json!({"propertyValue": "true", "valeu": 1}),
            "valeu".to_string(),
        ),
    ] {
        let (status, error) = app.admin(Method::PATCH, &enabled_path, Some(&body)).await;
        assert_eq!(status, 400, "{body} → {error}");
        assert_eq!(
            (error["code"].as_str(), error["key"].as_str()),
            (Some("invalid_value"), Some(key.as_str())),
            "{body}"
        );
    }
    let (_, bad_url) = app
        .admin(
            Method::PATCH,
            &entry_path,
            Some(&json!({"propertyValue": "not a url"})),
        )
        .await;
    assert_eq!(bad_url["key"], format!("configuration.\"{CALLBACK}\""));
    let (_, after) = app.admin(Method::GET, &base, None).await;
    assert_eq!(find(&after, ENABLED)["propertyValue"], "false");
    assert_eq!(
        find(&after, CALLBACK)["propertyValue"],
        receiver.url("/moved").as_str()
    );

    // Unknown entries and instances are 404.
    for path in [
        format!("{base}/12345"),
        format!("{base}/no.such.key"),
        "/instances/999/configuration".into(),
        "/instances/999/configuration/1".into(),
    ] {
        let (status, error) = app.admin(Method::GET, &path, None).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("{base}/12345"),
            Some(&json!({"propertyValue": "x"})),
        )
        .await;
    assert_eq!(status, 404);

    // The configuration file's instances are readable, masked, and read-only.
    let (status, file) = app
        .admin(Method::GET, "/instances/1/configuration", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        find(&file, "box.webhook.primary.key")["propertyValue"],
        "********"
    );
    let (status, error) = app
        .admin(
            Method::PATCH,
            &format!("/instances/1/configuration/{ENABLED}"),
            Some(&json!({"propertyValue": "false"})),
        )
        .await;
    assert_eq!((status, error["code"].as_str()), (409, Some("read_only")));
}

pub async fn enabled_put_and_delete_switch_box_deliveries(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let created = app
        .create_instance(&instance_body("Switch", &receiver.url("/api")))
        .await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/instances/{id}/enabled");
    let send = |box_id: &'static str| {
        let body = box_payload_with_id(box_id);
        let headers = box_headers_with_key(&body, API_PRIMARY);
        let app = &app;
        async move { app.post_v2(&id.to_string(), &body, &headers).await }
    };

    let (status, disabled) = app.admin(Method::DELETE, &path, None).await;
    assert_eq!(
        (
            status,
            disabled["id"].as_i64(),
            disabled["disabled"].as_bool()
        ),
        (200, Some(id), Some(true))
    );
    let (status, answer) = send("70001").await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("ignored")),
        "{answer}"
    );
    assert_eq!(answer["reason"], "the instance is disabled");
    let (_, shown) = app
        .admin(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(shown["disabled"], true);

    let (status, enabled) = app.admin(Method::PUT, &path, None).await;
    assert_eq!((status, enabled["disabled"].as_bool()), (200, Some(false)));
    let (status, answer) = send("70002").await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    receiver.wait_for(1).await;

    for method in [Method::PUT, Method::DELETE] {
        let (status, error) = app
            .admin(method.clone(), "/instances/1/enabled", None)
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (409, Some("read_only")),
            "{method}"
        );
        let (status, _) = app.admin(method, "/instances/999/enabled", None).await;
        assert_eq!(status, 404);
    }
}

pub async fn instances_are_filtered_by_any_of_the_given_tags(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let mut ids = Vec::new();
    for tags in [
        json!(["alpha"]),
        json!(["beta", "shared"]),
        json!(["gamma"]),
    ] {
        let mut body = instance_body("Tagged", &receiver.url("/api"));
        body["tags"] = tags;
        ids.push(app.create_instance(&body).await["id"].as_i64().unwrap());
    }
    let listed = |query: &'static str| {
        let app = &app;
        async move {
            let (status, list) = app
                .admin(Method::GET, &format!("/instances?{query}"), None)
                .await;
            assert_eq!(status, 200, "{query}: {list}");
            list.as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("tags[]=alpha").await, [ids[0]]);
    assert_eq!(
        listed("tags%5B%5D=alpha&tags%5B%5D=shared").await,
        [ids[0], ids[1]]
    );
    assert_eq!(listed("tags[]=gamma&tags[]=nothing").await, [ids[2]]);
    assert_eq!(listed("tags=beta").await, [ids[1]]);
    assert!(listed("tags[]=nothing").await.is_empty());
    assert!(
        listed("tags[]=Alpha").await.is_empty(),
        "tags match exactly"
    );
    assert!(listed("other=1").await.len() > 3, "no tag: every instance");
}

engine_tests!(
    configuration_entries_are_listed_shown_and_changed_with_secrets_masked,
    enabled_put_and_delete_switch_box_deliveries,
    instances_are_filtered_by_any_of_the_given_tags,
);
