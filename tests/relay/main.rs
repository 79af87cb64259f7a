//! Integration tests: the real relay on a real port, against a real SQLite file and a real
//! PostgreSQL database (a fresh one per test), with a real local HTTP receiver as the
//! callback. Each behaviour is one `async fn(Engine)`, run on both engines by
//! `engine_tests!`, so the suites cannot drift apart.

/// For each named `async fn(Engine)` of the calling module, generates
/// `sqlite::<name>` and `postgres::<name>` tests.
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
mod box_api;
mod cli;
mod crash_restart;
mod delivery;
mod disk;
mod hostile_consumers;
mod hostile_input;
mod ingest_v1;
mod ingest_v2;
mod metrics;
mod openapi;
mod ops;
mod process;
mod properties;
mod secrets_at_rest;
mod secrets_rotate;
