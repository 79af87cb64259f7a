-- Instances created through the admin API (instances from the config file are not stored).
CREATE TABLE instances (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    token         TEXT    NOT NULL UNIQUE,
    tags          TEXT    NOT NULL,             -- JSON array of strings
    configuration TEXT    NOT NULL,             -- JSON object, Cloud Elements keys
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- One row: bumped by every instance write, so replicas see a change with a one-row read;
-- last_id only grows, so an id is never given twice (events keep their instance id).
CREATE TABLE instances_meta (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    revision  INTEGER NOT NULL,
    last_id   INTEGER NOT NULL
);
INSERT INTO instances_meta (singleton, revision, last_id) VALUES (1, 0, 0);

-- The event log: an instance's events, newest first.
CREATE INDEX events_instance_seq ON events (instance_id, seq);

-- Queue statistics count each status on its own partial index; failed had none.
CREATE INDEX events_failed ON events (seq) WHERE status = 'failed';
