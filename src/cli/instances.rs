//! `webhook-relay instances resume <ID>`: lifts the suspension of an instance under the
//! `queue` failure policy, in the configured store directly (as `events` does). Safe beside
//! a running relay: it sees the change within a second and delivers the held events, oldest
//! first, within `delivery.poll_interval_ms`.

use clap::Subcommand;
use serde_json::{json, Value};

use super::events::{EventsError, Scope};
use crate::delivery::suspension;

/// The `instances` subcommands.
#[derive(Debug, Subcommand)]
pub enum InstancesCommand {
    /// Resume a suspended instance: its held events are delivered, oldest first (the event
    /// that failed stays failed until redelivered). Not suspended: nothing changes.
    Resume {
        /// Instance id.
        id: i64,
    },
}

/// Runs one subcommand; returns the JSON to print.
pub async fn run(scope: &Scope<'_>, command: InstancesCommand) -> Result<Value, EventsError> {
    match command {
        InstancesCommand::Resume { id } => {
            let id = scope.known_instance(id).await?;
            let resumed = suspension::resume(scope.store, None, id, "command line").await?;
            Ok(json!({ "id": id, "suspended": false, "resumed": resumed }))
        }
    }
}
