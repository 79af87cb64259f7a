//! Cloud Elements' compatibility surface, configuration and state: churros'
//! `filter.response.nulls` round trip (list, PATCH the entry sent back whole, read it by the
//! answered id), secrets masked, the Element token's own entries, `PUT|DELETE
//! /instances/{id}/enabled` answering 200, and a disabled instance's Element token refused
//! with 403 on this surface only.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const CE: &str = "/elements/api-v2";

fn entry<'a>(entries: &'a Value, key: &str) -> &'a Value {
    entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == key)
        .unwrap_or_else(|| panic!("no entry {key} in {entries}"))
}

pub async fn the_default_nulls_entry_is_changed_by_its_id_as_churros_does(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    // Created at the root: the default is not stored, yet shown and changeable here.
    let created = app
        .create_instance(&instance_body("Nulls", &receiver.url("/api")))
        .await;
    let id = created["id"].as_i64().unwrap();
    let base = format!("{CE}/instances/{id}/configuration");
    let (status, entries) = app.admin(Method::GET, &base, None).await;
    assert_eq!(status, 200, "{entries}");
    let nulls = entry(&entries, "filter.response.nulls").clone();
    assert_eq!(nulls["propertyValue"], "true");
    assert!(nulls["id"].is_i64());
    assert_eq!(
        entry(&entries, "box.webhook.primary.key")["propertyValue"],
        "********"
    );
    assert_eq!(
        entry(&entries, "oauth.api.secret")["propertyValue"],
        "********"
    );

    let mut sent = nulls.clone();
    sent["propertyValue"] = json!("false");
    let (status, changed) = app
        .admin(
            Method::PATCH,
            &format!("{base}/{}", nulls["id"]),
            Some(&sent),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        changed["id"], nulls["id"],
        "the PATCH answers the entry with its id"
    );
    assert_eq!(changed["propertyValue"], "false");
    let (status, read) = app
        .admin(Method::GET, &format!("{base}/{}", changed["id"]), None)
        .await;
    assert_eq!(
        (status, read["propertyValue"].as_str()),
        (200, Some("false"))
    );
    let (_, root) = app
        .admin(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(
        root["configuration"]["filter.response.nulls"], "false",
        "stored"
    );

    // A value refused at the root is refused here, named; an unknown entry is 404.
    let (status, error) = app
        .admin(
            Method::PATCH,
            &format!("{base}/event.notification.callback.url"),
            Some(&json!({"propertyValue": "ftp://nowhere"})),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(
        error["key"],
        "configuration.\"event.notification.callback.url\""
    );
    assert!(error["requestId"].is_string() && error["message"].is_string());
    let (status, _) = app.admin(Method::GET, &format!("{base}/12345"), None).await;
    assert_eq!(status, 404);

    // The Element token's own entries, the default included, by id as well.
    let token = created["token"].as_str().unwrap();
    let (status, _, own) = app
        .element(
            Method::GET,
            &format!("{CE}/instances/configuration"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(own, app.admin(Method::GET, &base, None).await.1);
    let (status, _, own_entry) = app
        .element(
            Method::PATCH,
            &format!("{CE}/instances/configuration/{}", nulls["id"]),
            token,
            Some(&json!({"propertyValue": "true"})),
        )
        .await;
    assert_eq!(
        (
            status,
            own_entry["id"].clone(),
            own_entry["propertyValue"].as_str()
        ),
        (200, nulls["id"].clone(), Some("true"))
    );
    let (status, _, shown) = app
        .element(
            Method::GET,
            &format!("{CE}/instances/configuration/filter.response.nulls"),
            token,
            None,
        )
        .await;
    assert_eq!(
        (status, shown["propertyValue"].as_str()),
        (200, Some("true"))
    );
}

pub async fn a_disabled_instances_element_token_is_refused_with_403(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let created = app
        .create_instance(&instance_body("Switch", &receiver.url("/api")))
        .await;
    let id = created["id"].as_i64().unwrap();
    let token = created["token"].as_str().unwrap();

    let (status, off) = app
        .admin(
            Method::DELETE,
            &format!("{CE}/instances/{id}/enabled"),
            None,
        )
        .await;
    assert_eq!(
        (status, off["disabled"].as_bool()),
        (200, Some(true)),
        "{off}"
    );
    assert!(off["user"].is_object(), "Cloud Elements' instance shape");
    for path in ["/instances/configuration", "/webhooks"] {
        let (status, _, error) = app
            .element(Method::GET, &format!("{CE}{path}"), token, None)
            .await;
        assert_eq!(status, 403, "{path}: {error}");
        assert_eq!(error["code"], "forbidden");
        assert!(error["requestId"].is_string() && error["message"].is_string());
    }
    let (status, _, _) = app
        .element(
            Method::PATCH,
            &format!("{CE}/instances"),
            token,
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, 403);
    // The root answers as it always has.
    let (status, _, _) = app
        .element(Method::GET, "/instances/configuration", token, None)
        .await;
    assert_eq!(status, 200);

    let (status, on) = app
        .admin(Method::PUT, &format!("{CE}/instances/{id}/enabled"), None)
        .await;
    assert_eq!((status, on["disabled"].as_bool()), (200, Some(false)));
    let (status, _, _) = app
        .element(
            Method::GET,
            &format!("{CE}/instances/configuration"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, error) = app
        .admin(Method::PUT, &format!("{CE}/instances/999/enabled"), None)
        .await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
}

/// Cloud Elements' "Disabling and Enabling Instances": `DELETE|PUT /instances/enabled` with
/// the instance's Element token, no id. Re-enabling is the one call a disabled instance's
/// token may still make; it reaches only its own instance.
pub async fn the_element_token_disables_and_enables_its_own_instance(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let mine = app
        .create_instance(&instance_body("Mine", &receiver.url("/api")))
        .await;
    let other = app
        .create_instance(&instance_body("Other", &receiver.url("/api")))
        .await;
    let token = mine["token"].as_str().unwrap();
    let enabled = format!("{CE}/instances/enabled");

    let (status, _, off) = app.element(Method::DELETE, &enabled, token, None).await;
    assert_eq!(
        (status, off["id"].clone()),
        (200, mine["id"].clone()),
        "{off}"
    );
    assert_eq!(off["disabled"], true);
    let (status, _, _) = app
        .element(
            Method::GET,
            &format!("{CE}/instances/configuration"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 403, "disabled: its token is refused");
    let (_, shown) = app
        .admin(Method::GET, &format!("/instances/{}", other["id"]), None)
        .await;
    assert_eq!(shown["disabled"], false, "the other instance is untouched");

    let (status, _, on) = app.element(Method::PUT, &enabled, token, None).await;
    assert_eq!(
        (status, on["disabled"].as_bool()),
        (200, Some(false)),
        "{on}"
    );
    let (status, _, _) = app
        .element(
            Method::GET,
            &format!("{CE}/instances/configuration"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Without an Element token: 401, nothing changes.
    let (status, error) = app.admin(Method::DELETE, &enabled, None).await;
    assert_eq!(status, 401, "{error}");
    let (_, shown) = app
        .admin(Method::GET, &format!("/instances/{}", mine["id"]), None)
        .await;
    assert_eq!(shown["disabled"], false);
}

engine_tests!(
    the_default_nulls_entry_is_changed_by_its_id_as_churros_does,
    a_disabled_instances_element_token_is_refused_with_403,
    the_element_token_disables_and_enables_its_own_instance,
);
