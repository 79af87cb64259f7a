//! The instances the relay serves: the config file's, fixed at start-up, and the store's,
//! created through the admin API. Ingest and delivery read one shared snapshot; a write
//! through the API replaces it at once on this replica, and [`keep_fresh`] picks up writes
//! made on other replicas (one one-row read per interval while nothing changes). Which
//! instances are suspended (the `queue` failure policy) is read with them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Instance;
use crate::store::{Store, StoreError};

type Snapshot = Arc<HashMap<i64, Arc<Instance>>>;

struct Inner {
    from_config: Vec<Arc<Instance>>,
    current: RwLock<Snapshot>,
    /// Store revision the snapshot reflects; -1 before the first load.
    revision: AtomicI64,
}

/// Every instance by id, shared by ingest, delivery and the admin API; cheap to clone.
#[derive(Clone)]
pub struct Instances(Arc<Inner>);

impl std::fmt::Debug for Instances {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instances")
            .field("count", &self.snapshot().len())
            .finish()
    }
}

impl Instances {
    /// The config file's instances; the store's are added by [`Instances::refresh`].
    pub fn new(from_config: Vec<Instance>) -> Self {
        let from_config: Vec<Arc<Instance>> = from_config.into_iter().map(Arc::new).collect();
        let map = from_config.iter().map(|i| (i.id, i.clone())).collect();
        Self(Arc::new(Inner {
            from_config,
            current: RwLock::new(Arc::new(map)),
            revision: AtomicI64::new(-1),
        }))
    }

    fn snapshot(&self) -> Snapshot {
        self.0
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The instance with this id.
    pub fn get(&self, id: i64) -> Option<Arc<Instance>> {
        self.snapshot().get(&id).cloned()
    }

    /// Every instance, by id.
    pub fn all(&self) -> Vec<Arc<Instance>> {
        let mut list: Vec<_> = self.snapshot().values().cloned().collect();
        list.sort_by_key(|i| i.id);
        list
    }

    /// The largest id of the config file (new API instances get larger ones), 0 if none.
    pub fn config_max_id(&self) -> i64 {
        self.0.from_config.iter().map(|i| i.id).max().unwrap_or(0)
    }

    /// Reloads the store's instances if they changed since the last load (or `force`).
    /// A stored instance whose id is also in the config file is left out (the file wins;
    /// start-up refuses that state, see [`Instances::conflicts`]).
    pub async fn refresh(&self, store: &Store, force: bool) -> Result<(), StoreError> {
        let revision = store.instances_revision().await?;
        if !force && revision == self.0.revision.load(Ordering::Acquire) {
            return Ok(());
        }
        let stored = store.list_instances().await?;
        let suspended: HashSet<i64> = store
            .suspensions()
            .await?
            .into_iter()
            .map(|s| s.instance_id)
            .collect();
        let mut map: HashMap<i64, Arc<Instance>> = self
            .0
            .from_config
            .iter()
            .map(|i| (i.id, i.clone()))
            .collect();
        for s in &stored {
            if map.contains_key(&s.id) {
                tracing::warn!(
                    instance_id = s.id,
                    "stored instance shadowed by the config file"
                );
                continue;
            }
            match Instance::from_stored(s) {
                Ok(instance) => {
                    map.insert(s.id, Arc::new(instance));
                }
                Err(invalid) => {
                    tracing::error!(
                        instance_id = s.id,
                        key = invalid.key,
                        reason = invalid.reason,
                        "stored instance is invalid"
                    )
                }
            }
        }
        for instance in map.values_mut() {
            if suspended.contains(&instance.id) {
                Arc::make_mut(instance).suspended = true;
            }
        }
        *self
            .0
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(map);
        self.0.revision.store(revision, Ordering::Release);
        Ok(())
    }

    /// Ids defined both in the config file and in the store.
    pub async fn conflicts(&self, store: &Store) -> Result<Vec<i64>, StoreError> {
        let stored = store.list_instances().await?;
        Ok(stored
            .iter()
            .filter(|s| self.0.from_config.iter().any(|c| c.id == s.id))
            .map(|s| s.id)
            .collect())
    }
}

/// Refreshes `instances` from the store every `every` until `shutdown`.
pub async fn keep_fresh(
    instances: Instances,
    store: Store,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        if let Err(e) = instances.refresh(&store, false).await {
            tracing::warn!(error = %e, "could not refresh instances");
        }
    }
}
