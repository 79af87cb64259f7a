-- Bodies are written once and never change; status updates should not rewrite them.
CREATE TABLE event_bodies (
    seq  BIGINT PRIMARY KEY REFERENCES events (seq) ON DELETE CASCADE,
    body BYTEA  NOT NULL
);
INSERT INTO event_bodies (seq, body) SELECT seq, body FROM events;
ALTER TABLE events DROP COLUMN body;
