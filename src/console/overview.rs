//! The console's Overview (`/console`): the backlog (undelivered events, the oldest one's
//! age), and for the last hour (per minute) and the last day (per hour) the events accepted,
//! delivered and failed and the delivery latency p50/p99, in total and per instance, as SVG
//! [`charts`](super::charts). Read from the store through
//! [`AdminService::analytics`](crate::admin::AdminService::analytics), so every replica shows
//! the same as the admin API's `/instances/events/analytics`.

use axum::extract::State;
use axum::response::Response;
use chrono::{TimeZone, Utc};
use maud::{html, Markup};

use super::charts::{bars, lines, Chart, Series as Line};
use super::instances::refusal;
use super::layout::{self, Nav};
use super::{ConsoleSession, ConsoleState};
use crate::admin::analytics::{AnalyticsQuery, Interval};
use crate::clock::now_ms;
use crate::store::analytics::{Counts, Series};

const ACCEPTED: &str = "#2563eb";
const DELIVERED: &str = "#16a34a";
const FAILED: &str = "#dc2626";
const P50: &str = "#7c3aed";
const P99: &str = "#ea580c";

/// A window the page shows.
struct Span {
    /// `Last hour`.
    title: &'static str,
    /// `minute`.
    per: &'static str,
    interval: Interval,
    /// How many intervals back from now.
    back: i64,
    /// Label format of an interval.
    format: &'static str,
}

const SPANS: [Span; 2] = [
    Span {
        title: "Last hour",
        per: "minute",
        interval: Interval::Minute,
        back: 60,
        format: "%H:%M",
    },
    Span {
        title: "Last day",
        per: "hour",
        interval: Interval::Hour,
        back: 24,
        format: "%H:00",
    },
];

/// An age for people: `42 s`, `5 min`, `3 h 10 min`, `2 d 4 h`.
pub fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn ms(v: Option<i64>) -> String {
    v.map_or("—".into(), |v| format!("{v} ms"))
}

/// The two charts of one set of intervals (every instance, or one).
fn charts(title: &str, labels: &[String], counts: &[&Counts]) -> Markup {
    let series = |name: &str, color, f: &dyn Fn(&Counts) -> Option<f64>| Line {
        name: name.into(),
        color,
        values: counts.iter().map(|c| f(c)).collect(),
    };
    let events = Chart {
        title: format!("{title}: events accepted, delivered and failed"),
        labels: labels.to_vec(),
        series: vec![
            series("accepted", ACCEPTED, &|c| Some(c.accepted as f64)),
            series("delivered", DELIVERED, &|c| Some(c.delivered as f64)),
            series("failed", FAILED, &|c| Some(c.failed as f64)),
        ],
        unit: "",
    };
    let latency = Chart {
        title: format!("{title}: delivery latency p50 and p99"),
        labels: labels.to_vec(),
        series: vec![
            series("p50", P50, &|c| {
                c.latency.quantile_ms(0.5).map(|v| v as f64)
            }),
            series("p99", P99, &|c| {
                c.latency.quantile_ms(0.99).map(|v| v as f64)
            }),
        ],
        unit: " ms",
    };
    html! {
        div.charts {
            figure { (bars(&events)) figcaption { "Events per interval" } }
            figure { (lines(&latency)) figcaption { "Delivery latency (ms)" } }
        }
    }
}

fn totals(c: &Counts) -> Markup {
    html! {
        dl.stats {
            div { dt { "Accepted" } dd { (c.accepted) } }
            div { dt { "Delivered" } dd { (c.delivered) } }
            div { dt { "Failed" } dd { (c.failed) } }
            div { dt { "Latency p50" } dd { (ms(c.latency.quantile_ms(0.5))) } }
            div { dt { "Latency p99" } dd { (ms(c.latency.quantile_ms(0.99))) } }
        }
    }
}

