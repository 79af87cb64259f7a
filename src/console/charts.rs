//! Server-rendered SVG charts for the console's overview: grouped [`bars`] (events per
//! interval) and [`lines`] (latency per interval), pure functions of their data. Colours are
//! SVG presentation attributes and there is no script or `style` attribute, so the console's
//! Content-Security-Policy allows them; every text goes through maud, so it is escaped. Each
//! chart is an `img` for screen readers, named by its title, with each value in a `<title>`.

use maud::{html, Markup};

/// Drawing area, in viewBox units (the SVG scales to its container's width).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
/// Room for the y labels (left) and the x labels and legend (bottom).
const LEFT: f64 = 44.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 44.0;
const RIGHT: f64 = 8.0;

/// One series: a name for the legend, a colour and a value per interval (`None`: no value).
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Fill or stroke colour, e.g. `#2563eb`.
    pub color: &'static str,
    /// One per interval.
    pub values: Vec<Option<f64>>,
}

/// What a chart shows.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Accessible name, shown above the chart by the page.
    pub title: String,
    /// One label per interval (e.g. `14:05`).
    pub labels: Vec<String>,
    /// The series, drawn in order.
    pub series: Vec<Series>,
    /// Unit after y values (`""` for counts, `" ms"`).
    pub unit: &'static str,
}

impl Chart {
    fn intervals(&self) -> usize {
        self.labels.len().max(1)
    }

    fn max(&self) -> f64 {
        let values = self.series.iter().flat_map(|s| s.values.iter().flatten());
        nice_max(values.fold(0.0, |m, v| f64::max(m, *v)))
    }

    fn x(&self, i: usize) -> f64 {
        LEFT + (WIDTH - LEFT - RIGHT) * i as f64 / self.intervals() as f64
    }

    fn y(&self, v: f64, max: f64) -> f64 {
        let plot = HEIGHT - TOP - BOTTOM;
        TOP + plot - plot * (v / max).clamp(0.0, 1.0)
    }
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `v` (at least 1), so axis labels are round.
pub fn nice_max(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|m| *m >= v)
        .unwrap_or(10.0 * magnitude)
}

/// A number as a label: integers without decimals.
fn label(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Axes, y labels (0, half, max), a few x labels and the legend.
fn frame(chart: &Chart, max: f64) -> Markup {
    let n = chart.labels.len();
    // At most seven x labels, evenly spread, and the last one unless it would touch the one
    // before.
    let step = n.div_ceil(6).max(1);
    let shown = (0..n).filter(|i| i % step == 0 || (*i == n - 1 && i % step > step / 2));
    let base = HEIGHT - BOTTOM;
    html! {
        @for v in [0.0, max / 2.0, max] {
            line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(chart.y(v, max)) y2=(chart.y(v, max))
                stroke="#e5e7eb" stroke-width="1" {}
            text x=(LEFT - 4.0) y=(chart.y(v, max) + 4.0) text-anchor="end" font-size="11"
                fill="#6b7280" { (label(v)) (chart.unit) }
        }
        line x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(base) stroke="#9ca3af" stroke-width="1" {}
        @for i in shown {
            text x=(chart.x(i) + (chart.x(1) - chart.x(0)) / 2.0) y=(base + 14.0)
                text-anchor="middle" font-size="11" fill="#6b7280" { (chart.labels[i]) }
        }
        @for (k, s) in chart.series.iter().enumerate() {
            rect x=(LEFT + k as f64 * 120.0) y=(HEIGHT - 16.0) width="10" height="10"
                fill=(s.color) {}
            text x=(LEFT + k as f64 * 120.0 + 14.0) y=(HEIGHT - 7.0) font-size="11"
                fill="#374151" { (s.name) }
        }
    }
}

fn svg(chart: &Chart, body: Markup) -> Markup {
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
            role="img" aria-label=(chart.title) preserveAspectRatio="xMidYMid meet" {
            title { (chart.title) }
            (body)
        }
    }
}

