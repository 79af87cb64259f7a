//! Typed configuration: built-in defaults → TOML file → `RELAY__SECTION__KEY` environment
//! variables, `${NAME}` expanded from the environment, validated once at start-up.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::instance::Instance;
use crate::secret::Secret;

/// A configuration that cannot be used; the message names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is missing, unreadable or not valid TOML, or a value has the wrong type.
    #[error("configuration: {0}")]
    Load(String),
    /// A `RELAY__…` environment variable is not usable (it names no key, say).
    #[error("environment variable {variable}: {reason}")]
    Variable {
        /// The variable, e.g. `RELAY__SERVER__LISTN`.
        variable: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value was read but is not acceptable.
    #[error("configuration key `{key}`: {reason}")]
    Invalid {
        /// Dotted path of the key, e.g. `delivery.timeout_ms`.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// The whole configuration. Every section has working defaults.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The HTTP listener.
    pub server: ServerConfig,
    /// Credentials of the admin API.
    pub admin: AdminConfig,
    /// Where events are stored.
    pub storage: StorageConfig,
    /// The key that encrypts every secret the relay stores.
    pub secrets: SecretsConfig,
    /// How Box deliveries are checked.
    #[serde(rename = "box")]
    pub box_: BoxConfig,
    /// How events are delivered to callbacks.
    pub delivery: DeliveryConfig,
    /// The envelope of outgoing events.
    pub events: EventsConfig,
    /// Logging.
    pub log: LogConfig,
    /// Instances defined in the file (read-only through the API).
    pub instances: Vec<InstanceConfig>,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// Largest accepted request body; larger ones get 413.
    pub body_limit_bytes: usize,
    /// A request (headers and body) must be complete within this time, else 408. A new
    /// connection must also send its first request head within it, whatever its protocol.
    pub request_timeout_ms: u64,
    /// A connection with no request in progress for this long is closed (HTTP/1 keep-alive
    /// and HTTP/2 alike). An HTTP/1 connection's next request head must also arrive within
    /// `request_timeout_ms`, so it waits at most the shorter of the two.
    pub idle_timeout_ms: u64,
    /// Open connections at most; at the cap, the connection idle the longest is closed to
    /// make room. 0: the open-file limit less what the relay needs for the rest (the soft
    /// limit is raised to the hard limit at start).
    pub max_connections: usize,
    /// Request body bytes held in memory at once, across all requests; past it, Box
    /// deliveries are answered 503 with `Retry-After`. Bodies over 64 KiB may use only three
    /// quarters of it, so ordinary Box deliveries (a few KB) still get through while large
    /// uploads hold the rest.
    pub body_budget_bytes: usize,
    /// On SIGTERM, how long in-flight work may take before the process exits anyway.
    pub shutdown_grace_ms: u64,
    /// The relay's public base URL as Box reaches it (`https://relay.example.com`): the
    /// address of Box webhooks created through `POST /webhooks`. Empty: that route is off.
    pub public_url: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
            body_limit_bytes: 1024 * 1024,
            request_timeout_ms: 30_000,
            idle_timeout_ms: 30_000,
            max_connections: 0,
            body_budget_bytes: 32 * 1024 * 1024,
            shutdown_grace_ms: 10_000,
            public_url: String::new(),
        }
    }
}

/// `[admin]`: platform credentials for the admin API; both empty turns it off.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// The `User` part of the `Authorization` header.
    pub user_secret: Secret,
    /// The `Organization` part of the `Authorization` header.
    pub organization_secret: Secret,
}

/// `[secrets]`: how the secrets the relay stores (instance configurations, Box tokens) are
/// encrypted at rest.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// AES-256-GCM key of every stored secret: 32 bytes, standard base64. Empty: on SQLite a
    /// key is generated beside the database file; PostgreSQL refuses to start without one.
    pub encryption_key: Secret,
}

/// `[storage]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `sqlite://path/to/file.db` (embedded, one replica).
    pub url: Secret,
    /// Delivered events older than this are pruned; 0 keeps them forever.
    pub delivered_retention_secs: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("sqlite://data/relay.db"),
            delivered_retention_secs: 7 * 24 * 3600,
        }
    }
}

