//! Analytics over the event log, for the admin API's `/instances/events/analytics*` and the
//! console's overview: per interval of a [`Window`], the events accepted (by receipt time),
//! delivered and failed (by the time they finished), and the delivery latency (finished −
//! received, of delivered events) as a histogram whose p50/p99 are read by [`Latency`]. Per
//! instance and in total. Read from the store, so every replica answers the same; written
//! once for both engines (`$n` parameters, integer division, `CAST(… AS BIGINT)`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::sql::Arg;
use super::{Store, StoreError};

/// Upper bounds (exclusive, milliseconds) of the latency histogram's bins: 1 ms, then each
/// about 20 % wider than the one before, up to a week; one more bin holds anything longer.
/// A percentile is reported as its bin's upper bound (capped at the largest latency seen), so
/// it is never below the true value and at most ~20 % above it.
pub static LATENCY_BOUNDS: LazyLock<Vec<i64>> = LazyLock::new(|| {
    const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;
    let mut bounds = vec![1_i64];
    while let Some(&last) = bounds.last().filter(|&&b| b < WEEK_MS) {
        bounds.push((last + 1).max(last * 6 / 5));
    }
    bounds
});

/// The bin of each delivered event's latency `d`, as SQL.
static BIN_SQL: LazyLock<String> = LazyLock::new(|| {
    let mut sql = String::from("CASE");
    for (i, bound) in LATENCY_BOUNDS.iter().enumerate() {
        sql.push_str(&format!(" WHEN d < {bound} THEN {i}"));
    }
    sql.push_str(&format!(" ELSE {} END", LATENCY_BOUNDS.len()));
    sql
});

/// A time range cut into intervals aligned on the interval (UTC minutes, hours, days): from
/// the interval holding `from` to the one holding `to`, both included, counting what happened
/// in `[from, to)` (so the first and last may be partial). One hour by minute is 61 intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start of the range, unix milliseconds (included).
    pub from_ms: i64,
    /// End of the range, unix milliseconds (excluded).
    pub to_ms: i64,
    /// Length of an interval, milliseconds.
    pub width_ms: i64,
}

impl Window {
    /// Start of the first interval.
    pub fn start_ms(&self) -> i64 {
        self.from_ms.div_euclid(self.width_ms) * self.width_ms
    }

    /// How many intervals (0 when `to` is before `from`).
    pub fn len(&self) -> usize {
        if self.to_ms < self.from_ms {
            return 0;
        }
        let last = self.to_ms.div_euclid(self.width_ms);
        (last - self.from_ms.div_euclid(self.width_ms) + 1) as usize
    }

    /// True when there is no interval.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Start of interval `i`.
    pub fn bucket_start_ms(&self, i: usize) -> i64 {
        self.start_ms() + i as i64 * self.width_ms
    }
}

/// Delivery latencies as a histogram over [`LATENCY_BOUNDS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Latency {
    /// Count per bin (empty until something is added).
    bins: Vec<u64>,
    /// The largest latency added, milliseconds.
    max_ms: i64,
}

impl Latency {
    /// Adds `n` latencies of bin `bin`, the largest of which was `max_ms`.
    pub fn add(&mut self, bin: usize, n: u64, max_ms: i64) {
        if self.bins.is_empty() {
            self.bins = vec![0; LATENCY_BOUNDS.len() + 1];
        }
        let bin = bin.min(self.bins.len() - 1);
        self.bins[bin] += n;
        self.max_ms = self.max_ms.max(max_ms);
    }

    /// Adds every latency of `other`.
    pub fn merge(&mut self, other: &Latency) {
        for (bin, n) in other.bins.iter().enumerate().filter(|(_, n)| **n > 0) {
            self.add(bin, *n, other.max_ms);
        }
    }

    /// How many latencies.
    pub fn count(&self) -> u64 {
        self.bins.iter().sum()
    }

    /// The `q` quantile (0 < q ≤ 1) in milliseconds: the upper bound of the bin holding it,
    /// capped at the largest latency seen; `None` when there is none.
    pub fn quantile_ms(&self, q: f64) -> Option<i64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (bin, count) in self.bins.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let upper = LATENCY_BOUNDS.get(bin).copied().unwrap_or(i64::MAX);
                return Some(upper.min(self.max_ms.max(0)));
            }
        }
        Some(self.max_ms.max(0))
    }
}

