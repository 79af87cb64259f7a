//! What the relay says about a configuration before it runs, with the real binary: a callback
//! the destination guard refuses stops `serve` and `check-config` (naming the instance, the
//! key and the settings); a callback name that does not resolve is a warning; unknown
//! configuration keys are named with the nearest known key; instances whose events are off
//! are listed. Through the admin API: unknown top-level fields are a 400 naming the field,
//! unknown configuration keys are kept and answered as `warnings`.

use std::path::{Path, PathBuf};
use std::process::Output;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// A config file on a SQLite store in `dir` with one instance (id 7, "Acme") whose
/// configuration is `configuration` (TOML lines), and `delivery` lines.
fn config_file(dir: &Path, delivery: &str, configuration: &str) -> PathBuf {
    let path = dir.join("relay.toml");
    let db = dir.join("relay.db");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nurl = \"sqlite://{}\"\n\
             [delivery]\n{delivery}\n\
             [[instances]]\nid = 7\nname = \"Acme\"\n[instances.configuration]\n{configuration}\n",
            db.display()
        ),
    )
    .unwrap();
    path
}

/// The configuration of an instance delivering to `url`.
fn delivering_to(url: &str) -> String {
    format!(
        "\"event.notification.enabled\" = true\n\"event.notification.callback.url\" = \"{url}\"\n"
    )
}

/// Runs the real binary with `--config config` and `args`; (output, stderr).
async fn run(config: &Path, args: &[&str]) -> (Output, String) {
    run_with(config, args, &[]).await
}

/// [`run`], with environment variables.
async fn run_with(config: &Path, args: &[&str], vars: &[(&str, &str)]) -> (Output, String) {
    let out = tokio::time::timeout(
        DEADLINE,
        tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-relay"))
            .arg("--config")
            .arg(config)
            .args(args)
            .envs(vars.iter().copied())
            .env_remove("RUST_LOG")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the binary exits within the deadline")
    .expect("run the binary");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

/// Asserts that `stderr` refuses instance 7's callback, naming the key and both settings.
fn assert_refusal_named(stderr: &str, url: &str) {
    for part in [
        "instances[0] (id 7, \"Acme\")",
        "`event.notification.callback.url`",
        url,
        "destination refused",
        "delivery.allowed_private_networks",
        "delivery.allow_private_destinations",
    ] {
        assert!(stderr.contains(part), "{part:?} missing from: {stderr}");
    }
}

#[tokio::test]
async fn check_config_refuses_a_private_callback_naming_the_instance_key_and_setting() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "http://127.0.0.1:9000/events",
        "http://localhost:9000/events",
        "http://[fd00::1]/events",
    ] {
        let config = config_file(dir.path(), "", &delivering_to(url));
        let (out, stderr) = run(&config, &["check-config"]).await;
        assert!(!out.status.success(), "{url} accepted: {stderr}");
        assert_refusal_named(&stderr, url);
        assert!(!stderr.contains("configuration is valid"), "{stderr}");
    }
    // Allowed by either setting: valid.
    for delivery in [
        "allowed_private_networks = [\"127.0.0.0/8\"]",
        "allow_private_destinations = true",
    ] {
        let config = config_file(
            dir.path(),
            delivery,
            &delivering_to("http://localhost:9000/events"),
        );
        let (out, stderr) = run(&config, &["check-config"]).await;
        assert!(out.status.success(), "{delivery}: {stderr}");
        assert!(stderr.contains("configuration is valid"), "{stderr}");
    }
    // A public literal is valid with the guard on.
    let config = config_file(
        dir.path(),
        "",
        &delivering_to("https://93.184.216.34/events"),
    );
    let (out, stderr) = run(&config, &["check-config"]).await;
    assert!(out.status.success(), "{stderr}");
}

#[tokio::test]
async fn serve_refuses_to_start_with_a_private_callback_before_opening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = "http://127.0.0.1:9000/events";
    let config = config_file(dir.path(), "", &delivering_to(url));
    let (out, stderr) = run(&config, &["serve"]).await;
    assert!(!out.status.success(), "{stderr}");
    assert_refusal_named(&stderr, url);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("relay listening"),
        "it never listened"
    );
    assert!(
        !dir.path().join("relay.db").exists(),
        "no store was created"
    );
}

