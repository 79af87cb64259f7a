//! webhook-relay: Box webhooks in, Cloud Elements-style events out, nothing lost.
//!
//! 1. [`http`] takes a Box delivery as raw bytes at `/webhooks/box/{instance}`;
//! 2. [`box_webhook`] verifies its signature and freshness, then parses it;
//! 3. [`event`] normalizes it into the Cloud Elements notification body, rendered once;
//! 4. [`ingest`] commits it durably to the [`store`] through a group-commit writer, and only
//!    then does Box get 2xx;
//! 5. [`delivery`] POSTs it, signed, to the instance's callback, retrying with backoff.
//!
//! [`box_api`] calls Box for an instance (OAuth tokens, Box webhooks through the relay).
//! [`admin`] carries out what operators ask (instances, replays, Box webhooks), reading
//! typed [`input`]; [`console`] is the operator's browser pages over the same service;
//! [`config`] and [`instance`] describe what the relay serves; [`app`]
//! wires it together;
//! [`cli`] holds the helper commands (`box-sign`, `receive`, `events`, `secrets`);
//! [`telemetry`] sets up logs and [`metrics`] counts what happens, for `GET /metrics`;
//! [`secret`] keeps secrets out of logs and sealed at rest; [`clock`] is the one clock;
//! [`destination`] is the guard of where callbacks may go; [`invalid`] is the one "this key's
//! value is not acceptable" error and [`suggest`] the "did you mean …?" beside it.
//!
//! Imports point one way, down this list (`tests/relay/dependencies.rs` fails on a cycle):
//! `clock`, `invalid`, `suggest`, `secret` → `input`, `destination`, `store` →
//! `box_webhook` → `instance` → `config` → `event` → `metrics` → `delivery` → `ingest` →
//! `box_api` → `admin` → `http` → `console` → `app`, `cli`, `telemetry`.
#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod box_api;
pub mod box_webhook;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod delivery;
pub mod destination;
pub mod event;
pub mod http;
pub mod ingest;
pub mod input;
pub mod instance;
pub mod invalid;
pub mod metrics;
pub mod secret;
pub mod store;
pub mod suggest;
pub mod telemetry;

pub use app::Application;
pub use config::Config;