/// `[box]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoxConfig {
    /// A `box-delivery-timestamp` older than this is refused.
    pub max_age_secs: u64,
    /// A `box-delivery-timestamp` further ahead than this is refused.
    pub max_future_skew_secs: u64,
    /// Base URL of Box's API (`{api_url}/2.0/webhooks`).
    pub api_url: String,
    /// Base URL of Box's OAuth 2.0 token endpoint (`{oauth_url}/oauth2/token`).
    pub oauth_url: String,
    /// The former name of `secrets.encryption_key`, still accepted as the same key.
    pub token_key: Secret,
}

impl Default for BoxConfig {
    fn default() -> Self {
        Self {
            max_age_secs: 600,
            max_future_skew_secs: 60,
            api_url: "https://api.box.com".into(),
            oauth_url: "https://api.box.com".into(),
            token_key: Secret::default(),
        }
    }
}

/// `[delivery]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// In-flight callback requests, whole process.
    pub concurrency: usize,
    /// In-flight callback requests per instance.
    pub per_instance_concurrency: usize,
    /// Whole-request timeout of one callback POST.
    pub timeout_ms: u64,
    /// First try plus retries; then the event is `failed` (kept, replayable).
    pub max_attempts: u32,
    /// Delay before retry x = base * factor^(x-1), capped, ± jitter.
    pub backoff_base_ms: u64,
    /// See `backoff_base_ms`.
    pub backoff_factor: f64,
    /// Upper bound of one retry delay, also of an honoured `Retry-After`.
    pub backoff_max_ms: u64,
    /// ± fraction applied to each delay.
    pub jitter: f64,
    /// Allow callbacks to loopback, private, link-local, metadata and every other
    /// special-purpose address.
    pub allow_private_destinations: bool,
    /// CIDRs (`"10.20.0.0/16"`, `"fd00:1::/64"`) whose addresses callbacks may reach even
    /// though they are not public: the finer alternative to `allow_private_destinations`.
    pub allowed_private_networks: Vec<String>,
    /// A proxy for every callback request (`http://proxy.internal:3128`). Empty: none, and
    /// `HTTP_PROXY`/`ALL_PROXY` are ignored. Destinations are checked before the proxy.
    pub proxy_url: Secret,
    /// Longest sleep of the poller that picks up due retries and abandoned events.
    pub poll_interval_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            concurrency: 64,
            per_instance_concurrency: 8,
            timeout_ms: 15_000,
            max_attempts: 10,
            backoff_base_ms: 4_000,
            backoff_factor: 4.0,
            backoff_max_ms: 262_144_000,
            jitter: 0.2,
            allow_private_destinations: false,
            allowed_private_networks: Vec::new(),
            proxy_url: Secret::default(),
            poll_interval_ms: 1_000,
        }
    }
}

impl DeliveryConfig {
    /// The destination guard these settings describe; `Err` names a bad CIDR.
    pub fn destination_policy(
        &self,
    ) -> Result<crate::delivery::destination::DestinationPolicy, String> {
        crate::delivery::destination::DestinationPolicy::new(
            self.allow_private_destinations,
            &self.allowed_private_networks,
        )
    }
}

