//! An instance's configuration as Cloud Elements' list of entries (`GET
//! /instances/{id}/configuration`): one `{id, key, name, propertyValue}` per key, secrets
//! masked as the instance answer masks them, and the body that changes one entry
//! ([`PropertyPatch`]). An entry's id is derived from (instance id, key), so it is stable
//! across restarts, replicas and engines without being stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::api::{ConfigValue, InstanceAnswer};
use super::{keys, Instance};

/// One configuration entry, as Cloud Elements answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ConfigurationEntry)]
pub struct ConfigEntry {
    /// Stable per (instance, key): the first 48 bits of SHA-256 of `"<instance id>/<key>"`,
    /// a positive integer a JavaScript number holds exactly.
    pub id: i64,
    /// The configuration key.
    pub key: String,
    /// What the key means, for a person (the key itself for keys the relay does not read).
    pub name: String,
    /// The value as a string; `********` for a secret; null when unset.
    #[schema(required = true)]
    pub property_value: Option<String>,
}

/// The id of `key`'s entry on instance `instance_id`.
pub fn entry_id(instance_id: i64, key: &str) -> i64 {
    let digest = Sha256::digest(format!("{instance_id}/{key}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes[2..].copy_from_slice(&digest[..6]);
    i64::from_be_bytes(bytes).max(1)
}

/// A person's name for a key the relay knows (the key itself for others).
pub fn name_of(key: &str) -> &str {
    match key {
        keys::EVENTS_ENABLED => "Events Enabled",
        keys::CALLBACK_URL => "Event Notification Callback URL",
        keys::SIGNATURE_KEY => "Event Notification Signature Key",
        keys::STANDARD_SECRET => "Standard Webhooks Secret",
        keys::BOX_PRIMARY_KEY => "Box Webhook Primary Key",
        keys::BOX_SECONDARY_KEY => "Box Webhook Secondary Key",
        keys::BOX_V1_TOKEN => "Box V1 Webhook Token",
        keys::box_auth::CLIENT_ID => "OAuth API Key",
        keys::box_auth::CLIENT_SECRET => "OAuth API Secret",
        keys::box_auth::REDIRECT_URI => "OAuth Callback URL",
        keys::box_auth::AUTH => "Box Authentication",
        keys::box_auth::ENTERPRISE_ID => "Box Enterprise Id",
        other => other,
    }
}

/// Every entry of `instance`, by key: the keys the relay knows (null when unset) and every
/// key stored, valued and masked exactly as in the instance's answer.
pub fn entries(instance: &Instance) -> Vec<ConfigEntry> {
    let configuration: BTreeMap<String, Option<String>> =
        InstanceAnswer::of(instance).configuration;
    configuration
        .into_iter()
        .map(|(key, value)| ConfigEntry {
            id: entry_id(instance.id, &key),
            name: name_of(&key).to_string(),
            key,
            property_value: value,
        })
        .collect()
}

/// The entry `config_id` names: its numeric id, or the key itself.
pub fn entry(instance: &Instance, config_id: &str) -> Option<ConfigEntry> {
    let numeric = config_id.parse::<i64>().ok();
    entries(instance)
        .into_iter()
        .find(|e| Some(e.id) == numeric || e.key == config_id)
}

/// The body of `PATCH …/configuration/{configId}`. The entry as answered may be sent back
/// whole (Cloud Elements' scripts do): `id` and `name` are then ignored, and `key`, when
/// given, must be the entry's.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PropertyPatch {
    /// The new value: a string or a boolean (numbers are kept as text); `null` removes the
    /// key. Required.
    #[schema(value_type = Option<ConfigValue>, required = true)]
    pub property_value: Option<ConfigValue>,
    /// The entry's id, as answered: ignored.
    #[schema(value_type = Option<Object>)]
    pub id: Option<Value>,
    /// The entry's key: must match when given.
    pub key: Option<String>,
    /// The entry's name, as answered: ignored.
    #[schema(value_type = Option<Object>)]
    pub name: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_are_stable_positive_and_distinct() {
        let a = entry_id(7, keys::CALLBACK_URL);
        assert_eq!(a, entry_id(7, keys::CALLBACK_URL));
        assert!(a > 0 && a < (1 << 48));
        assert_ne!(a, entry_id(8, keys::CALLBACK_URL));
        assert_ne!(a, entry_id(7, keys::SIGNATURE_KEY));
    }
}
