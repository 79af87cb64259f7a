-- Bytes per event at rest (issue 15). Bodies are now stored compressed (`store/body.rs`;
-- rows stored before read as they are, no rewrite needed). The event log's status filter
-- and "replay all of a status" read the instance's events by `events_instance_seq`, or a
-- status's own partial index, instead of an index of (instance, status, seq) that every
-- event paid 25 bytes for.
DROP INDEX events_instance_status;
