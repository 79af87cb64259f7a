//! Prometheus metrics, served at `GET /metrics` in the text format. One [`Metrics`] per
//! relay (no global registry), handed to each stage that counts something. Queue depth and
//! the oldest pending event's age are read from the store at scrape time, so every replica
//! reports the shared queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::records::QueueStats;

/// `Content-Type` of the answer.
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Labels of `relay_webhooks_received_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    instance: String,
    outcome: &'static str,
}

/// Labels of `relay_deliveries_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    instance: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriterLabel {
    writer: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// The `reason` label of `relay_box_webhooks_deleted_total` for Box's
/// `additional_info.reason`: the reasons Box documents as given, anything else (or none)
/// `other`, so a sender cannot grow the label set.
pub fn deleted_reason_label(reason: Option<&str>) -> &'static str {
    match reason {
        Some("auto_cleanup") => "auto_cleanup",
        Some("NO_ACTIVE_SESSION") => "NO_ACTIVE_SESSION",
        _ => "other",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransitionLabel {
    transition: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

/// `relay_corrupt_rows_total`: counted by the store (which knows nothing of metrics), read
/// at each scrape.
#[derive(Debug, Default, Clone)]
struct CorruptRows(Arc<AtomicU64>);

impl Collector for CorruptRows {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counter = ConstCounter::new(self.0.load(Ordering::Relaxed));
        let metric = encoder.encode_descriptor(
            "corrupt_rows",
            "Stored rows that did not decode (answered as errors, never as defaults); the log \
             names each row",
            None,
            counter.metric_type(),
        )?;
        counter.encode(metric)
    }
}

/// Every metric the relay exports.
pub struct Metrics {
    registry: Registry,
    webhooks: Family<WebhookLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    delivery_seconds: Histogram,
    queue: Family<StatusLabel, Gauge>,
    oldest_pending_seconds: Gauge<f64, AtomicU64>,
    batch_size: Family<WriterLabel, Histogram>,
    store_errors: Family<OperationLabel, Counter>,
    stale_outcomes: Counter,
    corrupt_rows: CorruptRows,
    box_webhooks_deleted: Family<ReasonLabel, Counter>,
    box_webhook_recreations: Family<OutcomeLabel, Counter>,
    instances_suspended: Gauge,
    suspension_transitions: Family<TransitionLabel, Counter>,
    events_ignored: Family<ReasonLabel, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("relay");
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "webhooks_received",
            "Box deliveries received, by instance (\"unknown\" when there is no such instance) and outcome",
            webhooks.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Callback attempts, by instance and outcome (delivered, retry, failed)",
            deliveries.clone(),
        );
        let delivery_seconds = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        registry.register(
            "delivery_duration_seconds",
            "Duration of one callback attempt, connect to last byte read",
            delivery_seconds.clone(),
        );
        let queue = Family::<StatusLabel, Gauge>::default();
        registry.register(
            "events",
            "Stored events by status (pending, delivering, delivered, failed), read at scrape",
            queue.clone(),
        );
        let oldest_pending_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "oldest_pending_event_age_seconds",
            "Age of the oldest event not yet delivered (pending or delivering); 0 when none",
            oldest_pending_seconds.clone(),
        );
        let batch_size = Family::<WriterLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(1.0, 2.0, 10))
        });
        registry.register(
            "commit_batch_size",
            "Rows per group commit (writer: ingest, outcomes)",
            batch_size.clone(),
        );
        let store_errors = Family::<OperationLabel, Counter>::default();
        registry.register(
            "store_errors",
            "Storage operations that failed, by operation",
            store_errors.clone(),
        );
        let stale_outcomes = Counter::default();
        registry.register(
            "stale_outcomes",
            "Delivery outcomes dropped because this replica no longer held the event's lease \
             (paused past it while another replica took the event over)",
            stale_outcomes.clone(),
        );
        let corrupt_rows = CorruptRows::default();
        registry.register_collector(Box::new(corrupt_rows.clone()));
        let box_webhooks_deleted = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "box_webhooks_deleted",
            "Box webhooks managed through the relay that Box deleted itself (WEBHOOK.DELETED), \
             by Box's reason (auto_cleanup, NO_ACTIVE_SESSION, other)",
            box_webhooks_deleted.clone(),
        );
        let box_webhook_recreations = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "box_webhook_recreations",
            "Re-creations of Box webhooks Box deleted (box.webhook.recreate), by outcome \
             (recreated, adopted, failed)",
            box_webhook_recreations.clone(),
        );
        let instances_suspended = Gauge::default();
        registry.register(
            "instances_suspended",
            "Instances suspended under the queue failure policy (their events held until \
             resumed), read from the store at scrape",
            instances_suspended.clone(),
        );
        let suspension_transitions = Family::<TransitionLabel, Counter>::default();
        registry.register(
            "instance_suspension_transitions",
            "Instances suspended (an event failed for good under the queue failure policy) \
             and resumed by an operator through this replica, by transition",
            suspension_transitions.clone(),
        );
        let events_ignored = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "events_ignored",
            "Box deliveries verified and answered ignored, not stored, by reason (disabled, \
             events_disabled, not_selected: outside the instance's event selection)",
            events_ignored.clone(),
        );
        Self {
            events_ignored,
            instances_suspended,
            suspension_transitions,
            box_webhooks_deleted,
            box_webhook_recreations,
            corrupt_rows,
            stale_outcomes,
            registry,
            webhooks,
            deliveries,
            delivery_seconds,
            queue,
            oldest_pending_seconds,
            batch_size,
            store_errors,
        }
    }

    /// A Box delivery answered with `outcome` (`accepted`, `duplicate`, `ignored` or an
    /// error code).
    pub fn webhook(&self, instance: Option<i64>, outcome: &'static str) {
        let instance = instance.map_or_else(|| "unknown".to_string(), |id| id.to_string());
        self.webhooks
            .get_or_create(&WebhookLabels { instance, outcome })
            .inc();
    }

    /// A callback attempt ended: `delivered`, `retry` or `failed`.
    pub fn delivery(&self, instance: i64, outcome: &'static str, took: Duration) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                instance: instance.to_string(),
                outcome,
            })
            .inc();
        self.delivery_seconds.observe(took.as_secs_f64());
    }

    /// A group commit of `rows` rows by `writer` (`ingest` or `outcomes`).
    pub fn batch(&self, writer: &'static str, rows: usize) {
        self.batch_size
            .get_or_create(&WriterLabel { writer })
            .observe(rows as f64);
    }

    /// Outcomes dropped: written under a lease this replica no longer held.
    pub fn stale_outcomes(&self, n: u64) {
        self.stale_outcomes.inc_by(n);
    }

    /// Box deleted a webhook the relay manages, for `reason` ([`deleted_reason_label`]).
    pub fn box_webhook_deleted(&self, reason: &'static str) {
        self.box_webhooks_deleted
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// A re-creation of a Box webhook ended: `recreated`, `adopted` or `failed`.
    pub fn box_webhook_recreation(&self, outcome: &'static str) {
        self.box_webhook_recreations
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    /// A verified Box delivery answered `ignored`, for `reason` (`disabled`,
    /// `events_disabled`, `not_selected`).
    pub fn event_ignored(&self, reason: &'static str) {
        self.events_ignored
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// An instance was `suspended` or `resumed` (the queue failure policy).
    pub fn suspension(&self, transition: &'static str) {
        self.suspension_transitions
            .get_or_create(&TransitionLabel { transition })
            .inc();
    }

    /// How many instances are suspended, as the store says (set before each render).
    pub fn set_instances_suspended(&self, n: usize) {
        self.instances_suspended.set(n as i64);
    }

    /// A storage operation failed.
    pub fn store_error(&self, operation: &'static str) {
        self.store_errors
            .get_or_create(&OperationLabel { operation })
            .inc();
    }

    /// The text exposition, with the queue gauges set from `stats` (left as they were when
    /// the store could not be read) and the store's count of corrupt rows.
    pub fn render(&self, stats: Option<QueueStats>, corrupt_rows: u64, now_ms: i64) -> String {
        self.corrupt_rows.0.store(corrupt_rows, Ordering::Relaxed);
        if let Some(stats) = stats {
            let c = stats.counts;
            for (status, n) in [
                ("pending", c.pending),
                ("delivering", c.delivering),
                ("delivered", c.delivered),
                ("failed", c.failed),
            ] {
                self.queue
                    .get_or_create(&StatusLabel { status })
                    .set(n as i64);
            }
            let age = stats
                .oldest_pending_received_ms
                .map_or(0.0, |t| (now_ms - t).max(0) as f64 / 1000.0);
            self.oldest_pending_seconds.set(age);
        }
        let mut text = String::new();
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
        {
            tracing::error!(error = %e, "could not encode metrics");
        }
        text
    }
}
