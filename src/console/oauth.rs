//! Connect Box (Cloud Elements' "Authenticate" step). The New instance form's **Connect Box**
//! button posts the form here: the relay keeps it in the session (sealed) with a fresh
//! `state`, and sends the browser to Box's authorize page (`box.authorize_url`, with
//! `redirect_uri = {server.public_url}/console/oauth/box/callback`). Box sends the browser
//! back with a `code` (or `error=access_denied`); the relay checks `state` against the
//! session, exchanges the code at once through the same provisioning as the API's
//! `providerData.code`, and shows the new instance. A refusal, a wrong `state` or an exchange
//! Box refuses each show a message and create nothing. A flow is used once.

use axum::extract::{Query, State};
use axum::http::header::LOCATION;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::form::{Errors, InstanceForm};
use super::instances::{create_from, new_page};
use super::layout;
use super::session::{hash, lookup, random_token, same, NoSession};
use super::{ConsoleSession, ConsoleState};
use crate::box_api::authorize::authorize_url;
use crate::instance::api::InstanceRequest;

/// The path Box sends the browser back to.
pub const CALLBACK_PATH: &str = "/console/oauth/box/callback";

/// The `redirect_uri` of Connect Box, when `server.public_url` is set.
pub fn redirect_uri(state: &ConsoleState) -> Option<String> {
    state
        .public_url
        .as_ref()
        .map(|u| format!("{}{CALLBACK_PATH}", u.as_str().trim_end_matches('/')))
}

/// `POST /console/oauth/box/start`: the New instance form, on its way to Box.
pub async fn start(
    session: ConsoleSession,
    State(state): State<ConsoleState>,
    Form(input): Form<InstanceForm>,
) -> Response {
    let mut errors = Errors::default();
    for (field, value, label) in [
        ("client_id", &input.client_id, "Client ID"),
        ("client_secret", &input.client_secret, "Client secret"),
    ] {
        if value.trim().is_empty() {
            errors = errors.with(field, format!("{label} is required to connect Box"));
        }
    }
    let Some(redirect) = redirect_uri(&state) else {
        let errors = Errors::general(
            "server.public_url is not set: Box needs the relay's public address to send you back.",
        );
        return new_page(StatusCode::BAD_REQUEST, &session, &input, &errors);
    };
    if !errors.is_empty() {
        return new_page(StatusCode::BAD_REQUEST, &session, &input, &errors);
    }
    // What can be checked before Box is: the body's shape (the rest is checked at creation).
    if let Err(invalid) = InstanceRequest::from_json(&input.create_body(Some(("-", &redirect)))) {
        return new_page(
            StatusCode::BAD_REQUEST,
            &session,
            &input,
            &Errors::of(&invalid),
        );
    }
    let nonce = random_token();
    let form = serde_json::to_string(&input).unwrap_or_default();
    match state
        .service
        .store
        .begin_oauth(&session.token_hash(), &hash(&nonce), &form)
        .await
    {
        Ok(true) => {}
        Ok(false) => return NoSession::SignIn.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console: storing a Connect Box flow failed");
            return layout::unavailable();
        }
    }
    let url = authorize_url(
        &state.authorize_url,
        input.client_id.trim(),
        &redirect,
        &nonce,
        &[],
    );
    match HeaderValue::from_str(url.as_str()) {
        Ok(v) => (StatusCode::SEE_OTHER, [(LOCATION, v)]).into_response(),
        Err(_) => layout::message(
            StatusCode::BAD_REQUEST,
            "The Client ID cannot be sent to Box.",
        ),
    }
}

/// What Box sends back.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// Set by the relay when it re-requests the callback from its own page (see
    /// [`callback`]).
    resumed: Option<String>,
}

/// `GET /console/oauth/box/callback`.
///
/// The session cookie is `SameSite=Strict`, so a browser arriving from Box's site does not
/// send it: the first answer without a session is a page of this site that reloads the same
/// URL (a `meta` refresh, no script), and that request carries the cookie.
pub async fn callback(
    State(state): State<ConsoleState>,
    parts: Parts,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let session = match lookup(&parts, &state).await {
        Ok(s) => s,
        Err(NoSession::SignIn) if q.resumed.is_none() => {
            let again = match parts.uri.query() {
                Some(query) => format!("{CALLBACK_PATH}?{query}&resumed=1"),
                None => format!("{CALLBACK_PATH}?resumed=1"),
            };
            return resume_page(&again);
        }
        Err(e) => return e.into_response(),
    };
    let pending = match state.service.store.take_oauth(&session.token_hash()).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "console: reading a Connect Box flow failed");
            return layout::unavailable();
        }
    };
    let Some((state_hash, form)) = pending else {
        return layout::message(
            StatusCode::BAD_REQUEST,
            "No Connect Box is in progress in this session (or this answer was already used). \
             Nothing was created. Start again from New instance.",
        );
    };
    let input: InstanceForm = serde_json::from_str(&form).unwrap_or_default();
    let refused = |text: String| {
        new_page(
            StatusCode::BAD_REQUEST,
            &session,
            &input,
            &Errors::general(text),
        )
    };
    if !q
        .state
        .as_deref()
        .is_some_and(|s| same(&hash(s), &state_hash))
    {
        tracing::info!("console: a Connect Box answer with a wrong state refused");
        return refused(
            "Box's answer does not belong to this Connect Box (wrong state). Nothing was \
             created. Connect Box again."
                .into(),
        );
    }
    if let Some(error) = q.error.as_deref() {
        let text = if error == "access_denied" {
            "Access was denied: Box was not allowed to connect. Nothing was created.".to_string()
        } else {
            let detail = q.error_description.as_deref().unwrap_or("");
            format!(
                "Box did not connect ({error}{}{detail}). Nothing was created.",
                if detail.is_empty() { "" } else { ": " }
            )
        };
        return refused(text);
    }
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty()) else {
        return refused("Box sent no authorization code. Nothing was created.".into());
    };
    let Some(redirect) = redirect_uri(&state) else {
        return refused("server.public_url is not set.".into());
    };
    let body = input.create_body(Some((code, &redirect)));
    create_from(&state, &session, &input, &body).await
}

fn resume_page(again: &str) -> Response {
    let refresh = format!("0;url={again}");
    let markup = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content=(refresh);
                title { "Connecting Box…" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body.bare {
                main.narrow {
                    p { "Connecting Box… " a href=(again) { "Continue" } }
                }
            }
        }
    };
    (StatusCode::OK, axum::response::Html(markup.into_string())).into_response()
}
