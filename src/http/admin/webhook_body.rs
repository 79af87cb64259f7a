//! The bodies of `POST /webhooks` and `PUT /webhooks/{id}`, checked before Box is called:
//! a target (`file` or `folder`, not the root folder) and Box's known triggers, and no other
//! top-level field.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::box_api::triggers;
use crate::http::error::ApiError;
use crate::suggest::unknown_field;

/// The top-level fields of a body; any other is refused (400), a typo being the likely cause.
pub const FIELDS: [&str; 2] = ["target", "triggers"];

/// A Box file or folder.
pub struct Target {
    /// Box id.
    pub id: String,
    /// `file` or `folder`.
    pub kind: String,
}

/// The checked fields of a create or update body (both required to create).
pub struct HookRequest {
    /// New target.
    pub target: Option<Target>,
    /// New triggers.
    pub triggers: Option<Vec<String>>,
}

/// Reads and checks a create (`partial` false) or update body.
pub fn read_body(body: &Bytes, partial: bool) -> Result<HookRequest, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("body", format!("not JSON ({e})")))?;
    let Value::Object(body) = value else {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    };
    if body.contains_key("address") {
        return Err(ApiError::invalid(
            "address",
            "set by the relay (server.public_url and the instance id), not by the request",
        ));
    }
    if let Some(refused) = unknown_field(body.keys().map(String::as_str), &FIELDS) {
        return Err(ApiError::invalid(refused.key, refused.reason));
    }
    let target = match body.get("target") {
        None if partial => None,
        Some(Value::Object(t)) => Some(read_target(t)?),
        _ => {
            return Err(ApiError::invalid(
                "target",
                "required: {\"id\", \"type\": \"file\"|\"folder\"}",
            ))
        }
    };
    let list = match body.get("triggers") {
        None if partial => None,
        Some(Value::Array(list)) if !list.is_empty() => Some(list),
        _ => {
            return Err(ApiError::invalid(
                "triggers",
                "required: a non-empty array of Box triggers",
            ))
        }
    };
    let triggers = list
        .map(|list| {
            list.iter()
                .enumerate()
                .map(|(i, t)| match t.as_str() {
                    Some(t) if triggers::is_known(t) => Ok(t.to_string()),
                    _ => Err(ApiError::invalid(
                        format!("triggers[{i}]"),
                        format!("{t} is not a Box webhook trigger"),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(HookRequest { target, triggers })
}

fn read_target(t: &Map<String, Value>) -> Result<Target, ApiError> {
    let id = match t.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(ApiError::invalid(
                "target.id",
                "required: the Box file or folder id",
            ))
        }
    };
    let kind = match t.get("type").and_then(Value::as_str) {
        Some(k @ ("file" | "folder")) => k.to_string(),
        _ => return Err(ApiError::invalid("target.type", "\"file\" or \"folder\"")),
    };
    if kind == "folder" && id == "0" {
        return Err(ApiError::invalid(
            "target.id",
            "Box does not allow webhooks on the root folder (id 0)",
        ));
    }
    Ok(Target { id, kind })
}
