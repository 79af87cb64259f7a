//! Integration tests: the real relay on a real port, against a real SQLite file and a real
//! PostgreSQL database (a fresh one per test), with a real local HTTP receiver as the
//! callback. Each behaviour is one `async fn(Engine)`, run on both engines by
//! `engine_tests!`, so the suites cannot drift apart.

/// For each named `async fn(Engine)` of the calling module, generates
/// `sqlite::<name>` and `postgres::<name>` tests. The PostgreSQL ones are compiled as
/// ignored when `RELAY_TEST_POSTGRES_URL` is not set (see build.rs), so `cargo test`
/// reports them as ignored, not passed.
macro_rules! engine_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(crate::helpers::Engine::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                #[cfg_attr(not(relay_postgres), ignore = "set RELAY_TEST_POSTGRES_URL to run the PostgreSQL suite")]
                async fn $name() {
                    if let Some(engine) = crate::helpers::Engine::postgres() {
                        super::$name(engine).await
                    }
                }
            )*
        }
    };
}

mod helpers;

mod admin_events;
mod admin_instances;
mod admin_secrets;
mod admin_validation;
mod analytics;
mod bodies_at_rest;
mod box_api;
mod box_lifecycle;
mod box_tokens;
mod box_webhook_list;
mod ce_base_path;
mod ce_compat_config;
mod ce_compat_events;
mod ce_compat_instances;
mod ce_compat_intake;
mod ce_element_config;
mod ce_instances;
mod ce_oauth_url;
mod ce_replace;
mod cli;
mod config_checks;
mod console_auth;
mod console_browser;
mod console_connect_box;
mod console_events;
mod console_instances;
mod console_overview;
mod corrupt_rows;
mod crash_restart;
mod delivery;
mod dependencies;
mod deploy;
mod destinations;
mod disk;
mod event_selection;
mod failure_policy;
mod first_hour;
mod hostile_consumers;
mod hostile_edge;
mod hostile_input;
mod hostile_refusals;
mod ingest_v1;
mod ingest_v2;
mod lease_fencing;
mod metrics;
mod openapi;
mod operator_cli;
mod ops;
mod process;
mod properties;
mod secrets_at_rest;
mod secrets_rotate;
mod tenant_isolation;
mod test_storage;
mod toolchain;
