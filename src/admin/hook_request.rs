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
    /// Box V2 triggers, e.g. `FILE.UPLOADED`; names not in the relay's list are refused
    /// (400, `key` = `triggers[i]`) unless `box.allow_unknown_triggers` is on.
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

/// A Box webhook trigger as given; checked against [`triggers::KNOWN`] by
/// [`HookRequest::read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger(pub String);

impl<'de> Deserialize<'de> for Trigger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(t) => Ok(Trigger(t)),
            other => Err(de::Error::custom(format!(
                "{other} is not a Box webhook trigger"
            ))),
        }
    }
}

/// Whether `t` may be sent to Box: a known trigger, or (with `box.allow_unknown_triggers`)
/// a well-formed one.
fn check_trigger(i: usize, t: String, allow_unknown: bool) -> Result<String, InvalidValue> {
    if triggers::is_known(&t) || (allow_unknown && triggers::is_well_formed(&t)) {
        return Ok(t);
    }
    let shown: String = t.chars().take(64).collect();
    Err(InvalidValue::new(
        format!("triggers[{i}]"),
        if allow_unknown {
            format!("{shown:?} is not a Box webhook trigger (upper-case words joined by dots)")
        } else {
            format!(
                "{shown:?} is not a Box webhook trigger the relay knows \
                 (box.allow_unknown_triggers lets Box decide)"
            )
        },
    ))
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
    /// Reads and checks a create (`partial` false) or update body; `allow_unknown` is
    /// `box.allow_unknown_triggers`.
    pub fn read(
        body: &[u8],
        partial: bool,
        allow_unknown: bool,
    ) -> Result<HookChange, InvalidValue> {
        let object: Map<String, Value> = input::object(body)?;
        if object.contains_key("address") {
            return Err(InvalidValue::new(
                "address",
                "set by the relay (server.public_url and the instance id), not by the request",
            ));
        }
        input::typed::<HookRequest>(object)?.check(partial, allow_unknown)
    }

    fn check(self, partial: bool, allow_unknown: bool) -> Result<HookChange, InvalidValue> {
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
            Some(list) if !list.is_empty() => Some(
                list.into_iter()
                    .enumerate()
                    .map(|(i, t)| check_trigger(i, t.0, allow_unknown))
                    .collect::<Result<_, _>>()?,
            ),
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
