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
    assert_eq!(cfg.server.listen, "0.0.0.0:8080");
    assert_eq!(cfg.delivery.max_attempts, 10);
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
    assert_eq!(cfg.server.listen, "127.0.0.1:9999");
    assert!(cfg.delivery.allow_private_destinations);
    assert_eq!(cfg.delivery.timeout_ms, 1234);
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

const KEY_A: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const KEY_B: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

#[test]
fn every_key_that_names_a_secret_is_secret() {
    for key in [
        "oauth.api.secret",
        "some.apiKey",
        "x.API_KEY",
        "vendor.apiSecret",
        "client_secret",
        "db.password",
        "smtp.passwd",
        "box.webhook.primary.key",
        "box.webhook.v1.token",
        "event.notification.standard.secret",
        "refreshToken",
        "oauth.api.key",
    ] {
        assert!(is_secret_key(key), "{key} is a secret");
    }
    for key in [
        "event.notification.callback.url",
        "event.notification.enabled",
        "box.enterprise.id",
        "box.auth",
        "event.vendor.type",
        "keyboard.layout",
    ] {
        assert!(!is_secret_key(key), "{key} is not a secret");
    }
}

#[test]
fn box_token_key_is_the_former_name_of_the_secrets_key() {
    let load = |pairs: &[(&str, &str)]| Config::from_layers(None, &env(pairs));
    let (cfg, _) = load(&[("RELAY__SECRETS__ENCRYPTION_KEY", KEY_A)]).unwrap();
    assert_eq!(cfg.secrets_key().unwrap().expose(), KEY_A);
    let (cfg, _) = load(&[("RELAY__BOX__TOKEN_KEY", KEY_B)]).unwrap();
    assert_eq!(cfg.secrets_key().unwrap().expose(), KEY_B);
    let (cfg, _) = load(&[
        ("RELAY__SECRETS__ENCRYPTION_KEY", KEY_A),
        ("RELAY__BOX__TOKEN_KEY", KEY_A),
    ])
    .unwrap();
    assert_eq!(cfg.secrets_key().unwrap().expose(), KEY_A);
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