/// `[events]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// The envelope's `user` field.
    pub sender: String,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            sender: "notifications@webhook-relay".into(),
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `webhook_relay=debug,info`. `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

/// One `[[instances]]` entry as written in the file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    /// Positive integer, unique.
    pub id: i64,
    /// Shown as `message.instanceName`.
    pub name: String,
    /// Must be `box`.
    #[serde(default = "default_element")]
    pub element: String,
    /// Shown as `message.instanceTags`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Copied into `message.accountId` when set.
    pub account_id: Option<i64>,
    /// Copied into `message.companyId` when set.
    pub company_id: Option<i64>,
    /// Copied into `message.userId` when set.
    pub user_id: Option<i64>,
    /// When true, Box deliveries to this instance are answered `ignored`.
    #[serde(default)]
    pub disabled: bool,
    /// Cloud Elements-style configuration; open-ended, known keys validated.
    #[serde(default)]
    pub configuration: BTreeMap<String, serde_json::Value>,
}

fn default_element() -> String {
    "box".into()
}

/// The environment the configuration is read against (`std::env::vars()` in production, a
/// map in tests).
pub type Env = HashMap<String, String>;

impl Config {
    /// Loads defaults, then `file` (if any), then `RELAY__…` variables of `env`, expands
    /// `${NAME}` and validates. Returns the configuration and the instances it defines.
    pub fn load(file: Option<&Path>, env: &Env) -> Result<(Config, Vec<Instance>), ConfigError> {
        let text =
            match file {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                    ConfigError::Load(format!("cannot read {}: {e}", path.display()))
                })?),
                None => None,
            };
        Self::from_layers(text.as_deref(), env)
    }

    /// Like [`Config::load`], with the file's TOML text given directly.
    pub fn from_layers(
        toml: Option<&str>,
        env: &Env,
    ) -> Result<(Config, Vec<Instance>), ConfigError> {
        env::check_variables(env)?;
        let mut builder = config::Config::builder();
        if let Some(text) = toml {
            builder = builder.add_source(config::File::from_str(text, config::FileFormat::Toml));
        }
        let relay_env: config::Map<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("RELAY__"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("RELAY")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(relay_env)),
        );
        let merged = builder
            .build()
            .and_then(|c| config::Source::collect(&c))
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        let cfg: Config = expand::expand_tree(merged, env)?
            .try_deserialize()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        let instances = cfg.validate()?;
        Ok((cfg, instances))
    }

    /// Parses a TOML document, then the `RELAY__…` variables of `env` (for tests and tools).
    pub fn from_toml(text: &str, env: &Env) -> Result<(Config, Vec<Instance>), ConfigError> {
        Self::from_layers(Some(text), env)
    }

    /// Checks every value; returns the instances the file defines.
    pub fn validate(&self) -> Result<Vec<Instance>, ConfigError> {
        self.server
            .listen
            .parse::<SocketAddr>()
            .map_err(|e| invalid("server.listen", format!("not an address:port ({e})")))?;
        if self.server.body_limit_bytes == 0 {
            return Err(invalid("server.body_limit_bytes", "must be positive"));
        }
        if self.server.request_timeout_ms == 0 {
            return Err(invalid("server.request_timeout_ms", "must be positive"));
        }
        if self.server.idle_timeout_ms == 0 {
            return Err(invalid("server.idle_timeout_ms", "must be positive"));
        }
        if self.server.body_budget_bytes < self.server.body_limit_bytes {
            return Err(invalid(
                "server.body_budget_bytes",
                "must be at least server.body_limit_bytes (one largest body must fit)",
            ));
        }
        if self.admin.user_secret.is_empty() != self.admin.organization_secret.is_empty() {
            return Err(invalid(
                "admin.user_secret",
                "set both user_secret and organization_secret, or neither",
            ));
        }
        crate::store::StoreUrl::parse(self.storage.url.expose())
            .map_err(|reason| invalid("storage.url", reason))?;
        if self.box_.max_age_secs == 0 {
            return Err(invalid("box.max_age_secs", "must be positive"));
        }
        let window = self.box_.max_age_secs + self.box_.max_future_skew_secs;
        let retention = self.storage.delivered_retention_secs;
        if retention != 0 && retention < window {
            return Err(invalid(
                "storage.delivered_retention_secs",
                format!(
                    "{retention} s is shorter than the window in which a signed Box delivery \
                     is accepted (box.max_age_secs + box.max_future_skew_secs = {window} s): a \
                     captured delivery could be replayed after its record is pruned; keep \
                     delivered events at least {window} s (or 0, forever)"
                ),
            ));
        }
        for (key, url) in [
            ("server.public_url", &self.server.public_url),
            ("box.api_url", &self.box_.api_url),
            ("box.oauth_url", &self.box_.oauth_url),
        ] {
            if !(key == "server.public_url" && url.is_empty()) {
                crate::instance::parse_callback_url(url).map_err(|r| invalid(key, r))?;
            }
        }
        self.validate_secrets_key()?;
        let d = &self.delivery;
        for (key, value) in [
            ("delivery.concurrency", d.concurrency as u64),
            (
                "delivery.per_instance_concurrency",
                d.per_instance_concurrency as u64,
            ),
            ("delivery.timeout_ms", d.timeout_ms),
            ("delivery.max_attempts", u64::from(d.max_attempts)),
            ("delivery.backoff_base_ms", d.backoff_base_ms),
            ("delivery.poll_interval_ms", d.poll_interval_ms),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be positive"));
            }
        }
        if !(d.backoff_factor.is_finite() && d.backoff_factor >= 1.0) {
            return Err(invalid("delivery.backoff_factor", "must be at least 1.0"));
        }
        if d.backoff_max_ms < d.backoff_base_ms {
            return Err(invalid(
                "delivery.backoff_max_ms",
                "must be at least delivery.backoff_base_ms",
            ));
        }
        if !(0.0..1.0).contains(&d.jitter) {
            return Err(invalid("delivery.jitter", "must be in [0, 1)"));
        }
        d.destination_policy()
            .map_err(|r| invalid("delivery.allowed_private_networks", r))?;
        if !d.proxy_url.is_empty() {
            crate::delivery::client::check_proxy_url(d.proxy_url.expose())
                .map_err(|r| invalid("delivery.proxy_url", r))?;
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(invalid("log.format", "must be \"text\" or \"json\""));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", e.to_string()))?;

        let mut seen = HashSet::new();
        let mut instances = Vec::with_capacity(self.instances.len());
        for (i, inst) in self.instances.iter().enumerate() {
            if !seen.insert(inst.id) {
                return Err(invalid(
                    format!("instances[{i}].id"),
                    format!("duplicate instance id {}", inst.id),
                ));
            }
            instances.push(
                Instance::from_config(inst)
                    .map_err(|(key, reason)| invalid(format!("instances[{i}].{key}"), reason))?,
            );
        }
        Ok(instances)
    }

    /// The effective configuration as JSON, with every secret replaced by `***` and the
    /// password of every URL masked (the rest of the URL shown).
    pub fn redacted(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        value["storage"]["url"] = serde_json::Value::String(self.storage.url.expose().into());
        mask_url_passwords(&mut value);
        if let Some(list) = value.get_mut("instances").and_then(|v| v.as_array_mut()) {
            for inst in list {
                if let Some(conf) = inst
                    .get_mut("configuration")
                    .and_then(|v| v.as_object_mut())
                {
                    for (key, v) in conf.iter_mut() {
                        if is_secret_key(key) && !v.is_null() {
                            *v = serde_json::Value::String("***".into());
                        }
                    }
                }
            }
        }
        value
    }
}

/// Replaces the password of every URL among the string values of `value` with `***`.
fn mask_url_passwords(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Some(masked) = crate::secret::mask_url_password(s, "***") {
                *s = masked;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_url_passwords),
        serde_json::Value::Object(map) => map.values_mut().for_each(mask_url_passwords),
        _ => {}
    }
}

/// Instance configuration keys whose values are secrets (masked in every output): any key
/// naming a key, token, secret or password, whatever its case (`oauth.api.secret`,
/// `some.apiKey`, `client_secret`, `db.password`, `box.webhook.v1.token`).
pub fn is_secret_key(key: &str) -> bool {
    const NAMES: [&str; 9] = [
        "apikey",
        "api_key",
        "apisecret",
        "secret",
        "password",
        "passwd",
        "token",
        "passphrase",
        "credential",
    ];
    let k = key.to_ascii_lowercase();
    k.ends_with(".key") || NAMES.iter().any(|name| k.contains(name))
}

mod env;
mod expand;
mod secrets;
pub mod suggest;
#[cfg(test)]
mod tests;
