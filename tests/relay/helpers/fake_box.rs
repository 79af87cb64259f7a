//! A local fake of Box's API: the OAuth 2.0 token endpoint (authorization code, single-use
//! refresh tokens, Client Credentials) and the V2 webhooks resource, with Box's request and
//! response shapes and error bodies, plus knobs to expire and revoke tokens, to make the
//! next call fail as Box does, to page Box's list (`next_marker`) in small pages, and to have
//! Box create or delete a webhook by itself. One Box account and app: a second webhook on a
//! target answers 409 `conflict`, as Box does for the same app and user. Its authorize page
//! (`/api/oauth2/authorize`, as Box's `account.box.com`) is a plain HTML page with **Grant
//! access to Box** and **Deny access** links back to the `redirect_uri`, for the console's
//! browser tests.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{json, Value};

pub const BOX_CLIENT_ID: &str = "box-client-id";
pub const BOX_CLIENT_SECRET: &str = "box-client-secret-value";
pub const BOX_ENTERPRISE: &str = "enterprise-31415";

/// A scripted Box error: status, code, message, Retry-After.
type Failure = (u16, String, String, Option<u64>);

#[derive(Default)]
struct FakeState {
    codes: Mutex<HashSet<String>>,
    /// access token → expiry (unix ms)
    access: Mutex<HashMap<String, i64>>,
    refresh: Mutex<HashSet<String>>,
    issued: Mutex<Vec<String>>,
    refreshes: AtomicUsize,
    refused_refreshes: AtomicUsize,
    expires_in: AtomicU64,
    refresh_delay_ms: AtomicU64,
    webhooks: Mutex<BTreeMap<String, Value>>,
    next_id: AtomicU64,
    fail_next: Mutex<VecDeque<Failure>>,
    bearers: Mutex<Vec<String>>,
    /// Largest page of the list, whatever `limit` asks (0: Box's own, 100 by default).
    page_size: AtomicUsize,
    /// The `marker` of each list call (`None` for the first page).
    markers: Mutex<Vec<Option<String>>>,
    /// The query of each visit to the authorize page.
    authorizations: Mutex<Vec<HashMap<String, String>>>,
}

/// A fake Box on 127.0.0.1.
#[derive(Clone)]
pub struct FakeBox {
    pub addr: SocketAddr,
    state: Arc<FakeState>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn box_error(status: u16, code: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({
            "type": "error", "status": status, "code": code, "message": message,
            "context_info": {}, "help_url": "https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/",
            "request_id": "abcdef123456"
        })),
    )
        .into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

