//! Stage two: a verified Box delivery becomes a Cloud Elements-style event ([`normalize`]),
//! signed on the way out ([`sign`]); operators read stored events through [`log`]. Whether an
//! instance wants a delivery at all is [`selection`]'s.

pub mod log;
pub mod normalize;
pub mod selection;
pub mod sign;

pub use normalize::{event_id, NormalizedEvent};
