//! Instances on Cloud Elements' surface: `GET|POST /instances`, `GET|PUT|PATCH|DELETE
//! /instances/{id}`, the same under `/elements/{box|id}/instances`, `PATCH /instances` (the
//! instance of the Element token sent) and `PUT|DELETE /instances/{id}/enabled` (and
//! `/instances/enabled`, with the Element token). The body is
//! brought to the relay's [`InstanceRequest`] (as Cloud Elements does: names stripped of
//! HTML, the name as the tag of an instance created without tags, the default entries set,
//! the element given by path or numeric id, the instance's own `id` ignored), the same
//! [`crate::admin::AdminService`] operation is called, and the answer is a [`CompatInstance`].

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::element::element_key;
use super::view::{CompatInstance, DEFAULTS};
use super::{path_id, Element, Platform};
use crate::http::admin::AdminState;
use crate::http::error::ApiError;
use crate::input;
use crate::instance::api::{InstanceRequest, BOX_ELEMENT_ID};
use crate::invalid::InvalidValue;

/// How a body is brought to the relay's request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    /// `POST` or `PUT`: the whole instance (defaults filled in).
    Whole,
    /// `PATCH`: the fields given.
    Part,
}

/// The path of the nested routes: `{element}` alone, or `{element}` and `{id}`.
type ElementPath = Path<Vec<(String, String)>>;

/// The element and instance id of a path, the element checked first (unknown: 404).
fn nested(path: &[(String, String)]) -> Result<(bool, Option<i64>), ApiError> {
    let mut id = None;
    let mut element = false;
    for (name, value) in path {
        match name.as_str() {
            "element" => {
                element_key(value)?;
                element = true;
            }
            "id" => id = Some(path_id(value)?),
            _ => {}
        }
    }
    Ok((element, id))
}

/// `name` without HTML: tags (and what their quoted attributes hold) dropped, spaces
/// trimmed.
pub fn strip_html(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_tag = false;
    let mut quote = None;
    for c in name.chars() {
        match (in_tag, quote, c) {
            (false, _, '<') => in_tag = true,
            (false, _, c) => out.push(c),
            (true, None, '"' | '\'') => quote = Some(c),
            (true, Some(q), c) if c == q => quote = None,
            (true, None, '>') => in_tag = false,
            (true, _, _) => {}
        }
    }
    out.trim().to_string()
}

/// A Cloud Elements body as the relay's request.
fn request(body: &[u8], write: Write, element_in_path: bool) -> Result<InstanceRequest, ApiError> {
    let mut body = input::object(body)?;
    // Cloud Elements' scripts send the instance's id back; the path says which it is.
    body.remove("id");
    if let Some(Value::String(name)) = body.get("name") {
        let stripped = strip_html(name);
        if stripped.is_empty() {
            return Err(ApiError::invalid(
                "name",
                "nothing left once HTML is removed",
            ));
        }
        body.insert("name".into(), Value::String(stripped));
    }
    element_by_id(&mut body)?;
    if element_in_path && !body.contains_key("element") {
        body.insert("element".into(), serde_json::json!({"key": "box"}));
    }
    if write == Write::Whole {
        if !matches!(body.get("tags"), Some(Value::Array(_))) {
            if let Some(name) = body.get("name").cloned() {
                body.insert("tags".into(), Value::Array(vec![name]));
            }
        }
        if let Some(Value::Object(configuration)) = body.get_mut("configuration") {
            for (key, value) in DEFAULTS {
                configuration
                    .entry(key)
                    .or_insert_with(|| Value::String(value.into()));
            }
        } else if !body.contains_key("configuration") {
            let defaults: Map<String, Value> = DEFAULTS
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect();
            body.insert("configuration".into(), Value::Object(defaults));
        }
    }
    Ok(input::typed(body)?)
}

/// `element: {"id": 22}` names the Box element as `{"key": "box"}` does; another id is
/// refused.
fn element_by_id(body: &mut Map<String, Value>) -> Result<(), InvalidValue> {
    let Some(Value::Object(element)) = body.get_mut("element") else {
        return Ok(());
    };
    if let Some(id) = element.remove("id") {
        if id.as_i64() != Some(BOX_ELEMENT_ID) {
            return Err(InvalidValue::new(
                "element.id",
                format!("only the Box element ({BOX_ELEMENT_ID}) is supported"),
            ));
        }
        element
            .entry("key")
            .or_insert_with(|| Value::String("box".into()));
    }
    Ok(())
}

/// Create an instance (`POST /instances`, `POST /elements/{box|id}/instances`).
pub async fn create(
    _: Platform,
    State(admin): State<AdminState>,
    path: Option<ElementPath>,
    body: Bytes,
) -> Result<Json<CompatInstance>, ApiError> {
    let (in_path, _) = nested(&path.map(|p| p.0).unwrap_or_default())?;
    let request = request(&body, Write::Whole, in_path)?;
    let created = admin.service.create_instance(&request).await?;
    let answer = crate::instance::api::InstanceAnswer::of(&created.instance)
        .with_token(created.token.expose());
    Ok(Json(CompatInstance::from_answer(&created.instance, answer)))
}