/// Grouped bars: for each interval, one bar per series side by side.
pub fn bars(chart: &Chart) -> Markup {
    let max = chart.max();
    let slot = chart.x(1) - chart.x(0);
    let groups = chart.series.len().max(1) as f64;
    let bar = (slot * 0.8 / groups).max(0.5);
    let base = HEIGHT - BOTTOM;
    svg(
        chart,
        html! {
            (frame(chart, max))
            @for (k, s) in chart.series.iter().enumerate() {
                @for (i, v) in s.values.iter().enumerate() {
                    @if let Some(v) = v.filter(|v| *v > 0.0) {
                        @let top = chart.y(v, max);
                        rect x=(chart.x(i) + slot * 0.1 + bar * k as f64) y=(top) width=(bar)
                            height=(base - top) fill=(s.color) {
                            title { (chart.labels.get(i).map_or("", String::as_str)) " · "
                                (s.name) ": " (label(v)) (chart.unit) }
                        }
                    }
                }
            }
        },
    )
}

/// Lines: one polyline per series through the intervals that have a value, with a dot on
/// each (an interval alone between gaps still shows).
pub fn lines(chart: &Chart) -> Markup {
    let max = chart.max();
    let half = (chart.x(1) - chart.x(0)) / 2.0;
    svg(
        chart,
        html! {
            (frame(chart, max))
            @for s in &chart.series {
                @let points: Vec<(usize, f64)> = s.values.iter().enumerate()
                    .filter_map(|(i, v)| v.map(|v| (i, v))).collect();
                @let path = points.iter()
                    .map(|(i, v)| format!("{:.1},{:.1}", chart.x(*i) + half, chart.y(*v, max)))
                    .collect::<Vec<_>>().join(" ");
                polyline points=(path) fill="none" stroke=(s.color) stroke-width="2" {}
                @for (i, v) in &points {
                    circle cx=(chart.x(*i) + half) cy=(chart.y(*v, max)) r="2.5" fill=(s.color) {
                        title { (chart.labels.get(*i).map_or("", String::as_str)) " · "
                            (s.name) ": " (label(*v)) (chart.unit) }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(name: &str, values: Vec<Option<f64>>) -> Chart {
        Chart {
            title: "Events per minute".into(),
            labels: (0..values.len()).map(|i| format!("12:{i:02}")).collect(),
            series: vec![Series {
                name: name.into(),
                color: "#2563eb",
                values,
            }],
            unit: "",
        }
    }

    #[test]
    fn round_maxima_for_axis_labels() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(3.0), 5.0);
        assert_eq!(nice_max(17.0), 20.0);
        assert_eq!(nice_max(50.0), 50.0);
        assert_eq!(nice_max(501.0), 1000.0);
    }

    #[test]
    fn bars_draw_one_rect_per_nonzero_value_with_its_value_as_title() {
        let svg = bars(&chart(
            "accepted",
            vec![Some(3.0), Some(0.0), None, Some(10.0)],
        ))
        .into_string();
        assert!(svg.starts_with("<svg class=\"chart\""), "{svg}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title>12:03 · accepted: 10</title>"), "{svg}");
        assert!(svg.contains("<title>12:00 · accepted: 3</title>"));
        // Legend square + the two bars with a value.
        assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
        assert!(svg.contains(">10</text>"), "the y axis ends at 10");
    }

    #[test]
    fn lines_skip_intervals_without_a_value() {
        let svg = lines(&chart("p99", vec![Some(5.0), None, Some(7.0)])).into_string();
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 1);
    }

    #[test]
    fn text_is_escaped_and_nothing_a_strict_csp_blocks_is_emitted() {
        let svg = bars(&chart("<script>alert(1)</script>", vec![Some(1.0)])).into_string();
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!svg.contains("style="), "no style attribute");
        assert!(!svg.contains(" on"), "no event handler attribute");
    }

    #[test]
    fn an_empty_chart_still_renders_its_frame() {
        let svg = lines(&chart("p50", vec![])).into_string();
        assert!(svg.contains("<title>Events per minute</title>"));
        assert!(svg.contains(">1</text>"), "{svg}");
    }
}
