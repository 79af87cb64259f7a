//! Instances in Cloud Elements' platform shape: the `POST /instances` and
//! `PATCH /instances/{id}` body ([`InstanceRequest`]) applied to a [`StoredInstance`], and the
//! answer ([`InstanceAnswer`]) with every configuration value as a string and every secret
//! masked.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{keys, Instance, Origin};
use crate::input;
use crate::instance::keys::is_secret_key;
use crate::invalid::InvalidValue;
use crate::store::records::StoredInstance;

/// What a masked secret reads as.
pub const MASK: &str = "********";

/// Cloud Elements' instance body. Any other top-level field is refused: 400 `invalid_value`
/// with `key` naming it and a detail naming the nearest known field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstanceRequest {
    /// Cloud Elements' element: `key` must be `box` (required to create; cannot change).
    #[serde(default, deserialize_with = "present")]
    pub element: Option<ElementRef>,
    /// `message.instanceName` (required to create).
    #[serde(default, deserialize_with = "input::non_empty")]
    #[schema(min_length = 1)]
    pub name: Option<String>,
    /// `message.instanceTags`.
    #[serde(default, deserialize_with = "tags")]
    pub tags: Option<Vec<String>>,
    /// Cloud Elements-style keys; values are strings or booleans (numbers are stored as
    /// strings); `null` removes a key. Keys the relay does not know are kept and answered as
    /// `warnings`.
    #[schema(value_type = Option<BTreeMap<String, ConfigValue>>)]
    pub configuration: Option<BTreeMap<String, Option<ConfigValue>>>,
    /// Accepted and ignored, unless it carries an OAuth `code`: Box tokens are obtained
    /// with it before the instance is created.
    #[schema(value_type = Option<Object>)]
    pub provider_data: Option<Value>,
    /// A disabled instance answers Box `ignored`.
    #[serde(default, deserialize_with = "flag")]
    pub disabled: Option<bool>,
    /// Cloud Elements' field: accepted and ignored.
    pub description: Option<Value>,
    /// Cloud Elements' field: accepted and ignored.
    pub external_authentication: Option<Value>,
    /// Cloud Elements' field: accepted and ignored.
    pub cache_time_to_live: Option<Value>,
    /// Cloud Elements' field: accepted and ignored.
    pub caching_enabled: Option<Value>,
    /// Cloud Elements' field: accepted and ignored.
    pub max_cache_size: Option<Value>,
    /// Cloud Elements' field: accepted and ignored.
    pub trace_logging_enabled: Option<Value>,
}

/// Cloud Elements' element reference; only its `key` is read.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ElementRef {
    /// `box`.
    #[schema(pattern = "^box$")]
    pub key: Option<String>,
}

