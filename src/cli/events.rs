//! `webhook-relay events list|show|redeliver`: the event log and replays, read from and
//! written to the configured store directly, for an operator on the box. Safe beside a
//! running relay: a replayed event is picked up by the relay's poller within
//! `delivery.poll_interval_ms`. Output is the admin API's JSON; an instance or event the
//! admin API would answer 404 for is an error here too, naming the store looked in.

use std::path::Path;

use clap::Subcommand;
use serde_json::{json, Value};

use crate::clock::now_ms;
use crate::config::Config;
use crate::event::log::{detail_json, parse_status_filter, summary_json};
use crate::store::records::Replay;
use crate::store::{Status, Store};

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
    #[command(
        override_usage = "webhook-relay events redeliver [OPTIONS] <EVENT_ID>\n       \
                          webhook-relay events redeliver [OPTIONS] --instance <ID> \
                          [--status failed|delivered]",
        group = clap::ArgGroup::new("target").required(true).args(["event_id", "instance"]),
    )]
    Redeliver {
        /// The eventId of one event to queue again.
        event_id: Option<String>,
        /// Or: queue again every event of this instance in --status.
        #[arg(long, value_name = "ID")]
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
    /// No such event in the store.
    #[error("no event {0} in the store {1}")]
    NotFound(String, String),
    /// Neither the configuration file nor the store has this instance.
    #[error("no instance {0}: not in the configuration, nor in the store {1}")]
    UnknownInstance(i64, String),
    /// A worker is delivering the event right now.
    #[error("event {0} is being delivered right now; try again when it is done")]
    InFlight(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What the command reads: the store (opened as a tool), the configuration file's
/// instances, and how to name the store in messages.
pub struct Scope<'a> {
    /// The store.
    pub store: &'a Store,
    /// The ids of the configuration file's instances.
    pub file_instances: &'a [i64],
    /// The store as an operator knows it ([`store_label`]).
    pub label: &'a str,
}

impl Scope<'_> {
    /// `id`, if the configuration or the store has that instance (the admin API's 404).
    pub(crate) async fn known_instance(&self, id: i64) -> Result<i64, EventsError> {
        if self.file_instances.contains(&id) || self.store.instance_exists(id).await? {
            Ok(id)
        } else {
            Err(EventsError::UnknownInstance(id, self.label.to_string()))
        }
    }
}

/// The configured store for messages: its URL with any password masked and, when no
/// configuration file was read, a note that this is the built-in default.
pub fn store_label(config: &Config, config_file: Option<&Path>) -> String {
    let redacted = config.redacted();
    let url = redacted["storage"]["url"].as_str().unwrap_or("(unknown)");
    match config_file {
        Some(path) => format!("{url} (from {})", path.display()),
        None => format!(
            "{url} (the default: no --config, $RELAY_CONFIG or config/default.toml was found)"
        ),
    }
}

/// Runs one subcommand; returns the JSON to print and, for `list`, the next page's cursor.
pub async fn run(
    scope: &Scope<'_>,
    command: EventsCommand,
) -> Result<(Value, Option<i64>), EventsError> {
    let store = scope.store;
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
            let instance = scope.known_instance(instance).await?;
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
                .ok_or_else(|| EventsError::NotFound(event_id, scope.label.into()))?;
            Ok((detail_json(&detail), None))
        }
        EventsCommand::Redeliver {
            event_id: Some(event_id),
            ..
        } => match store.replay(&event_id, now_ms()).await? {
            Replay::Queued => Ok((json!({ "status": "queued", "eventId": event_id }), None)),
            Replay::NotFound => Err(EventsError::NotFound(event_id, scope.label.into())),
            Replay::InFlight => Err(EventsError::InFlight(event_id)),
        },
        EventsCommand::Redeliver {
            instance, status, ..
        } => {
            let instance = instance.ok_or_else(|| {
                EventsError::Usage(
                    "give an eventId (events redeliver <EVENT_ID>) or an instance \
                     (events redeliver --instance <ID>)"
                        .into(),
                )
            })?;
            let status = match status.to_ascii_lowercase().as_str() {
                "failed" => Status::Failed,
                "delivered" | "notified" => Status::Delivered,
                _ => return Err(EventsError::Usage("--status is failed or delivered".into())),
            };
            let instance = scope.known_instance(instance).await?;
            let n = store.replay_all(instance, status, now_ms()).await?;
            Ok((json!({ "redelivered": n, "status": status.as_str() }), None))
        }
    }
}
