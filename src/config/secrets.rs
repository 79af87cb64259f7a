//! `[secrets]`: the one key of every stored secret, and `box.token_key`, its former name.

use serde::{Deserialize, Serialize};

use super::{invalid, typed, Config, ConfigError};
use crate::secret::EncryptionKey;

/// `[secrets]`: how the secrets the relay stores (instance configurations, Box tokens) are
/// encrypted at rest.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// AES-256-GCM key of every stored secret: 32 bytes, standard base64. Empty: on SQLite a
    /// key is generated beside the database file; PostgreSQL refuses to start without one.
    #[serde(with = "typed::optional_key")]
    pub encryption_key: Option<EncryptionKey>,
}

impl Config {
    /// The key of every stored secret: `secrets.encryption_key`, else `box.token_key`.
    pub fn secrets_key(&self) -> Option<&EncryptionKey> {
        self.secrets
            .encryption_key
            .as_ref()
            .or(self.box_.token_key.as_ref())
    }

    /// When both names are set, they hold the same key.
    pub(super) fn validate_secrets_key(&self) -> Result<(), ConfigError> {
        match (&self.secrets.encryption_key, &self.box_.token_key) {
            (Some(key), Some(former)) if key != former => Err(invalid(
                "secrets.encryption_key",
                "differs from box.token_key; box.token_key is its former name: set only \
                 secrets.encryption_key (or both to the same key)",
            )),
            _ => Ok(()),
        }
    }
}
