//! Typed input from JSON request bodies, refused with the offending key named: a body is read
//! into a `Deserialize` type through `serde_path_to_error`, so a wrong value becomes an
//! [`InvalidValue`] whose key is its dotted path (`configuration."oauth.scopes"`,
//! `triggers[1]`), and an unknown top-level field is refused naming the nearest known one.

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use serde_path_to_error::{Path, Segment};

use crate::invalid::InvalidValue;
use crate::suggest::unknown_field;

/// The body as a JSON object: key `body` when it is not JSON or not an object.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, InvalidValue> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(InvalidValue::new("body", "must be a JSON object")),
        Err(e) => Err(InvalidValue::new("body", format!("not JSON ({e})"))),
    }
}

/// Reads `T` from a body's object. A top-level field `T` does not have is refused first (a
/// typo is the likely cause: the nearest known field is named), then every value is read as
/// `T` says, the first wrong one named by its path.
pub fn typed<T: DeserializeOwned>(body: Map<String, Value>) -> Result<T, InvalidValue> {
    let known = field_names::<T>();
    if let Some(unknown) = unknown_field(body.keys().map(String::as_str), known) {
        return Err(unknown);
    }
    serde_path_to_error::deserialize(Value::Object(body))
        .map_err(|e| InvalidValue::new(key(e.path()), reason(&e.inner().to_string())))
}

/// [`object`] then [`typed`].
pub fn read<T: DeserializeOwned>(body: &[u8]) -> Result<T, InvalidValue> {
    typed(object(body)?)
}

/// The dotted form of a path. Configuration keys are dotted names themselves, so they are
/// quoted: `configuration."event.notification.callback.url"`.
fn key(path: &Path) -> String {
    let mut key = String::new();
    let mut parent = "";
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => key.push_str(&format!("[{index}]")),
            Segment::Map { key: name } | Segment::Enum { variant: name } => {
                if !key.is_empty() {
                    key.push('.');
                }
                if parent == "configuration" {
                    key.push_str(&format!("\"{name}\""));
                } else {
                    key.push_str(name);
                }
                parent = name;
            }
            Segment::Unknown => key.push('?'),
        }
    }
    if key.is_empty() {
        "body".to_string()
    } else {
        key
    }
}

/// What is wrong, in the API's words. serde's "invalid type: string "…", expected X" would
/// repeat the value (perhaps a secret): it becomes "must be X", in JSON's terms.
fn reason(message: &str) -> String {
    let expected = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(|rest| rest.rsplit_once(", expected "))
        .map(|(_, expected)| expected);
    match expected {
        Some(expected) => {
            let expected = match expected {
                "a map" => "a JSON object",
                "a sequence" => "an array",
                other => other,
            };
            format!("must be {expected}")
        }
        None => message.to_string(),
    }
}

/// The field names `T` reads from an object, as `#[derive(Deserialize)]` declares them: a
/// deserializer that only records what `deserialize_struct` is given.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Names<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Names<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("names read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(Names(&mut names));
    names
}

/// A string that is not empty (nor only spaces).
pub fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let refused = || de::Error::custom("must be a non-empty string");
    let s = String::deserialize(d).map_err(|_: D::Error| refused())?;
    if s.trim().is_empty() {
        return Err(refused());
    }
    Ok(Some(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // fields are read by the derive only
    struct Probe {
        name: Option<String>,
        configuration: Option<std::collections::BTreeMap<String, bool>>,
        triggers: Option<Vec<String>>,
    }

    fn refused(body: Value) -> InvalidValue {
        read::<Probe>(body.to_string().as_bytes()).unwrap_err()
    }

    #[test]
    fn a_wrong_value_is_named_by_its_path_without_repeating_it() {
        let e = refused(json!({"configuration": {"a.b": "secret-value"}}));
        assert_eq!(e.key, "configuration.\"a.b\"");
        assert_eq!(e.reason, "must be a boolean");
        let e = refused(json!({"triggers": ["A", 2]}));
        assert_eq!(
            (e.key.as_str(), e.reason.as_str()),
            ("triggers[1]", "must be a string")
        );
        let e = refused(json!({"configuration": []}));
        assert_eq!(e.reason, "must be a JSON object");
    }

    #[test]
    fn an_unknown_field_names_the_nearest_known_one() {
        let e = refused(json!({"nmae": "x"}));
        assert_eq!(e.key, "nmae");
        assert!(e.reason.contains("`name`"), "{}", e.reason);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_the_body_s_fault() {
        assert_eq!(read::<Probe>(b"{not json").unwrap_err().key, "body");
        assert_eq!(read::<Probe>(b"[1]").unwrap_err().key, "body");
    }
}
