//! Runs the store's shared SQL on either engine. Statements written once (with `$n`
//! parameters, which both engines accept) take their values as [`Arg`]s; a [`Conn`] is a
//! connection of either engine, from the pools or inside a transaction, and the one place
//! that picks the engine for them. The dialect-specific statements live in `sqlite.rs` and
//! `postgres.rs` and use their own pools directly.

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Arguments, Database, Encode, FromRow, PgConnection, Postgres, Sqlite};
use sqlx::{SqliteConnection, Transaction, Type};

use super::error::{CorruptRows, StoreError};

/// A value bound to a shared statement.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    /// An integer.
    Int(i64),
    /// An integer or NULL.
    MaybeInt(Option<i64>),
    /// Text.
    Text(&'a str),
    /// Text or NULL.
    MaybeText(Option<&'a str>),
    /// A boolean.
    Bool(bool),
    /// Bytes.
    Blob(&'a [u8]),
    /// A list of strings, stored as JSON.
    Strings(&'a [String]),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::MaybeInt(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::MaybeText(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

impl<'a> From<&'a [String]> for Arg<'a> {
    fn from(v: &'a [String]) -> Self {
        Arg::Strings(v)
    }
}

impl From<super::Status> for Arg<'_> {
    fn from(v: super::Status) -> Self {
        Arg::Text(v.as_str())
    }
}

/// The engine's arguments for `args`.
fn arguments<'q, DB: Database>(args: &[Arg<'q>]) -> Result<DB::Arguments<'q>, sqlx::Error>
where
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    &'q [u8]: Encode<'q, DB> + Type<DB>,
    sqlx::types::Json<&'q [String]>: Encode<'q, DB> + Type<DB>,
{
    let mut out = DB::Arguments::default();
    for arg in args {
        match *arg {
            Arg::Int(v) => out.add(v),
            Arg::MaybeInt(v) => out.add(v),
            Arg::Text(v) => out.add(v),
            Arg::MaybeText(v) => out.add(v),
            Arg::Bool(v) => out.add(v),
            Arg::Blob(v) => out.add(v),
            Arg::Strings(v) => out.add(sqlx::types::Json(v)),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(out)
}

/// A row type both engines decode.
pub(crate) trait Decoded:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl<T> Decoded for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

enum Held<'c> {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
    SqliteTx(Transaction<'c, Sqlite>),
    PostgresTx(Transaction<'c, Postgres>),
}

enum Raw<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// A connection of either engine, pooled or inside a transaction, that runs shared SQL and
/// reports rows that do not decode ([`CorruptRows`]).
pub(crate) struct Conn<'c> {
    held: Held<'c>,
    corrupt: CorruptRows,
}

impl<'c> Conn<'c> {
    /// A pooled SQLite connection.
    pub fn sqlite(c: PoolConnection<Sqlite>, corrupt: &CorruptRows) -> Self {
        Self::new(Held::Sqlite(c), corrupt)
    }

    /// A pooled PostgreSQL connection.
    pub fn postgres(c: PoolConnection<Postgres>, corrupt: &CorruptRows) -> Self {
        Self::new(Held::Postgres(c), corrupt)
    }

    /// A SQLite transaction, committed by [`commit`](Self::commit).
    pub fn sqlite_tx(tx: Transaction<'c, Sqlite>, corrupt: &CorruptRows) -> Self {
        Self::new(Held::SqliteTx(tx), corrupt)
    }

    /// A PostgreSQL transaction, committed by [`commit`](Self::commit).
    pub fn postgres_tx(tx: Transaction<'c, Postgres>, corrupt: &CorruptRows) -> Self {
        Self::new(Held::PostgresTx(tx), corrupt)
    }

    fn new(held: Held<'c>, corrupt: &CorruptRows) -> Self {
        Self {
            held,
            corrupt: corrupt.clone(),
        }
    }

    /// True on SQLite (for its few pragmas).
    pub fn is_sqlite(&self) -> bool {
        matches!(self.held, Held::Sqlite(_) | Held::SqliteTx(_))
    }

    fn raw(&mut self) -> Raw<'_> {
        match &mut self.held {
            Held::Sqlite(c) => Raw::Sqlite(c),
            Held::SqliteTx(c) => Raw::Sqlite(c),
            Held::Postgres(c) => Raw::Postgres(c),
            Held::PostgresTx(c) => Raw::Postgres(c),
        }
    }

    /// Runs a statement; how many rows it changed.
    pub async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let done = match self.raw() {
            Raw::Sqlite(c) => sqlx::query_with(sql, arguments::<Sqlite>(args)?)
                .execute(c)
                .await?
                .rows_affected(),
            Raw::Postgres(c) => sqlx::query_with(sql, arguments::<Postgres>(args)?)
                .execute(c)
                .await?
                .rows_affected(),
        };
        Ok(done)
    }

    /// Every row of a query, as `T`; a row that does not decode is [`StoreError::Corrupt`]
    /// naming `what`.
    pub async fn fetch_all<T: Decoded>(
        &mut self,
        what: impl FnOnce() -> String,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Vec<T>, StoreError> {
        let rows = match self.raw() {
            Raw::Sqlite(c) => {
                sqlx::query_as_with(sql, arguments::<Sqlite>(args)?)
                    .fetch_all(c)
                    .await
            }
            Raw::Postgres(c) => {
                sqlx::query_as_with(sql, arguments::<Postgres>(args)?)
                    .fetch_all(c)
                    .await
            }
        };
        rows.map_err(|e| self.corrupt.check(what, e))
    }

    /// The first row of a query, if any (see [`fetch_all`](Self::fetch_all)).
    pub async fn fetch_optional<T: Decoded>(
        &mut self,
        what: impl FnOnce() -> String,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Option<T>, StoreError> {
        let row = match self.raw() {
            Raw::Sqlite(c) => {
                sqlx::query_as_with(sql, arguments::<Sqlite>(args)?)
                    .fetch_optional(c)
                    .await
            }
            Raw::Postgres(c) => {
                sqlx::query_as_with(sql, arguments::<Postgres>(args)?)
                    .fetch_optional(c)
                    .await
            }
        };
        row.map_err(|e| self.corrupt.check(what, e))
    }

    /// The one row of a query that always answers one (an aggregate, a meta row).
    pub async fn fetch_one<T: Decoded>(
        &mut self,
        what: impl FnOnce() -> String,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<T, StoreError> {
        let row = self.fetch_optional(what, sql, args).await?;
        row.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Commits a transaction (a pooled connection has nothing to commit).
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.held {
            Held::SqliteTx(tx) => tx.commit().await?,
            Held::PostgresTx(tx) => tx.commit().await?,
            Held::Sqlite(_) | Held::Postgres(_) => {}
        }
        Ok(())
    }
}
