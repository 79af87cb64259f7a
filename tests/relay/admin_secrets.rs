//! The real binary, trace logging, a full admin scenario (Box OAuth against a fake Box
//! included): no admin secret, configured key, Box token, token key or computed signature
//! appears in the log, and none but the instance's own token (returned by design, as Cloud
//! Elements does) in any answer.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

pub async fn admin_scenario_leaks_no_secret_to_logs_or_answers(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.script([Behavior::Status(500)]);
    let fake = FakeBox::start().await;
    let RelayFiles {
        dir: _dir,
        config,
        log,
        ..
    } = relay_files(&engine, &receiver).await;
    let mut relay = RelayProcess::start_with_env(
        &config,
        &log,
        &[
            ("RELAY__LOG__LEVEL", "trace"),
            ("RELAY__ADMIN__USER_SECRET", ADMIN_USER),
            ("RELAY__ADMIN__ORGANIZATION_SECRET", ADMIN_ORG),
            ("RELAY__BOX__API_URL", &fake.url()),
            ("RELAY__BOX__OAUTH_URL", &fake.url()),
            ("RELAY__BOX__TOKEN_KEY", TOKEN_KEY),
            ("RELAY__SERVER__PUBLIC_URL", PUBLIC_URL),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let mut answers: Vec<String> = Vec::new();
    let call = |method: Method, path: String, body: Option<Value>, auth: String| {
        let mut req = http
            .request(method, relay.url(&path))
            .header("authorization", auth);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            (status, text)
        }
    };

    let mut body = instance_body("Secretive", &receiver.url("/api"));
    body["configuration"]["event.notification.standard.secret"] = json!(API_STANDARD_SECRET);
    let (status, created) = call(Method::POST, "/instances".into(), Some(body), admin_auth()).await;
    assert_eq!(status, 200, "{created}");
    let created: Value = serde_json::from_str(&created).unwrap();
    let id = created["id"].as_i64().unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    answers.push(created.to_string());
    let rotated_key = "rotated-event-signature-key";
    for (method, path, body) in [
        (Method::GET, "/instances".to_string(), None),
        (Method::GET, format!("/instances/{id}"), None),
        (
            Method::PATCH,
            format!("/instances/{id}"),
            Some(json!({"configuration": {"event.notification.signature.key": rotated_key}})),
        ),
        (Method::GET, "/instances/1".to_string(), None),
    ] {
        let (status, text) = call(method, path, body, admin_auth()).await;
        assert_eq!(status, 200, "{text}");
        answers.push(text);
    }
    // Refused credentials, each with one real part.
    for auth in [
        format!("User {ADMIN_USER}, Organization nope"),
        format!("User nope, Organization {ADMIN_ORG}"),
    ] {
        let (status, text) = call(Method::GET, "/instances".into(), None, auth).await;
        assert_eq!(status, 401);
        answers.push(text);
    }

    // A delivery to the API instance: fails once, then delivered; then replayed.
    let payload = box_payload();
    let box_headers = box_headers_with_key(&payload, API_PRIMARY);
    let mut req = http
        .post(relay.url(&format!("/webhooks/box/{id}")))
        .body(payload.clone());
    for (k, v) in &box_headers {
        req = req.header(k, v);
    }
    let (status, accepted) = answer(req.send().await.unwrap()).await;
    assert_eq!(status, 200, "{accepted}");
    let event_id = accepted["eventId"].as_str().unwrap().to_string();
    receiver.wait_for(2).await;
    // Replay once the second attempt's outcome is recorded.
    eventually("the second attempt is recorded", || async {
        let (_, detail) = call(
            Method::GET,
            format!("/instances/events/{event_id}"),
            None,
            admin_auth(),
        )
        .await;
        match detail.contains("\"status\":\"delivered\"") {
            true => Ok(()),
            false => Err(detail),
        }
    })
    .await;
    let (status, text) = call(
        Method::POST,
        format!("/instances/events/{event_id}/redeliver"),
        None,
        admin_auth(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let got = receiver.wait_for(3).await;
    let (_, detail) = call(
        Method::GET,
        format!("/instances/events/{event_id}"),
        None,
        admin_auth(),
    )
    .await;
    answers.push(detail);
    let (_, events) = call(
        Method::GET,
        format!("/instances/{id}/events"),
        None,
        admin_auth(),
    )
    .await;
    answers.push(events);
    // Box OAuth: provision with a code, create a webhook, Box revokes the token, list (the
    // relay refreshes).
    let body = oauth_instance_body("Box OAuth", &receiver.url("/api"), &fake.issue_code());
    let (status, created) = call(Method::POST, "/instances".into(), Some(body), admin_auth()).await;
    assert_eq!(status, 200, "{created}");
    answers.push(created.clone());
    let oauth_token = serde_json::from_str::<Value>(&created).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let element = format!("User {ADMIN_USER}, Element {oauth_token}");
    let hook = json!({"target": {"id": "123", "type": "folder"}, "triggers": ["FILE.UPLOADED"]});
    let (status, text) = call(
        Method::POST,
        "/webhooks".into(),
        Some(hook),
        element.clone(),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    answers.push(text);
    fake.revoke_access_tokens();
    let (status, text) = call(Method::GET, "/webhooks".into(), None, element).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(fake.refreshes(), 1);
    answers.push(text);
    answers.push(
        http.get(relay.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    relay.signal("TERM");
    assert!(relay.wait().await.success());

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("instance created"), "the scenario was logged");
    assert!(
        text.contains("Box tokens refreshed"),
        "the refresh was logged"
    );
    let mut secrets: Vec<String> = [
        ADMIN_USER,
        ADMIN_ORG,
        API_PRIMARY,
        API_EVENT_KEY,
        API_V1_TOKEN,
        API_OAUTH_SECRET,
        API_STANDARD_SECRET,
        &API_STANDARD_SECRET["whsec_".len()..],
        rotated_key,
        PRIMARY,
        SECONDARY,
        EVENT_KEY,
        V1_TOKEN,
        TOKEN_KEY,
        BOX_CLIENT_SECRET,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let issued = fake.issued();
    assert_eq!(issued.len(), 4, "two access and two refresh tokens");
    secrets.extend(issued);
    secrets.extend(
        box_headers
            .iter()
            .filter(|(k, _)| k == "box-signature-primary")
            .map(|(_, v)| v.clone()),
    );
    for r in &got {
        for header in ["elements-webhook-signature", "webhook-signature"] {
            let value = r.header(header).expect("signed delivery");
            secrets.push(value.to_string());
            secrets.push(value.split_once(',').map_or(value, |(_, s)| s).to_string());
        }
    }
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "the log contains a secret: {secret}"
        );
        for a in &answers {
            assert!(
                !a.contains(secret.as_str()),
                "an answer contains {secret}: {a}"
            );
        }
    }
    assert!(
        !text.contains(&token),
        "the log contains the instance token"
    );
}

engine_tests!(admin_scenario_leaks_no_secret_to_logs_or_answers,);
