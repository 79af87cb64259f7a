//! Box-facing stage one: check a delivery's signature and freshness ([`verify`]), then parse
//! it ([`payload`]). Only a [`verify::Verified`] body can be parsed.

pub mod payload;
pub mod verify;
