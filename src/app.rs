//! Wiring: [`Application::build`] opens the store, binds the listener and starts nothing yet;
//! [`Application::run_until_stopped`] runs the server, the writer and the delivery workers
//! until the shutdown token fires, then drains in order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::box_api::client::BoxClient;
use crate::box_api::tokens::BoxAuth;
use crate::config::Config;
use crate::delivery::client::CallbackClient;
use crate::delivery::recorder::Recorder;
use crate::delivery::retry::RetryPolicy;
use crate::delivery::worker::{dispatch, poll, DeliveryContext, Limits};
use crate::delivery::Intake;
use crate::http::serve::{default_cap, ConnectionLimits};
use crate::http::{router, AppState, Parts};
use crate::ingest::BatchWriter;
use crate::instance::registry::keep_fresh;
use crate::instance::{Instance, Instances};
use crate::metrics::Metrics;
use crate::secret::Cipher;
use crate::store::health::StorageHealth;
use crate::store::secrets::{resolve_key, KeySource};
use crate::store::{Store, StoreError};

/// Events held in memory (queued or in flight) at most; the rest wait in the store.
const MAX_HELD: usize = 4096;

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listener could not be bound. The cause is part of the message, not a `source`:
    /// `main` prints the whole chain, which would say it twice.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The configured address.
        addr: String,
        /// Why.
        reason: std::io::Error,
    },
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// An instance id is both in the config file and in the store.
    #[error(
        "instance id(s) {0:?} are defined in the configuration file and were also created \
         through the admin API; give the file's instances other ids"
    )]
    InstanceConflict(Vec<i64>),
    /// No usable key for the secrets the store keeps.
    #[error("{0}")]
    SecretsKey(String),
}

/// The server's connection limits. Without `server.max_connections`, the cap is the
/// open-file limit (its soft limit raised to the hard limit first) less what deliveries, the
/// store and logs need.
fn connection_limits(config: &Config) -> ConnectionLimits {
    let open_files = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            1024
        }
    };
    let max_connections = match config.server.max_connections {
        0 => default_cap(open_files, config.delivery.concurrency.get() as u64 + 64),
        n => n,
    };
    ConnectionLimits {
        head_timeout: config.server.request_timeout(),
        idle_timeout: config.server.idle_timeout(),
        max_connections,
    }
}

/// How often each replica checks the store for instances changed elsewhere.
const INSTANCE_REFRESH: Duration = Duration::from_secs(1);

/// A relay ready to run.
pub struct Application {
    listener: TcpListener,
    config: Config,
    instances: Instances,
    store: Store,
    key: Cipher,
}

impl Application {
    /// Opens the store (running migrations), loads the instances created through the admin
    /// API beside the config file's, and binds `server.listen`.
    pub async fn build(config: Config, instances: Vec<Instance>) -> Result<Self, StartError> {
        let url = config.storage.url.expose();
        let (key, source) =
            resolve_key(url, config.secrets_key(), true).map_err(StartError::SecretsKey)?;
        match &source {
            KeySource::Configured => {}
            KeySource::Generated(path) => tracing::warn!(
                path = %path.display(),
                "no secrets.encryption_key is configured: generated one in this file (mode \
                 0600); back it up with the database, the stored secrets cannot be read without it"
            ),
            KeySource::KeyFile(path) => tracing::info!(
                path = %path.display(),
                "secrets are encrypted with the key in this file"
            ),
        }
        let store = Store::open_with_key(url, key.clone()).await?;
        let sealed = store.seal_clear_secrets().await?;
        if sealed.instances > 0 {
            tracing::info!(
                instances = sealed.instances,
                "sealed instance secrets stored in clear by an earlier version"
            );
        }
        let instances = Instances::new(instances);
        let conflicts = instances.conflicts(&store).await?;
        if !conflicts.is_empty() {
            return Err(StartError::InstanceConflict(conflicts));
        }
        instances.refresh(&store, true).await?;
        crate::telemetry::log_start(&config, &instances.all());
        let listener = TcpListener::bind(config.server.listen)
            .await
            .map_err(|reason| StartError::Bind {
                addr: config.server.listen.to_string(),
                reason,
            })?;
        Ok(Self {
            listener,
            config,
            instances,
            store,
            key,
        })
    }

    /// The bound address (port 0 in the config becomes a real port here).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The store this relay uses (tests inspect it through this handle).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Serves until `shutdown` is cancelled, then drains in order (see [`Running::drain`]).
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), StartError> {
        let grace = self.config.server.shutdown_grace();
        let running = self.start(&shutdown)?;
        running.drain(&shutdown, grace).await;
        Ok(())
    }

    /// Starts every stage: delivery first (so that the writer has somewhere to hand events),
    /// then the group-commit writer, then the server in front of them.
    fn start(self, shutdown: &CancellationToken) -> Result<Running, StartError> {
        let Self {
            listener,
            config,
            instances,
            store,
            key,
        } = self;
        let wake = Arc::new(Notify::new());
        let metrics = Arc::new(Metrics::new());
        let health = Arc::new(StorageHealth::default());
        let delivery = Delivery::start(&config, &store, &instances, &wake, &metrics, &health)?;
        let (writer, writer_task) = BatchWriter::spawn(
            store.clone(),
            delivery.intake.clone(),
            metrics.clone(),
            health.clone(),
        );
        let box_auth = Arc::new(BoxAuth::new(
            store.clone(),
            BoxClient::new(config.box_.api_url.as_str(), config.box_.oauth_url.as_str())?,
            Some(key),
        ));
        let state = AppState::new(
            &config,
            Parts {
                instances,
                writer,
                store: store.clone(),
                shutdown: shutdown.clone(),
                metrics,
                wake,
                box_auth,
                health,
            },
        );
        let pages = crate::console::routes(&config, state.admin.clone());
        let app = router(state, config.server.request_timeout(), pages);
        let limits = connection_limits(&config);
        tracing::info!(
            addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            max_connections = limits.max_connections,
            "relay listening"
        );
        let server = tokio::spawn(crate::http::serve::serve(
            listener,
            app,
            limits,
            shutdown.clone(),
        ));
        Ok(Running {
            server,
            writer: writer_task,
            delivery,
            store,
        })
    }
}

