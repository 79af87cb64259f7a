//! Helper commands for testing a deployment by hand: [`box_sign`] signs a body as Box
//! would; [`receive`] is a callback that prints what it gets and checks its signature;
//! [`events`] reads the event log and replays events from the configured store; [`instances`]
//! resumes a suspended instance there; [`secrets`] re-encrypts stored secrets under a new key.

pub mod box_sign;
pub mod events;
pub mod instances;
pub mod receive;
pub mod secrets;