/// List instances (`GET /instances[?tags[]=…]`, `GET /elements/{box|id}/instances`).
pub async fn list(
    _: Platform,
    State(admin): State<AdminState>,
    path: Option<ElementPath>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<CompatInstance>>, ApiError> {
    nested(&path.map(|p| p.0).unwrap_or_default())?;
    let tags: Vec<String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(name, _)| name == "tags[]" || name == "tags")
        .map(|(_, tag)| tag.into_owned())
        .collect();
    let instances = admin.service.instances_tagged(&tags);
    Ok(Json(
        instances.iter().map(|i| CompatInstance::of(i)).collect(),
    ))
}

/// The instance id of `/instances/{id}` or `/elements/{element}/instances/{id}`.
fn instance_of(path: ElementPath) -> Result<i64, ApiError> {
    nested(&path.0)?
        .1
        .ok_or(ApiError::NotFound("no such instance"))
}

/// Show an instance.
pub async fn show(
    _: Platform,
    State(admin): State<AdminState>,
    path: ElementPath,
) -> Result<Json<CompatInstance>, ApiError> {
    let instance = admin.service.instance(instance_of(path)?).await?;
    Ok(Json(CompatInstance::of(&instance)))
}

/// Replace an instance whole (`providerData.code` re-provisions it).
pub async fn replace(
    _: Platform,
    State(admin): State<AdminState>,
    path: ElementPath,
    body: Bytes,
) -> Result<Json<CompatInstance>, ApiError> {
    let in_path = nested(&path.0)?.0;
    let id = instance_of(path)?;
    let request = request(&body, Write::Whole, in_path)?;
    let instance = admin.service.replace_instance(id, &request).await?;
    Ok(Json(CompatInstance::of(&instance)))
}

/// Change an instance: fields given replace.
pub async fn patch(
    _: Platform,
    State(admin): State<AdminState>,
    path: ElementPath,
    body: Bytes,
) -> Result<Json<CompatInstance>, ApiError> {
    let id = instance_of(path)?;
    let request = request(&body, Write::Part, false)?;
    let instance = admin.service.patch_instance(id, &request).await?;
    Ok(Json(CompatInstance::of(&instance)))
}

/// Change the instance whose Element token is sent (`PATCH /instances`).
pub async fn own_patch(
    Element(instance): Element,
    State(admin): State<AdminState>,
    body: Bytes,
) -> Result<Json<CompatInstance>, ApiError> {
    let request = request(&body, Write::Part, false)?;
    let instance = admin.service.patch_instance(instance.id, &request).await?;
    Ok(Json(CompatInstance::of(&instance)))
}

/// Delete an instance; answers it as it was.
pub async fn delete(
    _: Platform,
    State(admin): State<AdminState>,
    path: ElementPath,
) -> Result<Json<CompatInstance>, ApiError> {
    let instance = admin.service.delete_instance(instance_of(path)?).await?;
    Ok(Json(CompatInstance::of(&instance)))
}

/// Enable an instance (200 with the instance).
pub async fn enable(
    _: Platform,
    State(admin): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<CompatInstance>, ApiError> {
    let instance = admin.service.set_enabled(path_id(&id)?, true).await?;
    Ok(Json(CompatInstance::of(&instance)))
}

/// Disable an instance (200 with the instance): Box deliveries are answered `ignored`, and
/// its Element token is refused on this surface (403).
pub async fn disable(
    _: Platform,
    State(admin): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<CompatInstance>, ApiError> {
    let instance = admin.service.set_enabled(path_id(&id)?, false).await?;
    Ok(Json(CompatInstance::of(&instance)))
}

/// Enable the instance whose Element token is sent (`PUT /instances/enabled`, Cloud
/// Elements' "Disabling and Enabling Instances"). The one call a disabled instance's token
/// may still make.
pub async fn own_enable(
    Element(instance): Element,
    State(admin): State<AdminState>,
) -> Result<Json<CompatInstance>, ApiError> {
    let instance = admin.service.set_enabled(instance.id, true).await?;
    Ok(Json(CompatInstance::of(&instance)))
}

/// Disable the instance whose Element token is sent (`DELETE /instances/enabled`).
pub async fn own_disable(
    Element(instance): Element,
    State(admin): State<AdminState>,
) -> Result<Json<CompatInstance>, ApiError> {
    let instance = admin.service.set_enabled(instance.id, false).await?;
    Ok(Json(CompatInstance::of(&instance)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_stripped_from_names() {
        let xss =
            r##"<a href="#" onClick="javascript:alert('xss');return false;">churros-xss</a>"##;
        assert_eq!(strip_html(xss), "churros-xss");
        assert_eq!(strip_html("<b>a > b</b>"), "a > b");
        assert_eq!(strip_html("plain name"), "plain name");
        assert_eq!(strip_html(r#"<img src="x>y">"#), "");
    }
}
