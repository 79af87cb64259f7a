//! The instances pages: the list, an instance's page (its configuration with secrets masked,
//! enable/disable, delete after a confirmation page), and the New instance and Edit forms
//! ([`super::form`]). Every change goes through [`AdminService`](crate::admin::AdminService),
//! as the admin API's do; config-file instances are shown read-only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{TimeZone, Utc};
use maud::{html, Markup};

use super::form::{self, Errors, InstanceForm};
use super::layout::{self, csrf_field, Nav};
use super::{ConsoleSession, ConsoleState};
use crate::admin::AdminError;
use crate::instance::api::{self as instance_api, InstanceRequest};
use crate::instance::{Instance, Origin};
use crate::invalid::InvalidValue;

/// A time for people: `2026-12-03 16:55:24 UTC`.
pub fn when(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// The answer to an admin operation that did not happen, as a page.
pub fn refusal(e: AdminError) -> Response {
    match e {
        AdminError::NotFound(what) => layout::message(StatusCode::NOT_FOUND, &capitalized(what)),
        AdminError::Unavailable => layout::unavailable(),
        AdminError::Conflict { detail, .. } => layout::message(StatusCode::CONFLICT, &detail),
        AdminError::Invalid(i) => layout::message(StatusCode::BAD_REQUEST, &i.to_string()),
        AdminError::Box(b) => layout::message(StatusCode::BAD_GATEWAY, &b.to_string()),
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// A positive id ([`no_such_instance`] otherwise).
pub fn instance_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

/// The console's 404 page of an instance.
pub fn no_such_instance() -> Response {
    layout::message(StatusCode::NOT_FOUND, "No such instance.")
}

/// The host of a URL, for the list.
fn host(instance: &Instance) -> String {
    instance
        .callback_url
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "—".into())
}

fn events_badge(instance: &Instance) -> Markup {
    html! {
        @if instance.disabled {
            span.badge.off { "disabled" }
        } @else if instance.events_enabled {
            span.badge.on { "on" }
        } @else {
            span.badge { "off" }
        }
    }
}

/// `GET /console/instances`.
pub async fn list(session: ConsoleSession, State(state): State<ConsoleState>) -> Response {
    let instances = state.service.list_instances();
    let mut rows = Vec::with_capacity(instances.len());
    for instance in instances {
        match state.service.store.activity(instance.id).await {
            Ok(activity) => rows.push((instance, activity)),
            Err(e) => {
                tracing::error!(error = %e, "console: reading instance activity failed");
                return layout::unavailable();
            }
        }
    }
    let content = html! {
        div.title-row {
            h1 { "Instances" }
            a.button.primary href="/console/instances/new" { "New instance" }
        }
        @if rows.is_empty() {
            p.card.muted { "No instances yet." }
        } @else {
            div.table-wrap {
                table.responsive {
                    thead { tr {
                        th { "Name" } th.num { "ID" } th { "Tags" } th { "Events" }
                        th { "Callback host" } th.num { "Pending" } th.num { "Failed" } th { "Last event" }
                    } }
                    tbody {
                        @for (i, a) in &rows {
                            tr {
                                td data-label="Name" { a href=(format!("/console/instances/{}", i.id)) { (i.name) } }
                                td.num data-label="ID" { (i.id) }
                                td data-label="Tags" { @for t in &i.tags { span.tag { (t) } } }
                                td data-label="Events" { (events_badge(i)) }
                                td data-label="Callback host" { (host(i)) }
                                td.num data-label="Pending" { (a.pending) }
                                td.num data-label="Failed" { (a.failed) }
                                td data-label="Last event" {
                                    @match a.last_received_ms { Some(ms) => (when(ms)), None => span.muted { "never" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(&session, Nav::Instances, "Instances", content)
}

/// The tabs of an instance's pages; `current` is `overview`, `events` or `webhooks`.
pub fn tabs(instance: &Instance, current: &str) -> Markup {
    let here = |t: &str| (t == current).then_some("page");
    let id = instance.id;
    html! {
        nav.tabs aria-label="Instance" {
            a href=(format!("/console/instances/{id}")) aria-current=[here("overview")] { "Configuration" }
            // The events pages (issue 14 item 6) live at /console/instances/{id}/events.
            a href=(format!("/console/instances/{id}/events")) aria-current=[here("events")] { "Events" }
            a href=(format!("/console/instances/{id}/webhooks")) aria-current=[here("webhooks")] { "Box webhooks" }
        }
    }
}

/// The heading of an instance's pages: name, badges, tabs.
pub fn heading(instance: &Instance, current: &str) -> Markup {
    html! {
        div.title-row {
            h1 { (instance.name) }
            div {
                (events_badge(instance)) " "
                @if instance.origin == Origin::Config { span.badge { "config file · read-only" } }
            }
        }
        (tabs(instance, current))
    }
}

/// `GET /console/instances/{id}`.
pub async fn show(
    session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
) -> Response {
    let Some(id) = instance_id(&raw) else {
        return no_such_instance();
    };
    let instance = match state.service.instance(id).await {
        Ok(i) => i,
        Err(e) => return refusal(e),
    };
    let answer = instance_api::render(&instance);
    let read_only = instance.origin == Origin::Config;
    let configuration = answer["configuration"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let content = html! {
        (heading(&instance, "overview"))
        div.card {
            dl.config {
                dt { "ID" } dd { (instance.id) }
                dt { "Tags" } dd { @for t in &instance.tags { span.tag { (t) } } }
                @if let Some(ms) = instance.created_at_ms { dt { "Created" } dd { (when(ms)) } }
                @for (key, value) in &configuration {
                    dt { code { (key) } }
                    dd { @match value.as_str() { Some(v) => code { (v) }, None => span.muted { "not set" } } }
                }
            }
        }
        @if read_only {
            p.muted { "This instance is defined in the configuration file: change it there." }
        } @else {
            div.actions {
                a.button href=(format!("/console/instances/{id}/edit")) { "Edit" }
                form method="post" action=(format!("/console/instances/{id}/{}", if instance.disabled { "enable" } else { "disable" })) {
                    (csrf_field(&session))
                    button type="submit" { @if instance.disabled { "Enable" } @else { "Disable" } }
                }
                a.button href=(format!("/console/instances/{id}/delete")) { "Delete" }
            }
        }
    };
    layout::page(&session, Nav::Instances, &instance.name, content)
}

/// `GET /console/instances/new`.
pub async fn new(session: ConsoleSession) -> Response {
    let form = InstanceForm {
        events_enabled: Some("on".into()),
        ..Default::default()
    };
    new_page(StatusCode::OK, &session, &form, &Errors::default())
}

/// The New instance page, with `errors` (400 when there are some).
pub fn new_page(
    status: StatusCode,
    session: &ConsoleSession,
    form: &InstanceForm,
    errors: &Errors,
) -> Response {
    let content = html! {
        h1 { "New instance" }
        (form::render(session, form, errors, "/console/instances", false))
    };
    layout::page_with_status(status, session, Nav::Instances, "New instance", content)
}

/// Why a form was not accepted, as errors beside its fields; another refusal is given back
/// (for [`refusal`]).
pub fn form_errors(e: AdminError) -> Result<Errors, AdminError> {
    match e {
        AdminError::Invalid(invalid) => Ok(Errors::of(&invalid)),
        // Box's refusal (of an exchange or a grant), as Box phrased it.
        AdminError::Box(b) => Ok(Errors::general(format!("Box refused: {b}"))),
        AdminError::Conflict { detail, .. } => Ok(Errors::general(detail)),
        other => Err(other),
    }
}

fn request_of(body: &serde_json::Value) -> Result<InstanceRequest, InvalidValue> {
    InstanceRequest::from_json(body)
}

/// `POST /console/instances`: creates the instance (Client Credentials too) and shows it,
/// with its Element token this once ([`super::created`]); the form again with its errors
/// otherwise.
pub async fn create(
    session: ConsoleSession,
    State(state): State<ConsoleState>,
    Form(input): Form<InstanceForm>,
) -> Response {
    create_from(&state, &session, &input, &input.create_body(None)).await
}

/// Creates the instance `body` describes (the form's, with Box's code when Connect Box
/// brought one) and shows it with its token; the form `input` again with the errors beside
/// its fields otherwise.
pub async fn create_from(
    state: &ConsoleState,
    session: &ConsoleSession,
    input: &InstanceForm,
    body: &serde_json::Value,
) -> Response {
    let result = match request_of(body) {
        Ok(request) => state.service.create_instance(&request).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(created) => super::created::page(session, &created),
        Err(e) => match form_errors(e) {
            Ok(errors) => new_page(StatusCode::BAD_REQUEST, session, input, &errors),
            Err(other) => refusal(other),
        },
    }
}

fn edit_page(
    status: StatusCode,
    session: &ConsoleSession,
    instance: &Instance,
    form: &InstanceForm,
    errors: &Errors,
) -> Response {
    let content = html! {
        (heading(instance, "overview"))
        h2 { "Edit" }
        (form::render(session, form, errors, &format!("/console/instances/{}", instance.id), true))
    };
    layout::page_with_status(status, session, Nav::Instances, &instance.name, content)
}

/// `GET /console/instances/{id}/edit`.
pub async fn edit(
    session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
) -> Response {
    let Some(id) = instance_id(&raw) else {
        return no_such_instance();
    };
    match state.service.instance(id).await {
        Ok(i) if i.origin == Origin::Config => layout::message(
            StatusCode::CONFLICT,
            "This instance is defined in the configuration file: change it there.",
        ),
        Ok(i) => edit_page(
            StatusCode::OK,
            &session,
            &i,
            &InstanceForm::of(&i),
            &Errors::default(),
        ),
        Err(e) => refusal(e),
    }
}

/// `POST /console/instances/{id}`: saves the Edit form.
pub async fn update(
    session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
    Form(input): Form<InstanceForm>,
) -> Response {
    let Some(id) = instance_id(&raw) else {
        return no_such_instance();
    };
    let result = match request_of(&input.patch_body()) {
        Ok(request) => state.service.patch_instance(id, &request).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/console/instances/{id}")).into_response(),
        Err(e) => {
            let instance = match state.service.instance(id).await {
                Ok(i) => i,
                Err(e) => return refusal(e),
            };
            match form_errors(e) {
                Ok(errors) => edit_page(
                    StatusCode::BAD_REQUEST,
                    &session,
                    &instance,
                    &input,
                    &errors,
                ),
                Err(other) => refusal(other),
            }
        }
    }
}

async fn set_enabled(state: &ConsoleState, raw: &str, enabled: bool) -> Response {
    let Some(id) = instance_id(raw) else {
        return no_such_instance();
    };
    match state.service.set_enabled(id, enabled).await {
        Ok(_) => Redirect::to(&format!("/console/instances/{id}")).into_response(),
        Err(e) => refusal(e),
    }
}

/// `POST /console/instances/{id}/enable`.
pub async fn enable(
    _session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
) -> Response {
    set_enabled(&state, &raw, true).await
}

/// `POST /console/instances/{id}/disable`.
pub async fn disable(
    _session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
) -> Response {
    set_enabled(&state, &raw, false).await
}

/// `GET /console/instances/{id}/delete`: asks for confirmation.
pub async fn confirm_delete(
    session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
) -> Response {
    let Some(id) = instance_id(&raw) else {
        return no_such_instance();
    };
    let instance = match state.service.instance(id).await {
        Ok(i) => i,
        Err(e) => return refusal(e),
    };
    let content = html! {
        h1 { "Delete " (instance.name) "?" }
        div.card {
            p { "Box deliveries to this instance will be refused. Its stored events stay readable by their eventId; pending ones end as failed." }
            div.actions {
                form method="post" action=(format!("/console/instances/{id}/delete")) {
                    (csrf_field(&session))
                    button.danger type="submit" { "Delete instance" }
                }
                a.button href=(format!("/console/instances/{id}")) { "Cancel" }
            }
        }
    };
    layout::page(&session, Nav::Instances, "Delete instance", content)
}

/// `POST /console/instances/{id}/delete`.
pub async fn delete(
    _session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
) -> Response {
    let Some(id) = instance_id(&raw) else {
        return no_such_instance();
    };
    match state.service.delete_instance(id).await {
        Ok(_) => Redirect::to("/console/instances").into_response(),
        Err(e) => refusal(e),
    }
}
