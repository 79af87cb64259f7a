//! The page a new instance lands on, whether made by the form or by Connect Box: its id, and
//! its Element token, shown this once (the relay keeps only a digest of it, as the API's
//! `POST /instances` answer is the only one that carries it). Cloud Elements' UI also showed
//! the token and ID right after Create Instance, for the scripts that act as the instance.

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::layout::{self, Nav};
use super::ConsoleSession;
use crate::admin::instances::Created;

/// The "Instance created" page (201; never cached, like every console page).
pub fn page(session: &ConsoleSession, created: &Created) -> Response {
    let instance = &created.instance;
    let id = instance.id;
    let content = html! {
        h1 { "Instance created" }
        div.card {
            p.notice { (instance.name) " was created with ID " (id) "." }
            p {
                "Its Element token, for API calls made as this instance ("
                code { "Authorization: User …, Organization …, Element <token>" }
                "). It is shown only now: the relay keeps only a digest of it. Copy it before you go on."
            }
            p { code #element-token { (created.token.expose()) } }
            div.actions {
                a.button href=(format!("/console/instances/{id}")) { "Open the instance" }
            }
        }
    };
    layout::page_with_status(
        StatusCode::CREATED,
        session,
        Nav::Instances,
        "Instance created",
        content,
    )
}
