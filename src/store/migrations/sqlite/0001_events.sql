-- Events: one row per normalized event, with its delivery state.
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT    NOT NULL UNIQUE,
    instance_id     INTEGER NOT NULL,
    box_event_id    TEXT    NOT NULL,
    body            BLOB    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivering', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    received_at     INTEGER NOT NULL,
    finished_at     INTEGER,
    UNIQUE (instance_id, box_event_id)
);

-- The poller's question: what is due next?
CREATE INDEX events_pending_due ON events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX events_leased ON events (lease_until) WHERE status = 'delivering';
CREATE INDEX events_instance_status ON events (instance_id, status, seq);
CREATE INDEX events_finished ON events (finished_at) WHERE status = 'delivered';

-- Attempts: one row per delivery try.
CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT    NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status_code INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX attempts_event ON attempts (event_id, id);
