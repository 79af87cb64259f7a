//! Parsing of verified Box deliveries: the V2 JSON event and the V1 callback parameters.

use serde::Deserialize;

use super::verify::Verified;

/// Why a verified body is not a Box webhook event (400 `malformed_payload`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);

/// The fields of a Box V2 event the relay reads; the whole body is kept as `raw`.
#[derive(Debug)]
pub struct V2Event<'a> {
    /// Body `id`: stable across Box's retries, the dedup key. Required: an event without
    /// one could never be deduplicated, so a replayed capture would be delivered again.
    pub id: String,
    /// E.g. `FILE.UPLOADED`; an open set.
    pub trigger: String,
    /// `source.id`
    pub source_id: Option<String>,
    /// `source.type`
    pub source_type: Option<String>,
    /// `webhook.id`
    pub webhook_id: Option<String>,
    /// `created_at`, as sent.
    pub created_at: Option<String>,
    /// `additional_info.reason` when `additional_info` is an object (Box's reason with
    /// `WEBHOOK.DELETED`, e.g. `auto_cleanup`).
    pub reason: Option<String>,
    /// The body exactly as received (surrounding whitespace trimmed): private, so that only
    /// [`parse_v2`], which has checked it is a JSON object, makes one.
    raw: &'a str,
}

#[derive(Deserialize)]
struct WireV2 {
    id: Option<IdValue>,
    trigger: Option<String>,
    source: Option<WireRef>,
    webhook: Option<WireRef>,
    created_at: Option<String>,
    additional_info: Option<AdditionalInfo>,
}

/// `additional_info`: an object (with `reason`) or anything else (an array, usually).
#[derive(Deserialize)]
#[serde(untagged)]
enum AdditionalInfo {
    Object { reason: Option<String> },
    Other(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct WireRef {
    id: Option<IdValue>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Box sends ids as strings; numbers are accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Text(String),
    Number(serde_json::Number),
}

impl<'a> V2Event<'a> {
    /// The body exactly as received (surrounding whitespace trimmed), checked to be a JSON
    /// object: the notification carries it as it is.
    pub fn raw(&self) -> &'a str {
        self.raw
    }
}

impl IdValue {
    fn into_string(self) -> String {
        match self {
            IdValue::Text(s) => s,
            IdValue::Number(n) => n.to_string(),
        }
    }
}

/// Parses a verified V2 body: valid UTF-8 JSON, an object with a non-empty `id` and `trigger`.
/// One pass: serde_json checks every byte it skips as it takes the fields the relay reads,
/// so the body is known to be JSON when this returns, and is kept as the text it is. Only a
/// refused body is read again, to tell "not JSON" from "not a Box event" as before.
pub fn parse_v2(verified: Verified<'_>) -> Result<V2Event<'_>, PayloadError> {
    let text = std::str::from_utf8(verified.body())
        .map_err(|_| PayloadError("body is not UTF-8".into()))?
        .trim();
    // First: serde would read a JSON array into the struct, field by field.
    if !text.starts_with('{') {
        return Err(
            not_json(text).unwrap_or_else(|| PayloadError("body is not a JSON object".into()))
        );
    }
    let wire: WireV2 = serde_json::from_str(text).map_err(|e| {
        not_json(text).unwrap_or_else(|| PayloadError(format!("not a Box webhook event: {e}")))
    })?;
    let trigger = wire
        .trigger
        .filter(|t| !t.is_empty())
        .ok_or_else(|| PayloadError("no \"trigger\" in the event".into()))?;
    let id = wire
        .id
        .map(IdValue::into_string)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PayloadError("no \"id\" in the event (Box's event id)".into()))?;
    let (source_id, source_type) = match wire.source {
        Some(s) => (s.id.map(IdValue::into_string), s.kind),
        None => (None, None),
    };
    Ok(V2Event {
        id,
        trigger,
        source_id,
        source_type,
        webhook_id: wire.webhook.and_then(|w| w.id).map(IdValue::into_string),
        created_at: wire.created_at,
        reason: match wire.additional_info {
            Some(AdditionalInfo::Object { reason }) => reason,
            _ => None,
        },
        raw: text,
    })
}

/// Why `text` is not JSON at all, if it is not.
fn not_json(text: &str) -> Option<PayloadError> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .err()
        .map(|e| PayloadError(format!("body is not JSON: {e}")))
}

/// A V1 callback: the query and form parameters merged (form wins), `token` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Callback {
    /// Parameters in the order received.
    pub params: Vec<(String, String)>,
}

impl V1Callback {
    /// Merges the query string and a form body. A name given twice keeps its last value.
    pub fn parse(query: &[u8], form: &[u8]) -> Self {
        let mut params: Vec<(String, String)> = Vec::new();
        // Position of each name: a body of 100,000 distinct names must not cost 10^10
        // comparisons (found while writing the hostile-input suite).
        let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (k, v) in form_urlencoded::parse(query).chain(form_urlencoded::parse(form)) {
            if k == "token" {
                continue;
            }
            match at.get(k.as_ref()) {
                Some(&i) => params[i].1 = v.into_owned(),
                None => {
                    at.insert(k.clone().into_owned(), params.len());
                    params.push((k.into_owned(), v.into_owned()));
                }
            }
        }
        Self { params }
    }

