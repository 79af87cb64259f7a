//! Box's HTTP API: the OAuth 2.0 token endpoint (`{oauth_url}/oauth2/token`) and the V2
//! webhooks resource (`{api_url}/2.0/webhooks`). Box's errors come back as [`BoxError`] with
//! Box's status, code and message, so the relay can pass them on faithfully.

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::secret::Secret;

/// What Box (or the way to it) answered instead of success.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BoxError {
    /// Box answered an error: its status, `code` (`error` for OAuth) and `message`
    /// (`error_description`), and `Retry-After` when it sent one.
    #[error("Box answered {status} {code}: {message}")]
    Api {
        /// Box's HTTP status.
        status: u16,
        /// Box's error code, e.g. `conflict`, `invalid_grant`.
        code: String,
        /// Box's message.
        message: String,
        /// Box's `Retry-After` (429), as sent.
        retry_after: Option<String>,
    },
    /// Box could not be reached or answered something unreadable.
    #[error("Box is unreachable: {0}")]
    Unreachable(String),
}

impl BoxError {
    /// Box answered 401 (the access token is expired or revoked).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, BoxError::Api { status: 401, .. })
    }
}

/// Tokens from a grant.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The bearer token.
    pub access_token: Secret,
    /// Single-use refresh token (not with Client Credentials).
    pub refresh_token: Option<Secret>,
    /// Lifetime of the access token.
    pub expires_in: Duration,
}

#[derive(Deserialize)]
struct WireGrant {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
}

/// Box's API at configured base URLs.
#[derive(Clone)]
pub struct BoxClient {
    http: reqwest::Client,
    api_url: String,
    oauth_url: String,
}

impl BoxClient {
    /// A client for `box.api_url` and `box.oauth_url`.
    pub fn new(api_url: &str, oauth_url: &str) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("webhook-relay/", env!("CARGO_PKG_VERSION")))
                .build()?,
            api_url: api_url.trim_end_matches('/').to_string(),
            oauth_url: oauth_url.trim_end_matches('/').to_string(),
        })
    }

    /// `POST {oauth_url}/oauth2/token` with a form (authorization code, refresh token or
    /// client credentials grant).
    pub async fn grant(&self, form: &[(&str, &str)]) -> Result<Grant, BoxError> {
        let url = format!("{}/oauth2/token", self.oauth_url);
        let response = self
            .http
            .post(&url)
            .form(form)
            .send()
            .await
            .map_err(|e| unreachable(&url, &e))?;
        let (status, retry_after, body) = read(response).await?;
        if !(200..300).contains(&status) {
            return Err(error(status, retry_after, &body));
        }
        let wire: WireGrant = serde_json::from_value(body)
            .map_err(|e| BoxError::Unreachable(format!("unreadable token answer: {e}")))?;
        Ok(Grant {
            access_token: Secret::new(wire.access_token),
            refresh_token: wire.refresh_token.map(Secret::new),
            expires_in: Duration::from_secs(wire.expires_in.unwrap_or(3600)),
        })
    }

    /// A call to `{api_url}/2.0/{path}` with a bearer token; Box's JSON answer (`null` for
    /// an empty one, as DELETE's 204).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &Secret,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(u16, Value), BoxError> {
        let url = format!("{}/2.0/{path}", self.api_url);
        let mut request = self
            .http
            .request(method, &url)
            .bearer_auth(token.expose())
            .query(query);
        if let Some(b) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(b).unwrap_or_default());
        }
        let response = request.send().await.map_err(|e| unreachable(&url, &e))?;
        let (status, retry_after, body) = read(response).await?;
        if !(200..300).contains(&status) {
            return Err(error(status, retry_after, &body));
        }
        Ok((status, body))
    }
}

async fn read(response: reqwest::Response) -> Result<(u16, Option<String>, Value), BoxError> {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response
        .bytes()
        .await
        .map_err(|e| BoxError::Unreachable(without_url(&e)))?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Ok((status, retry_after, body))
}

/// Box's error body: `{"type":"error","status","code","message"}` from the API,
/// `{"error","error_description"}` from the token endpoint.
fn error(status: u16, retry_after: Option<String>, body: &Value) -> BoxError {
    let text = |keys: [&str; 2]| {
        keys.iter()
            .find_map(|k| body.get(*k).and_then(Value::as_str))
            .map(str::to_string)
    };
    BoxError::Api {
        status,
        code: text(["code", "error"]).unwrap_or_else(|| format!("http_{status}")),
        message: text(["message", "error_description"]).unwrap_or_else(|| "no message".to_string()),
        retry_after,
    }
}

/// A transport error without its URL.
/// Box could not be reached at `url` (the configured base and the path, no query: nothing
/// secret): said in the answer's detail and in the log.
fn unreachable(url: &str, e: &reqwest::Error) -> BoxError {
    let url = crate::secret::mask_url_password(url, "***").unwrap_or_else(|| url.to_string());
    let url = url.as_str();
    let cause = without_url(e);
    tracing::warn!(url, error = %cause, "Box could not be reached");
    BoxError::Unreachable(format!("{url}: {cause}"))
}

fn without_url(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timeout".to_string()
    } else if e.is_connect() {
        "connect error".to_string()
    } else {
        "request error".to_string()
    };
    if let Some(source) = std::error::Error::source(e) {
        text.push_str(": ");
        text.push_str(&source.to_string());
    }
    text
}
