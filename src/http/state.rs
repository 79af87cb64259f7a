//! The state of each HTTP surface, built once at start from the configuration and the
//! running parts: ingest (the Box routes), ops (`/readyz`, `/metrics`) and, when admin
//! credentials are configured, admin (its credentials and the admin service).

use std::sync::Arc;

use axum::extract::FromRef;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::admin::{AdminAuth, AdminState};
use super::body;
use crate::admin::AdminService;
use crate::box_api::tokens::BoxAuth;
use crate::box_webhook::verify::Freshness;
use crate::config::Config;
use crate::ingest::BatchWriter;
use crate::instance::Instances;
use crate::metrics::Metrics;
use crate::store::health::StorageHealth;
use crate::store::Store;

/// What the Box-facing routes use: one shared [`IngestParts`], so that handing it to each
/// request (axum's `State` extractor clones it) is one reference count, not one per part
/// (the per-request clones were ~3 % of the relay's CPU under load; BENCHMARKS.md).
#[derive(Clone)]
pub struct IngestState(Arc<IngestParts>);

impl std::ops::Deref for IngestState {
    type Target = IngestParts;

    fn deref(&self) -> &IngestParts {
        &self.0
    }
}

/// The parts of [`IngestState`].
pub struct IngestParts {
    /// Known instances.
    pub instances: Instances,
    /// The group-commit writer.
    pub writer: BatchWriter,
    /// The store (to mark a webhook deleted when Box says so).
    pub store: Store,
    /// Freshness window of Box V2 timestamps.
    pub freshness: Freshness,
    /// Largest accepted body (admin bodies too).
    pub body_limit: usize,
    /// Body bytes in flight across all requests.
    pub bodies: body::BodyBudget,
    /// The envelope's `user`.
    pub sender: Arc<str>,
    /// Cancelled when shutdown starts.
    pub shutdown: CancellationToken,
    /// Counters and histograms for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Re-creates Box webhooks that Box deleted (`box.webhook.recreate`), off the request
    /// path.
    pub service: AdminService,
}

/// What `/readyz` and `/metrics` use.
#[derive(Clone)]
pub struct OpsState {
    /// The store (probed for readiness, read for queue depth).
    pub store: Store,
    /// Whether the store is taking writes.
    pub health: Arc<StorageHealth>,
    /// Counters and histograms.
    pub metrics: Arc<Metrics>,
    /// Cancelled when shutdown starts (not ready any more).
    pub shutdown: CancellationToken,
}

/// Every surface's state; the router hands each handler its own part. axum clones the
/// router's state for every request: one reference count here, not one per part of every
/// surface (the clone and its drop were ~2 % of the relay's CPU at ingest; BENCHMARKS.md).
#[derive(Clone)]
pub struct AppState(Arc<Surfaces>);

impl std::ops::Deref for AppState {
    type Target = Surfaces;

    fn deref(&self) -> &Surfaces {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Surfaces {
    /// The Box-facing routes'.
    pub ingest: IngestState,
    /// The operator endpoints'.
    pub ops: OpsState,
    /// The admin API's; `None` turns the admin API off (its routes do not exist).
    pub admin: Option<AdminState>,
}

impl FromRef<AppState> for IngestState {
    fn from_ref(state: &AppState) -> Self {
        state.ingest.clone()
    }
}

impl FromRef<AppState> for OpsState {
    fn from_ref(state: &AppState) -> Self {
        state.ops.clone()
    }
}

/// The running parts the surfaces share, before they are handed out by surface.
pub struct Parts {
    /// Known instances.
    pub instances: Instances,
    /// The group-commit writer.
    pub writer: BatchWriter,
    /// The store.
    pub store: Store,
    /// Cancelled when shutdown starts.
    pub shutdown: CancellationToken,
    /// Counters and histograms.
    pub metrics: Arc<Metrics>,
    /// Wakes the delivery poller.
    pub wake: Arc<Notify>,
    /// Box tokens of instances, and the Box client.
    pub box_auth: Arc<BoxAuth>,
    /// Whether the store is taking writes.
    pub health: Arc<StorageHealth>,
}

impl AppState {
    /// Each surface's state, from the configuration and the running parts.
    pub fn new(config: &Config, parts: Parts) -> Self {
        let service = AdminService {
            store: parts.store.clone(),
            instances: parts.instances.clone(),
            wake: parts.wake,
            destinations: config.delivery.destination_policy(),
            box_auth: parts.box_auth,
            public_url: config
                .server
                .public_url
                .as_ref()
                .map(|u| Arc::from(u.as_str())),
            metrics: parts.metrics.clone(),
            allow_unknown_triggers: config.box_.allow_unknown_triggers,
        };
        let b = &config.box_;
        AppState(Arc::new(Surfaces {
            ingest: IngestState(Arc::new(IngestParts {
                instances: parts.instances,
                writer: parts.writer,
                store: parts.store.clone(),
                freshness: Freshness {
                    max_age: chrono::Duration::seconds(b.max_age_secs.get() as i64),
                    max_future_skew: chrono::Duration::seconds(b.max_future_skew_secs as i64),
                },
                body_limit: config.server.body_limit_bytes.get(),
                bodies: body::BodyBudget::new(config.server.body_budget_bytes),
                sender: Arc::from(config.events.sender.as_str()),
                shutdown: parts.shutdown.clone(),
                metrics: parts.metrics.clone(),
                service: service.clone(),
            })),
            ops: OpsState {
                store: parts.store,
                health: parts.health,
                metrics: parts.metrics,
                shutdown: parts.shutdown,
            },
            admin: AdminAuth::from_config(&config.admin).map(|auth| AdminState {
                auth: Arc::new(auth),
                service,
                authorize_url: Arc::new(config.box_.authorize_url.clone()),
            }),
        }))
    }
}
