//! An instance's events in the console: the Events tab (newest first, each `eventId` linking
//! to its page, a status filter, paging, **Replay failed events**; the first page refreshes
//! itself through [`super::live`]), and an event's page (the delivered body, Box's original
//! payload, each attempt on a timeline, **Replay**). Reads and replays go through
//! [`AdminService`](crate::admin::AdminService), as the admin API's do.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::instances::{heading, instance_id, no_such_instance, refusal, when};
use super::layout::{self, csrf_field, Nav};
use super::{ConsoleSession, ConsoleState};
use crate::admin::events::LogQuery;
use crate::event::log::parse_status_filter;
use crate::store::records::{AttemptRecord, EventSummary};
use crate::store::Status;

/// Events per page.
pub const PAGE: u32 = 25;

/// The statuses the filter offers (`pending` includes `delivering`).
const FILTERS: [&str; 4] = ["pending", "delivering", "delivered", "failed"];

/// The events tab's query.
#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    /// One of [`FILTERS`]; empty or absent: every status.
    pub status: Option<String>,
    /// The cursor of an older page.
    pub cursor: Option<String>,
    /// How many events **Replay failed events** queued (shown once after it).
    pub replayed: Option<u64>,
}

impl EventsQuery {
    /// The status filter, when one is given and known.
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref().filter(|s| FILTERS.contains(s))
    }

    /// The log query of this page.
    pub fn log_query(&self) -> LogQuery {
        LogQuery {
            statuses: self
                .status()
                .and_then(parse_status_filter)
                .unwrap_or_default(),
            limit: PAGE,
            before: self
                .cursor
                .as_deref()
                .and_then(|c| c.parse().ok())
                .filter(|c| *c > 0),
        }
    }
}

fn badge(status: Status) -> Markup {
    // console.css colours `pending` (also for `delivering`), `delivered` and `failed`.
    let class = match status {
        Status::Delivering => "pending",
        s => s.as_str(),
    };
    html! { span class=(format!("badge {class}")) { (status.as_str()) } }
}

/// The rows of a page of events (also what the live refresh swaps in).
pub fn rows(instance: i64, events: &[EventSummary]) -> Markup {
    html! {
        @for e in events {
            tr {
                td data-label="Event" {
                    a href=(format!("/console/instances/{instance}/events/{}", e.event_id)) {
                        code { (e.event_id) }
                    }
                }
                td data-label="Status" { (badge(e.status)) }
                td.num data-label="Attempts" { (e.attempts) }
                td data-label="Received" { (when(e.received_at_ms)) }
                td data-label="Box event" { code { (e.box_event_id) } }
                td data-label="Last error" { (e.last_error.as_deref().unwrap_or("")) }
            }
        }
        @if events.is_empty() {
            tr { td colspan="6" .muted { "No events yet." } }
        }
    }
}

/// `GET /console/instances/{id}/events`.
pub async fn list(
    session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
    Query(query): Query<EventsQuery>,
) -> Response {
    let Some(id) = instance_id(&raw) else {
        return no_such_instance();
    };
    let instance = match state.service.instance(id).await {
        Ok(i) => i,
        Err(e) => return refusal(e),
    };
    let page = match state.service.list_events(id, &query.log_query()).await {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    let status = query.status();
    let filter = status.map_or(String::new(), |s| format!("status={s}&"));
    // Only the first page follows new events; older pages stay as they were read.
    let live = query
        .cursor
        .is_none()
        .then(|| format!("/console/instances/{id}/events/rows?{filter}"));
    let content = html! {
        (super::live::stylesheet())
        (heading(&instance, "events"))
        @if let Some(n) = query.replayed {
            p.notice role="status" { (n) " failed event(s) queued for delivery again." }
        }
        div.toolbar {
            form.filter method="get" action=(format!("/console/instances/{id}/events")) {
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" selected[status.is_none()] { "All" }
                    @for s in FILTERS {
                        option value=(s) selected[status == Some(s)] { (s) }
                    }
                }
                button type="submit" { "Filter" }
            }
            form method="post" action=(format!("/console/instances/{id}/events/replay-failed"))
                data-confirm="Deliver every failed event of this instance again?" {
                (csrf_field(&session))
                button type="submit" { "Replay failed events" }
            }
        }
        div.table-wrap {
            table.events.responsive {
                caption.visually-hidden { "Events of " (instance.name) ", newest first" }
                thead { tr {
                    th { "Event" } th { "Status" } th.num { "Attempts" } th { "Received" }
                    th { "Box event" } th { "Last error" }
                } }
                tbody id="event-rows" data-live-src=[live.as_deref()] aria-live="polite" {
                    (rows(id, &page.events))
                }
            }
        }
        @if let Some(next) = page.next {
            p.pager {
                a href=(format!("/console/instances/{id}/events?{filter}cursor={next}")) { "Older events" }
            }
        }
        @if live.is_some() {
            p.muted { "New events appear here as they arrive." }
            script src=(super::live::SCRIPT_PATH) defer {}
        }
    };
    layout::page(
        &session,
        Nav::Instances,
        &format!("Events · {}", instance.name),
        content,
    )
}

