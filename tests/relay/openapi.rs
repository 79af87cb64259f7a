//! The admin API's OpenAPI document: every documented operation exists behind the
//! credentials, and real answers carry exactly the properties their schemas document.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;
use webhook_relay::store::Status;

use crate::helpers::*;

/// (required, all) property names of a schema, following `$ref` and `allOf`.
fn properties(doc: &Value, schema: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return properties(doc, &doc["components"]["schemas"][name]);
    }
    let (mut required, mut all) = (BTreeSet::new(), BTreeSet::new());
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            let (r, a) = properties(doc, part);
            required.extend(r);
            all.extend(a);
        }
    }
    if let Some(r) = schema["required"].as_array() {
        required.extend(r.iter().map(|v| v.as_str().unwrap().to_string()));
    }
    if let Some(p) = schema["properties"].as_object() {
        all.extend(p.keys().cloned());
    }
    (required, all)
}

/// Checks `value` against the 200 schema of `method path` in the document.
fn conforms(doc: &Value, method: &str, path: &str, value: &Value) {
    let schema =
        &doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"];
    assert!(
        !schema.is_null(),
        "{method} {path} documents its 200 answer"
    );
    let (schema, items) = match schema["type"].as_str() {
        Some("array") => (&schema["items"], value.as_array().unwrap().clone()),
        _ => (schema, vec![value.clone()]),
    };
    let (required, all) = properties(doc, schema);
    assert!(!items.is_empty(), "{method} {path}: something to check");
    for item in items {
        let keys: BTreeSet<String> = item.as_object().unwrap().keys().cloned().collect();
        assert!(
            required.is_subset(&keys),
            "{method} {path}: missing {:?}",
            required.difference(&keys).collect::<Vec<_>>()
        );
        assert!(
            keys.is_subset(&all),
            "{method} {path}: undocumented {:?}",
            keys.difference(&all).collect::<Vec<_>>()
        );
    }
}

pub async fn the_openapi_document_matches_the_admin_api(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let (status, doc) = app.admin(Method::GET, "/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    // Every documented operation exists, behind the credentials.
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{id}", "1")
            .replace("{eventId}", "some-event")
            .replace("{configId}", "event.notification.enabled");
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let res = app
                .http
                .request(method.clone(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                401,
                "{method} {path} exists and needs credentials"
            );
            operations += 1;
        }
    }
    assert_eq!(operations, 26);

    // Real answers carry the documented properties, no more, no fewer.
    let created = app
        .create_instance(&instance_body("Doc", &receiver.url("/api")))
        .await;
    conforms(&doc, "post", "/instances", &created);
    let (_, list) = app.admin(Method::GET, "/instances", None).await;
    conforms(&doc, "get", "/instances", &list);
    let (_, one) = app.admin(Method::GET, "/instances/1", None).await;
    conforms(&doc, "get", "/instances/{id}", &one);
    let (_, tagged) = app.admin(Method::GET, "/instances?tags[]=Docs", None).await;
    conforms(&doc, "get", "/instances", &tagged);
    let new_id = created["id"].as_i64().unwrap();
    let conf = format!("/instances/{new_id}/configuration");
    let (_, entries) = app.admin(Method::GET, &conf, None).await;
    conforms(&doc, "get", "/instances/{id}/configuration", &entries);
    let entry_path = format!("{conf}/event.notification.enabled");
    let (_, entry) = app.admin(Method::GET, &entry_path, None).await;
    conforms(
        &doc,
        "get",
        "/instances/{id}/configuration/{configId}",
        &entry,
    );
    let patch = serde_json::json!({"propertyValue": "true"});
    let (_, entry) = app.admin(Method::PATCH, &entry_path, Some(&patch)).await;
    conforms(
        &doc,
        "patch",
        "/instances/{id}/configuration/{configId}",
        &entry,
    );
    let token = created["token"].as_str().unwrap();
    let (_, _, own) = app
        .element(Method::GET, "/instances/configuration", token, None)
        .await;
    conforms(&doc, "get", "/instances/configuration", &own);
    let own_entry = "/instances/configuration/event.notification.enabled";
    let (_, _, entry) = app.element(Method::GET, own_entry, token, None).await;
    conforms(&doc, "get", "/instances/configuration/{configId}", &entry);
    let (_, _, entry) = app
        .element(Method::PATCH, own_entry, token, Some(&patch))
        .await;
    conforms(&doc, "patch", "/instances/configuration/{configId}", &entry);
    let enabled = format!("/instances/{new_id}/enabled");
    let (_, off) = app.admin(Method::DELETE, &enabled, None).await;
    conforms(&doc, "delete", "/instances/{id}/enabled", &off);
    let (_, on) = app.admin(Method::PUT, &enabled, None).await;
    conforms(&doc, "put", "/instances/{id}/enabled", &on);
    let (_, accepted) = app.send(&box_payload()).await;
    let id = accepted["eventId"].as_str().unwrap();
    app.wait_for_status(id, Status::Delivered).await;
    let (_, events) = app.admin(Method::GET, "/instances/1/events", None).await;
    conforms(&doc, "get", "/instances/{id}/events", &events);
    let (_, detail) = app
        .admin(Method::GET, &format!("/instances/events/{id}"), None)
        .await;
    conforms(&doc, "get", "/instances/events/{eventId}", &detail);
    let (_, replay) = app
        .admin(
            Method::POST,
            &format!("/instances/events/{id}/redeliver"),
            None,
        )
        .await;
    conforms(
        &doc,
        "post",
        "/instances/events/{eventId}/redeliver",
        &replay,
    );
    let (_, bulk) = app
        .admin(Method::POST, "/instances/1/events/redeliver", None)
        .await;
    conforms(&doc, "post", "/instances/{id}/events/redeliver", &bulk);
    let (required, all) = properties(&doc, &doc["components"]["schemas"]["Attempt"]);
    let keys: BTreeSet<String> = detail["attempts"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(
        required.is_subset(&keys) && keys.is_subset(&all),
        "attempts: {keys:?}"
    );
}

engine_tests!(the_openapi_document_matches_the_admin_api,);
