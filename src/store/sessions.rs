//! Operator console sessions, kept in the store so that every replica accepts them and
//! signing out ends them everywhere. Only the SHA-256 of a session's token is stored (the
//! caller hashes). A session may hold one Connect Box flow in progress: the hash of its OAuth
//! `state` and the New instance form, sealed under the store's key (bound to id 0, which no
//! instance has). Written once for both engines.

use super::sql::Arg;
use super::{Side, Store, StoreError};

/// The sealed-value binding of a pending Connect Box form (instance ids start at 1).
const PENDING_FORM_ID: i64 = 0;

/// A live session's row.
#[derive(Debug, Clone, sqlx::FromRow)]
struct SessionRow {
    expires_at: i64,
}

/// A pending Connect Box flow's row.
#[derive(Debug, Clone, sqlx::FromRow)]
struct PendingRow {
    oauth_state: Option<String>,
    oauth_form: Option<String>,
}

impl Store {
    /// Records a new session (and forgets every expired one).
    pub async fn create_session(
        &self,
        token_hash: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn(Side::Write).await?;
        conn.execute(
            "DELETE FROM console_sessions WHERE expires_at <= $1",
            &[now_ms.into()],
        )
        .await?;
        conn.execute(
            "INSERT INTO console_sessions (token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3)",
            &[token_hash.into(), now_ms.into(), expires_ms.into()],
        )
        .await?;
        Ok(())
    }

    /// Whether the session is live at `now_ms` (read on the writer: a session created a
    /// moment ago on this replica counts).
    pub async fn session_alive(&self, token_hash: &str, now_ms: i64) -> Result<bool, StoreError> {
        let row: Option<SessionRow> = self
            .conn(Side::Write)
            .await?
            .fetch_optional(
                || "a console session".to_string(),
                "SELECT expires_at FROM console_sessions WHERE token_hash = $1",
                &[token_hash.into()],
            )
            .await?;
        Ok(row.is_some_and(|r| r.expires_at > now_ms))
    }

    /// Ends a session (signing out); nothing happens if it is already gone.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.conn(Side::Write)
            .await?
            .execute(
                "DELETE FROM console_sessions WHERE token_hash = $1",
                &[token_hash.into()],
            )
            .await?;
        Ok(())
    }

    /// Starts a Connect Box flow for the session: the hash of its `state` and the form,
    /// sealed. Replaces a flow already in progress. False if the session is gone.
    pub async fn begin_oauth(
        &self,
        token_hash: &str,
        state_hash: &str,
        form: &str,
    ) -> Result<bool, StoreError> {
        let key = self.key.as_ref().ok_or_else(|| {
            StoreError::Secrets("the store was opened without a secrets key".into())
        })?;
        let sealed = key.seal(PENDING_FORM_ID, form);
        let args = [token_hash.into(), state_hash.into(), Arg::from(&sealed)];
        let n = self
            .conn(Side::Write)
            .await?
            .execute(
                "UPDATE console_sessions SET oauth_state = $2, oauth_form = $3 \
                 WHERE token_hash = $1",
                &args,
            )
            .await?;
        Ok(n == 1)
    }

    /// Takes the session's Connect Box flow, once: its `state` hash and the opened form.
    /// The flow is cleared whatever the caller then decides.
    pub async fn take_oauth(
        &self,
        token_hash: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let mut conn = self.conn(Side::Write).await?;
        let row: Option<PendingRow> = conn
            .fetch_optional(
                || "a console session's Connect Box flow".to_string(),
                "SELECT oauth_state, oauth_form FROM console_sessions WHERE token_hash = $1",
                &[token_hash.into()],
            )
            .await?;
        let Some(PendingRow {
            oauth_state: Some(state),
            oauth_form: Some(form),
        }) = row
        else {
            return Ok(None);
        };
        // Only the caller that clears it may use it: a callback replayed at once finds none.
        let n = conn
            .execute(
                "UPDATE console_sessions SET oauth_state = NULL, oauth_form = NULL \
                 WHERE token_hash = $1 AND oauth_state = $2",
                &[token_hash.into(), Arg::from(&state)],
            )
            .await?;
        if n != 1 {
            return Ok(None);
        }
        let opened = self
            .key
            .as_ref()
            .and_then(|key| key.open(PENDING_FORM_ID, &form))
            .map(|s| s.expose().to_string());
        Ok(opened.map(|form| (state, form)))
    }
}
