//! Which Box events an instance wants, read from its configuration: Cloud Elements' Box
//! element key `event.metadata` (`{"webhook":{"file":{"eventTypes":["created",…]},…}}`) and
//! the plainer `event.notification.triggers` (Box trigger names with `*` wildcards, as a
//! comma-separated string or a JSON array). Both are validated here against Box's trigger
//! list; deciding whether a delivery is selected is `crate::event::selection`'s.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::keys::{EVENT_METADATA, EVENT_TRIGGERS};
use crate::box_webhook::triggers::KNOWN;
use crate::invalid::InvalidValue;
use crate::suggest::nearest;

/// Cloud Elements' event types, as `event.metadata` names them.
pub const EVENT_TYPES: [&str; 3] = ["created", "updated", "deleted"];

/// An instance's selection; `None` in a field means that key is not set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `event.notification.triggers`: patterns, upper case.
    pub triggers: Option<Vec<String>>,
    /// `event.metadata`: object (`file`, `folder`, …, lower case) → event types (lower case).
    pub metadata: Option<BTreeMap<String, BTreeSet<String>>>,
}

fn key(k: &str) -> String {
    format!("configuration.\"{k}\"")
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
pub fn glob(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty(); // no `*`: exact
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The objects Box triggers name, lower case (`file`, `folder`, `comment`, …).
pub fn objects() -> BTreeSet<String> {
    KNOWN
        .iter()
        .filter_map(|t| t.split_once('.'))
        .map(|(o, _)| o.to_ascii_lowercase())
        .collect()
}

/// Reads both keys of `configuration`; `None` when neither is set (every event is wanted).
pub fn parse(configuration: &BTreeMap<String, Value>) -> Result<Option<Selection>, InvalidValue> {
    let set = |k: &str| match configuration.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(v) => Some(v),
    };
    let triggers = set(EVENT_TRIGGERS).map(parse_triggers).transpose()?;
    let metadata = set(EVENT_METADATA).map(parse_metadata).transpose()?;
    Ok((triggers.is_some() || metadata.is_some()).then_some(Selection { triggers, metadata }))
}

fn parse_triggers(value: &Value) -> Result<Vec<String>, InvalidValue> {
    let bad = |reason: String| InvalidValue::new(key(EVENT_TRIGGERS), reason);
    let list: Vec<String> = match value {
        Value::String(s) if s.trim_start().starts_with('[') => serde_json::from_str(s)
            .map_err(|_| bad("a JSON array must hold trigger names as strings".into()))?,
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| bad("a JSON array must hold trigger names as strings".into()))?,
        _ => {
            return Err(bad(
                "must be Box trigger names (FILE.UPLOADED, FILE.*), comma-separated or a JSON \
                 array"
                    .into(),
            ))
        }
    };
    let mut patterns = Vec::new();
    for raw in list {
        let pattern = raw.trim().to_ascii_uppercase();
        if pattern.is_empty() {
            return Err(bad("an empty trigger name".into()));
        }
        if !KNOWN.iter().any(|t| glob(&pattern, t)) {
            let reason = match nearest(&pattern, KNOWN.iter().copied()) {
                Some(near) => format!("`{raw}` matches no Box trigger; did you mean `{near}`?"),
                None => format!("`{raw}` matches no Box trigger"),
            };
            return Err(bad(reason));
        }
        patterns.push(pattern);
    }
    if patterns.is_empty() {
        return Err(bad("names no trigger".into()));
    }
    Ok(patterns)
}

