//! Admin API, what it refuses: the config file's instances are read-only, invalid instances
//! are refused with the offending key named, and callbacks to private addresses are refused
//! unless the operator allows them.

use reqwest::Method;
use serde_json::json;

use crate::admin_instances::masked_token;
use crate::helpers::*;

pub async fn config_file_instances_are_read_only(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let (status, body) = app
        .admin(Method::PATCH, "/instances/1", Some(&json!({"name": "x"})))
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("read_only")));
    let (status, body) = app.admin(Method::DELETE, "/instances/1", None).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("read_only")));
    let (_, shown) = app.admin(Method::GET, "/instances/1", None).await;
    assert_eq!(shown["name"], "Test Box");
    for path in [
        "/instances/999",
        "/instances/abc",
        "/instances/-1",
        "/instances/99999999999999999999",
    ] {
        let (status, _) = app.admin(Method::GET, path, None).await;
        assert_eq!(status, 404, "{path}");
    }
}

pub async fn invalid_instances_are_refused_with_the_key_named(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let good = instance_body("Good", &receiver.url("/api"));
    let with = |path: &[&str], value: serde_json::Value| {
        let mut body = good.clone();
        let mut at = &mut body;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = value;
        body
    };
    let cases = [
        (with(&["element"], json!(null)), "element.key"),
        (with(&["element", "key"], json!("dropbox")), "element.key"),
        (with(&["name"], json!("")), "name"),
        (with(&["tags"], json!("docs")), "tags"),
        (with(&["disabled"], json!("yes")), "disabled"),
        (with(&["configuration"], json!([])), "configuration"),
        (
            with(
                &["configuration", "event.notification.callback.url"],
                json!("not a url"),
            ),
            "configuration.\"event.notification.callback.url\"",
        ),
        (
            with(
                &["configuration", "event.notification.callback.url"],
                json!("ftp://x.example/"),
            ),
            "configuration.\"event.notification.callback.url\"",
        ),
        (
            with(
                &["configuration", "event.notification.callback.url"],
                json!(null),
            ),
            "configuration.\"event.notification.callback.url\"",
        ),
        (
            with(
                &["configuration", "event.notification.enabled"],
                json!("maybe"),
            ),
            "configuration.\"event.notification.enabled\"",
        ),
        (
            with(&["configuration", "box.webhook.primary.key"], json!(true)),
            "configuration.\"box.webhook.primary.key\"",
        ),
        (
            with(
                &["configuration", "event.notification.standard.secret"],
                json!("no-prefix"),
            ),
            "configuration.\"event.notification.standard.secret\"",
        ),
        (
            with(&["configuration", "oauth.scopes"], json!(["a"])),
            "configuration.\"oauth.scopes\"",
        ),
    ];
    for (body, key) in cases {
        let (status, answer) = app.admin(Method::POST, "/instances", Some(&body)).await;
        assert_eq!(status, 400, "{key}: {answer}");
        assert_eq!(answer["code"], "invalid_value");
        assert_eq!(answer["key"], key, "{answer}");
        assert!(!answer.to_string().contains(API_PRIMARY));
    }
    let res = app
        .http
        .post(app.url("/instances"))
        .header("authorization", admin_auth())
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, answer) = crate::helpers::answer(res).await;
    assert_eq!((status, answer["key"].as_str()), (400, Some("body")));
    // A bad PATCH changes nothing.
    let created = app.create_instance(&good).await;
    let path = format!("/instances/{}", created["id"]);
    let (status, _) = app
        .admin(
            Method::PATCH,
            &path,
            Some(&json!({"name": "Changed", "configuration": {"event.notification.callback.url": "nope"}})),
        )
        .await;
    assert_eq!(status, 400);
    let (_, shown) = app.admin(Method::GET, &path, None).await;
    assert_eq!(shown, masked_token(&created));
    let (_, list) = app.admin(Method::GET, "/instances", None).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        5,
        "only the good one was created"
    );
}

pub async fn callbacks_to_private_addresses_are_refused_unless_allowed(engine: Engine) {
    let receiver = Receiver::start().await;
    let env = admin_env(&[("RELAY__DELIVERY__ALLOW_PRIVATE_DESTINATIONS", "false")]);
    let app = spawn_app_env(&engine, &receiver, &env).await;
    for url in [
        "http://127.0.0.1:9/events",
        "http://localhost/events",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/events",
        "http://192.168.0.10/events",
        "http://[::1]/events",
        "http://[fd00:ec2::254]/",
    ] {
        let (status, answer) = app
            .admin(
                Method::POST,
                "/instances",
                Some(&instance_body("Private", url)),
            )
            .await;
        assert_eq!(status, 400, "{url}: {answer}");
        assert_eq!(
            answer["key"],
            "configuration.\"event.notification.callback.url\""
        );
    }
    // A public address is accepted (an IP literal: no DNS needed).
    app.create_instance(&instance_body("Public", "https://93.184.216.34/events"))
        .await;
    // The test relay of the other suites allows private destinations: loopback is accepted.
    let open = spawn_admin_app(&engine, &receiver).await;
    open.create_instance(&instance_body("Loopback", "http://127.0.0.1:9/events"))
        .await;
}

engine_tests!(
    config_file_instances_are_read_only,
    invalid_instances_are_refused_with_the_key_named,
    callbacks_to_private_addresses_are_refused_unless_allowed,
);
