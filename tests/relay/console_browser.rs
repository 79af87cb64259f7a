//! The console in a real browser (headless Chromium over WebDriver), against the real relay:
//! signing in and out. Compiled as ignored where no chromedriver is installed (never counted
//! as passed); always run in CI.

use crate::helpers::browser::Browser;
use crate::helpers::*;

#[tokio::test]
#[cfg_attr(
    not(relay_browser),
    ignore = "no chromedriver installed: this browser test did NOT run (apt-get install chromium chromium-driver)"
)]
async fn an_operator_signs_in_with_the_admin_secrets_and_signs_out() {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&Engine::Sqlite, &receiver).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/console")).await;
    assert_eq!(browser.path().await, "/console/sign-in");
    browser.screenshot("sign-in").await;
    browser.fill("User secret", ADMIN_USER).await;
    browser.fill("Organization secret", "wrong").await;
    browser.click_button("Sign in").await;
    browser.wait_for_text("Those secrets are not right.").await;
    browser.sign_in(&app.url("")).await;
    assert_eq!(browser.path().await, "/console");
    browser.click_button("Sign out").await;
    browser.wait_for_text("Organization secret").await;
    assert_eq!(browser.path().await, "/console/sign-in");
    // Signed out: the console sends the browser back to the sign-in page.
    browser.goto(&app.url("/console/instances")).await;
    assert_eq!(browser.path().await, "/console/sign-in");
    browser.close().await;
}