/// What happened in one interval (or a whole window), for one instance or all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Events received (and committed).
    pub accepted: u64,
    /// Events delivered.
    pub delivered: u64,
    /// Events given up on.
    pub failed: u64,
    /// Latencies of the delivered events.
    pub latency: Latency,
}

impl Counts {
    /// Adds `other` to these counts.
    pub fn merge(&mut self, other: &Counts) {
        self.accepted += other.accepted;
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.latency.merge(&other.latency);
    }

    /// True when nothing happened.
    pub fn is_empty(&self) -> bool {
        self.accepted == 0 && self.delivered == 0 && self.failed == 0
    }
}

/// One interval of a [`Series`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Start of the interval, unix milliseconds.
    pub start_ms: i64,
    /// Every instance together.
    pub total: Counts,
    /// Each instance that had something in the interval, by id.
    pub instances: BTreeMap<i64, Counts>,
}

/// A window's intervals, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// The window read.
    pub window: Window,
    /// One per interval of the window, oldest first.
    pub buckets: Vec<Bucket>,
}

impl Series {
    /// An empty series over `window`.
    pub fn empty(window: Window) -> Self {
        let buckets = (0..window.len())
            .map(|i| Bucket {
                start_ms: window.bucket_start_ms(i),
                ..Bucket::default()
            })
            .collect();
        Self { window, buckets }
    }

    /// The counts of `instance` (or of all, for `None`) in interval `slot`, if it exists.
    fn slot(&mut self, slot: i64, instance: i64) -> Option<(&mut Counts, &mut Counts)> {
        let bucket = self.buckets.get_mut(usize::try_from(slot).ok()?)?;
        Some((
            &mut bucket.total,
            bucket.instances.entry(instance).or_default(),
        ))
    }

    /// The whole window: every instance together, and each instance.
    pub fn overall(&self) -> (Counts, BTreeMap<i64, Counts>) {
        let mut total = Counts::default();
        let mut instances: BTreeMap<i64, Counts> = BTreeMap::new();
        for bucket in &self.buckets {
            total.merge(&bucket.total);
            for (id, counts) in &bucket.instances {
                instances.entry(*id).or_default().merge(counts);
            }
        }
        (total, instances)
    }
}

/// Events of an instance in an interval.
#[derive(sqlx::FromRow)]
struct SlotRow {
    instance_id: i64,
    slot: i64,
    n: i64,
}

/// Delivered events of an instance in an interval, in one latency bin.
#[derive(sqlx::FromRow)]
struct LatencyRow {
    instance_id: i64,
    slot: i64,
    bin: i64,
    n: i64,
    max_ms: i64,
}

/// Counts events by instance and interval of the time in `column`, in `status` when given.
fn slot_sql(column: &str, status: Option<&str>) -> String {
    let status = status.map_or(String::new(), |s| format!("status = '{s}' AND "));
    format!(
        "SELECT instance_id, CAST(({column} - $1) / $2 AS BIGINT) AS slot, \
           CAST(COUNT(*) AS BIGINT) AS n FROM events \
         WHERE {status}{column} >= $3 AND {column} < $4 GROUP BY instance_id, slot"
    )
}

