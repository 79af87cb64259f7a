-- Box OAuth tokens of instances the relay calls Box for, sealed (AES-256-GCM) by the relay.
-- version grows with every refresh; refreshing_* is the short lease of the one replica
-- refreshing right now (Box refresh tokens are single-use).
CREATE TABLE box_tokens (
    instance_id       BIGINT PRIMARY KEY,
    access_token      TEXT   NOT NULL,
    refresh_token     TEXT,
    expires_at        BIGINT NOT NULL,
    version           BIGINT NOT NULL,
    refreshing_owner  TEXT,
    refreshing_until  BIGINT
);

-- Box V2 webhooks created through the relay.
CREATE TABLE box_webhooks (
    id             TEXT   PRIMARY KEY,
    instance_id    BIGINT NOT NULL,
    target_id      TEXT   NOT NULL,
    target_type    TEXT   NOT NULL,
    triggers       TEXT   NOT NULL,     -- JSON array
    address        TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    deleted_at     BIGINT,
    deleted_reason TEXT
);
CREATE INDEX box_webhooks_instance ON box_webhooks (instance_id);
