//! One error type for every route, with a stable JSON body `{"code", "detail"}`. Server-side
//! failures are logged where they happen; the client only learns it should retry.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::AdminError;
use crate::box_api::client::BoxError;
use crate::box_webhook::verify::VerifyError;
use crate::invalid::InvalidValue;

/// Seconds a client is asked to wait (`Retry-After`) when the relay is overloaded.
pub const RETRY_AFTER_SECS: u16 = 5;

/// An error answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404: no such instance (or route).
    #[error("not found")]
    NotFound(&'static str),
    /// 413: body over `server.body_limit_bytes`.
    #[error("payload too large")]
    TooLarge(usize),
    /// 400: the body could not be read.
    #[error("bad request")]
    BadRequest(String),
    /// 401: Box V2 verification failed.
    #[error("unauthorized")]
    Signature(VerifyError),
    /// 401: Box V1 token wrong or missing.
    #[error("invalid token")]
    InvalidToken,
    /// 400: verified, but not a Box webhook event.
    #[error("malformed payload")]
    Malformed(String),
    /// 503: storage unavailable; retry.
    #[error("unavailable")]
    Unavailable,
    /// 503: shutting down; retry (another replica, or after restart).
    #[error("shutting down")]
    ShuttingDown,
    /// 503: too many request bodies in memory (`server.body_budget_bytes`); retry after
    /// [`RETRY_AFTER_SECS`].
    #[error("overloaded")]
    Overloaded,
    /// 401: admin credentials missing or wrong (which part is never said).
    #[error("unauthorized")]
    Unauthorized,
    /// 403 `forbidden`: the credentials are right but may not be used (Cloud Elements'
    /// surface: a disabled instance's Element token).
    #[error("forbidden")]
    Forbidden(&'static str),
    /// 400 `invalid_value`: a request value is invalid; its `key` is named in the answer
    /// (e.g. `configuration."event.notification.callback.url"`).
    #[error("invalid value")]
    Invalid(InvalidValue),
    /// Box refused a call made for the request: Box's 4xx status, code and message as
    /// they are (and `Retry-After` on 429); 502 `box_unavailable` when Box failed or could
    /// not be reached.
    #[error("Box error")]
    Box(BoxError),
    /// 409: the request conflicts with the resource's state.
    #[error("conflict")]
    Conflict {
        /// Stable code, e.g. `read_only`.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
}

impl From<InvalidValue> for ApiError {
    fn from(e: InvalidValue) -> Self {
        ApiError::Invalid(e)
    }
}

/// What the admin service refuses, as answers: the same codes the handlers gave before the
/// service existed.
impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(v) => ApiError::Invalid(v),
            AdminError::NotFound(what) => ApiError::NotFound(what),
            AdminError::Conflict { code, detail } => ApiError::Conflict { code, detail },
            AdminError::Unavailable => ApiError::Unavailable,
            AdminError::Box(b) => ApiError::Box(b),
        }
    }
}

impl ApiError {
    /// A 400 naming the offending key.
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::Invalid(InvalidValue::new(key, reason))
    }

    /// The stable `code` of the body (also the outcome label of metrics).
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", what.to_string()),
            ApiError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("body exceeds {limit} bytes"),
            ),
            ApiError::BadRequest(d) => (StatusCode::BAD_REQUEST, "bad_request", d.clone()),
            ApiError::Signature(e) => {
                let code = match e {
                    VerifyError::MissingHeader(_) => "missing_signature",
                    VerifyError::BadTimestamp | VerifyError::Stale | VerifyError::Future => {
                        "stale_timestamp"
                    }
                    VerifyError::UnsupportedScheme | VerifyError::Mismatch => "invalid_signature",
                };
                (StatusCode::UNAUTHORIZED, code, e.to_string())
            }
            ApiError::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "token missing or wrong".to_string(),
            ),
            ApiError::Malformed(d) => (StatusCode::BAD_REQUEST, "malformed_payload", d.clone()),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "storage is unavailable, retry later".to_string(),
            ),
            ApiError::ShuttingDown => (
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the relay is shutting down, retry later".to_string(),
            ),
            ApiError::Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "too many request bodies in flight, retry later".to_string(),
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or invalid credentials in the Authorization header".to_string(),
            ),
            ApiError::Forbidden(why) => (StatusCode::FORBIDDEN, "forbidden", why.to_string()),
            ApiError::Invalid(InvalidValue { key, reason }) => (
                StatusCode::BAD_REQUEST,
                "invalid_value",
                format!("{key}: {reason}"),
            ),
            ApiError::Conflict { code, detail } => (StatusCode::CONFLICT, code, detail.clone()),
            ApiError::Box(BoxError::Api {
                status,
                code,
                message,
                ..
            }) if (400..500).contains(status) => (
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                "box_error",
                format!("{code}: {message}"),
            ),
            ApiError::Box(e) => (StatusCode::BAD_GATEWAY, "box_unavailable", e.to_string()),
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// Stable code, also the outcome label of metrics: `invalid_value`, `not_found`,
    /// `unauthorized`, `read_only`, `in_flight`, `not_configured`, `not_authorized`,
    /// `box_error`, `box_unavailable`, `storage_unavailable`, …
    pub code: String,
    /// What went wrong, for a person.
    pub detail: String,
    /// The offending value (`invalid_value` only), e.g. `configuration."oauth.api.secret"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Box's own error (`box_error` only).
    #[serde(rename = "box", skip_serializing_if = "Option::is_none")]
    pub box_error: Option<BoxErrorBody>,
}

/// Box's code and message, as Box gave them.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoxErrorBody {
    /// Box's `code`, e.g. `invalid_grant`.
    pub code: String,
    /// Box's `message`.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, detail) = self.parts();
        let mut body = ErrorBody {
            code: code.to_string(),
            detail,
            key: None,
            box_error: None,
        };
        let mut retry_after = None;
        match &self {
            ApiError::Overloaded => retry_after = Some(RETRY_AFTER_SECS.into()),
            ApiError::Invalid(e) => body.key = Some(e.key.clone()),
            ApiError::Box(BoxError::Api {
                code,
                message,
                retry_after: after,
                ..
            }) => {
                body.box_error = Some(BoxErrorBody {
                    code: code.clone(),
                    message: message.clone(),
                });
                retry_after = after.as_deref().and_then(|v| v.parse().ok());
            }
            _ => {}
        }
        let mut response = (status, Json(body)).into_response();
        if let Some(v) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        response
    }
}

/// Every error answer is `{"code","detail"}` JSON, including those the framework writes
/// itself (405 for a method a route lacks, extractor rejections such as a 413 or a body
/// that is not JSON, the 408 of the request timeout): their text becomes the detail. HTML
/// answers (the console's refusal pages) pass as they are.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    // The console's pages answer their refusals as pages.
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        s if s.is_server_error() => "server_error",
        _ => "bad_request",
    };
    let detail = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    let body = ErrorBody {
        code: code.to_string(),
        detail,
        key: None,
        box_error: None,
    };
    let body = serde_json::to_vec(&body).unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(body))
}