impl Store {
    /// What happened in each interval of `window`, per instance and in total, read in one
    /// snapshot.
    pub async fn analytics(&self, window: Window) -> Result<Series, StoreError> {
        let mut series = Series::empty(window);
        if series.buckets.is_empty() {
            return Ok(series);
        }
        let args: [Arg; 4] = [
            window.start_ms().into(),
            window.width_ms.into(),
            window.from_ms.into(),
            window.to_ms.into(),
        ];
        let mut conn = self.snapshot().await?;
        let what = || "an analytics row".to_string();
        let accepted: Vec<SlotRow> = conn
            .fetch_all(what, &slot_sql("received_at", None), &args)
            .await?;
        let failed: Vec<SlotRow> = conn
            .fetch_all(what, &slot_sql("finished_at", Some("failed")), &args)
            .await?;
        let latency_sql = format!(
            "SELECT instance_id, slot, CAST({} AS BIGINT) AS bin, CAST(COUNT(*) AS BIGINT) AS n, \
               CAST(MAX(d) AS BIGINT) AS max_ms FROM \
             (SELECT instance_id, CAST((finished_at - $1) / $2 AS BIGINT) AS slot, \
                finished_at - received_at AS d FROM events \
              WHERE status = 'delivered' AND finished_at >= $3 AND finished_at < $4) t \
             GROUP BY instance_id, slot, bin",
            BIN_SQL.as_str()
        );
        let delivered: Vec<LatencyRow> = conn.fetch_all(what, &latency_sql, &args).await?;
        conn.commit().await?;

        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        for row in accepted {
            if let Some((total, one)) = series.slot(row.slot, row.instance_id) {
                total.accepted += count(row.n);
                one.accepted += count(row.n);
            }
        }
        for row in failed {
            if let Some((total, one)) = series.slot(row.slot, row.instance_id) {
                total.failed += count(row.n);
                one.failed += count(row.n);
            }
        }
        for row in delivered {
            let bin = usize::try_from(row.bin).unwrap_or(0);
            if let Some((total, one)) = series.slot(row.slot, row.instance_id) {
                for c in [total, one] {
                    c.delivered += count(row.n);
                    c.latency.add(bin, count(row.n), row.max_ms);
                }
            }
        }
        Ok(series)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn one_hour_by_minute_is_sixty_one_intervals_aligned_on_the_minute() {
        let from = 1_700_000_012_345;
        let w = Window {
            from_ms: from,
            to_ms: from + 60 * MINUTE,
            width_ms: MINUTE,
        };
        assert_eq!(w.len(), 61);
        assert_eq!(w.start_ms() % MINUTE, 0);
        assert!(w.start_ms() <= from && from < w.start_ms() + MINUTE);
        assert_eq!(w.bucket_start_ms(60), w.start_ms() + 60 * MINUTE);
    }

    #[test]
    fn a_range_ending_before_it_starts_has_no_interval() {
        let w = Window {
            from_ms: 10 * MINUTE,
            to_ms: 5 * MINUTE,
            width_ms: MINUTE,
        };
        assert!(w.is_empty());
        assert!(Series::empty(w).buckets.is_empty());
    }

    #[test]
    fn latency_bounds_grow_by_about_a_fifth_up_to_a_week() {
        let b = &*LATENCY_BOUNDS;
        assert_eq!(b[0], 1);
        assert!(b
            .windows(2)
            .all(|w| w[1] > w[0] && w[1] <= w[0] * 6 / 5 + 1));
        assert!(*b.last().unwrap() >= 7 * 24 * 3600 * 1000);
        assert!(BIN_SQL.starts_with("CASE WHEN d < 1 THEN 0 WHEN d < 2 THEN 1"));
    }

    fn bin_of(ms: i64) -> usize {
        LATENCY_BOUNDS.iter().position(|b| ms < *b).unwrap()
    }

    #[test]
    fn quantiles_are_never_below_the_true_value_and_within_a_fifth_above() {
        let mut l = Latency::default();
        for ms in 1..=100 {
            l.add(bin_of(ms), 1, ms);
        }
        let p50 = l.quantile_ms(0.5).unwrap();
        let p99 = l.quantile_ms(0.99).unwrap();
        assert!((50..=60).contains(&p50), "p50 {p50}");
        assert!((99..=100).contains(&p99), "p99 {p99}");
        assert_eq!(l.quantile_ms(1.0), Some(100), "capped at the largest seen");
        assert_eq!(Latency::default().quantile_ms(0.5), None);
    }

    #[test]
    fn merged_histograms_answer_as_one() {
        let (mut a, mut b, mut both) = (Latency::default(), Latency::default(), Latency::default());
        a.add(bin_of(10), 3, 10);
        b.add(bin_of(2000), 1, 2000);
        both.add(bin_of(10), 3, 10);
        both.add(bin_of(2000), 1, 2000);
        a.merge(&b);
        assert_eq!(a, both);
        assert_eq!(a.count(), 4);
        assert_eq!(a.quantile_ms(0.99), Some(2000));
    }

    #[test]
    fn rows_outside_the_window_are_dropped_and_overall_sums_the_intervals() {
        let w = Window {
            from_ms: 0,
            to_ms: 2 * MINUTE,
            width_ms: MINUTE,
        };
        let mut s = Series::empty(w);
        assert!(s.slot(-1, 1).is_none());
        assert!(s.slot(3, 1).is_none());
        for (slot, instance) in [(0, 1), (1, 1), (1, 2)] {
            let (total, one) = s.slot(slot, instance).unwrap();
            total.accepted += 2;
            one.accepted += 2;
        }
        let (total, per) = s.overall();
        assert_eq!(total.accepted, 6);
        assert_eq!(per[&1].accepted, 4);
        assert_eq!(per[&2].accepted, 2);
    }
}
