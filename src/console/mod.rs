//! The operator console: server-rendered pages at `/console`, served by the relay itself when
//! the admin API is on. It sits above the HTTP surface (it reuses the admin API's credentials
//! check and [`AdminService`]); `app` merges its routes into the router.
//!
//! - [`layout`]: the page frame ([`layout::page`]: header nav Overview · Instances · Sign
//!   out, a `main` area), HTML forms' pieces, and the vendored assets under
//!   `/console/assets/` (CSS and JS from `assets/console/`, compiled into the binary).
//! - [`session`]: sign-in sessions. [`ConsoleSession`] is the extractor every page takes to
//!   require sign-in (no session → redirect to the sign-in page); its
//!   [`csrf`](ConsoleSession::csrf) token goes into every form as the hidden field `csrf`
//!   ([`layout::csrf_field`]) or, for scripts, the `X-CSRF-Token` header.
//! - [`guard`]: what every console request passes through: the session and CSRF check on
//!   every state-changing request (before any handler runs), and the security headers
//!   (`Content-Security-Policy` without inline script, `X-Frame-Options`, `Referrer-Policy`,
//!   `Cache-Control: no-store`).
//! - [`instances`]: the instances list, an instance's page (tabs Configuration · Events ·
//!   Box webhooks), enable/disable, delete; the New instance and Edit forms ([`form`]).
//! - [`overview`]: `/console`, the backlog and the last hour's and day's events and latency,
//!   per instance and in total, as SVG [`charts`].
//! - [`events`]: an instance's Events tab (filter, paging, Replay failed events) and an
//!   event's page (bodies, attempts timeline, Replay); [`live`] refreshes the tab's rows.
//! - [`oauth`]: Connect Box, the OAuth flow from the New instance form to Box and back.
//! - [`webhooks`]: an instance's Box webhooks (list, Create webhook, Delete).
//! - [`signin`]: the sign-in and sign-out pages, with failed sign-ins slowed down per client
//!   address ([`throttle`]).
//!
//! A page handler is `async fn(session: ConsoleSession, State(state): State<ConsoleState>,
//! …) -> Response` returning `layout::page(&session, Nav::…, "Title", markup)`.

pub mod charts;
pub mod created;
pub mod events;
pub mod form;
pub mod guard;
pub mod instances;
pub mod layout;
pub mod live;
pub mod oauth;
pub mod overview;
pub mod session;
pub mod signin;
pub mod throttle;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use url::Url;

use crate::admin::AdminService;
use crate::config::Config;
use crate::http::admin::{AdminAuth, AdminState};
pub use session::ConsoleSession;

/// How long a session lasts after sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 60 * 60);

/// Largest console form body.
pub const FORM_LIMIT: usize = 64 * 1024;

/// What the console's pages use.
#[derive(Clone)]
pub struct ConsoleState {
    /// The admin credentials (checked at sign-in).
    pub auth: Arc<AdminAuth>,
    /// The admin operations every page calls (and the store, for sessions).
    pub service: AdminService,
    /// Whether the session cookie is `Secure` (`server.public_url` is https).
    pub secure_cookie: bool,
    /// `server.public_url`: the base of Connect Box's `redirect_uri`.
    pub public_url: Option<Url>,
    /// `box.authorize_url`: Box's consent page.
    pub authorize_url: Url,
    /// Failed sign-ins per client address.
    pub throttle: Arc<throttle::Throttle>,
}

impl ConsoleState {
    /// The console's state, from the configuration and the admin API's state.
    pub fn new(config: &Config, admin: AdminState) -> Self {
        let public_url = config.server.public_url.clone();
        ConsoleState {
            auth: admin.auth,
            service: admin.service,
            secure_cookie: public_url.as_ref().is_some_and(|u| u.scheme() == "https"),
            public_url,
            authorize_url: config.box_.authorize_url.clone(),
            throttle: Arc::new(throttle::Throttle::default()),
        }
    }
}

/// The console's routes, with their state; `None` (admin API off) gives none.
pub fn routes(config: &Config, admin: Option<AdminState>) -> Router {
    let Some(admin) = admin else {
        return Router::new();
    };
    let state = ConsoleState::new(config, admin);
    Router::new()
        .route("/console", get(overview::page))
        .route("/console/", get(overview::page))
        .route("/console/sign-in", get(signin::page).post(signin::sign_in))
        .route("/console/sign-out", post(signin::sign_out))
        .route(
            "/console/instances",
            get(instances::list).post(instances::create),
        )
        .route("/console/instances/new", get(instances::new))
        .route(
            "/console/instances/{id}",
            get(instances::show).post(instances::update),
        )
        .route("/console/instances/{id}/edit", get(instances::edit))
        .route("/console/instances/{id}/enable", post(instances::enable))
        .route("/console/instances/{id}/disable", post(instances::disable))
        .route(
            "/console/instances/{id}/delete",
            get(instances::confirm_delete).post(instances::delete),
        )
        .route(
            "/console/instances/{id}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/console/instances/{id}/webhooks/{hook}/delete",
            post(webhooks::delete),
        )
        .route("/console/oauth/box/start", post(oauth::start))
        .route(oauth::CALLBACK_PATH, get(oauth::callback))
        .route("/console/instances/{id}/events", get(events::list))
        .route("/console/instances/{id}/events/rows", get(live::event_rows))
        .route(
            "/console/instances/{id}/events/replay-failed",
            post(events::replay_failed),
        )
        .route("/console/instances/{id}/events/{event}", get(events::show))
        .route(
            "/console/instances/{id}/events/{event}/replay",
            post(events::replay),
        )
        .route(live::SCRIPT_PATH, get(live::script))
        .route(live::STYLE_PATH, get(live::style))
        .route("/console/assets/{file}", get(layout::asset))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(FORM_LIMIT))
        .with_state(state)
}
