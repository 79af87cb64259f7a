//! `PUT /instances/{id}`: an instance replaced whole, keeping its id and token; with a new
//! `providerData.code` it is re-provisioned (new Box tokens), and a code Box refuses changes
//! nothing. `PATCH` with a new code re-provisions the same way (Cloud Elements' platform tests
//! re-provision by PATCH). Against a fake Box.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// The bearer the relay sends Box now, through `/webhooks` with the instance's token.
async fn bearer_now(app: &TestApp, fake: &FakeBox, token: &str) -> String {
    let (status, _, list) = app.element(Method::GET, "/webhooks", token, None).await;
    assert_eq!(status, 200, "{list}");
    fake.bearers().last().unwrap().clone()
}

pub async fn put_replaces_an_instance_and_a_new_code_reprovisions_it(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let (id, token) = provision(&app, &fake, &receiver, "Before").await;
    let path = format!("/instances/{id}");
    let (_, before) = app.admin(Method::GET, &path, None).await;
    let first = bearer_now(&app, &fake, &token).await;

    // A new code: new Box tokens; same id, same Element token, the rest as sent.
    let issued = fake.issued().len();
    let mut body = oauth_instance_body("After", &receiver.url("/moved"), &fake.issue_code());
    body["tags"] = json!(["Replaced"]);
    body["configuration"]
        .as_object_mut()
        .unwrap()
        .remove("box.webhook.v1.token");
    let (status, replaced) = app.admin(Method::PUT, &path, Some(&body)).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["id"], id);
    assert_eq!(replaced["name"], "After");
    assert_eq!(replaced["tags"], json!(["Replaced"]));
    assert_eq!(replaced["token"], "********");
    assert_eq!(replaced["createdDate"], before["createdDate"]);
    let conf = &replaced["configuration"];
    assert_eq!(
        conf["event.notification.callback.url"],
        receiver.url("/moved").as_str()
    );
    assert_eq!(
        conf["box.webhook.v1.token"],
        Value::Null,
        "left out: removed"
    );
    assert_eq!(conf["oauth.api.secret"], "********");
    assert!(replaced.get("providerData").is_none());
    assert!(fake.issued().len() > issued, "Box issued new tokens");
    let second = bearer_now(&app, &fake, &token).await;
    assert_ne!(second, first, "the new tokens are used");
    assert!(fake.issued()[issued..].contains(&second));

    // A code Box refuses: nothing changes, the tokens stay.
    let refused = oauth_instance_body("Refused", &receiver.url("/api"), "not-a-code");
    let (status, error) = app.admin(Method::PUT, &path, Some(&refused)).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("box_error")),
        "{error}"
    );
    let (_, shown) = app.admin(Method::GET, &path, None).await;
    assert_eq!(shown, replaced);
    assert_eq!(bearer_now(&app, &fake, &token).await, second);

    // Without a code: replaced whole, the tokens kept.
    let plain = instance_body("Plain", &receiver.url("/api"));
    let (status, answer) = app.admin(Method::PUT, &path, Some(&plain)).await;
    assert_eq!((status, answer["name"].as_str()), (200, Some("Plain")));
    assert_eq!(bearer_now(&app, &fake, &token).await, second);

    // Refusals.
    let (status, error) = app
        .admin(
            Method::PUT,
            &path,
            Some(&json!({"element": {"key": "box"}})),
        )
        .await;
    assert_eq!((status, error["key"].as_str()), (400, Some("name")));
    let (status, error) = app.admin(Method::PUT, "/instances/1", Some(&plain)).await;
    assert_eq!((status, error["code"].as_str()), (409, Some("read_only")));
    let (status, _) = app.admin(Method::PUT, "/instances/999", Some(&plain)).await;
    assert_eq!(status, 404);
}

pub async fn patch_with_a_new_code_reprovisions_and_keeps_the_rest(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let (id, token) = provision(&app, &fake, &receiver, "Patched").await;
    let path = format!("/instances/{id}");
    let first = bearer_now(&app, &fake, &token).await;

    // A PATCH without a code changes fields and keeps the tokens.
    let (status, renamed) = app
        .admin(Method::PATCH, &path, Some(&json!({"name": "Renamed"})))
        .await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Renamed")));
    assert_eq!(bearer_now(&app, &fake, &token).await, first);

    // A new code: new tokens, the rest as it was.
    let issued = fake.issued().len();
    let code = fake.issue_code();
    let (status, patched) = app
        .admin(
            Method::PATCH,
            &path,
            Some(&json!({"providerData": {"code": code}})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(patched["configuration"], renamed["configuration"]);
    assert!(fake.issued().len() > issued, "Box issued new tokens");
    let second = bearer_now(&app, &fake, &token).await;
    assert_ne!(second, first, "the new tokens are used");

    // A code Box refuses: 400 from Box, and nothing changes, the name included.
    let (status, error) = app
        .admin(
            Method::PATCH,
            &path,
            Some(&json!({"name": "Refused", "providerData": {"code": "not-a-code"}})),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("box_error")),
        "{error}"
    );
    let (_, shown) = app.admin(Method::GET, &path, None).await;
    assert_eq!(shown["name"], "Renamed");
    assert_eq!(bearer_now(&app, &fake, &token).await, second);
}

engine_tests!(
    put_replaces_an_instance_and_a_new_code_reprovisions_it,
    patch_with_a_new_code_reprovisions_and_keeps_the_rest,
);
