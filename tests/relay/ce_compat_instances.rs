//! Cloud Elements' compatibility surface (`/elements/api-v2`), instances and the element, in
//! the shapes churros (Cloud Elements' platform tests) asserts: the Box element with a numeric
//! id, the nested `/elements/{box|id}/instances` routes, an instance with its `user` and the
//! default `filter.response.nulls` entry, names stripped of HTML, the name as the tag of an
//! instance created without tags, `PATCH /instances` by Element token. The root keeps the
//! relay's shapes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const CE: &str = "/elements/api-v2";
const XSS: &str =
    r##"<a href="#" onClick="javascript:alert('xss');return false;">churros-xss</a>"##;

/// A Cloud Elements error answer: `{requestId, message}` beside the relay's code.
fn assert_ce_error(error: &Value, code: &str) {
    assert_eq!(error["code"], code, "{error}");
    assert!(
        !error["requestId"].as_str().unwrap_or_default().is_empty(),
        "{error}"
    );
    assert_eq!(error["message"], error["detail"], "{error}");
}

pub async fn the_box_element_answers_with_a_numeric_id_by_key_and_by_id(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let (status, element) = app
        .admin(Method::GET, &format!("{CE}/elements/box"), None)
        .await;
    assert_eq!(status, 200, "{element}");
    let id = element["id"].as_i64().expect("a numeric id");
    assert_eq!(element["key"], "box");
    assert_eq!(element["name"], "Box");
    assert!(element["description"].is_string());
    assert_eq!(element["authentication"]["type"], "oauth2");
    let keys: Vec<&str> = element["configuration"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"event.notification.callback.url"),
        "{keys:?}"
    );
    assert!(keys.contains(&"box.webhook.v1.match_user_id"), "{keys:?}");

    let (status, by_id) = app
        .admin(Method::GET, &format!("{CE}/elements/{id}"), None)
        .await;
    assert_eq!((status, &by_id), (200, &element));

    for path in [
        "/elements/jira",
        "/elements/999",
        "/elements/jira/instances",
        "/elements/0/instances/1",
    ] {
        let (status, error) = app.admin(Method::GET, &format!("{CE}{path}"), None).await;
        assert_eq!(status, 404, "{path}: {error}");
        assert_ce_error(&error, "not_found");
    }
    let res = app
        .http
        .get(app.url(&format!("{CE}/elements/box")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "platform credentials required");
}

