-- Instances suspended under the `queue` failure policy: one of their events exhausted its
-- retries, and their later events are stored but not claimed until an operator resumes them.
-- A table of its own, not a column of `instances`: the config file's instances can be
-- suspended too.
CREATE TABLE suspended_instances (
    instance_id  BIGINT PRIMARY KEY,
    event_id     TEXT   NOT NULL,  -- the event whose failure suspended it
    suspended_at BIGINT NOT NULL   -- unix milliseconds
);