/// The stages of a running relay, each upstream of the next: server → writer → delivery →
/// recorder → store.
struct Running {
    server: JoinHandle<()>,
    writer: JoinHandle<()>,
    delivery: Delivery,
    store: Store,
}

impl Running {
    /// Once `shutdown` fires, stops each stage after the one feeding it, so that what was
    /// accepted is committed and what was committed is delivered or left pending:
    /// 1. the server stops accepting and finishes the requests in progress (within `grace`);
    /// 2. with the router gone, the writer commits what it holds and ends;
    /// 3. the poller and registry refresher stop; attempts in flight finish (within `grace`);
    /// 4. with the dispatcher gone, the recorder commits the last outcomes;
    /// 5. this process's leases are released and the store is closed.
    async fn drain(self, shutdown: &CancellationToken, grace: Duration) {
        let Running {
            mut server,
            writer,
            delivery,
            store,
        } = self;
        tokio::select! {
            _ = &mut server => {}
            _ = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!("shutdown: requests still open after the grace period");
                server.abort();
                let _ = server.await;
            }
        }
        let _ = tokio::time::timeout(grace, writer).await;
        let owner = delivery.stop(grace).await;
        match store.release_all(&owner).await {
            Ok(n) if n > 0 => tracing::info!(released = n, "released leases"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not release leases"),
        }
        store.close().await;
        tracing::info!("shutdown complete");
    }
}

/// The delivery stage: the dispatcher and its workers, the poller, the outcome recorder and
/// the instance registry's refresher. It stops on its own token, after the writer is done.
struct Delivery {
    intake: Intake,
    stop: CancellationToken,
    dispatcher: JoinHandle<()>,
    poller: JoinHandle<()>,
    refresher: JoinHandle<()>,
    recorder: JoinHandle<()>,
}

impl Delivery {
    fn start(
        config: &Config,
        store: &Store,
        instances: &Instances,
        wake: &Arc<Notify>,
        metrics: &Arc<Metrics>,
        health: &Arc<StorageHealth>,
    ) -> Result<Self, StartError> {
        let d = &config.delivery;
        let lease_ms = 2 * d.timeout_ms.get() as i64;
        // Per instance: enough to keep its workers busy, far below the whole budget.
        let per_instance_held = (d.per_instance_concurrency.get() * 32).min(MAX_HELD);
        let (intake, jobs) = Intake::new(MAX_HELD, per_instance_held, lease_ms);
        let intake = intake.holding_back_suspended(instances.clone());
        let (recorder, recorder_task) = Recorder::spawn(
            store.clone(),
            instances.clone(),
            wake.clone(),
            metrics.clone(),
            health.clone(),
        );
        let ctx = Arc::new(DeliveryContext {
            store: store.clone(),
            instances: instances.clone(),
            client: CallbackClient::new(d.timeout(), d.destination_policy(), d.proxy_url.as_ref())?,
            policy: RetryPolicy::from(d),
            recorder,
            metrics: metrics.clone(),
            failure_policy: d.failure_policy,
        });
        let limits = Limits {
            concurrency: d.concurrency.get(),
            per_instance: d.per_instance_concurrency.get(),
            min_lease_left_ms: d.timeout_ms.get() as i64,
        };
        let stop = CancellationToken::new();
        let retention = config.storage.retention();
        Ok(Self {
            dispatcher: tokio::spawn(dispatch(ctx, jobs, limits, stop.clone())),
            poller: tokio::spawn(poll(
                store.clone(),
                intake.clone(),
                wake.clone(),
                d.poll_interval(),
                retention,
                metrics.clone(),
                stop.clone(),
            )),
            refresher: tokio::spawn(keep_fresh(
                instances.clone(),
                store.clone(),
                INSTANCE_REFRESH,
                stop.clone(),
            )),
            recorder: recorder_task,
            intake,
            stop,
        })
    }

    /// Stops claiming, lets attempts in flight finish within `grace` (then aborts them: their
    /// events stay leased until released), records the last outcomes; returns the lease
    /// owner whose leases the caller releases.
    async fn stop(self, grace: Duration) -> String {
        let Self {
            intake,
            stop,
            mut dispatcher,
            poller,
            refresher,
            recorder,
        } = self;
        stop.cancel();
        let _ = poller.await;
        let _ = refresher.await;
        if tokio::time::timeout(grace, &mut dispatcher).await.is_err() {
            tracing::warn!("shutdown: deliveries still in flight after the grace period");
            dispatcher.abort();
            let _ = dispatcher.await;
        }
        // The dispatcher (and its recorder handle) is gone: record the last outcomes.
        if tokio::time::timeout(grace, recorder).await.is_err() {
            tracing::warn!("shutdown: could not record every outcome; those events stay leased");
        }
        intake.owner().to_string()
    }
}
