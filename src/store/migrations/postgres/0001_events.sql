-- Events: one row per normalized event, with its delivery state. Times are unix milliseconds.
CREATE TABLE events (
    seq             BIGSERIAL PRIMARY KEY,
    event_id        TEXT   NOT NULL UNIQUE,
    instance_id     BIGINT NOT NULL,
    box_event_id    TEXT   NOT NULL,
    body            BYTEA  NOT NULL,
    status          TEXT   NOT NULL CHECK (status IN ('pending', 'delivering', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    received_at     BIGINT NOT NULL,
    finished_at     BIGINT,
    UNIQUE (instance_id, box_event_id)
);

CREATE INDEX events_pending_due ON events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX events_leased ON events (lease_until) WHERE status = 'delivering';
CREATE INDEX events_instance_status ON events (instance_id, status, seq);
CREATE INDEX events_finished ON events (finished_at) WHERE status = 'delivered';

-- Attempts: one row per delivery try.
CREATE TABLE attempts (
    id          BIGSERIAL PRIMARY KEY,
    event_id    TEXT    NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          BIGINT  NOT NULL,
    status_code INTEGER,
    error       TEXT,
    duration_ms BIGINT  NOT NULL
);
CREATE INDEX attempts_event ON attempts (event_id, id);
