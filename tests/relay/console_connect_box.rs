//! Connect Box and the Box webhooks page. In a real browser, against the fake Box's authorize
//! page: connect Box and land on the new instance; create a Box webhook (and see Box's
//! refusal as Box phrased it), delete it; a refused consent creates nothing. Over HTTP, on
//! both engines: a wrong `state`, a refused exchange and a replayed answer create nothing.

use fantoccini::Locator;

use crate::helpers::browser::{
    instance_count, no_redirects, spawn_console_app, Browser, ConsoleHttp,
};
use crate::helpers::*;

#[tokio::test]
#[cfg_attr(
    not(relay_browser),
    ignore = "no chromedriver installed: this browser test did NOT run (apt-get install chromium chromium-driver)"
)]
async fn an_operator_connects_box_then_creates_and_deletes_a_box_webhook() {
    let fake = FakeBox::start().await;
    let receiver = Receiver::start().await;
    let app = spawn_console_app(&Engine::Sqlite, &receiver, Some(&fake)).await;
    let before = instance_count(&app).await;
    let browser = Browser::start().await;
    browser.sign_in(&app.url("")).await;
    let new_form = |name: &'static str| {
        let browser = &browser;
        let app = &app;
        let receiver = &receiver;
        async move {
            browser.goto(&app.url("/console/instances/new")).await;
            browser.fill("Name", name).await;
            browser
                .fill("Event Notification Callback URL", &receiver.url("/events"))
                .await;
            browser.fill("Box primary key", "connect-primary-key").await;
            browser.fill("Client ID", BOX_CLIENT_ID).await;
            browser.fill("Client secret", BOX_CLIENT_SECRET).await;
            browser.click_button("Connect Box").await;
            browser.wait_for_text("Grant access to Box").await;
        }
    };
    // A refused consent: the page says so, nothing is created.
    new_form("Refused").await;
    browser.click_link("Deny access").await;
    browser.wait_for_text("Access was denied").await;
    assert_eq!(instance_count(&app).await, before);
    // The consent, then the new instance's page.
    new_form("Connected Box").await;
    let asked = fake.authorizations().pop().unwrap();
    assert_eq!(asked["response_type"], "code");
    assert_eq!(asked["client_id"], BOX_CLIENT_ID);
    assert_eq!(
        asked["redirect_uri"],
        app.url("/console/oauth/box/callback")
    );
    assert_eq!(asked["state"].len(), 64);
    browser.click_link("Grant access to Box").await;
    browser.wait_for_text("Instance created").await;
    let token = browser.element_text("#element-token").await;
    browser.click_link("Open the instance").await;
    browser.wait_for_text("Connected Box").await;
    let path = browser.path().await;
    let id: i64 = path
        .strip_prefix("/console/instances/")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("landed on {path}"));
    assert_eq!(instance_count(&app).await, before + 1);
    assert!(!browser
        .client
        .source()
        .await
        .unwrap()
        .contains(BOX_CLIENT_SECRET));
    // The token shown once acts as the instance, with the Box tokens just obtained.
    let (status, _, hooks) = app
        .element(reqwest::Method::GET, "/webhooks", &token, None)
        .await;
    assert_eq!(status, 200, "{hooks}");
    // Box webhooks: create one, see Box's refusal of another, delete the first.
    browser.click_link("Box webhooks").await;
    browser.wait_for_text("No Box webhooks").await;
    browser.fill("Target ID", "12345").await;
    browser.check("FILE.UPLOADED", true).await;
    browser.check("FOLDER.CREATED", true).await;
    browser.click_button("Create webhook").await;
    browser.wait_for_text("12345").await;
    let hooks = fake.webhooks();
    assert_eq!(hooks.len(), 1);
    let hook = hooks.values().next().unwrap();
    assert_eq!(hook["target"]["id"], "12345");
    assert_eq!(
        hook["address"],
        app.url(&format!("/webhooks/box/{id}")).as_str()
    );
    browser.screenshot("box-webhooks").await;
    fake.fail_next(
        404,
        "not_found",
        "Could not find the specified resource",
        None,
    );
    browser.fill("Target ID", "999").await;
    browser.check("FILE.UPLOADED", true).await;
    browser.click_button("Create webhook").await;
    browser
        .wait_for_text("Could not find the specified resource")
        .await;
    assert_eq!(fake.webhooks().len(), 1);
    browser
        .client
        .find(Locator::XPath(
            "//button[starts-with(@aria-label, 'Delete webhook')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_for_text("No Box webhooks").await;
    assert!(fake.webhooks().is_empty());
    browser.close().await;
}

engine_tests!(
    a_connect_box_answer_with_a_wrong_state_creates_nothing,
    an_exchange_box_refuses_creates_nothing_and_says_so,
    a_refused_consent_creates_nothing,
    connect_box_needs_the_client_id_and_secret,
);

/// Starts Connect Box over HTTP: the session and the `state` sent to Box.
async fn start(app: &TestApp, name: &str) -> (ConsoleHttp, String) {
    let console = ConsoleHttp::sign_in(&app.url("")).await;
    let res = console
        .post(
            "/console/oauth/box/start",
            &[
                ("name", name),
                ("callback_url", &format!("{}/events", app.url(""))),
                ("events_enabled", "on"),
                ("client_id", BOX_CLIENT_ID),
                ("client_secret", BOX_CLIENT_SECRET),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let to = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert!(to.path().ends_with("/api/oauth2/authorize"), "{to}");
    let state = to
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    (console, state)
}

async fn callback(console: &ConsoleHttp, query: &[(&str, &str)]) -> (u16, String) {
    let res = console
        .http
        .get(format!("{}/console/oauth/box/callback", console.base))
        .query(query)
        .header("cookie", &console.cookie)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (status, location.unwrap_or(res.text().await.unwrap()))
}

async fn a_connect_box_answer_with_a_wrong_state_creates_nothing(engine: Engine) {
    let fake = FakeBox::start().await;
    let receiver = Receiver::start().await;
    let app = spawn_console_app(&engine, &receiver, Some(&fake)).await;
    let before = instance_count(&app).await;
    let (console, state) = start(&app, "Wrong state").await;
    let code = fake.issue_code();
    let (status, page) = callback(&console, &[("code", &code), ("state", "forged")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("wrong state"), "{page}");
    assert_eq!(instance_count(&app).await, before);
    // The flow is spent: even the right state does not create now.
    let (status, page) = callback(&console, &[("code", &code), ("state", &state)]).await;
    assert_eq!(status, 400);
    assert!(page.contains("No Connect Box is in progress"), "{page}");
    assert_eq!(instance_count(&app).await, before);
    // Another session's state is no good either.
    let (_, state) = start(&app, "Other session").await;
    let other = ConsoleHttp::sign_in(&app.url("")).await;
    let (status, _) = callback(&other, &[("code", &code), ("state", &state)]).await;
    assert_eq!(status, 400);
    assert_eq!(instance_count(&app).await, before);
}

async fn an_exchange_box_refuses_creates_nothing_and_says_so(engine: Engine) {
    let fake = FakeBox::start().await;
    let receiver = Receiver::start().await;
    let app = spawn_console_app(&engine, &receiver, Some(&fake)).await;
    let before = instance_count(&app).await;
    let (console, state) = start(&app, "Refused exchange").await;
    let (status, page) = callback(&console, &[("code", "never-issued"), ("state", &state)]).await;
    assert_eq!(status, 400);
    assert!(page.contains("Box refused"), "{page}");
    assert!(page.contains("invalid_grant"), "Box's words: {page}");
    assert!(
        page.contains("Refused exchange"),
        "the form is kept: {page}"
    );
    assert!(!page.contains(BOX_CLIENT_SECRET));
    assert_eq!(instance_count(&app).await, before);
    // A good code in a new flow creates the instance and shows it.
    let (console, state) = start(&app, "Good exchange").await;
    let code = fake.issue_code();
    let (status, page) = callback(&console, &[("code", &code), ("state", &state)]).await;
    assert_eq!(status, 201, "{page}");
    assert!(page.contains("Instance created"), "{page}");
    assert!(page.contains("href=\"/console/instances/"), "{page}");
    assert!(page.contains("id=\"element-token\""), "{page}");
    assert_eq!(instance_count(&app).await, before + 1);
}

async fn a_refused_consent_creates_nothing(engine: Engine) {
    let fake = FakeBox::start().await;
    let receiver = Receiver::start().await;
    let app = spawn_console_app(&engine, &receiver, Some(&fake)).await;
    let before = instance_count(&app).await;
    let (console, state) = start(&app, "Denied").await;
    let (status, page) = callback(&console, &[("error", "access_denied"), ("state", &state)]).await;
    assert_eq!(status, 400);
    assert!(page.contains("Access was denied"), "{page}");
    assert_eq!(instance_count(&app).await, before);
    // Signed out, the answer is a page of the relay that asks again with the cookie
    // (SameSite=Strict is not sent on the way back from Box), then the sign-in.
    let res = no_redirects()
        .get(app.url("/console/oauth/box/callback?code=x&state=y"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("http-equiv=\"refresh\""), "{page}");
    assert!(page.contains("resumed=1"), "{page}");
    let res = no_redirects()
        .get(app.url("/console/oauth/box/callback?code=x&state=y&resumed=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(instance_count(&app).await, before);
}

async fn connect_box_needs_the_client_id_and_secret(engine: Engine) {
    let fake = FakeBox::start().await;
    let receiver = Receiver::start().await;
    let app = spawn_console_app(&engine, &receiver, Some(&fake)).await;
    let console = ConsoleHttp::sign_in(&app.url("")).await;
    let res = console
        .post("/console/oauth/box/start", &[("name", "No client")])
        .await;
    assert_eq!(res.status().as_u16(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("Client ID is required"), "{page}");
    assert!(page.contains("Client secret is required"), "{page}");
    assert!(fake.authorizations().is_empty());
    // Client Credentials instances come from the same form, without Box's consent page.
    let res = console
        .post(
            "/console/instances",
            &[
                ("name", "Server app"),
                ("client_id", BOX_CLIENT_ID),
                ("client_secret", BOX_CLIENT_SECRET),
                ("box_access", "client_credentials"),
                ("enterprise_id", BOX_ENTERPRISE),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 201);
    let page = res.text().await.unwrap();
    assert!(page.contains("Instance created"), "{page}");
    assert!(!page.contains(BOX_CLIENT_SECRET));
}
