-- Operator console sessions (issue 14). The cookie carries a random token; only its SHA-256
-- (hex) is kept, so a copy of the database signs nobody in. Any replica accepts a session
-- and signing out deletes the row everywhere. oauth_* hold the one Connect Box flow a
-- session may have in progress: the SHA-256 of its `state` and the New instance form, sealed
-- under the store's key.
CREATE TABLE console_sessions (
    token_hash  TEXT   PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    oauth_state TEXT,
    oauth_form  TEXT
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
