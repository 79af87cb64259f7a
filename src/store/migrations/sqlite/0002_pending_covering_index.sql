-- The poller skips instances whose in-memory budget is full; with the instance in the
-- index, that filter reads index entries only, never the rows (and their bodies).
DROP INDEX events_pending_due;
CREATE INDEX events_pending_due ON events (next_attempt_at, instance_id) WHERE status = 'pending';
