//! The Box webhooks page of an instance connected to Box: the instance's webhooks as Box
//! lists them, **Create webhook** (target type and id, triggers from Box's list
//! [`triggers::KNOWN`]) and **Delete**. The request is checked and carried out by
//! [`AdminService`](crate::admin::AdminService) as the API's `POST|DELETE /webhooks` are; Box's
//! refusals are shown as Box phrased them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use maud::{html, Markup};
use serde_json::{json, Value};

use super::instances::{heading, instance_id, refusal};
use super::layout::{self, csrf_field, Nav};
use super::{ConsoleSession, ConsoleState};
use crate::admin::hook_request::HookRequest;
use crate::admin::AdminError;
use crate::box_api::client::BoxError;
use crate::box_api::triggers;
use crate::instance::Instance;

/// What the Create webhook form had, to show it again.
#[derive(Debug, Default)]
struct HookForm {
    target_type: String,
    target_id: String,
    triggers: Vec<String>,
}

fn read_form(body: &[u8]) -> HookForm {
    let mut form = HookForm::default();
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "target_type" => form.target_type = v.into_owned(),
            "target_id" => form.target_id = v.trim().to_string(),
            "triggers" => form.triggers.push(v.into_owned()),
            _ => {}
        }
    }
    form
}

/// Box's refusal as Box phrased it; other refusals as the console words them.
fn box_message(e: &AdminError) -> Option<String> {
    match e {
        AdminError::Box(BoxError::Api {
            status,
            code,
            message,
            ..
        }) => Some(format!("Box refused ({status} {code}): {message}")),
        AdminError::Box(BoxError::Unreachable(m)) => Some(format!("Box could not be reached: {m}")),
        AdminError::Invalid(i) => Some(i.to_string()),
        AdminError::Conflict { detail, .. } => Some(detail.clone()),
        _ => None,
    }
}

fn hook_row(session: &ConsoleSession, instance: &Instance, hook: &Value) -> Markup {
    let id = hook.get("id").and_then(Value::as_str).unwrap_or("");
    let target = hook.get("target").cloned().unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let hook_triggers: Vec<String> = hook
        .get("triggers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    html! {
        tr {
            td.mono data-label="ID" { (id) }
            td data-label="Target" { (text(&target, "type")) " " span.mono { (text(&target, "id")) } }
            td data-label="Triggers" { @for t in &hook_triggers { span.tag { (t) } } }
            td data-label="Address" { span.mono { (text(hook, "address")) } }
            td {
                form method="post" action=(format!("/console/instances/{}/webhooks/{id}/delete", instance.id)) {
                    (csrf_field(session))
                    button.danger type="submit" aria-label=(format!("Delete webhook {id}")) { "Delete" }
                }
            }
        }
    }
}

async fn page(
    state: &ConsoleState,
    session: &ConsoleSession,
    instance: &Instance,
    form: &HookForm,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let listed = state.service.list_webhooks(instance, None, None).await;
    let (hooks, list_error) = match listed {
        Ok(page) => (page.entries, None),
        Err(e) => match box_message(&e) {
            Some(m) => (Vec::new(), Some(m)),
            None => return refusal(e),
        },
    };
    let content = html! {
        (heading(instance, "webhooks"))
        @if let Some(e) = &error { p.error role="alert" { (e) } }
        @if let Some(e) = &list_error { p.error role="alert" { (e) } }
        @if hooks.is_empty() && list_error.is_none() {
            p.card.muted { "No Box webhooks deliver to this instance yet." }
        } @else if !hooks.is_empty() {
            div.table-wrap {
                table.responsive {
                    thead { tr { th { "ID" } th { "Target" } th { "Triggers" } th { "Address" } th {} } }
                    tbody { @for h in &hooks { (hook_row(session, instance, h)) } }
                }
            }
        }
        h2 { "Create webhook" }
        form.card method="post" action=(format!("/console/instances/{}/webhooks", instance.id)) {
            (csrf_field(session))
            div.grid2 {
                div.field {
                    label for="target_type" { "Target type" }
                    select #target_type name="target_type" {
                        option value="folder" selected[form.target_type != "file"] { "Folder" }
                        option value="file" selected[form.target_type == "file"] { "File" }
                    }
                }
                div.field {
                    label for="target_id" { "Target ID" }
                    input #target_id name="target_id" type="text" inputmode="numeric" value=(form.target_id) placeholder="Box folder or file id";
                }
            }
            fieldset {
                legend { "Triggers" }
                div.checks {
                    @for t in triggers::KNOWN {
                        label {
                            input type="checkbox" name="triggers" value=(t) checked[form.triggers.iter().any(|x| x == t)];
                            (t)
                        }
                    }
                }
            }
            div.actions { button.primary type="submit" { "Create webhook" } }
        }
    };
    layout::page_with_status(status, session, Nav::Instances, &instance.name, content)
}

async fn instance_of(
    state: &ConsoleState,
    raw: &str,
) -> Result<std::sync::Arc<Instance>, AdminError> {
    let id = instance_id(raw).ok_or(AdminError::NotFound("no such instance"))?;
    state.service.instance(id).await
}

/// `GET /console/instances/{id}/webhooks`.
pub async fn list(
    session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
) -> Response {
    match instance_of(&state, &raw).await {
        Ok(i) => {
            page(
                &state,
                &session,
                &i,
                &HookForm::default(),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(e) => refusal(e),
    }
}

/// `POST /console/instances/{id}/webhooks`: Create webhook.
pub async fn create(
    session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let instance = match instance_of(&state, &raw).await {
        Ok(i) => i,
        Err(e) => return refusal(e),
    };
    let form = read_form(&body);
    let request = json!({
        "target": { "id": form.target_id, "type": form.target_type },
        "triggers": form.triggers,
    });
    let bytes = serde_json::to_vec(&request).unwrap_or_default();
    let result = match HookRequest::read(&bytes, false, state.service.allow_unknown_triggers) {
        Ok(change) => state.service.create_webhook(&instance, change).await,
        Err(invalid) => Err(invalid.into()),
    };
    after_change(&state, &session, &instance, &form, result.map(|_| ())).await
}

/// The answer to a create or delete: back to the webhooks page, or the page again with
/// Box's refusal as Box phrased it (any other refusal as such).
async fn after_change(
    state: &ConsoleState,
    session: &ConsoleSession,
    instance: &Instance,
    form: &HookForm,
    result: Result<(), AdminError>,
) -> Response {
    match result {
        Ok(()) => {
            Redirect::to(&format!("/console/instances/{}/webhooks", instance.id)).into_response()
        }
        Err(e) => match box_message(&e) {
            Some(m) => {
                page(
                    state,
                    session,
                    instance,
                    form,
                    Some(m),
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
            None => refusal(e),
        },
    }
}

/// `POST /console/instances/{id}/webhooks/{hook}/delete`.
pub async fn delete(
    session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path((raw, hook)): Path<(String, String)>,
) -> Response {
    let instance = match instance_of(&state, &raw).await {
        Ok(i) => i,
        Err(e) => return refusal(e),
    };
    let result = match state.service.own_webhook(&instance, &hook).await {
        Ok(row) => state.service.delete_webhook(&instance, &row).await,
        Err(e) => Err(e),
    };
    after_change(&state, &session, &instance, &HookForm::default(), result).await
}
