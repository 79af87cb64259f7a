//! Integration tests: the real relay on a real port, a real SQLite file per test, a real
//! local HTTP receiver as the callback.

mod helpers;

mod delivery;
mod ingest_v1;
mod ingest_v2;
mod ops;
mod process;
