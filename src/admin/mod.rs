//! What the admin surfaces do, apart from how they are asked: instances ([`instances`]), the
//! event log and replays ([`events`]), analytics ([`analytics`]), resuming suspended
//! instances ([`suspension`]), and an instance's Box webhooks ([`webhooks`], whose request
//! is [`hook_request`]). Each
//! change is carried through here in order: write the store → reload this replica's instance
//! registry → wake delivery. The HTTP admin API (`http::admin`) reads a request into typed
//! input, calls [`AdminService`] and renders its answer; the operator console will call the
//! same service.

pub mod analytics;
pub mod configuration;
pub mod events;
pub mod hook_request;
pub mod instances;
pub mod lifecycle;
pub mod suspension;
pub mod webhooks;

use std::sync::Arc;

use tokio::sync::Notify;

use crate::box_api::client::BoxError;
use crate::box_api::tokens::{BoxAuth, TokenError};
use crate::destination::DestinationPolicy;
use crate::instance::Instances;
use crate::invalid::InvalidValue;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Why an admin operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A given value cannot be used; nothing changed.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No such instance, event or webhook (or one the caller may not see).
    #[error("{0}")]
    NotFound(&'static str),
    /// The operation conflicts with the resource's state (`read_only`, `in_flight`,
    /// `not_configured`, `not_authorized`).
    #[error("{detail}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
    /// The store failed (already logged and counted); retry.
    #[error("storage is unavailable")]
    Unavailable,
    /// Box refused or failed a call made for the operation.
    #[error(transparent)]
    Box(#[from] BoxError),
}

impl From<TokenError> for AdminError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Box(b) => AdminError::Box(b),
            TokenError::Store(s) => {
                tracing::error!(error = %s, "Box tokens: storage failed");
                AdminError::Unavailable
            }
            TokenError::NoKey => AdminError::Conflict {
                code: "not_configured",
                detail: e.to_string(),
            },
            TokenError::NotAuthorized | TokenError::Unreadable => AdminError::Conflict {
                code: "not_authorized",
                detail: e.to_string(),
            },
            TokenError::Busy => AdminError::Box(BoxError::Unreachable(e.to_string())),
        }
    }
}

/// An operation's result.
pub type AdminResult<T> = Result<T, AdminError>;

/// The admin operations over the relay's parts. Cheap to clone.
#[derive(Clone)]
pub struct AdminService {
    /// The store.
    pub store: Store,
    /// This replica's instance registry, reloaded after each change.
    pub instances: Instances,
    /// Wakes the delivery poller (after a replay).
    pub wake: Arc<Notify>,
    /// Which callbacks are accepted (`delivery.allow_private_destinations`, …).
    pub destinations: DestinationPolicy,
    /// Box tokens of instances, and the Box client.
    pub box_auth: Arc<BoxAuth>,
    /// `server.public_url`, when set: where Box webhooks created through the relay point.
    pub public_url: Option<Arc<str>>,
    /// Counts storage failures (`relay_store_errors_total{op="admin"}`) and Box webhook
    /// re-creations.
    pub metrics: Arc<Metrics>,
    /// `box.allow_unknown_triggers`: send Box trigger names missing from the relay's list.
    pub allow_unknown_triggers: bool,
}

impl AdminService {
    /// A store failure: logged, counted, answered as [`AdminError::Unavailable`].
    fn unavailable(&self, e: StoreError) -> AdminError {
        tracing::error!(error = %e, "admin request: storage failed");
        self.metrics.store_error("admin");
        AdminError::Unavailable
    }

    /// Reloads this replica's registry after a write (others pick it up within a second).
    async fn reload(&self) {
        if let Err(e) = self.instances.refresh(&self.store, true).await {
            tracing::warn!(error = %e, "could not reload instances after a change");
        }
    }
}
