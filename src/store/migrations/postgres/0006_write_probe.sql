-- /readyz, after a failed commit, writes (and deletes) a row here to see whether the store
-- takes writes again: a row the size of a few events, since a one-page update can still fit
-- in space the database already holds when the disk is full.
CREATE TABLE write_probe (
    id  BIGINT PRIMARY KEY,
    pad BYTEA NOT NULL
);
