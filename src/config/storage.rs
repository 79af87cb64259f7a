//! `[storage]`: where events are stored, read once into the engine it names.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::store::StoreUrl;

/// `[storage]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `sqlite://path/to/file.db` (embedded, one replica) or `postgres://…`.
    pub url: StorageUrl,
    /// Delivered events older than this are pruned; 0 keeps them forever.
    pub delivered_retention_secs: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: StorageUrl::parse("sqlite://data/relay.db").expect("the default is valid"),
            delivered_retention_secs: 7 * 24 * 3600,
        }
    }
}

impl StorageConfig {
    /// How long delivered events are kept; `None`: forever.
    pub fn retention(&self) -> Option<std::time::Duration> {
        (self.delivered_retention_secs > 0)
            .then(|| std::time::Duration::from_secs(self.delivered_retention_secs))
    }
}

/// `storage.url`: the text the driver is given and the engine it names. It may carry the
/// database password: `Debug` and `Serialize` mask it.
#[derive(Clone, PartialEq, Eq)]
pub struct StorageUrl {
    text: String,
    engine: StoreUrl,
}

impl StorageUrl {
    /// Recognizes the engines this build supports.
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(Self {
            engine: StoreUrl::parse(text)?,
            text: text.to_string(),
        })
    }

    /// The URL itself, password included: only for the store's driver.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// The engine and where: the SQLite file, or the PostgreSQL URL.
    pub fn engine(&self) -> &StoreUrl {
        &self.engine
    }

    /// The URL with its password shown as `***`.
    pub fn masked(&self) -> String {
        crate::secret::mask_url_password(&self.text, "***").unwrap_or_else(|| self.text.clone())
    }
}

impl fmt::Debug for StorageUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorageUrl({:?})", self.masked())
    }
}

impl Serialize for StorageUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

impl<'de> Deserialize<'de> for StorageUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}
