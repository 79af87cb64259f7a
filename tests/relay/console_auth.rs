//! The console's sign-in, sessions and request guard over plain HTTP, on both engines: the
//! cookie's flags, the security headers, slowed-down failed sign-ins, sign-out revoking the
//! session in the store, and state-changing requests refused without their CSRF token.

use crate::helpers::browser::{no_redirects, ConsoleHttp};
use crate::helpers::*;

engine_tests!(
    signing_in_sets_a_strict_http_only_expiring_cookie_and_stores_only_its_hash,
    the_cookie_is_secure_when_the_public_url_is_https,
    console_pages_forbid_inline_script_and_framing,
    repeated_failed_sign_ins_are_slowed_down_even_with_the_right_secrets,
    signing_out_revokes_the_session,
    a_post_without_the_csrf_token_is_refused_and_changes_nothing,
    a_post_from_another_site_is_refused,
    pages_need_a_session,
);

async fn sign_in_raw(app: &TestApp, user: &str, org: &str) -> reqwest::Response {
    no_redirects()
        .post(app.url("/console/sign-in"))
        .form(&[("user_secret", user), ("organization_secret", org)])
        .send()
        .await
        .unwrap()
}

async fn signing_in_sets_a_strict_http_only_expiring_cookie_and_stores_only_its_hash(
    engine: Engine,
) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let res = sign_in_raw(&app, ADMIN_USER, ADMIN_ORG).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/console");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("relay_console="), "{cookie}");
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "http public URL: {cookie}");
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("relay_console=");
    assert_eq!(token.len(), 64);
    // Only the token's hash is stored: the token is live, and is not what the store holds.
    let hash = webhook_relay::console::session::hash(token);
    let now = chrono::Utc::now().timestamp_millis();
    assert!(app.store.session_alive(&hash, now).await.unwrap());
    assert!(!app.store.session_alive(token, now).await.unwrap());
    assert!(
        !app.store
            .session_alive(&hash, now + 13 * 3600 * 1000)
            .await
            .unwrap(),
        "the session expires"
    );
}

async fn the_cookie_is_secure_when_the_public_url_is_https(engine: Engine) {
    let receiver = Receiver::start().await;
    let env = admin_env(&[("RELAY__SERVER__PUBLIC_URL", "https://relay.example.com")]);
    let app = spawn_app_env(&engine, &receiver, &env).await;
    let res = sign_in_raw(&app, ADMIN_USER, ADMIN_ORG).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

async fn console_pages_forbid_inline_script_and_framing(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let console = ConsoleHttp::sign_in(&app.url("")).await;
    // The sign-in page signed out, the overview signed in.
    for (path, cookie) in [
        ("/console/sign-in", ""),
        ("/console", console.cookie.as_str()),
    ] {
        let res = console
            .http
            .get(app.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["cache-control"], "no-store");
        let page = res.text().await.unwrap();
        assert!(page.contains("<script src=\"/console/assets/console.js\""));
        assert!(!page.contains("<script>"), "no inline script: {page}");
    }
    let css = reqwest::get(app.url("/console/assets/console.css"))
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

async fn repeated_failed_sign_ins_are_slowed_down_even_with_the_right_secrets(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    for _ in 0..5 {
        let res = sign_in_raw(&app, ADMIN_USER, "wrong").await;
        assert_eq!(res.status().as_u16(), 401);
        assert!(res.headers().get("set-cookie").is_none());
        let page = res.text().await.unwrap();
        assert!(page.contains("not right"), "{page}");
        assert!(!page.contains(ADMIN_USER), "no secret echoed");
    }
    let res = sign_in_raw(&app, ADMIN_USER, ADMIN_ORG).await;
    assert_eq!(
        res.status().as_u16(),
        429,
        "the right secrets must wait too"
    );
    assert_eq!(res.headers()["retry-after"], "1");
    assert!(res.headers().get("set-cookie").is_none());
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Too many failed sign-ins"));
    // Once the wait is over, the right secrets sign in.
    eventually("the wait to end", || async {
        let res = sign_in_raw(&app, ADMIN_USER, ADMIN_ORG).await;
        match res.status().as_u16() {
            303 => Ok(()),
            s => Err(format!("{s}")),
        }
    })
    .await;
}

async fn signing_out_revokes_the_session(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let console = ConsoleHttp::sign_in(&app.url("")).await;
    let res = console.post("/console/sign-out", &[]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/console/sign-in");
    let cleared = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old cookie is refused even if the browser kept it: the store no longer has it.
    let res = console
        .http
        .get(app.url("/console"))
        .header("cookie", &console.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/console/sign-in");
    let res = console.post("/console/sign-out", &[]).await;
    assert_eq!(
        res.status().as_u16(),
        403,
        "a revoked session changes nothing"
    );
}

async fn a_post_without_the_csrf_token_is_refused_and_changes_nothing(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let console = ConsoleHttp::sign_in(&app.url("")).await;
    for csrf in [None, Some("0".repeat(64))] {
        let mut form = vec![];
        if let Some(c) = &csrf {
            form.push(("csrf", c.as_str()));
        }
        let res = console
            .http
            .post(app.url("/console/sign-out"))
            .header("cookie", &console.cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 403, "csrf {csrf:?}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(res
            .text()
            .await
            .unwrap()
            .contains("did not come from the console"));
    }
    let (status, _) = console.get("/console").await;
    assert_eq!(status, 200, "the session is still alive");
    // The token in a header works as well as the form field.
    let res = console
        .http
        .post(app.url("/console/sign-out"))
        .header("cookie", &console.cookie)
        .header("x-csrf-token", &console.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
}

async fn a_post_from_another_site_is_refused(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let res = no_redirects()
        .post(app.url("/console/sign-in"))
        .header("origin", "https://evil.example")
        .form(&[
            ("user_secret", ADMIN_USER),
            ("organization_secret", ADMIN_ORG),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    assert!(res.headers().get("set-cookie").is_none());
}

async fn pages_need_a_session(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_admin_app(&engine, &receiver).await;
    let res = no_redirects()
        .get(app.url("/console"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/console/sign-in");
    let forged = "relay_console=".to_string() + &"a".repeat(64);
    let res = no_redirects()
        .get(app.url("/console"))
        .header("cookie", forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303, "an unknown token is no session");
    // Without the admin API there is no console at all.
    let plain = spawn_app(&engine, &receiver).await;
    let res = reqwest::get(plain.url("/console/sign-in")).await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
}