    /// The first non-empty value among these names.
    pub fn get(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| {
            self.params
                .iter()
                .find(|(k, v)| k == n && !v.is_empty())
                .map(|(_, v)| v.as_str())
        })
    }

    /// Event name: Cloud Elements' `event` or Box's `event_type`.
    pub fn event(&self) -> Option<&str> {
        self.get(&["event", "event_type"])
    }

    /// Item type: `itemType` or `item_type`.
    pub fn item_type(&self) -> Option<&str> {
        self.get(&["itemType", "item_type"])
    }

    /// Item id: `itemId` or `item_id`.
    pub fn item_id(&self) -> Option<&str> {
        self.get(&["itemId", "item_id"])
    }

    /// The parameters as a JSON object (the event's `raw`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.params
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(body: &str) -> Result<V2Event<'_>, PayloadError> {
        parse_v2(Verified::by_token(body.as_bytes()))
    }

    #[test]
    fn box_example_payload_parses() {
        let body = include_str!("../../tests/fixtures/box-v2-file-uploaded.json");
        let e = v2(body).unwrap();
        assert_eq!(e.id, "11446498");
        assert_eq!(e.trigger, "FILE.UPLOADED");
        assert_eq!(e.source_id.as_deref(), Some("12345"));
        assert_eq!(e.source_type.as_deref(), Some("file"));
        assert_eq!(e.raw(), body.trim());
    }

    #[test]
    fn non_objects_and_broken_json_are_malformed() {
        for body in [
            "",
            "[]",
            "\"x\"",
            "{",
            "{\"trigger\":\"FILE.UPLOADED\"} x",
            "{}",
            "{\"trigger\":5}",
        ] {
            assert!(v2(body).is_err(), "{body:?}");
        }
        assert!(parse_v2(Verified::by_token(b"{\"trigger\":\"\xff\"}")).is_err());
    }

    #[test]
    fn an_event_without_an_id_is_malformed_because_it_could_never_be_deduplicated() {
        for body in [
            r#"{"trigger":"FILE.UPLOADED"}"#,
            r#"{"id":"","trigger":"FILE.UPLOADED"}"#,
            r#"{"id":null,"trigger":"FILE.UPLOADED"}"#,
        ] {
            let e = v2(body).unwrap_err();
            assert!(e.0.contains("\"id\""), "{body}: {e}");
        }
        assert_eq!(v2(r#"{"id":7,"trigger":"FILE.UPLOADED"}"#).unwrap().id, "7");
    }

    #[test]
    fn deep_nesting_is_malformed_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(v2(&deep).is_err());
        // Inside the object: a field the relay reads is refused past serde_json's depth
        // limit; one it skips is checked without recursion (as before the single pass) and
        // kept as Box sent it.
        let within =
            |field: &str| format!(r#"{{"id":"1","trigger":"FILE.UPLOADED","{field}":{deep}}}"#);
        for field in ["source", "webhook", "additional_info"] {
            assert!(v2(&within(field)).is_err(), "{field}");
        }
        let unread = within("unread");
        assert_eq!(v2(&unread).unwrap().raw(), unread);
    }

    #[test]
    fn a_refusal_says_whether_the_body_is_json_at_all() {
        for (body, says) in [
            ("", "body is not JSON"),
            ("[1]", "body is not a JSON object"),
            ("\"x\"", "body is not a JSON object"),
            ("{\"trigger\":5, garbage", "body is not JSON"),
            ("{\"trigger\":5}", "not a Box webhook event"),
            (
                "{\"id\":1e400,\"trigger\":\"FILE.UPLOADED\"}",
                "not a Box webhook event",
            ),
            (
                "{\"id\":\"1\",\"trigger\":\"\\ud800\"}",
                "not a Box webhook event",
            ),
        ] {
            let e = v2(body).unwrap_err();
            assert!(e.0.starts_with(says), "{body}: {e}");
        }
    }

    #[test]
    fn v1_merges_query_and_form_and_drops_the_token() {
        let cb = V1Callback::parse(
            b"token=s3cret&event=uploaded",
            b"userId=%5B%22123%22%5D&event=uploaded&itemId=456&itemType=file&newItemId=",
        );
        assert_eq!(cb.event(), Some("uploaded"));
        assert_eq!(cb.item_id(), Some("456"));
        assert_eq!(cb.item_type(), Some("file"));
        assert!(cb.params.iter().all(|(k, _)| k != "token"));
        assert_eq!(cb.to_json()["userId"], "[\"123\"]");
    }

    #[test]
    fn v1_understands_box_placeholder_names() {
        let cb = V1Callback::parse(b"event_type=deleted&item_id=9&item_type=folder", b"");
        assert_eq!(cb.event(), Some("deleted"));
        assert_eq!(cb.item_id(), Some("9"));
        assert_eq!(cb.item_type(), Some("folder"));
    }
}
