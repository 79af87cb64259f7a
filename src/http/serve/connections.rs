//! Open connections: each one's state (requests in progress, last activity), a watchdog that
//! closes it when it has been silent too long, and the table that caps how many are open,
//! making room for a new client by closing the one idle the longest.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// One connection's state, shared by its requests and its watchdog.
pub struct Connection {
    id: u64,
    opened: Instant,
    /// Requests whose answer is not yet fully written.
    active: AtomicUsize,
    /// Milliseconds since `opened` when the last request ended.
    last_ms: AtomicU64,
    /// Whether a request head has ever been read on this connection.
    served: AtomicBool,
    /// Cancelled to close the connection (evicted, or silent too long).
    pub close: CancellationToken,
}

/// Held while a request is in progress; dropping it (when the answer's body is done or
/// abandoned) marks the connection idle again.
pub struct InProgress(Arc<Connection>);

impl Drop for InProgress {
    fn drop(&mut self) {
        let c = &self.0;
        c.last_ms
            .store(c.opened.elapsed().as_millis() as u64, Ordering::Relaxed);
        c.active.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Connection {
    /// A request head was read: the connection is busy until the guard drops.
    pub fn begin(self: &Arc<Self>) -> InProgress {
        self.served.store(true, Ordering::Relaxed);
        self.active.fetch_add(1, Ordering::AcqRel);
        InProgress(self.clone())
    }

    fn idle(&self) -> bool {
        self.active.load(Ordering::Acquire) == 0
    }

    /// Returns when the connection has been idle for too long: `first` before any request
    /// head arrived (whatever the protocol, before it is even detected), `idle` after.
    pub async fn silent_for_too_long(&self, first: Duration, idle: Duration) {
        loop {
            let limit = if self.served.load(Ordering::Relaxed) {
                idle
            } else {
                first
            };
            let since = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = self.opened + since + limit;
            if self.idle() && Instant::now() >= deadline {
                return;
            }
            // Busy: look again once a whole limit has passed (a request ending resets `last`).
            let wake = if self.idle() {
                deadline
            } else {
                Instant::now() + limit
            };
            tokio::time::sleep_until(wake).await;
        }
    }
}

/// The open connections, capped.
pub struct Connections {
    cap: usize,
    next_id: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Connection>>>,
    closed: Notify,
}

/// Removes a connection from the table when its task ends.
pub struct Registered {
    table: Arc<Connections>,
    /// The connection's state.
    pub connection: Arc<Connection>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.table
            .open
            .lock()
            .expect("connection table")
            .remove(&self.connection.id);
        self.table.closed.notify_one();
    }
}

impl Connections {
    /// A table of at most `cap` connections.
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            next_id: AtomicU64::new(0),
            open: Mutex::new(BTreeMap::new()),
            closed: Notify::new(),
        })
    }

    /// How many are open.
    pub fn len(&self) -> usize {
        self.open.lock().expect("connection table").len()
    }

    /// True when none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes room for one more: when full, closes the connection idle the longest (the
    /// oldest without a request in progress); when every one is busy, waits for one to end.
    pub async fn make_room(&self) {
        loop {
            let closed = self.closed.notified();
            {
                let open = self.open.lock().expect("connection table");
                if open.len() < self.cap {
                    return;
                }
                // Oldest first: BTreeMap iterates by id, ids grow with time.
                if let Some(victim) = open.values().find(|c| c.idle() && !c.close.is_cancelled()) {
                    tracing::debug!(
                        connection = victim.id,
                        "connection limit reached: closing the oldest idle connection"
                    );
                    victim.close.cancel();
                }
            }
            // Evicted connections end (and leave the table) promptly; busy ones end when
            // their requests do, bounded by the request timeout.
            closed.await;
        }
    }

    /// Registers a new connection.
    pub fn register(self: &Arc<Self>) -> Registered {
        let connection = Arc::new(Connection {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            opened: Instant::now(),
            active: AtomicUsize::new(0),
            last_ms: AtomicU64::new(0),
            served: AtomicBool::new(false),
            close: CancellationToken::new(),
        });
        self.open
            .lock()
            .expect("connection table")
            .insert(connection.id, connection.clone());
        Registered {
            table: self.clone(),
            connection,
        }
    }
}

/// The default cap on open connections: the open-file limit less what the relay needs for
/// everything else (store, callbacks, logs), at least 16.
pub fn default_cap(open_file_limit: u64, reserved: u64) -> usize {
    open_file_limit.saturating_sub(reserved).max(16) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_never_sends_a_head_is_closed_after_the_first_limit() {
        let table = Connections::new(4);
        let reg = table.register();
        let started = Instant::now();
        reg.connection
            .silent_for_too_long(Duration::from_secs(2), Duration::from_secs(60))
            .await;
        assert!(started.elapsed() >= Duration::from_secs(2));
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_is_not_closed_and_then_idles_out() {
        let table = Connections::new(4);
        let reg = table.register();
        let c = reg.connection.clone();
        let guard = c.begin();
        let watch = tokio::spawn(async move {
            c.silent_for_too_long(Duration::from_secs(2), Duration::from_secs(5))
                .await
        });
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!watch.is_finished(), "busy for 10 s and still open");
        let released = Instant::now();
        drop(guard);
        watch.await.unwrap();
        assert!(released.elapsed() >= Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_full_table_closes_its_oldest_idle_connection() {
        let table = Connections::new(2);
        let a = table.register();
        let b = table.register();
        let _busy = a.connection.begin();
        let table2 = table.clone();
        let room = tokio::spawn(async move { table2.make_room().await });
        // `a` is older but busy: `b` is the one closed.
        tokio::time::timeout(Duration::from_secs(5), b.connection.close.cancelled())
            .await
            .expect("the idle connection is asked to close");
        assert!(!a.connection.close.is_cancelled());
        drop(b);
        room.await.unwrap();
        assert_eq!(table.len(), 1);
    }
}
