-- Bytes per event at rest (issue 15). Bodies are now stored compressed (`store/body.rs`;
-- rows stored before read as they are, no rewrite needed). Two indexes go, each rewritten
-- on every status change (an update that moves an indexed column adds an entry to every
-- index): 330 of the 1,020 bytes an event's rows and indexes took, bodies aside.
-- - (instance, status, seq): the event log's status filter and "replay all of a status"
--   read the instance's events by `events_instance_seq`, or a status's partial index.
-- - UNIQUE (instance_id, box_event_id): `event_id` is a digest of exactly that pair and is
--   itself unique, so an (instance, Box id) already present still conflicts on `event_id`
--   (`ON CONFLICT DO NOTHING`) and is answered `duplicate`, as before.
DROP INDEX events_instance_status;
ALTER TABLE events DROP CONSTRAINT events_instance_id_box_event_id_key;