impl FakeBox {
    pub async fn start() -> Self {
        let state = Arc::new(FakeState::default());
        state.expires_in.store(3600, Ordering::SeqCst);
        state.next_id.store(7_000_001, Ordering::SeqCst);
        let app = Router::new()
            .route("/oauth2/token", post(token))
            .route("/api/oauth2/authorize", get(authorize))
            .route("/2.0/webhooks", get(list).post(create))
            .route("/2.0/webhooks/{id}", get(show).put(update).delete(delete))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A fresh authorization code, valid once.
    pub fn issue_code(&self) -> String {
        let code = format!("code-{}", uuid::Uuid::new_v4().simple());
        self.state.codes.lock().unwrap().insert(code.clone());
        code
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_expires_in(&self, secs: u64) {
        self.state.expires_in.store(secs, Ordering::SeqCst);
    }

    /// How long a refresh grant takes (widens races).
    pub fn set_refresh_delay(&self, ms: u64) {
        self.state.refresh_delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Every access token issued so far stops working (Box answers 401).
    pub fn revoke_access_tokens(&self) {
        self.state.access.lock().unwrap().clear();
    }

    /// Successful refresh-token grants.
    pub fn refreshes(&self) -> usize {
        self.state.refreshes.load(Ordering::SeqCst)
    }

    /// Refresh grants refused (a refresh token used twice, or unknown).
    pub fn refused_refreshes(&self) -> usize {
        self.state.refused_refreshes.load(Ordering::SeqCst)
    }

    /// Every access and refresh token issued.
    pub fn issued(&self) -> Vec<String> {
        self.state.issued.lock().unwrap().clone()
    }

    /// Bearer tokens of the API calls received, in order.
    pub fn bearers(&self) -> Vec<String> {
        self.state.bearers.lock().unwrap().clone()
    }

    /// Box's webhooks, by id.
    pub fn webhooks(&self) -> BTreeMap<String, Value> {
        self.state.webhooks.lock().unwrap().clone()
    }

    /// Box loses a webhook (as if deleted behind the relay's back).
    pub fn forget_webhook(&self, id: &str) {
        self.state.webhooks.lock().unwrap().remove(id);
    }

    /// Box's list answers pages of at most `n` webhooks, with `next_marker` to the next.
    pub fn set_page_size(&self, n: usize) {
        self.state.page_size.store(n, Ordering::SeqCst);
    }

    /// The `marker` of each call to Box's list so far (`None`: the first page).
    pub fn list_markers(&self) -> Vec<Option<String>> {
        self.state.markers.lock().unwrap().clone()
    }

    /// A webhook made in Box without the relay (Box's console, another tool): its id.
    pub fn add_webhook(&self, target: Value, address: &str, triggers: &[&str]) -> String {
        let id = self
            .state
            .next_id
            .fetch_add(1, Ordering::SeqCst)
            .to_string();
        let webhook = full_webhook(&id, &target, &json!(address), &json!(triggers));
        self.state
            .webhooks
            .lock()
            .unwrap()
            .insert(id.clone(), webhook);
        id
    }

    /// The authorize page's address (`box.authorize_url`).
    pub fn authorize_url(&self) -> String {
        format!("http://{}/api/oauth2/authorize", self.addr)
    }

    /// The query of each visit to the authorize page so far.
    pub fn authorizations(&self) -> Vec<HashMap<String, String>> {
        self.state.authorizations.lock().unwrap().clone()
    }

    /// The next API call answers this Box error (with `Retry-After` when given).
    pub fn fail_next(&self, status: u16, code: &str, message: &str, retry_after: Option<u64>) {
        self.state.fail_next.lock().unwrap().push_back((
            status,
            code.into(),
            message.into(),
            retry_after,
        ));
    }
}

fn issue(state: &FakeState, with_refresh: bool) -> Value {
    let access = format!("access-{}", uuid::Uuid::new_v4().simple());
    let expires_in = state.expires_in.load(Ordering::SeqCst);
    state
        .access
        .lock()
        .unwrap()
        .insert(access.clone(), now_ms() + expires_in as i64 * 1000);
    state.issued.lock().unwrap().push(access.clone());
    let mut answer = json!({
        "access_token": access, "expires_in": expires_in, "token_type": "bearer",
        "restricted_to": [], "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"
    });
    if with_refresh {
        let refresh = format!("refresh-{}", uuid::Uuid::new_v4().simple());
        state.refresh.lock().unwrap().insert(refresh.clone());
        state.issued.lock().unwrap().push(refresh.clone());
        answer["refresh_token"] = json!(refresh);
    }
    answer
}

async fn token(
    State(state): State<Arc<FakeState>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != BOX_CLIENT_ID || get("client_secret") != BOX_CLIENT_SECRET {
        return oauth_error("invalid_client", "The client credentials are invalid");
    }
    match get("grant_type") {
        "authorization_code" => {
            if !state.codes.lock().unwrap().remove(get("code")) {
                return oauth_error(
                    "invalid_grant",
                    "Auth code doesn't exist or is invalid for the client",
                );
            }
            Json(issue(&state, true)).into_response()
        }
        "refresh_token" => {
            let delay = state.refresh_delay_ms.load(Ordering::SeqCst);
            if !state.refresh.lock().unwrap().remove(get("refresh_token")) {
                state.refused_refreshes.fetch_add(1, Ordering::SeqCst);
                return oauth_error("invalid_grant", "Invalid refresh token");
            }
            tokio::time::sleep(Duration::from_millis(delay)).await;
            state.refreshes.fetch_add(1, Ordering::SeqCst);
            Json(issue(&state, true)).into_response()
        }
        "client_credentials" => {
            if get("box_subject_type") != "enterprise" || get("box_subject_id") != BOX_ENTERPRISE {
                return oauth_error("invalid_grant", "Grant credentials are invalid");
            }
            Json(issue(&state, false)).into_response()
        }
        _ => oauth_error("unsupported_grant_type", "Grant type is not supported"),
    }
}

/// Checks the bearer token and pops a scripted failure; `Some` is the answer to give.
fn gate(state: &FakeState, headers: &HeaderMap) -> Option<Response> {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    state.bearers.lock().unwrap().push(bearer.clone());
    let valid = state
        .access
        .lock()
        .unwrap()
        .get(&bearer)
        .is_some_and(|exp| *exp > now_ms());
    if !valid {
        return Some(StatusCode::UNAUTHORIZED.into_response());
    }
    let failure = state.fail_next.lock().unwrap().pop_front();
    failure.map(|(status, code, message, retry_after)| {
        let mut r = box_error(status, &code, &message);
        if let Some(s) = retry_after {
            r.headers_mut().insert("retry-after", s.into());
        }
        r
    })
}

async fn create(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = gate(&state, &headers) {
        return r;
    }
    let mut hooks = state.webhooks.lock().unwrap();
    if let Some((id, _)) = hooks.iter().find(|(_, w)| w["target"] == body["target"]) {
        return box_error(
            409,
            "conflict",
            &format!("Webhook:{id} already exists on the specified target."),
        );
    }
    let id = state.next_id.fetch_add(1, Ordering::SeqCst).to_string();
    let webhook = full_webhook(&id, &body["target"], &body["address"], &body["triggers"]);
    hooks.insert(id, webhook.clone());
    (StatusCode::CREATED, Json(webhook)).into_response()
}

/// Box's webhook object.
fn full_webhook(id: &str, target: &Value, address: &Value, triggers: &Value) -> Value {
    json!({
        "id": id, "type": "webhook", "target": target,
        "created_by": { "id": "11446498", "type": "user", "name": "Aaron Levie", "login": "ceo@example.com" },
        "created_at": "2026-11-26T10:53:43-08:00", "address": address, "triggers": triggers
    })
}

/// Box's list: mini webhooks (`id`, `type`, `target`), `limit` at a time (100 by default,
/// at most 1000), from an opaque `marker`; `next_marker` is null on the last page.
async fn list(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&state, &headers) {
        return r;
    }
    let marker = query.get("marker").cloned();
    state.markers.lock().unwrap().push(marker.clone());
    let start = match marker
        .as_deref()
        .map(|m| m.strip_prefix("mk-").map(str::parse::<usize>))
    {
        None => 0,
        Some(Some(Ok(n))) => n,
        Some(_) => return box_error(400, "invalid_parameter", "Invalid value for marker"),
    };
    let mut limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return box_error(400, "bad_request", "Invalid value for limit"),
    };
    let cap = state.page_size.load(Ordering::SeqCst);
    if cap > 0 {
        limit = limit.min(cap);
    }
    let all: Vec<Value> = state.webhooks.lock().unwrap().values().cloned().collect();
    let entries: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|w| json!({ "id": w["id"], "type": "webhook", "target": w["target"] }))
        .collect();
    let next = (start + limit < all.len()).then(|| format!("mk-{}", start + limit));
    Json(json!({ "entries": entries, "limit": limit, "next_marker": next })).into_response()
}

