//! Logging: `tracing` to stdout, text or JSON (`[log]`), filter from `RUST_LOG` or
//! `log.level`, without colours unless stdout is a terminal; and the start-up summary.

use tracing_subscriber::EnvFilter;

use std::io::IsTerminal;

use crate::config::{Config, LogConfig, LogFormat};
use crate::instance::{Instance, Origin};
use crate::store::StoreUrl;

/// Installs the global subscriber (once per process; later calls are ignored).
pub fn init(log: &LogConfig) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.level));
    // Colours only for a person at a terminal, never in a file or a log collector.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = if log.format == LogFormat::Json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// The start-up summary an operator reads first: the store (engine and where, never a
/// password), the instances from the file and from the store, the admin API, the public URL;
/// and, with no instance at all, that every webhook will be answered 404 and how to add one.
pub fn log_start(config: &Config, instances: &[std::sync::Arc<Instance>]) {
    let (engine, location) = store_location(config.storage.url.engine());
    let from_file = instances
        .iter()
        .filter(|i| i.origin == Origin::Config)
        .count();
    let from_store = instances.len() - from_file;
    let admin = !config.admin.user_secret.is_empty();
    let public_url = match &config.server.public_url {
        None => "(not set: Box webhooks cannot be created through the relay)",
        Some(url) => url.as_str(),
    };
    tracing::info!(engine, location = %location, "store");
    tracing::info!(
        from_file,
        from_store,
        events_off = instances.iter().filter(|i| !i.events_enabled).count(),
        "instances"
    );
    tracing::info!(
        admin_api = if admin {
            "on"
        } else {
            "off (set admin.user_secret and admin.organization_secret)"
        },
        public_url,
        "surfaces"
    );
    if instances.is_empty() {
        tracing::warn!(
            "no instance is defined: every webhook will be answered 404. Add an [[instances]] \
             block to the configuration file, or create one with POST /instances (admin API)"
        );
    }
}

/// (`sqlite`, the file) or (`postgres`, `user@host:port/database`): never the password.
fn store_location(url: &StoreUrl) -> (&'static str, String) {
    match url {
        StoreUrl::Sqlite(path) => ("sqlite", path.clone()),
        StoreUrl::Postgres(url) => {
            let location = url::Url::parse(url)
                .map(|u| {
                    let user = match u.username() {
                        "" => String::new(),
                        name => format!("{name}@"),
                    };
                    format!(
                        "{user}{}:{}{}",
                        u.host_str().unwrap_or("localhost"),
                        u.port().unwrap_or(5432),
                        u.path()
                    )
                })
                .unwrap_or_default();
            ("postgres", location)
        }
    }
}