/// A configuration value as given (`null` removes the key). Numbers are kept as text: the relay reads no numeric key,
/// and the answer echoes strings. Objects and lists are kept as their JSON text.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ConfigValue {
    /// A string (or a number, as text).
    Text(String),
    /// A boolean (read as `"true"`/`"false"` are).
    Flag(bool),
    /// A JSON object or list, as its JSON text: taken only by the keys that read JSON
    /// ([`keys::EVENT_SELECTION`]); any other key refuses it.
    Json(String),
}

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Scalar;
        impl<'de> Visitor<'de> for Scalar {
            type Value = ConfigValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, a boolean, JSON (an object or a list) or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfigValue, E> {
                Ok(ConfigValue::Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ConfigValue, E> {
                Ok(ConfigValue::Flag(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConfigValue, E> {
                Ok(ConfigValue::Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConfigValue, E> {
                Ok(ConfigValue::Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ConfigValue, E> {
                // As JSON writes it (`1.0`, not `1`).
                Ok(ConfigValue::Text(
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                ))
            }
            // An object or a list (`event.metadata`, `event.notification.triggers`) is kept
            // as its JSON text, as Cloud Elements keeps it; the key's reader parses it.
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ConfigValue, A::Error> {
                let value = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ConfigValue::Json(value.to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<ConfigValue, A::Error> {
                let value = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(ConfigValue::Json(value.to_string()))
            }
        }
        d.deserialize_any(Scalar)
    }
}

impl From<ConfigValue> for Value {
    fn from(v: ConfigValue) -> Self {
        match v {
            ConfigValue::Text(s) | ConfigValue::Json(s) => Value::String(s),
            ConfigValue::Flag(b) => Value::Bool(b),
        }
    }
}

/// A field that, once given, counts as given whatever its shape (`element: null` included):
/// a shape that is not an element reference reads as one without a key.
fn present<'de, D: Deserializer<'de>, T: Default + serde::de::DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(Some(serde_json::from_value(value).unwrap_or_default()))
}

/// `tags`: the whole list is named when any of it is wrong.
fn tags<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    serde_json::from_value(value.unwrap_or_default())
        .map_err(|_| de::Error::custom("must be an array of strings"))
}

/// `disabled`.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Option::<bool>::deserialize(d).map_err(|_| de::Error::custom("must be true or false"))
}

impl InstanceRequest {
    /// Reads a body already parsed as JSON (the property tests and the console read bodies
    /// this way; the API reads bytes with [`input::read`]).
    pub fn from_json(body: &Value) -> Result<Self, InvalidValue> {
        match body {
            Value::Object(map) => input::typed(map.clone()),
            _ => Err(InvalidValue::new("body", "must be a JSON object")),
        }
    }

    /// The OAuth authorization code of `providerData.code`, when given.
    pub fn oauth_code(&self) -> Result<Option<&str>, InvalidValue> {
        match self.provider_data.as_ref().and_then(|p| p.get("code")) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(c)) if !c.is_empty() => Ok(Some(c.as_str())),
            Some(_) => Err(InvalidValue::new(
                "providerData.code",
                "must be a non-empty string",
            )),
        }
    }

    fn element_key(&self) -> Option<&str> {
        self.element.as_ref().and_then(|e| e.key.as_deref())
    }
}

/// A new instance from a `POST /instances` body (id and token are set by the caller).
/// `providerData` and configuration keys the relay does not use are kept (the answer's
/// `warnings` names the unknown ones).
pub fn new_instance(request: &InstanceRequest) -> Result<StoredInstance, InvalidValue> {
    match request.element_key() {
        Some("box") => {}
        Some(_) => {
            return Err(InvalidValue::new(
                "element.key",
                "only \"box\" is supported",
            ))
        }
        None => {
            return Err(InvalidValue::new(
                "element.key",
                "required, must be \"box\"",
            ))
        }
    }
    let Some(name) = request.name.clone() else {
        return Err(InvalidValue::new("name", "required, a non-empty string"));
    };
    let now = crate::clock::now_ms();
    let mut instance = StoredInstance {
        id: 0,
        name,
        token: crate::secret::TokenDigest::of(""),
        tags: request.tags.clone().unwrap_or_default(),
        configuration: BTreeMap::new(),
        disabled: request.disabled.unwrap_or(false),
        created_at_ms: now,
        updated_at_ms: now,
    };
    merge_configuration(&mut instance.configuration, request)?;
    Ok(instance)
}

/// Applies a `PATCH /instances/{id}` body: fields given replace, configuration keys given as
/// `null` are removed, everything else stays.
pub fn patch_instance(
    instance: &mut StoredInstance,
    request: &InstanceRequest,
) -> Result<(), InvalidValue> {
    if request.element.is_some() && request.element_key() != Some("box") {
        return Err(InvalidValue::new(
            "element.key",
            "cannot change; only \"box\" is supported",
        ));
    }
    if let Some(name) = &request.name {
        instance.name = name.clone();
    }
    if let Some(tags) = &request.tags {
        instance.tags = tags.clone();
    }
    if let Some(disabled) = request.disabled {
        instance.disabled = disabled;
    }
    merge_configuration(&mut instance.configuration, request)?;
    instance.updated_at_ms = crate::clock::now_ms();
    Ok(())
}

/// Merges the request's configuration into `into`: `null` removes a key. A JSON object or
/// list is refused for a key that does not read JSON (most likely a mistake: it would
/// otherwise be kept as its JSON text, e.g. as a signature key).
fn merge_configuration(
    into: &mut BTreeMap<String, Value>,
    request: &InstanceRequest,
) -> Result<(), InvalidValue> {
    for (key, value) in request.configuration.iter().flatten() {
        if matches!(value, Some(ConfigValue::Json(_)))
            && !keys::EVENT_SELECTION.contains(&key.as_str())
        {
            return Err(InvalidValue::new(
                format!("configuration.\"{key}\""),
                "must be a string or a boolean (only event.metadata and event.notification.triggers take a JSON object or list)",
            ));
        }
    }
    for (key, value) in request.configuration.iter().flatten() {
        match value {
            None => into.remove(key),
            Some(value) => into.insert(key.clone(), value.clone().into()),
        };
    }
    Ok(())
}

/// The Cloud Elements answer for an instance.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Instance)]
pub struct InstanceAnswer {
    /// Positive id.
    pub id: i64,
    /// `message.instanceName`.
    pub name: String,
    /// The instance token, shown only in the answer of `POST /instances` (the relay keeps its
    /// SHA-256 digest); `********` afterwards, null for the configuration file's instances.
    #[schema(required = true)]
    pub token: Option<String>,
    /// Always Box.
    pub element: ElementAnswer,
    /// Every value as a string; secrets masked as `********`; keys the relay knows and which
    /// are unset are null.
    pub configuration: BTreeMap<String, Option<String>>,
    /// `message.instanceTags`.
    pub tags: Vec<String>,
    /// Whether events are delivered.
    pub events_enabled: bool,
    /// A disabled instance answers Box `ignored`.
    pub disabled: bool,
    /// Suspended under the `queue` failure policy: an event failed for good, and later
    /// events are stored but not delivered until `POST /instances/{id}/resume`.
    pub suspended: bool,
    /// Always true: an invalid instance is refused, never stored.
    pub valid: bool,
    /// Each configuration key the relay does not know (kept, never read), most often a typo.
    pub warnings: Vec<Warning>,
    /// Defined in the configuration file: change it there.
    pub read_only: bool,
    /// When it was created (RFC 3339), when known.
    #[schema(required = true, format = DateTime)]
    pub created_date: Option<String>,
}

/// The Box element's numeric id, fixed (Cloud Elements' `GET /elements/box` answers one;
/// its `/elements/{id}/…` routes take it).
pub const BOX_ELEMENT_ID: i64 = 22;

/// The element of an answer: `{"id": 22, "key": "box", "name": "Box", "hub": "documents"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ElementAnswer {
    /// [`BOX_ELEMENT_ID`].
    pub id: i64,
    /// `box`.
    pub key: &'static str,
    /// `Box`.
    pub name: &'static str,
    /// `documents`.
    pub hub: &'static str,
}

/// A configuration key the relay does not know.
#[derive(Debug, Serialize, ToSchema)]
pub struct Warning {
    /// `unknown_key`.
    #[schema(pattern = "^unknown_key$")]
    pub code: &'static str,
    /// `configuration."<key>"`.
    pub key: String,
    /// The nearest known key, when one is close.
    #[schema(required = true)]
    pub suggestion: Option<&'static str>,
    /// For a person.
    pub detail: String,
}

impl InstanceAnswer {
    /// The answer for `instance`: configuration values as strings, secrets masked, the keys
    /// the relay knows present (`null` when unset). The token is masked too: only its digest
    /// is kept, and the answer that creates the instance shows it once ([`Self::with_token`]).
    pub fn of(instance: &Instance) -> Self {
        let mut configuration: BTreeMap<String, Option<String>> =
            keys::KNOWN.iter().map(|k| (k.to_string(), None)).collect();
        for (key, value) in &instance.configuration {
            configuration.insert(key.clone(), masked(key, value));
        }
        let warnings = keys::unknown_keys(&instance.configuration)
            .into_iter()
            .map(|unknown| Warning {
                code: "unknown_key",
                key: format!("configuration.\"{}\"", unknown.key),
                suggestion: unknown.suggestion,
                detail: unknown.to_string(),
            })
            .collect();
        Self {
            id: instance.id,
            name: instance.name.clone(),
            token: instance.token.map(|_| MASK.to_string()),
            element: ElementAnswer {
                id: BOX_ELEMENT_ID,
                key: "box",
                name: "Box",
                hub: "documents",
            },
            configuration,
            tags: instance.tags.clone(),
            events_enabled: instance.events_enabled,
            disabled: instance.disabled,
            suspended: instance.suspended,
            valid: true,
            warnings,
            read_only: instance.origin == Origin::Config,
            created_date: instance
                .created_at_ms
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }

    /// The answer with the token shown (only when the instance is created).
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }
}

/// The answer as JSON (the property tests and the console read it this way).
pub fn render(instance: &Instance) -> Value {
    serde_json::to_value(InstanceAnswer::of(instance)).unwrap_or_default()
}

fn masked(key: &str, value: &Value) -> Option<String> {
    let text = match value {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if is_secret_key(key) {
        return Some(MASK.into());
    }
    // A URL's password is a secret too (`https://user:pass@host/…`).
    Some(crate::secret::mask_url_password(&text, MASK).unwrap_or(text))
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