async fn show(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = gate(&state, &headers) {
        return r;
    }
    match state.webhooks.lock().unwrap().get(&id) {
        Some(w) => Json(w.clone()).into_response(),
        None => box_error(404, "not_found", "Not Found"),
    }
}

async fn update(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = gate(&state, &headers) {
        return r;
    }
    let mut hooks = state.webhooks.lock().unwrap();
    let Some(w) = hooks.get_mut(&id) else {
        return box_error(404, "not_found", "Not Found");
    };
    for key in ["target", "triggers", "address"] {
        if !body[key].is_null() {
            w[key] = body[key].clone();
        }
    }
    Json(w.clone()).into_response()
}

async fn delete(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = gate(&state, &headers) {
        return r;
    }
    match state.webhooks.lock().unwrap().remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => box_error(404, "not_found", "Not Found"),
    }
}

/// Box's consent page: the app's client id must be the fake app's; a grant issues a fresh
/// code (valid once) and sends the browser to `redirect_uri` with it and `state`.
async fn authorize(
    State(state): State<Arc<FakeState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    state.authorizations.lock().unwrap().push(q.clone());
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("response_type") != "code" || get("client_id") != BOX_CLIENT_ID {
        return (
            StatusCode::BAD_REQUEST,
            axum::response::Html("<h1>Box</h1><p>invalid_request: unknown client</p>"),
        )
            .into_response();
    }
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    state.codes.lock().unwrap().insert(code.clone());
    let back = |pairs: &[(&str, &str)]| {
        let mut url = url::Url::parse(&get("redirect_uri")).unwrap();
        url.query_pairs_mut().extend_pairs(pairs);
        // Attribute-safe: the URL is percent-encoded but may hold '&'.
        url.to_string().replace('&', "&amp;")
    };
    let st = get("state");
    let grant = back(&[("code", &code), ("state", &st)]);
    let deny = back(&[
        ("error", "access_denied"),
        (
            "error_description",
            "The user denied access to your application",
        ),
        ("state", &st),
    ]);
    axum::response::Html(format!(
        "<!doctype html><html><head><title>Box</title></head><body><h1>Grant access to Box</h1>\
         <p>webhook-relay would like to access your Box account.</p>\
         <p><a href=\"{grant}\">Grant access to Box</a> <a href=\"{deny}\">Deny access</a></p>\
         </body></html>"
    ))
    .into_response()
}
