//! Analytics as operators ask for them: a range `[from, to)` cut into minutes, hours or days
//! (checked here, so the admin API and the console refuse the same things), read from the
//! store ([`crate::store::analytics`]), and the backlog (pending events, the oldest one's age).

use super::{AdminResult, AdminService};
use crate::invalid::InvalidValue;
use crate::store::analytics::{Series, Window};
use crate::store::records::QueueStats;

/// The relay's one account (Cloud Elements' `accountIds[]`): the relay serves one
/// organization, whose id is 1. Naming any other is refused.
pub const ACCOUNT_ID: i64 = 1;

/// The most intervals one request may ask for (a day by minute is 1,441).
pub const MAX_INTERVALS: usize = 1_500;

/// The length of an analytics interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// 60 seconds.
    Minute,
    /// 60 minutes.
    Hour,
    /// 24 hours (UTC days).
    Day,
}

impl Interval {
    /// Every interval, as named in requests.
    pub const NAMES: &'static str = "minute, hour or day";

    /// The interval named `name` (Cloud Elements' names, any case).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "minute" => Some(Interval::Minute),
            "hour" => Some(Interval::Hour),
            "day" => Some(Interval::Day),
            _ => None,
        }
    }

    /// Its length in milliseconds.
    pub fn width_ms(self) -> i64 {
        match self {
            Interval::Minute => 60_000,
            Interval::Hour => 3_600_000,
            Interval::Day => 86_400_000,
        }
    }
}

/// A range and interval as given; missing values take defaults ([`AnalyticsQuery::window`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyticsQuery {
    /// Start, unix milliseconds (default: 60 intervals before `to`).
    pub from_ms: Option<i64>,
    /// End, unix milliseconds (default: now).
    pub to_ms: Option<i64>,
    /// Interval (default: minute).
    pub interval: Option<Interval>,
}

impl AnalyticsQuery {
    /// The window asked for: `to` before `from` or more than [`MAX_INTERVALS`] intervals are
    /// refused, naming the value to change.
    pub fn window(&self, now_ms: i64) -> Result<Window, InvalidValue> {
        let width_ms = self.interval.unwrap_or(Interval::Minute).width_ms();
        let to_ms = self.to_ms.unwrap_or(now_ms);
        let from_ms = self.from_ms.unwrap_or(to_ms.saturating_sub(60 * width_ms));
        if to_ms < from_ms {
            return Err(InvalidValue::new("to", "is before `from`"));
        }
        let window = Window {
            from_ms,
            to_ms,
            width_ms,
        };
        if window.len() > MAX_INTERVALS {
            return Err(InvalidValue::new(
                "interval",
                format!(
                    "the range holds {} intervals, more than {MAX_INTERVALS}: use a longer \
                     interval or a shorter range",
                    window.len()
                ),
            ));
        }
        Ok(window)
    }
}

impl AdminService {
    /// Events accepted, delivered and failed, and delivery latency, per interval of `window`.
    pub async fn analytics(&self, window: Window) -> AdminResult<Series> {
        self.store
            .analytics(window)
            .await
            .map_err(|e| self.unavailable(e))
    }

    /// The backlog: events by status and the oldest undelivered event's receipt time.
    pub async fn backlog(&self) -> AdminResult<QueueStats> {
        self.store
            .queue_stats()
            .await
            .map_err(|e| self.unavailable(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_values_mean_the_last_hour_by_minute() {
        let w = AnalyticsQuery::default().window(7_200_000).unwrap();
        assert_eq!(
            (w.from_ms, w.to_ms, w.width_ms),
            (3_600_000, 7_200_000, 60_000)
        );
        assert_eq!(w.len(), 61);
    }

    #[test]
    fn an_end_before_the_start_names_to() {
        let q = AnalyticsQuery {
            from_ms: Some(10),
            to_ms: Some(5),
            interval: None,
        };
        assert_eq!(q.window(0).unwrap_err().key, "to");
    }

    #[test]
    fn a_week_by_minute_is_too_many_intervals_but_a_day_is_not() {
        let q = |days: i64| AnalyticsQuery {
            from_ms: Some(0),
            to_ms: Some(days * 86_400_000),
            interval: Some(Interval::Minute),
        };
        assert_eq!(q(7).window(0).unwrap_err().key, "interval");
        assert_eq!(q(1).window(0).unwrap().len(), 1_441);
    }

    #[test]
    fn seconds_are_not_an_interval() {
        assert_eq!(Interval::parse("second"), None);
        assert_eq!(Interval::parse("Hour"), Some(Interval::Hour));
    }
}
