//! One error type for every route, with a stable JSON body `{"code", "detail"}`. Server-side
//! failures are logged where they happen; the client only learns it should retry.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::box_webhook::verify::VerifyError;

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
    /// 401: admin credentials missing or wrong (which part is never said).
    #[error("unauthorized")]
    Unauthorized,
    /// 400: a request value is invalid; `key` names it.
    #[error("invalid value")]
    Invalid {
        /// The offending key, e.g. `configuration."event.notification.callback.url"`.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// 409: the request conflicts with the resource's state.
    #[error("conflict")]
    Conflict {
        /// Stable code, e.g. `read_only`.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
}

impl ApiError {
    /// A 400 naming the offending key.
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
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
                    VerifyError::NoKeys
                    | VerifyError::UnsupportedScheme
                    | VerifyError::Mismatch => "invalid_signature",
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
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or invalid Authorization: User <secret>, Organization <secret>"
                    .to_string(),
            ),
            ApiError::Invalid { key, reason } => (
                StatusCode::BAD_REQUEST,
                "invalid_value",
                format!("{key}: {reason}"),
            ),
            ApiError::Conflict { code, detail } => (StatusCode::CONFLICT, code, detail.clone()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, detail) = self.parts();
        let mut body = json!({ "code": code, "detail": detail });
        if let ApiError::Invalid { key, .. } = &self {
            body["key"] = json!(key);
        }
        (status, Json(body)).into_response()
    }
}
