//! Stage four: delivery. Committed events reach the [`worker`] either straight from the
//! group-commit writer (in memory, already leased) or from the poller (due retries, events
//! left by a dead process), through the [`intake`]'s memory budget. The [`client`] POSTs them;
//! the [`retry`] policy decides what next; the [`recorder`] commits each outcome.
//!
//! An event's life in the store, and who moves each edge:
//!
//! ```text
//!            writer: stored already leased, when the intake has a slot
//!        ┌──────────────────────────────────────────────────────┐
//!        │                                                      ▼
//!  Box ──┴─writer──▶ pending ──poller: claim_due──▶ delivering (lease) ──recorder: 2xx──▶ delivered
//!                   ▲ ▲ ▲                            │ ↻ poller: lease expired         │
//!                   │ │ └──recorder: retry at t──────┤                                 │
//!                   │ └──release_all, SQLite open────┴──recorder: gave up──▶ failed    │
//!                   └──────────admin replay (delivered, failed or pending)◀────────────┘
//! ```
//!
//! - **pending → delivering**: the group-commit writer stores a new event already leased to
//!   this process when the intake has room; otherwise the poller's `claim_due` leases it once
//!   `next_attempt_at` is due.
//! - **delivering → delivering**: the poller of any replica takes an event whose lease
//!   expired (its holder died or stalled) under a lease of its own.
//! - **delivering → delivered / failed / pending**: the recorder writes the attempt's
//!   outcome — only while the attempt's lease still holds (a stale holder's write is dropped
//!   and counted); `pending` carries the retry time.
//! - **delivering → pending**: `release_all` at shutdown, and opening a SQLite store (one
//!   relay per file, so its leases are from a dead run).
//! - **delivered / failed / pending → pending**: an operator's replay, due at once.
//!
//! Under the `queue` failure policy ([`suspension`]), an event that ends `failed` suspends
//! its instance: its pending events stay pending (the claim steps over them, and a worker
//! handed one hands its lease back) until an operator resumes it.

pub mod client;
pub mod intake;
pub mod recorder;
pub mod retry;
pub mod suspension;
pub mod worker;

use std::sync::Arc;

use bytes::Bytes;

pub use intake::{Intake, Slot};

/// One event to attempt, with its room in memory: dropping the job frees it.
#[derive(Debug)]
pub struct Job {
    /// `eventId`.
    pub event_id: String,
    /// Owning instance.
    pub instance_id: i64,
    /// Stored body bytes.
    pub body: Bytes,
    /// Attempts already made.
    pub attempts: u32,
    /// When this process's lease on the event ends (unix ms). A job whose lease is nearly
    /// over is not started: the event is claimed again from the store instead, so no other
    /// replica can be delivering it at the same time.
    pub lease_until_ms: i64,
    /// Who holds that lease (this process); the outcome is written only while it still does.
    pub lease_owner: Arc<str>,
    /// Its room in the intake's budgets.
    pub slot: Slot,
}