#[tokio::test]
async fn a_value_that_is_not_of_its_type_stops_both_commands_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), "timeout_ms = 0", "");
    for command in ["check-config", "serve"] {
        let (out, stderr) = run(&config, &[command]).await;
        assert!(!out.status.success(), "{command}: {stderr}");
        assert!(
            stderr.contains("configuration key `delivery.timeout_ms`: must be positive"),
            "{command}: {stderr}"
        );
        assert_eq!(
            stderr.matches("must be positive").count(),
            1,
            "said once: {stderr}"
        );
    }
    let config = config_file(dir.path(), "", "");
    let (out, stderr) = run_with(
        &config,
        &["check-config"],
        &[("RELAY__SERVER__PUBLIC_URL", "relay.example.com")],
    )
    .await;
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("configuration key `server.public_url`: not a valid URL"),
        "{stderr}"
    );
    let (out, stderr) = run(&config, &["serve", "--listen", "nowhere"]).await;
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("--listen"), "{stderr}");
    assert!(!dir.path().join("relay.db").exists(), "nothing was started");
}

#[tokio::test]
async fn a_callback_name_that_does_not_resolve_is_a_warning_not_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    // `.invalid` never resolves (RFC 6761).
    let url = "https://relay-config-check.invalid/events";
    let config = config_file(dir.path(), "", &delivering_to(url));
    let (out, stderr) = run(&config, &["check-config"]).await;
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("instances[0] (id 7, \"Acme\")")
            && stderr.contains("relay-config-check.invalid does not resolve"),
        "{stderr}"
    );
    assert!(stderr.contains("configuration is valid"), "{stderr}");
}

#[tokio::test]
async fn check_config_names_unknown_keys_and_the_instances_whose_events_are_off() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        "",
        "\"event.notification.callbak.url\" = \"https://93.184.216.34/events\"\n\
         \"event.vendor.type\" = \"webhook\"\n\"oauth.api.key\" = \"client-id\"\n",
    );
    let (out, stderr) = run(&config, &["check-config"]).await;
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "instances[0] (id 7, \"Acme\"): unknown configuration key \
             `event.notification.callbak.url`"
        ) && stderr.contains("did you mean `event.notification.callback.url`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "instance 7 \"Acme\": events off (event.notification.enabled is not true): Box \
             deliveries will be answered \"ignored\""
        ),
        "{stderr}"
    );
    for known in ["event.vendor.type", "oauth.api.key"] {
        assert!(
            !stderr.contains(&format!("`{known}`")),
            "{known} is known: {stderr}"
        );
    }
    // Events on, every key known: nothing to say but "valid".
    let config = config_file(
        dir.path(),
        "",
        &delivering_to("https://93.184.216.34/events"),
    );
    let (out, stderr) = run(&config, &["check-config"]).await;
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.trim(), "configuration is valid: 1 instance(s)");
}

#[tokio::test]
async fn serve_logs_unknown_configuration_keys_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        "",
        "\"event.notification.enabled\" = true\n\
         \"event.notification.callback.url\" = \"https://93.184.216.34/events\"\n\
         \"box.webhook.primary.kye\" = \"k\"\n",
    );
    let log = dir.path().join("relay.log");
    let mut relay = RelayProcess::start(&config, &log).await;
    relay.signal("TERM");
    assert!(relay.wait().await.success());
    let warning = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"].as_str().is_some_and(|m| m.contains("kye")))
        .expect("a warning about the unknown key");
    assert_eq!(warning["level"], "WARN", "{warning}");
    let message = warning["message"].as_str().unwrap();
    assert!(
        message.contains("instances[0] (id 7, \"Acme\")")
            && message.contains("did you mean `box.webhook.primary.key`?"),
        "{message}"
    );
}

