-- Bodies are written once and never change; status updates should not rewrite them. With
-- the body in its own table, an event row is ~200 bytes and a batch of status updates
-- touches a few pages instead of one page per event.
CREATE TABLE event_bodies (
    seq  INTEGER PRIMARY KEY REFERENCES events (seq) ON DELETE CASCADE,
    body BLOB NOT NULL
);
INSERT INTO event_bodies (seq, body) SELECT seq, body FROM events;
ALTER TABLE events DROP COLUMN body;
