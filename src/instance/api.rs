//! Instances in Cloud Elements' platform shape: the `POST /instances` and
//! `PATCH /instances/{id}` bodies read into a [`StoredInstance`], and the answer rendered
//! with every configuration value as a string and every secret masked.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use serde_json::{json, Map, Value};

use super::keys::{self, is_secret_key};
use super::{Instance, Origin};
use crate::invalid::InvalidValue;
use crate::store::records::StoredInstance;
use crate::suggest::unknown_field;

/// What a masked secret reads as.
pub const MASK: &str = "********";

fn bad(key: &str, reason: &str) -> InvalidValue {
    InvalidValue::new(key, reason)
}

/// Top-level fields of an instance body that the relay reads.
pub const FIELDS: [&str; 6] = [
    "element",
    "name",
    "tags",
    "configuration",
    "providerData",
    "disabled",
];

/// Top-level fields of Cloud Elements' instance body that the relay accepts and ignores
/// (descriptions, Cloud Elements' cache and trace settings, external authentication).
pub const IGNORED_FIELDS: [&str; 6] = [
    "description",
    "externalAuthentication",
    "cacheTimeToLive",
    "cachingEnabled",
    "maxCacheSize",
    "traceLoggingEnabled",
];

/// The body as an object whose every top-level field is known; an unknown one (a typo such
/// as `nmae`) is refused rather than silently ignored.
fn known_object(body: &Value) -> Result<&Map<String, Value>, InvalidValue> {
    let body = body
        .as_object()
        .ok_or_else(|| bad("body", "must be a JSON object"))?;
    let known: Vec<&str> = FIELDS.into_iter().chain(IGNORED_FIELDS).collect();
    match unknown_field(body.keys().map(String::as_str), &known) {
        Some(refused) => Err(refused),
        None => Ok(body),
    }
}

/// A new instance from a `POST /instances` body (id and token are set by the caller).
/// `providerData` and configuration keys the relay does not use are kept (the answer's
/// `warnings` names the unknown ones); an unknown top-level field is refused.
pub fn new_instance(body: &Value) -> Result<StoredInstance, InvalidValue> {
    let body = known_object(body)?;
    match body.get("element") {
        Some(Value::Object(e)) => match e.get("key") {
            Some(Value::String(k)) if k == "box" => {}
            Some(Value::String(_)) => return Err(bad("element.key", "only \"box\" is supported")),
            _ => return Err(bad("element.key", "required, must be \"box\"")),
        },
        _ => return Err(bad("element.key", "required, must be \"box\"")),
    }
    let name = match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(bad("name", "required, a non-empty string")),
    };
    let now = crate::clock::now_ms();
    let mut instance = StoredInstance {
        id: 0,
        name,
        token: crate::secret::TokenDigest::of(""),
        tags: tags(body)?.unwrap_or_default(),
        configuration: BTreeMap::new(),
        disabled: disabled(body)?.unwrap_or(false),
        created_at_ms: now,
        updated_at_ms: now,
    };
    merge_configuration(&mut instance.configuration, body)?;
    Ok(instance)
}

/// Applies a `PATCH /instances/{id}` body: fields given replace, configuration keys given as
/// `null` are removed, everything else stays.
pub fn patch_instance(instance: &mut StoredInstance, body: &Value) -> Result<(), InvalidValue> {
    let body = known_object(body)?;
    if let Some(element) = body.get("element") {
        if element.get("key").and_then(Value::as_str) != Some("box") {
            return Err(bad(
                "element.key",
                "cannot change; only \"box\" is supported",
            ));
        }
    }
    match body.get("name") {
        None => {}
        Some(Value::String(s)) if !s.trim().is_empty() => instance.name = s.clone(),
        Some(_) => return Err(bad("name", "must be a non-empty string")),
    }
    if let Some(tags) = tags(body)? {
        instance.tags = tags;
    }
    if let Some(disabled) = disabled(body)? {
        instance.disabled = disabled;
    }
    merge_configuration(&mut instance.configuration, body)?;
    instance.updated_at_ms = crate::clock::now_ms();
    Ok(())
}

fn tags(body: &Map<String, Value>) -> Result<Option<Vec<String>>, InvalidValue> {
    match body.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(list)) => list
            .iter()
            .map(|t| t.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| bad("tags", "must be an array of strings")),
        Some(_) => Err(bad("tags", "must be an array of strings")),
    }
}

fn disabled(body: &Map<String, Value>) -> Result<Option<bool>, InvalidValue> {
    match body.get("disabled") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad("disabled", "must be true or false")),
    }
}

/// Merges `body.configuration` into `into`: booleans and numbers are kept as given (the
/// instance validation reads `"true"` and `true` alike), `null` removes a key.
fn merge_configuration(
    into: &mut BTreeMap<String, Value>,
    body: &Map<String, Value>,
) -> Result<(), InvalidValue> {
    let conf = match body.get("configuration") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(conf)) => conf,
        Some(_) => return Err(bad("configuration", "must be a JSON object")),
    };
    for (key, value) in conf {
        match value {
            Value::Null => {
                into.remove(key);
            }
            Value::String(_) | Value::Bool(_) => {
                into.insert(key.clone(), value.clone());
            }
            // Stored as text: the relay reads no numeric key, and the answer echoes strings.
            Value::Number(n) => {
                into.insert(key.clone(), Value::String(n.to_string()));
            }
            _ => {
                return Err(bad(
                    &format!("configuration.\"{key}\""),
                    "must be a string, a boolean or null",
                ))
            }
        }
    }
    Ok(())
}

/// The Cloud Elements answer for an instance: configuration values as strings, secrets
/// masked, the keys the relay knows present (`null` when unset). The token is masked too:
/// only its digest is kept, and the answer that creates the instance shows it once.
/// `warnings` names each configuration key the relay does not know (kept, never read), with
/// the nearest known key when one is close.
pub fn render(instance: &Instance) -> Value {
    let mut configuration = Map::new();
    for key in keys::KNOWN {
        configuration.insert(key.to_string(), Value::Null);
    }
    for (key, value) in &instance.configuration {
        configuration.insert(key.clone(), masked(key, value));
    }
    json!({
        "id": instance.id,
        "name": instance.name,
        "token": instance.token.map(|_| MASK),
        "element": { "key": "box", "name": "Box", "hub": "documents" },
        "configuration": configuration,
        "tags": instance.tags,
        "eventsEnabled": instance.events_enabled,
        "disabled": instance.disabled,
        "valid": true,
        "warnings": warnings(instance),
        "readOnly": instance.origin == Origin::Config,
        "createdDate": instance.created_at_ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    })
}

fn warnings(instance: &Instance) -> Value {
    keys::unknown_keys(&instance.configuration)
        .into_iter()
        .map(|unknown| {
            json!({
                "code": "unknown_key",
                "key": format!("configuration.\"{}\"", unknown.key),
                "suggestion": unknown.suggestion,
                "detail": unknown.to_string(),
            })
        })
        .collect()
}

fn masked(key: &str, value: &Value) -> Value {
    let text = match value {
        Value::Null => return Value::Null,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if is_secret_key(key) {
        return Value::String(MASK.into());
    }
    // A URL's password is a secret too (`https://user:pass@host/…`).
    Value::String(crate::secret::mask_url_password(&text, MASK).unwrap_or(text))
}
