//! Stage two: a verified Box delivery becomes a Cloud Elements-style event ([`normalize`]),
//! signed on the way out ([`sign`]).

pub mod normalize;
pub mod sign;

pub use normalize::{event_id, NormalizedEvent};
