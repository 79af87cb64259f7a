//! Unit tests of the values read into their types at load: what each refuses, naming the
//! key, from the file and from `RELAY__…` variables alike, and that no secret shows.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_zero_where_zero_means_nothing_is_refused_naming_the_key() {
    for (section, key) in [
        ("server", "body_limit_bytes"),
        ("server", "request_timeout_ms"),
        ("server", "idle_timeout_ms"),
        ("box", "max_age_secs"),
        ("delivery", "concurrency"),
        ("delivery", "per_instance_concurrency"),
        ("delivery", "timeout_ms"),
        ("delivery", "max_attempts"),
        ("delivery", "backoff_base_ms"),
        ("delivery", "poll_interval_ms"),
    ] {
        let err = Config::from_toml(&format!("[{section}]\n{key} = 0\n"), &Env::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!("configuration key `{section}.{key}`: must be positive")
        );
    }
}

#[test]
fn a_value_that_does_not_read_as_its_type_is_blamed_on_its_key_file_or_environment() {
    let err = Config::from_toml("[delivery]\ntimeout_ms = \"soon\"\n", &Env::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("configuration key `delivery.timeout_ms`: invalid type"),
        "{err}"
    );
    for (variable, value, message) in [
        (
            "RELAY__SERVER__LISTEN",
            "nowhere",
            "configuration key `server.listen`: not an address:port",
        ),
        (
            "RELAY__LOG__FORMAT",
            "xml",
            "configuration key `log.format`: must be \"text\" or \"json\"",
        ),
        (
            "RELAY__BOX__API_URL",
            "ftp://box.example.com",
            "configuration key `box.api_url`: scheme must be http or https",
        ),
        (
            "RELAY__DELIVERY__CONCURRENCY",
            "0",
            "configuration key `delivery.concurrency`: must be positive",
        ),
    ] {
        let err = Config::from_layers(None, &env(&[(variable, value)]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(message), "{variable}: {err}");
    }
}

#[test]
fn values_are_read_into_their_types_once_and_debug_shows_no_secret() {
    let toml = r#"
[server]
public_url = "https://relay.example.com"
[storage]
url = "postgres://relay:db-pass@db.internal:5432/relay"
[secrets]
encryption_key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
[delivery]
allowed_private_networks = ["10.20.1.2/16"]
proxy_url = "http://user:hunter2@proxy.internal:3128"
[log]
format = "json"
"#;
    let (cfg, _) = Config::from_toml(toml, &Env::new()).unwrap();
    assert_eq!(cfg.log.format, LogFormat::Json);
    assert!(matches!(
        cfg.storage.url.engine(),
        crate::store::StoreUrl::Postgres(_)
    ));
    assert_eq!(
        cfg.delivery.allowed_private_networks[0].to_string(),
        "10.20.0.0/16"
    );
    let proxy = cfg.delivery.proxy_url.as_ref().unwrap();
    assert_eq!(proxy.expose(), "http://user:hunter2@proxy.internal:3128/");
    let debug = format!("{cfg:?}");
    for secret in ["db-pass", "hunter2", "MDEyMzQ1"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    let shown = cfg.redacted();
    assert_eq!(shown["secrets"]["encryption_key"], "***");
    assert_eq!(
        shown["delivery"]["proxy_url"],
        "http://user:***@proxy.internal:3128/"
    );
    assert_eq!(
        shown["delivery"]["allowed_private_networks"][0],
        "10.20.0.0/16"
    );
}
