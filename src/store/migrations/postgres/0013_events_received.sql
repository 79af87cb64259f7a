-- Analytics count the events received in a time range (the console's overview reads the last
-- day): without this index that is a scan of the whole log, whose delivered events are kept
-- for `storage.delivered_retention_secs` (a week by default). Receipt times only grow, so
-- each insert appends to the index's right edge.
CREATE INDEX events_received ON events (received_at);