pub async fn instances_answer_with_user_default_entry_and_html_free_name(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let mut body = instance_body(XSS, &receiver.url("/api"));
    body.as_object_mut().unwrap().remove("tags");
    body["configuration"]["oauth.user.id"] = json!("123");
    let (status, created) = app
        .admin(Method::POST, &format!("{CE}/instances"), Some(&body))
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["name"], "churros-xss");
    assert_eq!(
        created["tags"],
        json!(["churros-xss"]),
        "the name as its tag"
    );
    assert!(created["token"].as_str().unwrap().len() > 20, "shown once");
    assert_eq!(created["valid"], true);
    assert_eq!(created["element"]["key"], "box");
    assert!(created["element"]["id"].is_i64());
    assert_eq!(
        created["user"],
        json!({"id": 123, "emailAddress": null, "firstName": null, "lastName": null})
    );
    assert_eq!(created["configuration"]["filter.response.nulls"], "true");
    assert_eq!(
        created["configuration"]["box.webhook.primary.key"],
        "********"
    );

    let (status, shown) = app
        .admin(Method::GET, &format!("{CE}/instances/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(shown["name"], "churros-xss");
    assert_eq!(shown["user"]["id"], 123);
    assert_eq!(shown["token"], "********");

    // PATCH strips HTML too, and takes the instance's id in the body as churros sends it.
    let (status, patched) = app
        .admin(
            Method::PATCH,
            &format!("{CE}/instances/{id}"),
            Some(&json!({"id": id, "name": "<b>@churros-xss-updated</b>", "tags": ["churros-testing"]})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "@churros-xss-updated");
    assert_eq!(patched["tags"], json!(["churros-testing"]));

    // The root keeps the relay's shape: no user, the stored default, the relay's errors.
    let (_, root) = app
        .admin(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert!(root.get("user").is_none(), "{root}");
    assert_eq!(root["configuration"]["filter.response.nulls"], "true");
    let (_, root_error) = app.admin(Method::GET, "/instances/999", None).await;
    assert!(root_error.get("requestId").is_none(), "{root_error}");

    // An instance created at the root shows the default on this surface, and a null user.
    let plain = app
        .create_instance(&instance_body("Plain", &receiver.url("/api")))
        .await;
    let (_, shown) = app
        .admin(
            Method::GET,
            &format!("{CE}/instances/{}", plain["id"]),
            None,
        )
        .await;
    assert_eq!(shown["configuration"]["filter.response.nulls"], "true");
    assert_eq!(shown["user"]["id"], Value::Null);

    // A name that is only HTML is refused, nothing created.
    let mut empty = instance_body("<img src=x>", &receiver.url("/api"));
    empty["tags"] = json!([]);
    let (status, error) = app
        .admin(Method::POST, &format!("{CE}/instances"), Some(&empty))
        .await;
    assert_eq!(status, 400);
    assert_ce_error(&error, "invalid_value");
    let (_, all) = app.admin(Method::GET, "/instances", None).await;
    assert_eq!(all.as_array().unwrap().len(), 4 + 2);
}

pub async fn nested_element_routes_create_list_show_replace_and_delete(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let (_, element) = app
        .admin(Method::GET, &format!("{CE}/elements/box"), None)
        .await;
    let element_id = element["id"].as_i64().unwrap();
    for base in [
        format!("{CE}/elements/box/instances"),
        format!("{CE}/elements/{element_id}/instances"),
    ] {
        let mut body = instance_body("Nested", &receiver.url("/api"));
        body.as_object_mut().unwrap().remove("element");
        let (status, created) = app.admin(Method::POST, &base, Some(&body)).await;
        assert_eq!(status, 200, "{base}: {created}");
        let id = created["id"].as_i64().unwrap();
        let (status, listed) = app.admin(Method::GET, &base, None).await;
        assert_eq!(status, 200);
        assert!(listed.as_array().unwrap().iter().any(|i| i["id"] == id));
        let (status, shown) = app.admin(Method::GET, &format!("{base}/{id}"), None).await;
        assert_eq!((status, shown["name"].as_str()), (200, Some("Nested")));
        let replacement = json!({
            "element": {"id": element_id},
            "name": "updated-instance",
            "configuration": {"event.notification.enabled": "false"}
        });
        let (status, replaced) = app
            .admin(Method::PUT, &format!("{base}/{id}"), Some(&replacement))
            .await;
        assert_eq!(status, 200, "{replaced}");
        assert_eq!(replaced["id"], id);
        assert_eq!(replaced["name"], "updated-instance");
        assert_eq!(replaced["tags"], json!(["updated-instance"]));
        assert_eq!(
            replaced["configuration"]["event.notification.callback.url"],
            Value::Null,
            "replaced whole"
        );
        let (status, _) = app
            .admin(Method::DELETE, &format!("{base}/{id}"), None)
            .await;
        assert_eq!(status, 200);
        let (status, error) = app.admin(Method::GET, &format!("{base}/{id}"), None).await;
        assert_eq!(status, 404);
        assert_ce_error(&error, "not_found");
    }
    // Another element's id is refused in a body.
    let mut body = instance_body("Other", &receiver.url("/api"));
    body["element"] = json!({"id": element_id + 1});
    let (status, error) = app
        .admin(Method::POST, &format!("{CE}/instances"), Some(&body))
        .await;
    assert_eq!((status, error["key"].as_str()), (400, Some("element.id")));
}

pub async fn patch_instances_acts_on_the_element_tokens_instance(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let a = app
        .create_instance(&instance_body("A", &receiver.url("/a")))
        .await;
    let b = app
        .create_instance(&instance_body("B", &receiver.url("/b")))
        .await;
    let a_token = a["token"].as_str().unwrap();
    let (status, _, patched) = app
        .element(
            Method::PATCH,
            &format!("{CE}/instances"),
            a_token,
            Some(&json!({"name": "<i>A renamed</i>"})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (patched["id"].clone(), patched["name"].as_str()),
        (a["id"].clone(), Some("A renamed"))
    );
    let (_, b_now) = app
        .admin(Method::GET, &format!("/instances/{}", b["id"]), None)
        .await;
    assert_eq!(b_now["name"], "B", "another instance is untouched");

    // Without an Element token (or with platform credentials only) it is refused.
    let (status, error) = app
        .admin(
            Method::PATCH,
            &format!("{CE}/instances"),
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, 401);
    assert_ce_error(&error, "unauthorized");
    let (status, _, _) = app
        .element(
            Method::PATCH,
            &format!("{CE}/instances"),
            "not-a-token",
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, 401);
}

engine_tests!(
    the_box_element_answers_with_a_numeric_id_by_key_and_by_id,
    instances_answer_with_user_default_entry_and_html_free_name,
    nested_element_routes_create_list_show_replace_and_delete,
    patch_instances_acts_on_the_element_tokens_instance,
);
