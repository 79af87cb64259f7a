//! Unit tests of the configuration layers, expansion and validation.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const INSTANCE: &str = r#"
[[instances]]
id = 7
name = "Acme"
[instances.configuration]
"event.notification.enabled" = true
"event.notification.callback.url" = "https://consumer.example.com/events"
"box.webhook.primary.key" = "${PRIMARY}"
"oauth.api.key" = "kept and ignored"
"#;

#[test]
fn defaults_load_without_a_file() {
    let (cfg, instances) = Config::load(None, &Env::new()).unwrap();
    assert_eq!(cfg.server.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(cfg.delivery.max_attempts.get(), 10);
    assert_eq!(cfg.box_.api_url.as_str(), "https://api.box.com/");
    assert_eq!(cfg.log.format, LogFormat::Text);
    assert!(cfg.server.public_url.is_none() && cfg.delivery.proxy_url.is_none());
    assert!(instances.is_empty());
}

#[test]
fn environment_overrides_the_file() {
    let e = env(&[
        ("RELAY__SERVER__LISTEN", "127.0.0.1:9999"),
        ("RELAY__DELIVERY__ALLOW_PRIVATE_DESTINATIONS", "true"),
        ("RELAY__DELIVERY__TIMEOUT_MS", "1234"),
    ]);
    let (cfg, _) = Config::from_toml("[server]\nlisten = \"127.0.0.1:1\"\n", &e).unwrap();
    assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:9999");
    assert!(cfg.delivery.allow_private_destinations);
    assert_eq!(cfg.delivery.timeout_ms.get(), 1234);
}

#[test]
fn dollar_names_are_read_from_the_environment() {
    let (_, instances) = Config::from_toml(INSTANCE, &env(&[("PRIMARY", "k1")])).unwrap();
    assert_eq!(
        instances[0].box_primary_key.as_ref().unwrap().expose(),
        "k1"
    );
}

#[test]
fn a_missing_dollar_name_is_an_error_naming_the_key() {
    let err = Config::from_toml(INSTANCE, &Env::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("box.webhook.primary.key"), "{err}");
    assert!(err.contains("PRIMARY"), "{err}");
}

#[test]
fn an_unknown_key_is_an_error_naming_it() {
    let err = Config::from_toml("[delivery]\ntimeout = 5\n", &Env::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("timeout"), "{err}");
    let err = Config::from_toml("[nope]\nx = 1\n", &Env::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn a_bad_value_is_an_error_naming_the_key() {
    for (toml, key) in [
        ("[server]\nlisten = \"nowhere\"\n", "server.listen"),
        ("[delivery]\njitter = 1.5\n", "delivery.jitter"),
        ("[delivery]\ntimeout_ms = \"soon\"\n", "timeout_ms"),
        ("[storage]\nurl = \"mysql://x\"\n", "storage.url"),
        ("[log]\nformat = \"xml\"\n", "log.format"),
    ] {
        let err = Config::from_toml(toml, &Env::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{toml}: {err}");
    }
}

#[test]
fn a_bad_callback_url_is_an_error_naming_the_key() {
    let text = INSTANCE.replace("https://consumer.example.com/events", "not a url");
    let err = Config::from_toml(&text, &env(&[("PRIMARY", "k")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("event.notification.callback.url"), "{err}");
}

#[test]
fn redacted_config_hides_every_secret() {
    let (cfg, _) = Config::from_toml(INSTANCE, &env(&[("PRIMARY", "topsecret")])).unwrap();
    let text = cfg.redacted().to_string();
    assert!(!text.contains("topsecret"), "{text}");
    assert!(!text.contains("kept and ignored"), "{text}");
    assert!(text.contains("consumer.example.com"), "{text}");
}

#[test]
fn the_shipped_config_files_load() {
    for (name, text) in [
        ("default.toml", include_str!("../../config/default.toml")),
        (
            "quickstart.toml",
            include_str!("../../config/quickstart.toml"),
        ),
        (
            "deploy/relay.toml",
            include_str!("../../config/deploy/relay.toml"),
        ),
    ] {
        let vars = env(&[
            ("ACME_EVENT_KEY", "e"),
            ("ACME_BOX_PRIMARY", "p"),
            ("ACME_BOX_SECONDARY", "s"),
            ("ACME_BOX_V1_TOKEN", "t"),
            ("RELAY_SECRETS_KEY", KEY_A),
        ]);
        if let Err(e) = Config::from_toml(text, &vars) {
            panic!("{name}: {e}");
        }
    }
}

#[test]
fn dollar_names_are_expanded_in_every_string_value_file_and_environment_alike() {
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let toml = r#"
[server]
public_url = "${PUBLIC}"
[box]
token_key = "${TOKEN_KEY}"
api_url = "${BOX_API}"
oauth_url = "${BOX_API}/oauth"
"#;
    let e = env(&[
        ("PUBLIC", "https://relay.example.com"),
        ("TOKEN_KEY", key),
        ("BOX_API", "https://box.example.com"),
        ("SENDER", "ops@example.com"),
        ("RELAY__EVENTS__SENDER", "${SENDER}"),
    ]);
    let (cfg, _) = Config::from_toml(toml, &e).unwrap();
    assert_eq!(
        cfg.server.public_url.as_ref().map(url::Url::as_str),
        Some("https://relay.example.com/")
    );
    assert_eq!(
        cfg.box_.token_key,
        Some(crate::secret::EncryptionKey::parse(key).unwrap())
    );
    assert_eq!(cfg.box_.api_url.as_str(), "https://box.example.com/");
    assert_eq!(cfg.box_.oauth_url.as_str(), "https://box.example.com/oauth");
    assert_eq!(cfg.events.sender, "ops@example.com");
}

#[test]
fn a_missing_dollar_name_in_any_section_names_its_key() {
    let err = Config::from_toml("[box]\napi_url = \"${NOPE}\"\n", &Env::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`box.api_url`") && err.contains("NOPE"),
        "{err}"
    );
}

#[test]
fn retention_shorter_than_the_freshness_window_is_refused_naming_both() {
    let toml = "[storage]\ndelivered_retention_secs = 300\n[box]\nmax_age_secs = 600\n";
    let err = Config::from_toml(toml, &Env::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("storage.delivered_retention_secs"), "{err}");
    assert!(err.contains("box.max_age_secs"), "{err}");
    assert!(err.contains("box.max_future_skew_secs"), "{err}");
    // Exactly the window, or 0 (forever), is fine.
    let ok = "[storage]\ndelivered_retention_secs = 660\n[box]\nmax_age_secs = 600\n";
    assert!(Config::from_toml(ok, &Env::new()).is_ok());
    let forever = "[storage]\ndelivered_retention_secs = 0\n";
    assert!(Config::from_toml(forever, &Env::new()).is_ok());
}

#[test]
fn check_config_masks_only_the_password_of_every_url() {
    let toml = r#"
[storage]
url = "postgres://relay:db-pass@db.internal:5432/relay"
[[instances]]
id = 1
name = "A"
[instances.configuration]
"event.notification.enabled" = true
"event.notification.callback.url" = "https://user:cb-pass@consumer.example.com/events"
"#;
    let (cfg, _) = Config::from_toml(toml, &Env::new()).unwrap();
    let shown = cfg.redacted().to_string();
    assert!(
        !shown.contains("db-pass") && !shown.contains("cb-pass"),
        "{shown}"
    );
    assert!(
        shown.contains("postgres://relay:***@db.internal:5432/relay"),
        "{shown}"
    );
    assert!(
        shown.contains("https://user:***@consumer.example.com/events"),
        "{shown}"
    );
}

#[test]
fn destination_keys_are_checked_and_the_proxy_password_is_masked() {
    for (toml, key) in [
        (
            "[delivery]\nallowed_private_networks = [\"10.20.0.0/16\", \"10.0.0.1\"]\n",
            "delivery.allowed_private_networks",
        ),
        (
            "[delivery]\nallowed_private_networks = [\"fd00::/200\"]\n",
            "delivery.allowed_private_networks",
        ),
        (
            "[delivery]\nproxy_url = \"socks5://p:1080\"\n",
            "delivery.proxy_url",
        ),
        (
            "[delivery]\nproxy_url = \"not a url\"\n",
            "delivery.proxy_url",
        ),
    ] {
        let err = Config::from_toml(toml, &Env::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{toml}: {err}");
    }
    let (cfg, _) = Config::from_toml(
        "[delivery]\nallowed_private_networks = [\"10.20.0.0/16\", \"fd00:1::/64\"]\n\
         proxy_url = \"http://user:hunter2@proxy.internal:3128\"\n",
        &Env::new(),
    )
    .unwrap();
    assert_eq!(cfg.delivery.allowed_private_networks.len(), 2);
    assert!(!cfg.redacted().to_string().contains("hunter2"));
}

const KEY_A: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const KEY_B: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

#[test]
fn box_token_key_is_the_former_name_of_the_secrets_key() {
    let load = |pairs: &[(&str, &str)]| Config::from_layers(None, &env(pairs));
    let key = |text: &str| crate::secret::EncryptionKey::parse(text).unwrap();
    let (cfg, _) = load(&[("RELAY__SECRETS__ENCRYPTION_KEY", KEY_A)]).unwrap();
    assert_eq!(cfg.secrets_key(), Some(&key(KEY_A)));
    let (cfg, _) = load(&[("RELAY__BOX__TOKEN_KEY", KEY_B)]).unwrap();
    assert_eq!(cfg.secrets_key(), Some(&key(KEY_B)));
    let (cfg, _) = load(&[
        ("RELAY__SECRETS__ENCRYPTION_KEY", KEY_A),
        ("RELAY__BOX__TOKEN_KEY", KEY_A),
    ])
    .unwrap();
    assert_eq!(cfg.secrets_key(), Some(&key(KEY_A)));
    let (cfg, _) = load(&[]).unwrap();
    assert!(cfg.secrets_key().is_none());

    let err = load(&[
        ("RELAY__SECRETS__ENCRYPTION_KEY", KEY_A),
        ("RELAY__BOX__TOKEN_KEY", KEY_B),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("secrets.encryption_key") && err.contains("box.token_key"),
        "{err}"
    );
    assert!(!err.contains(KEY_A) && !err.contains(KEY_B), "{err}");
    let err = load(&[("RELAY__SECRETS__ENCRYPTION_KEY", "c2hvcnQ=")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("secrets.encryption_key"), "{err}");
}
