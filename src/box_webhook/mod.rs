//! Box-facing stage one: check a delivery's signature and freshness ([`verify`]), then parse
//! it ([`payload`]). Only a [`verify::Verified`] body can be parsed. [`triggers`] lists the
//! trigger names Box sends.

pub mod payload;
pub mod triggers;
pub mod verify;
