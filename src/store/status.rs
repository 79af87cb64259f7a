//! An event's status, stored as its name (`pending`, `delivering`, `delivered`, `failed`)
//! on both engines. A stored name the relay does not know is a decoding error, never read
//! as some default status.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// Status of a stored event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for its first or next attempt.
    Pending,
    /// Claimed by a delivery worker (under a lease).
    Delivering,
    /// A 2xx was received.
    Delivered,
    /// Gave up (410, or `max_attempts` reached); kept and replayable.
    Failed,
}

impl Status {
    /// Every status, in the order of an event's life.
    pub const ALL: [Status; 4] = [
        Status::Pending,
        Status::Delivering,
        Status::Delivered,
        Status::Failed,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Delivering => "delivering",
            Status::Delivered => "delivered",
            Status::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Status::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

impl<DB: Database> Type<DB> for Status
where
    str: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for Status
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let name = <&str as Decode<DB>>::decode(value)?;
        Status::parse(name).ok_or_else(|| format!("unknown event status {name:?}").into())
    }
}

impl<'q, DB: Database> Encode<'q, DB> for Status
where
    &'static str: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
        <&'static str as Encode<'q, DB>>::encode(self.as_str(), buf)
    }
}
