//! The console's page frame and shared pieces: [`page`] puts a page's content in the layout
//! (header with the nav, `main`), [`bare`] for pages without a session (sign-in, messages),
//! [`csrf_field`] for every form, and the vendored assets compiled into the binary. Maud
//! escapes everything interpolated, so names and values show as text.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::guard::CSRF_FIELD;
use super::ConsoleSession;

/// The stylesheet, served as `/console/assets/console.css`.
const CSS: &str = include_str!("../../assets/console/console.css");
/// The script, served as `/console/assets/console.js`.
const JS: &str = include_str!("../../assets/console/console.js");

/// Which nav item a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// `/console`.
    Overview,
    /// `/console/instances` and below.
    Instances,
    /// None highlighted.
    None,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · webhook-relay console" }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/console.js" defer {}
        }
    }
}

/// The hidden CSRF field of `session`, for every form that changes something.
pub fn csrf_field(session: &ConsoleSession) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf()); }
}

/// A page for a signed-in operator: the header nav (Overview, Instances, Sign out) and
/// `content` in `main`.
pub fn page(session: &ConsoleSession, nav: Nav, title: &str, content: Markup) -> Response {
    page_with_status(StatusCode::OK, session, nav, title, content)
}

/// [`page`] with another status (a form shown again with its errors: 400).
pub fn page_with_status(
    status: StatusCode,
    session: &ConsoleSession,
    nav: Nav,
    title: &str,
    content: Markup,
) -> Response {
    let current = |n: Nav| if n == nav { Some("page") } else { None };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top {
                    a.brand href="/console" { "webhook-relay" }
                    nav aria-label="Main" {
                        a href="/console" aria-current=[current(Nav::Overview)] { "Overview" }
                        a href="/console/instances" aria-current=[current(Nav::Instances)] { "Instances" }
                        form.signout method="post" action="/console/sign-out" {
                            (csrf_field(session))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main { (content) }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// A page without the nav (signed out): the sign-in form, refusals.
pub fn bare(status: StatusCode, title: &str, content: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                header.top { a.brand href="/console" { "webhook-relay" } }
                main.narrow { (content) }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// A short message page (a refusal) with a way back.
pub fn message(status: StatusCode, text: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    bare(
        status,
        title,
        html! {
            h1 { (title) }
            p.error role="alert" { (text) }
            p { a href="/console" { "Back to the console" } }
        },
    )
}

/// The store could not be read or written: try again.
pub fn unavailable() -> Response {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Storage is unavailable right now. Try again in a moment.",
    )
}

/// `/console/assets/{file}`: the vendored CSS and JS.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return message(StatusCode::NOT_FOUND, "No such file."),
    };
    (
        [(CONTENT_TYPE, kind), (CACHE_CONTROL, "public, max-age=300")],
        body,
    )
        .into_response()
}

/// A field's label, input and error (if any), with the error tied to the input for screen
/// readers.
pub fn field(label: &str, input: Markup, id: &str, error: Option<&str>) -> Markup {
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            (input)
            @if let Some(e) = error {
                p.field-error id=(format!("{id}-error")) role="alert" { (e) }
            }
        }
    }
}
