-- Bytes per event at rest (issue 15): every delivered event has at least one attempt row,
-- and the primary key on `attempts.id` cost 26 bytes per event for an index nothing looks
-- up. Attempts are read by their event (`attempts_event`: event_id, id) and deleted with it
-- (the foreign key's cascade, by event_id); `id` stays, for their order. (A hash index on
-- event_id instead of `attempts_event` was tried: no smaller, 62 bytes per event against
-- 64, since a hash index allocates its buckets ahead.)
ALTER TABLE attempts DROP CONSTRAINT attempts_pkey;