pub async fn unknown_top_level_fields_of_admin_bodies_are_refused_naming_the_field(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let assert_refused = |(status, answer): (u16, Value), field: &str, near: &str| {
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["code"], "invalid_value", "{answer}");
        assert_eq!(answer["key"], field, "{answer}");
        let detail = answer["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("`{near}`")), "{detail}");
    };

    let mut body = instance_body("Typo", &receiver.url("/events"));
    body["nmae"] = json!("Typo");
    let posted = app.admin(Method::POST, "/instances", Some(&body)).await;
    assert_refused(posted, "nmae", "name");
    let (_, list) = app.admin(Method::GET, "/instances", None).await;
    assert_eq!(list.as_array().unwrap().len(), 4, "nothing created: {list}");

    // Cloud Elements' fields the relay ignores are accepted.
    let mut body = instance_body("Described", &receiver.url("/events"));
    body["description"] = json!("kept by Cloud Elements, ignored here");
    body["cacheTimeToLive"] = json!(60);
    let created = app.create_instance(&body).await;
    let path = format!("/instances/{}", created["id"]);
    let patched = app
        .admin(Method::PATCH, &path, Some(&json!({"nmae": "Renamed"})))
        .await;
    assert_refused(patched, "nmae", "name");
    let (_, shown) = app.admin(Method::GET, &path, None).await;
    assert_eq!(shown["name"], "Described", "unchanged");

    // The instance-scoped webhook routes, create and update alike.
    let created = app
        .create_instance(&oauth_instance_body(
            "Hooks",
            &receiver.url("/events"),
            &fake.issue_code(),
        ))
        .await;
    let token = created["token"].as_str().unwrap();
    let hook =
        json!({ "target": { "id": "12345", "type": "folder" }, "triggers": ["FILE.UPLOADED"] });
    let mut typo = hook.clone();
    typo["trigers"] = json!(["FILE.DELETED"]);
    let (status, _, answer) = app
        .element(Method::POST, "/webhooks", token, Some(&typo))
        .await;
    assert_refused((status, answer), "trigers", "triggers");
    assert!(fake.webhooks().is_empty(), "Box was not called");
    let (status, _, made) = app
        .element(Method::POST, "/webhooks", token, Some(&hook))
        .await;
    assert_eq!(status, 201, "{made}");
    let hook_path = format!("/webhooks/{}", made["id"].as_str().unwrap());
    let (status, _, answer) = app
        .element(
            Method::PUT,
            &hook_path,
            token,
            Some(&json!({"triggers": ["FILE.DELETED"], "taget": {"id": "1", "type": "file"}})),
        )
        .await;
    assert_refused((status, answer), "taget", "target");
    let (status, _, answer) = app
        .element(
            Method::PUT,
            &hook_path,
            token,
            Some(&json!({"address": "https://elsewhere.example/"})),
        )
        .await;
    assert_eq!((status, answer["key"].as_str()), (400, Some("address")));
    let (_, _, kept) = app.element(Method::GET, &hook_path, token, None).await;
    assert_eq!(kept["triggers"], json!(["FILE.UPLOADED"]), "unchanged");
}

pub async fn unknown_configuration_keys_are_kept_and_answered_as_warnings(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let mut body = instance_body("Typo", &receiver.url("/events"));
    body["configuration"]["event.notification.callbak.url"] = json!("https://x.example/");
    let created = app.create_instance(&body).await;
    let callbak = "configuration.\"event.notification.callbak.url\"";
    assert_eq!(
        created["warnings"],
        json!([{
            "code": "unknown_key",
            "key": callbak,
            "suggestion": "event.notification.callback.url",
            "detail": "unknown configuration key `event.notification.callbak.url` (kept, but the \
                       relay does not read it); did you mean `event.notification.callback.url`?"
        }])
    );
    assert_eq!(
        created["configuration"]["event.notification.callbak.url"], "https://x.example/",
        "kept"
    );

    let path = format!("/instances/{}", created["id"]);
    let patch = json!({"configuration": {"acme.custom": "x", "box.webhook.primary.kye": "k"}});
    let (status, patched) = app.admin(Method::PATCH, &path, Some(&patch)).await;
    assert_eq!(status, 200, "{patched}");
    let warned: Vec<(&str, &Value)> = patched["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["key"].as_str().unwrap(), &w["suggestion"]))
        .collect();
    assert_eq!(
        warned,
        vec![
            ("configuration.\"acme.custom\"", &Value::Null),
            (
                "configuration.\"box.webhook.primary.kye\"",
                &json!("box.webhook.primary.key")
            ),
            (callbak, &json!("event.notification.callback.url")),
        ]
    );
    let (_, shown) = app.admin(Method::GET, &path, None).await;
    assert_eq!(shown["warnings"], patched["warnings"], "GET says it too");

    // Removing the typos clears the warnings; the config file's instances have none.
    let clear = json!({"configuration": {
        "acme.custom": null, "box.webhook.primary.kye": null, "event.notification.callbak.url": null
    }});
    let (_, cleared) = app.admin(Method::PATCH, &path, Some(&clear)).await;
    assert_eq!(cleared["warnings"], json!([]), "{cleared}");
    let (_, file_instance) = app.admin(Method::GET, "/instances/1", None).await;
    assert_eq!(file_instance["warnings"], json!([]));
}

engine_tests!(
    unknown_top_level_fields_of_admin_bodies_are_refused_naming_the_field,
    unknown_configuration_keys_are_kept_and_answered_as_warnings,
);
