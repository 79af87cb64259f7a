//! Cloud Elements' base path: every admin and instance route answers under
//! `/elements/api-v2` too, behind the same credentials, with the relay's answer as a part of
//! Cloud Elements' (which adds fields: the instance's `user`, default entries, `requestId`
//! and `message` on errors; the event list has Cloud Elements' own shape, see
//! `ce_compat_events.rs`); Box's intake and the ops routes do not.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

pub async fn admin_routes_answer_alike_under_the_cloud_elements_base_path(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let created = app
        .create_instance(&instance_body("Prefixed", &receiver.url("/api")))
        .await;
    let id = created["id"].as_i64().unwrap();
    let token = created["token"].as_str().unwrap();

    // Reads answer at both paths, the root's answer contained in the prefixed one.
    for path in [
        "/instances".to_string(),
        "/instances?tags[]=Docs".into(),
        "/instances/1".into(),
        format!("/instances/{id}"),
        format!("/instances/{id}/configuration"),
        format!("/instances/{id}/configuration/event.notification.enabled"),
        "/instances/1/events".into(),
        "/openapi.json".into(),
        "/instances/999".into(),
    ] {
        let (status, root) = app.admin(Method::GET, &path, None).await;
        let (prefixed_status, prefixed) = app
            .admin(Method::GET, &format!("/elements/api-v2{path}"), None)
            .await;
        assert_eq!(prefixed_status, status, "{path}");
        if !path.ends_with("/events") {
            assert!(
                contains(&prefixed, &root),
                "{path}: {prefixed} lacks {root}"
            );
        }
    }

    // Writes work there too: create, patch, disable, delete; the Element routes as well.
    let (status, made) = app
        .admin(
            Method::POST,
            "/elements/api-v2/instances",
            Some(&instance_body("Made there", &receiver.url("/api"))),
        )
        .await;
    assert_eq!((status, made["name"].as_str()), (200, Some("Made there")));
    let made_id = made["id"].as_i64().unwrap();
    let (status, patched) = app
        .admin(
            Method::PATCH,
            &format!("/elements/api-v2/instances/{made_id}"),
            Some(&json!({"name": "Renamed there"})),
        )
        .await;
    assert_eq!(
        (status, patched["name"].as_str()),
        (200, Some("Renamed there"))
    );
    let (status, off) = app
        .admin(
            Method::DELETE,
            &format!("/elements/api-v2/instances/{made_id}/enabled"),
            None,
        )
        .await;
    assert_eq!((status, off["disabled"].as_bool()), (200, Some(true)));
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/elements/api-v2/instances/{made_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .admin(Method::GET, &format!("/instances/{made_id}"), None)
        .await;
    assert_eq!(status, 404, "deleted through the prefix, gone at the root");
    let (status, _, own) = app
        .element(
            Method::GET,
            "/elements/api-v2/instances/configuration",
            token,
            None,
        )
        .await;
    let (_, _, root_own) = app
        .element(Method::GET, "/instances/configuration", token, None)
        .await;
    assert_eq!(status, 200);
    assert!(contains(&own, &root_own), "{own}");

    // Same credentials: none, or the wrong kind, are refused alike.
    for path in [
        "/elements/api-v2/instances",
        "/elements/api-v2/openapi.json",
        "/elements/api-v2/instances/configuration",
    ] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 401, "{path}");
    }

    // Unknown routes under the prefix, Box's intake and ops are 404 JSON there.
    for (method, path) in [
        (Method::GET, "/elements/api-v2/nothing-here"),
        (Method::GET, "/elements/api-v2"),
        (Method::GET, "/elements/api-v2/healthz"),
        (Method::GET, "/elements/api-v2/metrics"),
        (Method::POST, "/elements/api-v2/webhooks/box/1"),
        (Method::GET, "/elements/api-v2/instances/1/nothing"),
    ] {
        let (status, error) = app.admin(method.clone(), path, None).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (404, Some("not_found")),
            "{method} {path}"
        );
    }
    // … while they still answer at the root.
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// Whether `outer` holds everything `inner` does: the same scalars, every key of an object,
/// each element of an array in some element of the other.
fn contains(outer: &serde_json::Value, inner: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (outer, inner) {
        (Value::Object(o), Value::Object(i)) => i
            .iter()
            .all(|(k, v)| o.get(k).is_some_and(|ov| contains(ov, v))),
        (Value::Array(o), Value::Array(i)) => i.iter().all(|v| o.iter().any(|ov| contains(ov, v))),
        _ => outer == inner,
    }
}

pub async fn without_admin_secrets_the_base_path_does_not_exist(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_app(&engine, &receiver).await;
    let res = app
        .http
        .get(app.url("/elements/api-v2/instances"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

engine_tests!(
    admin_routes_answer_alike_under_the_cloud_elements_base_path,
    without_admin_secrets_the_base_path_does_not_exist,
);
