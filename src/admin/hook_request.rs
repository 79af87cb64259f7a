//! The body that creates or changes a Box webhook, checked before Box is called: a target
//! (`file` or `folder`, not the root folder) and Box's known triggers, and no other top-level
//! field (`address` included: the relay sets it).

use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::box_api::triggers;
use crate::input;
use crate::invalid::InvalidValue;

/// The body of `POST /webhooks` (both fields required) and `PUT /webhooks/{id}` (either).
/// Any other top-level field is refused: 400 `invalid_value` naming it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookRequest)]
pub struct HookRequest {
    /// The Box file or folder whose events Box sends.
    pub target: Option<Target>,
    /// Box V2 triggers, e.g. `FILE.UPLOADED`; unknown names are refused (400, `key` =
    /// `triggers[i]`).
    #[schema(value_type = Option<Vec<String>>, min_items = 1)]
    pub triggers: Option<Vec<Trigger>>,
}

/// A Box file or folder.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(expecting = "{\"id\", \"type\": \"file\"|\"folder\"}")]
pub struct Target {
    /// Box file or folder id; not the root folder (0).
    #[serde(default, deserialize_with = "box_item_id")]
    #[schema(required = true, value_type = String)]
    pub id: Option<String>,
    /// `file` or `folder`.
    #[serde(default, rename = "type")]
    #[schema(required = true)]
    pub kind: Option<ItemKind>,
}

/// What a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// A Box file.
    File,
    /// A Box folder.
    Folder,
}

impl ItemKind {
    /// As Box names it.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::File => "file",
            ItemKind::Folder => "folder",
        }
    }
}

/// A Box webhook trigger the relay knows Box has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger(pub String);

impl<'de> Deserialize<'de> for Trigger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        match value.as_str() {
            Some(t) if triggers::is_known(t) => Ok(Trigger(t.to_string())),
            _ => Err(de::Error::custom(format!(
                "{value} is not a Box webhook trigger"
            ))),
        }
    }
}

/// A Box id: a non-empty string, or a number.
fn box_item_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) if !s.is_empty() => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(de::Error::custom("required: the Box file or folder id")),
    }
}

/// A checked target.
#[derive(Debug, Clone)]
pub struct CheckedTarget {
    /// Box id.
    pub id: String,
    /// File or folder.
    pub kind: ItemKind,
}

/// A checked body: what to change (both set to create).
#[derive(Debug, Clone)]
pub struct HookChange {
    /// New target.
    pub target: Option<CheckedTarget>,
    /// New triggers, at least one.
    pub triggers: Option<Vec<String>>,
}

impl HookRequest {
    /// Reads and checks a create (`partial` false) or update body.
    pub fn read(body: &[u8], partial: bool) -> Result<HookChange, InvalidValue> {
        let object: Map<String, Value> = input::object(body)?;
        if object.contains_key("address") {
            return Err(InvalidValue::new(
                "address",
                "set by the relay (server.public_url and the instance id), not by the request",
            ));
        }
        input::typed::<HookRequest>(object)?.check(partial)
    }

    fn check(self, partial: bool) -> Result<HookChange, InvalidValue> {
        let target = match self.target {
            None if partial => None,
            None => {
                return Err(InvalidValue::new(
                    "target",
                    "required: {\"id\", \"type\": \"file\"|\"folder\"}",
                ))
            }
            Some(t) => Some(t.check()?),
        };
        let triggers = match self.triggers {
            None if partial => None,
            Some(list) if !list.is_empty() => Some(list.into_iter().map(|t| t.0).collect()),
            _ => {
                return Err(InvalidValue::new(
                    "triggers",
                    "required: a non-empty array of Box triggers",
                ))
            }
        };
        Ok(HookChange { target, triggers })
    }
}

impl Target {
    fn check(self) -> Result<CheckedTarget, InvalidValue> {
        let id = self
            .id
            .ok_or_else(|| InvalidValue::new("target.id", "required: the Box file or folder id"))?;
        let kind = self
            .kind
            .ok_or_else(|| InvalidValue::new("target.type", "\"file\" or \"folder\""))?;
        if kind == ItemKind::Folder && id == "0" {
            return Err(InvalidValue::new(
                "target.id",
                "Box does not allow webhooks on the root folder (id 0)",
            ));
        }
        Ok(CheckedTarget { id, kind })
    }
}
