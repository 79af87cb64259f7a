//! `webhook-relay events list|show|redeliver`: the event log and replays, read from and
//! written to the configured store directly, for an operator on the box. Safe beside a
//! running relay: a replayed event is picked up by the relay's poller within
//! `delivery.poll_interval_ms`. Output is the admin API's JSON.

use clap::Subcommand;
use serde_json::{json, Value};

use crate::event::log::{detail_json, parse_status_filter, summary_json};
use crate::store::records::Replay;
use crate::store::{now_ms, Status, Store};

/// The `events` subcommands.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// An instance's events, newest first.
    List {
        /// Instance id.
        #[arg(long)]
        instance: i64,
        /// pending, delivering, delivered, failed (or RECEIVED, DISPATCHED, NOTIFIED).
        #[arg(long)]
        status: Option<String>,
        /// Most events to print.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print events older than this cursor (printed by the previous page).
        #[arg(long)]
        cursor: Option<i64>,
    },
    /// One event with every delivery attempt and its body.
    Show {
        /// The eventId.
        event_id: String,
    },
    /// Queue one event, or every failed (or delivered) event of an instance, for delivery.
    Redeliver {
        /// The eventId (or give --instance).
        #[arg(required_unless_present = "instance", conflicts_with = "instance")]
        event_id: Option<String>,
        /// Replay every event of this instance in --status.
        #[arg(long)]
        instance: Option<i64>,
        /// failed (default) or delivered, with --instance.
        #[arg(long, default_value = "failed", requires = "instance")]
        status: String,
    },
}

/// What went wrong, for the command line.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// A flag has a value the command cannot use.
    #[error("{0}")]
    Usage(String),
    /// No such event.
    #[error("no event {0}")]
    NotFound(String),
    /// A worker is delivering the event right now.
    #[error("event {0} is being delivered right now; try again when it is done")]
    InFlight(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Runs one subcommand; returns the JSON to print and, for `list`, the next page's cursor.
pub async fn run(
    store: &dyn Store,
    command: EventsCommand,
) -> Result<(Value, Option<i64>), EventsError> {
    match command {
        EventsCommand::List {
            instance,
            status,
            limit,
            cursor,
        } => {
            let statuses = match status {
                None => Vec::new(),
                Some(s) => parse_status_filter(&s)
                    .ok_or_else(|| EventsError::Usage(format!("unknown status {s:?}")))?,
            };
            if limit == 0 {
                return Err(EventsError::Usage("--limit must be positive".into()));
            }
            let mut events = store
                .list_events(instance, &statuses, cursor, limit + 1)
                .await?;
            let next = (events.len() > limit as usize).then(|| {
                events.truncate(limit as usize);
                events.last().map(|e| e.seq)
            });
            Ok((events.iter().map(summary_json).collect(), next.flatten()))
        }
        EventsCommand::Show { event_id } => {
            let detail = store
                .event_detail(&event_id)
                .await?
                .ok_or(EventsError::NotFound(event_id))?;
            Ok((detail_json(&detail), None))
        }
        EventsCommand::Redeliver {
            event_id: Some(event_id),
            ..
        } => match store.replay(&event_id, now_ms()).await? {
            Replay::Queued => Ok((json!({ "status": "queued", "eventId": event_id }), None)),
            Replay::NotFound => Err(EventsError::NotFound(event_id)),
            Replay::InFlight => Err(EventsError::InFlight(event_id)),
        },
        EventsCommand::Redeliver {
            instance, status, ..
        } => {
            let instance = instance
                .ok_or_else(|| EventsError::Usage("give an eventId or --instance".into()))?;
            let status = match status.to_ascii_lowercase().as_str() {
                "failed" => Status::Failed,
                "delivered" | "notified" => Status::Delivered,
                _ => return Err(EventsError::Usage("--status is failed or delivered".into())),
            };
            let n = store.replay_all(instance, status, now_ms()).await?;
            Ok((json!({ "redelivered": n, "status": status.as_str() }), None))
        }
    }
}