fn parse_metadata(value: &Value) -> Result<BTreeMap<String, BTreeSet<String>>, InvalidValue> {
    const SHAPE: &str =
        "must be {\"webhook\": {\"file\": {\"eventTypes\": [\"created\", …]}, …}} (JSON)";
    let bad = |reason: String| InvalidValue::new(key(EVENT_METADATA), reason);
    let parsed;
    let value = match value {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s)
                .map_err(|e| bad(format!("not JSON ({e}); {SHAPE}")))?;
            &parsed
        }
        other => other,
    };
    let Some(webhook) = value.get("webhook").and_then(Value::as_object) else {
        return Err(bad(SHAPE.into()));
    };
    let known = objects();
    let mut selected = BTreeMap::new();
    for (object, spec) in webhook {
        let name = object.to_ascii_lowercase();
        if !known.contains(&name) {
            let reason = match nearest(object, known.iter().map(String::as_str)) {
                Some(near) => format!("unknown object `{object}`; did you mean `{near}`?"),
                None => format!("unknown object `{object}`"),
            };
            return Err(bad(reason));
        }
        let Some(types) = spec.get("eventTypes").and_then(Value::as_array) else {
            return Err(bad(format!("`{object}` has no eventTypes array; {SHAPE}")));
        };
        let mut set = BTreeSet::new();
        for t in types {
            let Some(t) = t.as_str().map(str::to_ascii_lowercase) else {
                return Err(bad(format!("`{object}`.eventTypes must hold strings")));
            };
            if !EVENT_TYPES.contains(&t.as_str()) {
                let reason = match nearest(&t, EVENT_TYPES) {
                    Some(near) => format!("unknown event type `{t}`; did you mean `{near}`?"),
                    None => format!("unknown event type `{t}` (created, updated or deleted)"),
                };
                return Err(bad(reason));
            }
            set.insert(t);
        }
        selected.insert(name, set);
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conf(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn wildcards_match_runs_of_characters() {
        assert!(glob("FILE.*", "FILE.UPLOADED"));
        assert!(glob("*.DELETED", "FOLDER.DELETED"));
        assert!(glob("*", "WEBHOOK.DELETED"));
        assert!(glob("FILE.UPLOADED", "FILE.UPLOADED"));
        assert!(glob(
            "SIGN_REQUEST.SIGNER_*ED",
            "SIGN_REQUEST.SIGNER_SIGNED"
        ));
        assert!(!glob("FILE.*", "FOLDER.CREATED"));
        assert!(!glob("FILE.UPLOADED", "FILE.UPLOADED.X"));
        assert!(!glob("*.CREATED", "FILE.UPLOADED"));
    }

    #[test]
    fn triggers_are_read_from_a_list_or_a_comma_separated_string() {
        for value in [
            json!("file.*, FOLDER.CREATED"),
            json!("[\"FILE.*\",\"FOLDER.CREATED\"]"),
            json!(["FILE.*", "folder.created"]),
        ] {
            let s = parse(&conf(&[(EVENT_TRIGGERS, value.clone())]))
                .unwrap()
                .unwrap();
            assert_eq!(
                s.triggers,
                Some(vec!["FILE.*".to_string(), "FOLDER.CREATED".to_string()]),
                "{value}"
            );
        }
        assert_eq!(parse(&conf(&[(EVENT_TRIGGERS, json!(""))])).unwrap(), None);
    }

    #[test]
    fn a_trigger_that_matches_nothing_is_refused_with_the_nearest_name() {
        let e = parse(&conf(&[(EVENT_TRIGGERS, json!("FILE.UPLOADD"))])).unwrap_err();
        assert_eq!(e.key, "configuration.\"event.notification.triggers\"");
        assert!(
            e.reason.contains("did you mean `FILE.UPLOADED`"),
            "{}",
            e.reason
        );
        assert!(parse(&conf(&[(EVENT_TRIGGERS, json!("FILE.,"))])).is_err());
        assert!(parse(&conf(&[(EVENT_TRIGGERS, json!(3))])).is_err());
    }

    #[test]
    fn metadata_is_read_as_cloud_elements_writes_it() {
        let m = json!({"webhook": {"file": {"eventTypes": ["created", "Deleted"]},
                                   "folder": {"eventTypes": []}}});
        for value in [m.clone(), json!(m.to_string())] {
            let s = parse(&conf(&[(EVENT_METADATA, value)])).unwrap().unwrap();
            let metadata = s.metadata.unwrap();
            assert_eq!(
                metadata["file"],
                ["created", "deleted"].map(String::from).into()
            );
            assert!(metadata["folder"].is_empty());
        }
    }

    #[test]
    fn metadata_of_another_shape_is_refused_naming_the_key() {
        for (value, says) in [
            (json!("{not json"), "not JSON"),
            (json!({"file": {"eventTypes": ["created"]}}), "\"webhook\""),
            (
                json!({"webhook": {"files": {"eventTypes": ["created"]}}}),
                "did you mean `file`",
            ),
            (
                json!({"webhook": {"file": {"eventTypes": ["create"]}}}),
                "did you mean `created`",
            ),
            (
                json!({"webhook": {"file": {"types": ["created"]}}}),
                "eventTypes",
            ),
        ] {
            let e = parse(&conf(&[(EVENT_METADATA, value.clone())])).unwrap_err();
            assert_eq!(e.key, "configuration.\"event.metadata\"");
            assert!(e.reason.contains(says), "{value}: {}", e.reason);
        }
    }
}
