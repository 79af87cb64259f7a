//! A real Chromium, headless, driven over WebDriver (fantoccini) for the console's browser
//! tests: each [`Browser`] starts its own `chromedriver` on a free port and a Chromium with a
//! fresh profile, and both end with it. Tests find things as a person does: fields by their
//! label's text, buttons and links by theirs.
//!
//! The tests that use it are compiled as ignored where no `chromedriver` is installed
//! (build.rs sets `relay_browser`), so `cargo test` counts them as ignored, never as passed;
//! in CI (`CI` set) they are always compiled to run, and fail if the browser is missing.
//! With `RELAY_SCREENSHOTS=1`, [`Browser::screenshot`] saves PNGs of the page at desktop
//! (1280×800) and phone (390×844) sizes into `docs/console/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use super::{eventually, free_port};

/// Chromium's flags: headless, quiet, nothing fetched from the network.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,800",
];

fn find_program(env: &str, names: &[&str]) -> String {
    if let Ok(p) = std::env::var(env) {
        return p;
    }
    names
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
        .unwrap_or_else(|| names[0].to_string())
}

/// A headless Chromium and its chromedriver.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a Chromium session through it.
    pub async fn start() -> Browser {
        let driver_bin = find_program(
            "CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        );
        let chromium = find_program(
            "CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let port = free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {driver_bin}: {e}"));
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let caps = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let client = eventually("chromedriver to accept a session", || {
            let caps = caps.clone();
            let url = url.clone();
            async move {
                ClientBuilder::new(HttpConnector::new())
                    .capabilities(caps)
                    .connect(&url)
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .await;
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The path of the page shown.
    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// The visible text of the page (read again if the page was replaced meanwhile).
    pub async fn text(&self) -> String {
        eventually("the page's text", || self.try_text()).await
    }

    async fn try_text(&self) -> Result<String, String> {
        let body = self
            .client
            .find(Locator::Css("body"))
            .await
            .map_err(|e| e.to_string())?;
        body.text().await.map_err(|e| e.to_string())
    }

    /// Waits until the page's text contains `what`, and returns the text.
    pub async fn wait_for_text(&self, what: &str) -> String {
        eventually(&format!("the page to show {what:?}"), || async {
            let text = self.try_text().await?;
            if text.contains(what) {
                Ok(text)
            } else {
                Err(text)
            }
        })
        .await
    }

    /// The input, select or textarea whose `<label>` reads exactly `label`.
    pub async fn field(&self, label: &str) -> Element {
        let xpath = format!("//label[normalize-space(.)={}]", xpath_literal(label));
        let label_el = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no label {label:?}: {e}"));
        match label_el.attr("for").await.unwrap() {
            Some(id) => self.client.find(Locator::Id(&id)).await.unwrap(),
            None => label_el
                .find(Locator::Css("input, select, textarea"))
                .await
                .unwrap(),
        }
    }

    /// Types `value` into the field labelled `label` (cleared first).
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks the checkbox labelled `label` until it is `on`.
    pub async fn check(&self, label: &str, on: bool) {
        let field = self.field(label).await;
        if field.is_selected().await.unwrap() != on {
            field.click().await.unwrap();
        }
    }

    /// Clicks the button whose text is `text` (the first, if several).
    pub async fn click_button(&self, text: &str) {
        let xpath = format!(
            "//button[normalize-space(.)={}] | //input[@type='submit' and @value={}]",
            xpath_literal(text),
            xpath_literal(text)
        );
        let button = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {text:?}: {e}"));
        button.clone().click().await.unwrap();
        // Every console button submits a form: wait until its page is gone, so that what the
        // caller reads next is the answer, not the page the button was on.
        eventually(&format!("the page to change after {text:?}"), || async {
            match button.tag_name().await {
                Err(_) => Ok(()),
                Ok(_) => Err("the button's page is still shown".to_string()),
            }
        })
        .await;
    }

    /// Follows the link whose text is `text`.
    pub async fn click_link(&self, text: &str) {
        self.client
            .find(Locator::LinkText(text))
            .await
            .unwrap_or_else(|e| panic!("no link {text:?}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// The text of the element `css` selects (which must exist).
    pub async fn element_text(&self, css: &str) -> String {
        let found = self
            .client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} not found: {e}"));
        found.text().await.unwrap().trim().to_string()
    }

    /// With `RELAY_SCREENSHOTS=1`: saves the page as `docs/console/{name}-desktop.png`
    /// (1280×800) and `{name}-phone.png` (390×844). Otherwise nothing.
    pub async fn screenshot(&self, name: &str) {
        if std::env::var("RELAY_SCREENSHOTS").as_deref() != Ok("1") {
            return;
        }
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/console");
        std::fs::create_dir_all(&dir).unwrap();
        for (size, w, h) in [("desktop", 1280, 800), ("phone", 390, 844)] {
            self.client.set_window_size(w, h).await.unwrap();
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}-{size}.png")), png).unwrap();
        }
        self.client.set_window_size(1280, 800).await.unwrap();
    }

    /// Ends the session and chromedriver.
    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// `s` as an XPath string literal.
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else {
        format!("concat('{}')", s.replace('\'', "', \"'\", '"))
    }
}

/// A signed-in console session driven over plain HTTP (no redirects followed): its cookie
/// and CSRF token.
pub struct ConsoleHttp {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

/// A client that shows redirects instead of following them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `name="csrf"` value of a console page.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field in {page}"));
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

impl ConsoleHttp {
    /// Signs in to the console of the relay at `base` with the test admin credentials.
    pub async fn sign_in(base: &str) -> ConsoleHttp {
        let http = no_redirects();
        let res = http
            .post(format!("{base}/console/sign-in"))
            .form(&[
                ("user_secret", super::ADMIN_USER),
                ("organization_secret", super::ADMIN_ORG),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303, "sign-in redirects");
        let set = res.headers()["set-cookie"].to_str().unwrap();
        let cookie = set.split(';').next().unwrap().to_string();
        let mut me = ConsoleHttp {
            http,
            base: base.to_string(),
            cookie,
            csrf: String::new(),
        };
        let (status, page) = me.get("/console").await;
        assert_eq!(status, 200, "{page}");
        me.csrf = csrf_of(&page);
        me
    }

    /// `GET path` with the session: status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// `POST path` with the session, the form `fields` and the CSRF token: the answer.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &self.csrf));
        self.http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

impl Browser {
    /// Signs in through the sign-in page of the relay at `base`.
    pub async fn sign_in(&self, base: &str) {
        self.goto(&format!("{base}/console/sign-in")).await;
        self.fill("User secret", super::ADMIN_USER).await;
        self.fill("Organization secret", super::ADMIN_ORG).await;
        self.click_button("Sign in").await;
        self.wait_for_text("Sign out").await;
    }
}

/// A relay for the console's tests: admin API on, listening on a port chosen now so that
/// `server.public_url` (Connect Box's `redirect_uri`, Box webhooks' address) is its own
/// address; with `fake`, Box's API, token endpoint and authorize page are the fake's.
pub async fn spawn_console_app(
    engine: &super::Engine,
    receiver: &super::Receiver,
    fake: Option<&super::FakeBox>,
) -> super::TestApp {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://{listen}");
    let mut env = super::admin_env(&[
        ("RELAY__SERVER__LISTEN", &listen),
        ("RELAY__SERVER__PUBLIC_URL", &public),
        ("RELAY__SECRETS__ENCRYPTION_KEY", super::SECRETS_KEY),
    ]);
    if let Some(fake) = fake {
        env.insert("RELAY__BOX__API_URL".into(), fake.url());
        env.insert("RELAY__BOX__OAUTH_URL".into(), fake.url());
        env.insert("RELAY__BOX__AUTHORIZE_URL".into(), fake.authorize_url());
    }
    super::spawn_app_env(engine, receiver, &env).await
}

/// The number of instances the admin API lists.
pub async fn instance_count(app: &super::TestApp) -> usize {
    let (status, list) = app.admin(reqwest::Method::GET, "/instances", None).await;
    assert_eq!(status, 200);
    list.as_array().unwrap().len()
}
