//! `GET|POST /elements/{keyOrId}/oauth/url`: Cloud Elements' call that gives an API user the
//! Box authorize URL to send their user to (`box.authorize_url` with `response_type=code`,
//! `client_id`, `redirect_uri` and `state`). Box then redirects the user to `callbackUrl` with
//! a `code`, which the caller posts as `providerData.code` to `POST /instances`. The element
//! is `box` or its numeric id ([`crate::instance::api::BOX_ELEMENT_ID`]); any other is 404.

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AdminState;
use crate::box_api::authorize::authorize_url;
use crate::http::error::{ApiError, ErrorBody};
use crate::input;
use crate::instance::api::BOX_ELEMENT_ID;
use crate::invalid::InvalidValue;

/// What the authorize URL is built from (query parameters of `GET`, the body of `POST`).
#[derive(Debug, Default, Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct OAuthUrlRequest {
    /// The Box app's client id (required).
    pub api_key: Option<String>,
    /// The Box app's client secret: accepted as Cloud Elements requires it, never put in the
    /// URL or echoed.
    pub api_secret: Option<String>,
    /// Where Box sends the user back with the `code` (required; the app's redirect URI).
    pub callback_url: Option<String>,
    /// Opaque value Box returns with the code, for the caller to check.
    pub state: Option<String>,
    /// Passed through to the URL when given.
    pub site_address: Option<String>,
    /// Box OAuth scopes, passed through when given.
    pub scope: Option<String>,
}

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthUrlAnswer {
    /// Always `box`.
    pub element: &'static str,
    /// The URL to send the user to.
    pub oauth_url: String,
}

fn element(raw: &str) -> Result<(), ApiError> {
    if raw == "box" || raw == BOX_ELEMENT_ID.to_string() {
        Ok(())
    } else {
        Err(ApiError::NotFound("no such element"))
    }
}

fn answer(admin: &AdminState, r: &OAuthUrlRequest) -> Result<Json<OAuthUrlAnswer>, ApiError> {
    let required = |key: &str, v: &Option<String>| -> Result<String, InvalidValue> {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| InvalidValue::new(key, "required, a non-empty string"))
    };
    let client_id = required("apiKey", &r.api_key)?;
    let callback = required("callbackUrl", &r.callback_url)?;
    match url::Url::parse(&callback) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
        _ => {
            return Err(InvalidValue::new("callbackUrl", "must be an http(s) URL").into());
        }
    }
    let url = authorize_url(
        &admin.authorize_url,
        &client_id,
        &callback,
        r.state.as_deref().unwrap_or(""),
        &[
            ("scope", r.scope.as_deref().unwrap_or("")),
            ("siteAddress", r.site_address.as_deref().unwrap_or("")),
        ],
    );
    Ok(Json(OAuthUrlAnswer {
        element: "box",
        oauth_url: url.to_string(),
    }))
}

/// Box's authorize URL, from query parameters.
#[utoipa::path(
    get,
    path = "/elements/{element}/oauth/url",
    operation_id = "getOAuthUrl",
    params(
        ("element" = String, Path, description = "`box`, or its id `1`."),
        OAuthUrlRequest,
    ),
    responses(
        (status = 200, description = "The URL to send the user to.", body = OAuthUrlAnswer),
        (status = 400, description = "`invalid_value`: `key` names `apiKey` or `callbackUrl`.", body = ErrorBody),
        (status = 404, description = "No such element.", body = ErrorBody),
    )
)]
pub async fn url_get(
    State(admin): State<AdminState>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<OAuthUrlAnswer>, ApiError> {
    element(&raw)?;
    let mut r = OAuthUrlRequest::default();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let slot = match k.as_ref() {
            "apiKey" => &mut r.api_key,
            "apiSecret" => &mut r.api_secret,
            "callbackUrl" => &mut r.callback_url,
            "state" => &mut r.state,
            "siteAddress" => &mut r.site_address,
            "scope" => &mut r.scope,
            _ => continue,
        };
        *slot = Some(v.into_owned());
    }
    answer(&admin, &r)
}

/// Box's authorize URL, from a JSON body.
#[utoipa::path(
    post,
    path = "/elements/{element}/oauth/url",
    operation_id = "postOAuthUrl",
    params(("element" = String, Path, description = "`box`, or its id `1`.")),
    request_body(content = OAuthUrlRequest, description = "`{apiKey, apiSecret, callbackUrl, state}`."),
    responses(
        (status = 200, description = "The URL to send the user to.", body = OAuthUrlAnswer),
        (status = 400, description = "`invalid_value`: `key` names the offending field.", body = ErrorBody),
        (status = 404, description = "No such element.", body = ErrorBody),
    )
)]
pub async fn url_post(
    State(admin): State<AdminState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<OAuthUrlAnswer>, ApiError> {
    element(&raw)?;
    let r: OAuthUrlRequest = input::read(&body)?;
    answer(&admin, &r)
}
