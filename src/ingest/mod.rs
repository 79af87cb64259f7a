//! The ingest stage, between the HTTP edge and the store: the group-commit writer every
//! accepted Box event goes through ([`writer`]), handing new events to delivery from memory,
//! and the write probe `/readyz` runs to tell whether the store takes writes ([`probe`]).
//! It sits above [`crate::store`], which knows nothing of it.

pub mod probe;
pub mod writer;

pub use writer::BatchWriter;