fn span(state: &ConsoleState, span: &Span, series: &Series) -> Markup {
    let labels: Vec<String> = series
        .buckets
        .iter()
        .map(|b| {
            Utc.timestamp_millis_opt(b.start_ms)
                .single()
                .map(|t| t.format(span.format).to_string())
                .unwrap_or_default()
        })
        .collect();
    let (total, per_instance) = series.overall();
    let all: Vec<&Counts> = series.buckets.iter().map(|b| &b.total).collect();
    let empty = Counts::default();
    let name = |id: i64| {
        state
            .service
            .instances
            .get(id)
            .map_or(format!("Instance {id}"), |i| i.name.clone())
    };
    html! {
        section.span aria-labelledby=(format!("span-{}", span.per)) {
            h2 id=(format!("span-{}", span.per)) { (span.title) " " small.muted { "per " (span.per) } }
            (totals(&total))
            (charts(&format!("{}, every instance", span.title), &labels, &all))
            @if per_instance.is_empty() {
                p.muted { "No events in this period." }
            } @else {
                div.table-wrap {
                    table.responsive {
                        caption.visually-hidden { (span.title) " per instance" }
                        thead { tr {
                            th { "Instance" } th.num { "Accepted" } th.num { "Delivered" }
                            th.num { "Failed" } th.num { "p50" } th.num { "p99" }
                        } }
                        tbody {
                            @for (id, c) in &per_instance {
                                tr {
                                    td data-label="Instance" { a href=(format!("/console/instances/{id}/events")) { (name(*id)) } }
                                    td.num data-label="Accepted" { (c.accepted) }
                                    td.num data-label="Delivered" { (c.delivered) }
                                    td.num data-label="Failed" { (c.failed) }
                                    td.num data-label="p50" { (ms(c.latency.quantile_ms(0.5))) }
                                    td.num data-label="p99" { (ms(c.latency.quantile_ms(0.99))) }
                                }
                            }
                        }
                    }
                }
                @for id in per_instance.keys() {
                    details.instance-charts {
                        summary { "Charts of " (name(*id)) }
                        @let one: Vec<&Counts> = series.buckets.iter()
                            .map(|b| b.instances.get(id).unwrap_or(&empty)).collect();
                        (charts(&format!("{}, {}", span.title, name(*id)), &labels, &one))
                    }
                }
            }
        }
    }
}

/// `GET /console`.
pub async fn page(session: ConsoleSession, State(state): State<ConsoleState>) -> Response {
    let now = now_ms();
    let backlog = match state.service.backlog().await {
        Ok(b) => b,
        Err(e) => return refusal(e),
    };
    let mut spans = Vec::new();
    for s in &SPANS {
        let query = AnalyticsQuery {
            from_ms: Some(now - s.back * s.interval.width_ms()),
            to_ms: Some(now),
            interval: Some(s.interval),
        };
        let window = match query.window(now) {
            Ok(w) => w,
            Err(e) => return refusal(e.into()),
        };
        match state.service.analytics(window).await {
            Ok(series) => spans.push(span(&state, s, &series)),
            Err(e) => return refusal(e),
        }
    }
    let undelivered = backlog.counts.pending + backlog.counts.delivering;
    let content = html! {
        (super::live::stylesheet())
        h1 { "Overview" }
        section aria-labelledby="backlog" {
            h2 id="backlog" { "Backlog" }
            dl.stats {
                div { dt { "Pending" } dd { (undelivered) } }
                div { dt { "Oldest pending" } dd {
                    @match backlog.oldest_pending_received_ms {
                        Some(t) => (age(now - t)),
                        None => "—",
                    }
                } }
                div { dt { "Failed, stored" } dd { (backlog.counts.failed) } }
            }
        }
        @for s in spans { (s) }
    };
    layout::page(&session, Nav::Overview, "Overview", content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_largest_sensible_unit() {
        assert_eq!(age(-5), "0 s");
        assert_eq!(age(42_000), "42 s");
        assert_eq!(age(5 * 60_000 + 10), "5 min");
        assert_eq!(age(3 * 3_600_000 + 10 * 60_000), "3 h 10 min");
        assert_eq!(age(2 * 86_400_000 + 4 * 3_600_000), "2 d 4 h");
    }
}
