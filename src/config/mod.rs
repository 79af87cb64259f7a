//! Typed configuration: built-in defaults → TOML file → `RELAY__SECTION__KEY` environment
//! variables, `${NAME}` expanded from the environment, then read once into typed values
//! (addresses, URLs, keys, positive numbers, the log format) and checked across keys. Every
//! error names the key. Above [`crate::instance`], whose `[[instances]]` it reads.
//!
//! One file per section: [`server`](ServerConfig) (and `[admin]`), [`storage`](StorageConfig),
//! [`secrets`](SecretsConfig), [`box`](BoxConfig), [`delivery`](DeliveryConfig),
//! [`log`](LogConfig); how typed values are read (`typed.rs`), the checks across keys
//! (`validate.rs`), the instance checks that need the network ([`checks`]), `RELAY__…`
//! variables (`env.rs`) and `${NAME}` (`expand.rs`).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use self::box_::BoxConfig;
pub use self::delivery::DeliveryConfig;
pub use self::log::{LogConfig, LogFormat};
pub use self::secrets::SecretsConfig;
pub use self::server::{AdminConfig, ServerConfig};
pub use self::storage::{StorageConfig, StorageUrl};
use crate::instance::{keys::is_secret_key, Instance, InstanceConfig};
use crate::invalid::InvalidValue;

/// A configuration that cannot be used; the message names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is missing, unreadable or not valid TOML, or names an unknown section.
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
    /// A value was read but is not acceptable; the key is dotted (`delivery.timeout_ms`).
    /// Not a `source`: the message already says it all, and `main` prints the whole chain.
    #[error("configuration key `{}`: {}", .0.key, .0.reason)]
    Invalid(InvalidValue),
}

impl From<InvalidValue> for ConfigError {
    fn from(e: InvalidValue) -> Self {
        ConfigError::Invalid(e)
    }
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(InvalidValue::new(key, reason))
}

/// A value the `config` crate could not read into its type, blamed on its key when the
/// crate knows it (a wrong type, a bad value, an unknown key inside a section).
fn read_error(e: config::ConfigError) -> ConfigError {
    match e {
        config::ConfigError::Type {
            unexpected,
            expected,
            key: Some(key),
            ..
        } => invalid(
            key,
            format!("invalid type: {unexpected}, expected {expected}"),
        ),
        config::ConfigError::At {
            error,
            key: Some(key),
            ..
        } => invalid(key, error.to_string()),
        other => ConfigError::Load(other.to_string()),
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
            .map_err(read_error)?;
        let instances = cfg.validate()?;
        Ok((cfg, instances))
    }

    /// Parses a TOML document, then the `RELAY__…` variables of `env` (for tests and tools).
    pub fn from_toml(text: &str, env: &Env) -> Result<(Config, Vec<Instance>), ConfigError> {
        Self::from_layers(Some(text), env)
    }

    /// The effective configuration as JSON, with every secret replaced by `***` and the
    /// password of every URL masked (the rest of the URL shown).
    pub fn redacted(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
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

#[path = "box.rs"]
mod box_;
pub mod checks;
mod delivery;
mod env;
mod expand;
mod log;
mod secrets;
mod server;
mod storage;
#[cfg(test)]
mod tests;
mod typed;
#[cfg(test)]
mod typed_tests;
mod validate;
