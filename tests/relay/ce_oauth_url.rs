//! Cloud Elements' redirect-URL call, `GET|POST /elements/{box|22}/oauth/url` (also under
//! `/elements/api-v2`): Box's authorize URL for an API user's own redirect page, behind
//! admin credentials; unknown elements 404; missing values 400 naming the key.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_oauth_url_call_answers_boxs_authorize_url_for_get_and_post() {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&Engine::Sqlite, &receiver).await;
    let callback = "https://app.example.com/oauth/callback?x=1";
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("apiKey", "the-client-id")
        .append_pair("apiSecret", "the-client-secret")
        .append_pair("callbackUrl", callback)
        .append_pair("state", "abc 123")
        .append_pair("scope", "root_readwrite")
        .finish();
    for path in [
        format!("/elements/box/oauth/url?{query}"),
        format!("/elements/22/oauth/url?{query}"),
        format!("/elements/api-v2/elements/box/oauth/url?{query}"),
    ] {
        let (status, answer) = app.admin(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(answer["element"], "box");
        let url = url::Url::parse(answer["oauthUrl"].as_str().unwrap()).unwrap();
        assert_eq!(
            url.as_str().split('?').next().unwrap(),
            "https://account.box.com/api/oauth2/authorize"
        );
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "the-client-id");
        assert_eq!(q["redirect_uri"], callback);
        assert_eq!(q["state"], "abc 123");
        assert_eq!(q["scope"], "root_readwrite");
        assert!(
            !answer.to_string().contains("the-client-secret"),
            "{answer}"
        );
    }
    let body = json!({
        "apiKey": "the-client-id", "apiSecret": "the-client-secret",
        "callbackUrl": callback, "state": "s1"
    });
    let (status, answer) = app
        .admin(Method::POST, "/elements/box/oauth/url", Some(&body))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["oauthUrl"].as_str().unwrap().contains("state=s1"));
}

#[tokio::test]
async fn the_oauth_url_call_refuses_unknown_elements_missing_values_and_strangers() {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&Engine::Sqlite, &receiver).await;
    let q = "apiKey=k&apiSecret=s&callbackUrl=https%3A%2F%2Fa.example%2Fcb";
    for element in ["dropbox", "2", "0"] {
        let (status, answer) = app
            .admin(
                Method::GET,
                &format!("/elements/{element}/oauth/url?{q}"),
                None,
            )
            .await;
        assert_eq!(status, 404, "{element}: {answer}");
    }
    let (status, answer) = app
        .admin(
            Method::GET,
            "/elements/box/oauth/url?apiSecret=s&callbackUrl=https%3A%2F%2Fa.example",
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["key"], "apiKey");
    let body = json!({ "apiKey": "k", "callbackUrl": "javascript:alert(1)" });
    let (status, answer) = app
        .admin(Method::POST, "/elements/box/oauth/url", Some(&body))
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["key"], "callbackUrl");
    let res = reqwest::get(app.url(&format!("/elements/box/oauth/url?{q}")))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401, "admin credentials required");
}
