//! `[secrets]`: the one key of every stored secret, and `box.token_key`, its former name.

use super::{invalid, Config, ConfigError};
use crate::secret::Secret;

impl Config {
    /// The key of every stored secret: `secrets.encryption_key`, else `box.token_key`.
    pub fn secrets_key(&self) -> Option<&Secret> {
        [&self.secrets.encryption_key, &self.box_.token_key]
            .into_iter()
            .find(|k| !k.is_empty())
    }

    /// Both names hold usable keys, and the same one when both are set.
    pub(super) fn validate_secrets_key(&self) -> Result<(), ConfigError> {
        use crate::secret::cipher::decode_key;
        let mut keys = Vec::new();
        for (name, key) in [
            ("secrets.encryption_key", &self.secrets.encryption_key),
            ("box.token_key", &self.box_.token_key),
        ] {
            if !key.is_empty() {
                keys.push(decode_key(key.expose()).map_err(|r| invalid(name, r))?);
            }
        }
        if keys.len() == 2 && keys[0] != keys[1] {
            return Err(invalid(
                "secrets.encryption_key",
                "differs from box.token_key; box.token_key is its former name: set only \
                 secrets.encryption_key (or both to the same key)",
            ));
        }
        Ok(())
    }
}
