//! Live updates of the Events tab: `GET /console/instances/{id}/events/rows` answers the
//! first page's rows as an HTML fragment (marked `X-Console-Fragment: event-rows`), read from
//! the store, so events accepted by any replica appear; the vendored `live.js`
//! ([`SCRIPT_PATH`]) fetches it every second and swaps the rows in. Polling, not server-sent
//! events: a request a second per open tab is cheap, survives proxies that buffer streams,
//! and needs no connection held per viewer on each replica. The events pages' and the
//! overview's stylesheet is served here too ([`STYLE_PATH`]).

use axum::extract::{Path, Query, State};
use axum::http::header::{HeaderName, CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::events::{rows, EventsQuery};
use super::instances::{instance_id, no_such_instance, refusal};
use super::{ConsoleSession, ConsoleState};

/// Where the script is served.
pub const SCRIPT_PATH: &str = "/console/assets/live.js";

/// The script: polls the rows fragment every second.
const SCRIPT: &str = include_str!("../../assets/console/live.js");

/// Where the events pages' and the overview's stylesheet is served.
pub const STYLE_PATH: &str = "/console/assets/events.css";

/// The stylesheet of the events pages and the overview (after `console.css`).
const STYLE: &str = include_str!("../../assets/console/events.css");

/// `GET /console/assets/events.css`.
pub async fn style() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        STYLE,
    )
        .into_response()
}

/// The stylesheet's `<link>`, for the pages that use it.
pub fn stylesheet() -> maud::Markup {
    maud::html! { link rel="stylesheet" href=(STYLE_PATH); }
}

/// `GET /console/assets/live.js`.
pub async fn script() -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// `GET /console/instances/{id}/events/rows?status=`: the first page's rows. Needs a session
/// like every page (without one: the redirect to sign-in, which the script ignores).
pub async fn event_rows(
    _session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
    Query(query): Query<EventsQuery>,
) -> Response {
    let Some(id) = instance_id(&raw) else {
        return no_such_instance();
    };
    let query = EventsQuery {
        cursor: None,
        ..query
    };
    match state.service.list_events(id, &query.log_query()).await {
        Ok(page) => (
            [
                (CONTENT_TYPE, "text/html; charset=utf-8"),
                (HeaderName::from_static("x-console-fragment"), "event-rows"),
            ],
            rows(id, &page.events).into_string(),
        )
            .into_response(),
        Err(e) => refusal(e),
    }
}
