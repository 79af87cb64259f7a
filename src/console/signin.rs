//! Sign-in and sign-out. The form takes the admin API's two secrets (checked in constant time
//! by [`AdminAuth`](crate::http::admin::AdminAuth)); a success stores a new session and sets
//! its cookie; a failure counts against the client's address ([`super::throttle`]), and an
//! address that failed too often is told to wait (429) whatever it sends.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, State};
use axum::http::header::{LOCATION, RETRY_AFTER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::layout::{self, field};
use super::session::{self, hash, random_token, set_cookie};
use super::{ConsoleSession, ConsoleState, SESSION_TTL};
use crate::clock;

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    user_secret: String,
    #[serde(default)]
    organization_secret: String,
}

fn form(status: StatusCode, error: Option<&str>) -> Response {
    layout::bare(
        status,
        "Sign in",
        html! {
            h1 { "Sign in" }
            p.muted { "Sign in with the relay's admin credentials (admin.user_secret and admin.organization_secret)." }
            @if let Some(e) = error {
                p.error role="alert" { (e) }
            }
            form.card method="post" action="/console/sign-in" {
                (field("User secret", html! {
                    input #user_secret type="password" name="user_secret" autocomplete="current-password" required;
                }, "user_secret", None))
                (field("Organization secret", html! {
                    input #organization_secret type="password" name="organization_secret" autocomplete="off" required;
                }, "organization_secret", None))
                button.primary type="submit" { "Sign in" }
            }
        },
    )
}

/// `GET /console/sign-in`: the form (or, when already signed in, the console).
pub async fn page(State(state): State<ConsoleState>, parts: Parts) -> Response {
    if session::lookup(&parts, &state).await.is_ok() {
        return redirect("/console");
    }
    form(StatusCode::OK, None)
}

fn redirect(to: &'static str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, HeaderValue::from_static(to))],
    )
        .into_response()
}

/// `POST /console/sign-in`.
pub async fn sign_in(
    State(state): State<ConsoleState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(input): Form<SignInForm>,
) -> Response {
    let addr = peer.map(|Extension(ConnectInfo(a))| a.ip());
    let now = Instant::now();
    if let Some(wait) = state.throttle.wait(addr, now) {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut response = form(
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!(
                "Too many failed sign-ins. Wait {secs} s before trying again."
            )),
        );
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(RETRY_AFTER, v);
        }
        return response;
    }
    // The admin API's header form; a comma would split a secret, so none is accepted.
    let usable = |s: &str| !s.is_empty() && !s.contains(',');
    let allowed = usable(&input.user_secret)
        && usable(&input.organization_secret)
        && state.auth.allows(&format!(
            "User {}, Organization {}",
            input.user_secret, input.organization_secret
        ));
    if !allowed {
        state.throttle.failed(addr, now);
        tracing::info!(client = ?addr, "console sign-in refused: bad credentials");
        return form(
            StatusCode::UNAUTHORIZED,
            Some("Those secrets are not right."),
        );
    }
    state.throttle.succeeded(addr);
    let token = random_token();
    let now_ms = clock::now_ms();
    let expires = now_ms + SESSION_TTL.as_millis() as i64;
    if let Err(e) = state
        .service
        .store
        .create_session(&hash(&token), now_ms, expires)
        .await
    {
        tracing::error!(error = %e, "console: storing a session failed");
        return layout::unavailable();
    }
    tracing::info!("console: signed in");
    let mut response = redirect("/console");
    response
        .headers_mut()
        .insert(SET_COOKIE, set_cookie(&state, Some(&token)));
    response
}

/// `POST /console/sign-out`: the session is deleted from the store (no replica accepts it
/// any more) and the cookie removed.
pub async fn sign_out(State(state): State<ConsoleState>, session: ConsoleSession) -> Response {
    if let Err(e) = state
        .service
        .store
        .delete_session(&session.token_hash())
        .await
    {
        tracing::error!(error = %e, "console: deleting a session failed");
        return layout::unavailable();
    }
    let mut response = redirect("/console/sign-in");
    response
        .headers_mut()
        .insert(SET_COOKIE, set_cookie(&state, None));
    response
}
