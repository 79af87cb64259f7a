-- JSON lists are typed as such: instance tags and Box webhook triggers are read and written
-- as JSON (sqlx's `Json<_>`), which PostgreSQL keeps in JSONB columns. SQLite stores JSON
-- as TEXT, as it already does.
ALTER TABLE instances ALTER COLUMN tags TYPE JSONB USING tags::jsonb;
ALTER TABLE box_webhooks ALTER COLUMN triggers TYPE JSONB USING triggers::jsonb;
