//! Console sessions: a random token in an `HttpOnly`, `SameSite=Strict` cookie (`Secure`
//! when `server.public_url` is https), its SHA-256 in the store; the CSRF token derived from
//! the session token (so it is never stored, and a copy of the database cannot forge it).

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{layout, ConsoleState, SESSION_TTL};
use crate::clock;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "relay_console";

/// A signed-in operator's session. Taking it as an argument makes a handler require sign-in:
/// without a live session the browser is sent to the sign-in page.
#[derive(Clone)]
pub struct ConsoleSession {
    token: String,
}

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleSession(***)")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of `value`, as the store keeps tokens and OAuth states.
pub fn hash(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

/// A fresh random token (256 bits, hex).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Whether two secrets are equal, in time that depends only on their lengths.
pub fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl ConsoleSession {
    /// The session whose token is `token` (already checked live).
    pub(super) fn new(token: String) -> Self {
        ConsoleSession { token }
    }

    /// The store's key of this session.
    pub fn token_hash(&self) -> String {
        hash(&self.token)
    }

    /// The session's CSRF token, to put in every form (`csrf`) or the `X-CSRF-Token` header.
    pub fn csrf(&self) -> String {
        hash(&format!("csrf\0{}", self.token))
    }

    /// Whether `given` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        same(&self.csrf(), given)
    }
}

/// The session token in the request's cookies, if any.
pub fn cookie_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value that carries `token` (or, with `None`, removes it).
pub fn set_cookie(state: &ConsoleState, token: Option<&str>) -> HeaderValue {
    let secure = if state.secure_cookie { "; Secure" } else { "" };
    let value = match token {
        Some(t) => format!(
            "{COOKIE_NAME}={t}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            SESSION_TTL.as_secs()
        ),
        None => {
            format!("{COOKIE_NAME}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
        }
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Why a request has no session.
pub enum NoSession {
    /// Not signed in (or the session expired or was revoked): to the sign-in page.
    SignIn,
    /// The store could not be read.
    Unavailable,
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            NoSession::SignIn => (
                StatusCode::SEE_OTHER,
                [(LOCATION, HeaderValue::from_static("/console/sign-in"))],
            )
                .into_response(),
            NoSession::Unavailable => layout::unavailable(),
        }
    }
}

/// The live session of a request, looked up in the store.
pub async fn lookup(parts: &Parts, state: &ConsoleState) -> Result<ConsoleSession, NoSession> {
    let token = cookie_token(parts).ok_or(NoSession::SignIn)?;
    match state
        .service
        .store
        .session_alive(&hash(&token), clock::now_ms())
        .await
    {
        Ok(true) => Ok(ConsoleSession::new(token)),
        Ok(false) => Err(NoSession::SignIn),
        Err(e) => {
            tracing::error!(error = %e, "console: reading the session failed");
            Err(NoSession::Unavailable)
        }
    }
}

impl FromRequestParts<ConsoleState> for ConsoleSession {
    type Rejection = NoSession;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        // The guard already checked it for a state-changing request.
        if let Some(session) = parts.extensions.get::<ConsoleSession>() {
            return Ok(session.clone());
        }
        lookup(parts, state).await
    }
}
