//! `GET /elements/{box|id}`: the one element the relay serves, Box, as Cloud Elements'
//! element (a numeric `id`, its `key`, and the configuration an instance of it takes).

use axum::extract::Path;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::view::DEFAULTS;
use super::Platform;
use crate::http::error::ApiError;
use crate::instance::api::BOX_ELEMENT_ID;
use crate::instance::{entries, keys};

/// Checks that a path names the Box element, by key (`box`) or by [`BOX_ELEMENT_ID`];
/// anything else is 404.
pub fn element_key(raw: &str) -> Result<(), ApiError> {
    if raw == "box" || raw.parse::<i64>().ok() == Some(BOX_ELEMENT_ID) {
        Ok(())
    } else {
        Err(ApiError::NotFound("no such element"))
    }
}

/// Cloud Elements' element.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CompatElement)]
pub struct ElementView {
    /// [`BOX_ELEMENT_ID`].
    pub id: i64,
    /// `box`.
    pub key: &'static str,
    /// `Box`.
    pub name: &'static str,
    /// For a person.
    pub description: &'static str,
    /// `documents`.
    pub hub: &'static str,
    /// Always true.
    pub active: bool,
    /// Always false.
    pub deleted: bool,
    /// Always true: instances authorize with Box through OAuth 2.
    pub type_oauth: bool,
    /// Always false.
    pub trial_account: bool,
    /// `{"type": "oauth2"}`.
    pub authentication: Authentication,
    /// The configuration keys an instance takes.
    pub configuration: Vec<ElementConfig>,
    /// None: the relay serves Box's events, not Box's API.
    #[schema(value_type = Vec<Object>)]
    pub resources: Vec<serde_json::Value>,
}

/// How an instance authorizes.
#[derive(Debug, Serialize, ToSchema)]
pub struct Authentication {
    /// `oauth2`.
    pub r#type: &'static str,
}

/// One configuration key of the element.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ElementConfig {
    /// The key.
    pub key: &'static str,
    /// For a person.
    pub name: String,
    /// For a person.
    pub description: String,
    /// The value when unset, if there is one.
    #[schema(required = true)]
    pub default_value: Option<&'static str>,
    /// Whether an instance must set it (none must: an instance without a callback takes
    /// no events).
    pub required: bool,
}

/// The Box element.
pub fn box_element() -> ElementView {
    let configuration = keys::all()
        .map(|key| {
            let name = entries::name_of(key).to_string();
            ElementConfig {
                key,
                description: name.clone(),
                name,
                default_value: DEFAULTS.iter().find(|(k, _)| *k == key).map(|(_, v)| *v),
                required: false,
            }
        })
        .collect();
    ElementView {
        id: BOX_ELEMENT_ID,
        key: "box",
        name: "Box",
        description: "Box events, relayed as Cloud Elements events.",
        hub: "documents",
        active: true,
        deleted: false,
        type_oauth: true,
        trial_account: false,
        authentication: Authentication { r#type: "oauth2" },
        configuration,
        resources: Vec::new(),
    }
}

/// Show the element (`GET /elements/box`, `GET /elements/22`).
pub async fn show(_: Platform, Path(element): Path<String>) -> Result<Json<ElementView>, ApiError> {
    element_key(&element)?;
    Ok(Json(box_element()))
}
