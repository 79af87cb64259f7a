//! What every console request passes through before its handler. A state-changing request
//! (anything but GET and HEAD) must come from this site (`Origin`, when the browser sends
//! it, names this host) and, except the sign-in form itself, carry a live session and its
//! CSRF token: the `X-CSRF-Token` header or the form field `csrf`. Every answer gets the
//! security headers.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, ORIGIN, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::session::{lookup, NoSession};
use super::{layout, ConsoleState, FORM_LIMIT};

/// The header a script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The console's routes that change nothing on their own and need no session.
const SIGN_IN: &str = "/console/sign-in";

/// Checks the request (see the module doc), runs it, adds the security headers.
pub async fn guard(State(state): State<ConsoleState>, request: Request, next: Next) -> Response {
    let mut response = match check(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(refused) => refused,
    };
    security_headers(&state, response.headers_mut());
    response
}

async fn check(state: &ConsoleState, request: Request) -> Result<Request, Response> {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return Ok(request);
    }
    if !same_origin(&request) {
        return Err(forbidden("This request came from another site."));
    }
    if request.uri().path() == SIGN_IN {
        return Ok(request);
    }
    let (mut parts, body) = request.into_parts();
    let session = match lookup(&parts, state).await {
        Ok(session) => session,
        Err(NoSession::SignIn) => {
            return Err(forbidden(
                "You are not signed in (or your session ended). Sign in and try again.",
            ))
        }
        Err(e) => return Err(e.into_response()),
    };
    let header = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (body, given) = match header {
        Some(token) => (body, Some(token)),
        None => {
            let form_type = parts
                .headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
                layout::message(StatusCode::PAYLOAD_TOO_LARGE, "This form is too large.")
            })?;
            let token = form_type
                .then(|| {
                    form_urlencoded::parse(&bytes)
                        .find(|(k, _)| k == CSRF_FIELD)
                        .map(|(_, v)| v.into_owned())
                })
                .flatten();
            (Body::from(bytes), token)
        }
    };
    if !given.is_some_and(|t| session.csrf_matches(&t)) {
        tracing::info!("console: a state-changing request without a valid CSRF token refused");
        return Err(forbidden(
            "This form has expired or did not come from the console. Reload the page and try again.",
        ));
    }
    parts.extensions.insert(session);
    Ok(Request::from_parts(parts, body))
}

/// False when the browser says the request comes from another origin than this host.
fn same_origin(request: &Request) -> bool {
    let Some(origin) = request.headers().get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = request.headers().get(HOST).and_then(|v| v.to_str().ok());
    let origin_host = url::Url::parse(origin).ok().and_then(|u| {
        u.host_str().map(|h| match u.port() {
            Some(p) => format!("{h}:{p}"),
            None => h.to_string(),
        })
    });
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

fn forbidden(text: &str) -> Response {
    layout::message(StatusCode::FORBIDDEN, text)
}

/// `Content-Security-Policy` (scripts and styles from the relay only, no inline script; forms
/// post to the relay, which may redirect to Box's authorize page), framing refused, the
/// referrer only to this site (with none at all, browsers send `Origin: null`), nothing
/// cached.
fn security_headers(state: &ConsoleState, headers: &mut axum::http::HeaderMap) {
    let authorize = state.authorize_url.origin().ascii_serialization();
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self' {authorize}; frame-ancestors 'none'; \
         base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
