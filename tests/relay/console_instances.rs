//! The instances pages in a real browser: create an instance by the New instance form (a
//! validation error shown next to its field first), the name `<script>alert(1)</script>`
//! shown as text, secrets masked, disable, edit, delete after confirmation; a config-file
//! instance read-only. Over HTTP, on both engines: the list's counts, and an edit of a
//! config-file instance refused.

use fantoccini::Locator;

use crate::helpers::browser::{instance_count, spawn_console_app, Browser, ConsoleHttp};
use crate::helpers::*;

const SCRIPT_NAME: &str = "<script>alert(1)</script>";

#[tokio::test]
#[cfg_attr(
    not(relay_browser),
    ignore = "no chromedriver installed: this browser test did NOT run (apt-get install chromium chromium-driver)"
)]
async fn an_operator_creates_an_instance_by_the_form_then_disables_edits_and_deletes_it() {
    let receiver = Receiver::start().await;
    let app = spawn_console_app(&Engine::Sqlite, &receiver, None).await;
    let before = instance_count(&app).await;
    let browser = Browser::start().await;
    browser.sign_in(&app.url("")).await;
    browser.screenshot("overview").await;
    browser.click_link("Instances").await;
    browser.wait_for_text("Test Box").await;
    browser.screenshot("instances").await;
    browser.click_link("New instance").await;
    browser
        .wait_for_text("Event Notification Signature Key")
        .await;
    browser.fill("Name", SCRIPT_NAME).await;
    browser.fill("Tags", "docs, box").await;
    browser.check("Events Enabled", true).await;
    browser
        .fill("Event Notification Callback URL", "not a url")
        .await;
    browser
        .fill("Event Notification Signature Key", "console-signature-key")
        .await;
    browser.fill("Box primary key", "console-primary-key").await;
    browser
        .fill("Box secondary key", "console-secondary-key")
        .await;
    browser.fill("V1 token", "console-v1-token").await;
    browser.click_button("Create instance").await;
    // The admin API's validation, shown next to the field it names; nothing created.
    let error = browser
        .client
        .find(Locator::XPath(
            "//div[contains(@class,'field')][label[normalize-space(.)='Event Notification Callback URL']]/p[contains(@class,'field-error')]",
        ))
        .await
        .expect("the error sits beside the callback field");
    assert!(!error.text().await.unwrap().is_empty());
    assert_eq!(instance_count(&app).await, before);
    browser.screenshot("new-instance").await;
    browser
        .fill("Event Notification Callback URL", &receiver.url("/events"))
        .await;
    browser.fill("Box primary key", "console-primary-key").await;
    browser.click_button("Create instance").await;
    // The Element token, shown this once, is the instance's: it reaches its configuration.
    browser.wait_for_text("Instance created").await;
    let token = browser.element_text("#element-token").await;
    let (status, _, entries) = app
        .element(
            reqwest::Method::GET,
            "/instances/configuration",
            &token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{entries}");
    browser.screenshot("instance-created").await;
    browser.click_link("Open the instance").await;
    let text = browser.wait_for_text("Box webhooks").await;
    assert!(!text.contains(&token), "the token is shown only once");
    assert!(browser.path().await.starts_with("/console/instances/"));
    assert_eq!(instance_count(&app).await, before + 1);
    // Escaped: the name is text, no script ran (an alert would block the next command).
    assert!(text.contains(SCRIPT_NAME), "{text}");
    let source = browser.client.source().await.unwrap();
    assert!(source.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Secrets never rendered: masked as in the API.
    for secret in [
        "console-signature-key",
        "console-primary-key",
        "console-v1-token",
    ] {
        assert!(!source.contains(secret), "{secret} shown");
    }
    assert!(text.contains("********"));
    browser.screenshot("instance").await;
    browser.click_button("Disable").await;
    browser.wait_for_text("Enable").await;
    assert!(browser.text().await.contains("disabled"));
    browser.click_link("Edit").await;
    browser.wait_for_text("Save changes").await;
    browser.fill("Tags", "edited-tag").await;
    browser.click_button("Save changes").await;
    browser.wait_for_text("edited-tag").await;
    let source = browser.client.source().await.unwrap();
    assert!(
        !source.contains("console-primary-key"),
        "an edit that leaves a secret empty keeps it, unseen"
    );
    browser.click_link("Delete").await;
    browser.wait_for_text("Delete instance").await;
    assert_eq!(instance_count(&app).await, before + 1, "only asked so far");
    browser.click_button("Delete instance").await;
    browser.wait_for_text("New instance").await;
    assert_eq!(browser.path().await, "/console/instances");
    assert_eq!(instance_count(&app).await, before);
    assert!(!browser.text().await.contains(SCRIPT_NAME));
    // A config-file instance is read-only.
    browser.click_link("Test Box").await;
    let text = browser.wait_for_text("read-only").await;
    assert!(text.contains("configuration file"));
    assert!(browser
        .client
        .find(Locator::LinkText("Edit"))
        .await
        .is_err());
    browser.close().await;
}

engine_tests!(
    the_list_counts_each_instances_pending_and_failed_events,
    a_config_file_instance_cannot_be_changed_from_the_console,
);

async fn the_list_counts_each_instances_pending_and_failed_events(engine: Engine) {
    let receiver = Receiver::start().await;
    receiver.set_default(Behavior::Status(500));
    let app = spawn_console_app(&engine, &receiver, None).await;
    let console = ConsoleHttp::sign_in(&app.url("")).await;
    let (status, page) = console.get("/console/instances").await;
    assert_eq!(status, 200);
    assert!(page.contains("never"), "no event yet: {page}");
    let (status, _) = app.send(&box_payload()).await;
    assert_eq!(status, 200);
    // The receiver refuses: the event waits for a retry, then fails.
    eventually("the list to count the event", || async {
        let (_, page) = console.get("/console/instances").await;
        let row = page
            .split("<tr>")
            .find(|r| r.contains(">Test Box<"))
            .unwrap_or_default()
            .to_string();
        let pending = row.contains("data-label=\"Pending\">1<");
        let failed = row.contains("data-label=\"Failed\">1<");
        if (pending || failed) && row.contains("UTC") {
            Ok(())
        } else {
            Err(row)
        }
    })
    .await;
}

async fn a_config_file_instance_cannot_be_changed_from_the_console(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_console_app(&engine, &receiver, None).await;
    let console = ConsoleHttp::sign_in(&app.url("")).await;
    let res = console
        .post("/console/instances/1", &[("name", "Renamed")])
        .await;
    assert_eq!(res.status().as_u16(), 400);
    assert!(res.text().await.unwrap().contains("configuration file"));
    let res = console.post("/console/instances/1/delete", &[]).await;
    assert_eq!(res.status().as_u16(), 409);
    let (_, answer) = app.admin(reqwest::Method::GET, "/instances/1", None).await;
    assert_eq!(answer["name"], "Test Box");
    let (status, _) = console.get("/console/instances/999").await;
    assert_eq!(status, 404);
    let (status, _) = console.get("/console/instances/x'or'1").await;
    assert_eq!(status, 404);
}