/// JSON, indented for reading; other text as it is.
fn pretty(bytes: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Box's payload as the relay received it (`message.raw` of the delivered body).
fn original(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let raw = v.get("message")?.get("raw")?;
    serde_json::to_string_pretty(raw).ok()
}

fn attempt(a: &AttemptRecord) -> Markup {
    let ok = a.summary().is_none();
    html! {
        li class=(if ok { "ok" } else { "failed" }) {
            time { (when(a.at_ms)) }
            " · attempt " (a.attempt) " · "
            @match (a.status_code, &a.error) {
                (_, Some(e)) => span.error { (e) },
                (Some(code), None) => strong { "HTTP " (code) },
                (None, None) => span.muted { "no answer" },
            }
            " · " (a.duration_ms) " ms"
        }
    }
}

/// An event's path segment as given: an `eventId` is short and printable.
fn event_id(raw: &str) -> Option<&str> {
    (!raw.is_empty() && raw.len() <= 200 && raw.bytes().all(|b| b.is_ascii_graphic()))
        .then_some(raw)
}

/// `?replayed=1` after a replay.
#[derive(Debug, Default, Deserialize)]
pub struct EventQuery {
    /// Set after **Replay**.
    pub replayed: Option<u8>,
}

/// `GET /console/instances/{id}/events/{eventId}`.
pub async fn show(
    session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path((raw, raw_event)): Path<(String, String)>,
    Query(query): Query<EventQuery>,
) -> Response {
    let Some(id) = instance_id(&raw) else {
        return no_such_instance();
    };
    let instance = match state.service.instance(id).await {
        Ok(i) => i,
        Err(e) => return refusal(e),
    };
    let no_event = || layout::message(StatusCode::NOT_FOUND, "No such event.");
    let Some(event_id) = event_id(&raw_event) else {
        return no_event();
    };
    let detail = match state.service.event(event_id).await {
        // An event is shown under its own instance only.
        Ok(d) if d.summary.instance_id == id => d,
        Ok(_) => return no_event(),
        Err(e) => return refusal(e),
    };
    let e = &detail.summary;
    let content = html! {
        (super::live::stylesheet())
        (heading(&instance, "events"))
        p { a href=(format!("/console/instances/{id}/events")) { "← All events" } }
        @if query.replayed.is_some() {
            p.notice role="status" { "Queued for delivery again." }
        }
        div.title-row {
            h2 { "Event " code { (e.event_id) } }
            form method="post" action=(format!("/console/instances/{id}/events/{}/replay", e.event_id)) {
                (csrf_field(&session))
                button type="submit" { "Replay" }
            }
        }
        div.card {
            dl.config {
                dt { "Status" } dd { (badge(e.status)) }
                dt { "Box event" } dd { code { (e.box_event_id) } }
                dt { "Received" } dd { (when(e.received_at_ms)) }
                @if let Some(ms) = e.finished_at_ms { dt { "Finished" } dd { (when(ms)) } }
                @if e.status == Status::Pending { dt { "Next attempt" } dd { (when(e.next_attempt_at_ms)) } }
                @if let Some(err) = &e.last_error { dt { "Last error" } dd { (err) } }
            }
        }
        h3 { "Attempts" }
        @if detail.attempts.is_empty() {
            p.muted { "No attempt yet." }
        } @else {
            ol.timeline aria-label="Attempts, oldest first" {
                @for a in &detail.attempts { (attempt(a)) }
            }
        }
        h3 { "Delivered body" }
        pre.json { code { (pretty(&detail.body)) } }
        h3 { "Box's original payload" }
        @match original(&detail.body) {
            Some(raw) => pre.json { code { (raw) } },
            None => p.muted { "Not in the stored body." },
        }
    };
    layout::page(
        &session,
        Nav::Instances,
        &format!("Event {}", e.event_id),
        content,
    )
}

/// `POST /console/instances/{id}/events/{eventId}/replay` (CSRF-checked by the guard).
pub async fn replay(
    _session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path((raw, raw_event)): Path<(String, String)>,
) -> Response {
    let Some(id) = instance_id(&raw) else {
        return no_such_instance();
    };
    let Some(event_id) = event_id(&raw_event) else {
        return layout::message(StatusCode::NOT_FOUND, "No such event.");
    };
    // The event must be this instance's: the same check as its page.
    match state.service.event(event_id).await {
        Ok(d) if d.summary.instance_id == id => {}
        Ok(_) => return layout::message(StatusCode::NOT_FOUND, "No such event."),
        Err(e) => return refusal(e),
    }
    match state.service.replay(event_id).await {
        Ok(()) => Redirect::to(&format!(
            "/console/instances/{id}/events/{event_id}?replayed=1"
        ))
        .into_response(),
        Err(e) => refusal(e),
    }
}

/// `POST /console/instances/{id}/events/replay-failed` (CSRF-checked by the guard).
pub async fn replay_failed(
    _session: ConsoleSession,
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
) -> Response {
    let Some(id) = instance_id(&raw) else {
        return no_such_instance();
    };
    match state.service.replay_all(id, Status::Failed).await {
        Ok(n) => {
            Redirect::to(&format!("/console/instances/{id}/events?replayed={n}")).into_response()
        }
        Err(e) => refusal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_payload_is_the_bodys_raw_message() {
        let body = br#"{"message":{"raw":{"id":"1","trigger":"FILE.UPLOADED"}}}"#;
        let raw = original(body).unwrap();
        assert!(raw.contains("\"trigger\": \"FILE.UPLOADED\""), "{raw}");
        assert_eq!(original(b"not json"), None);
        assert_eq!(pretty(b"not json"), "not json");
    }

    #[test]
    fn unknown_filters_and_cursors_are_ignored() {
        let q = EventsQuery {
            status: Some("<b>".into()),
            cursor: Some("-3".into()),
            replayed: None,
        };
        let log = q.log_query();
        assert!(log.statuses.is_empty() && log.before.is_none());
        assert_eq!(event_id("a b"), None);
        assert_eq!(event_id("abc-123"), Some("abc-123"));
    }
}
