-- HA replicas: one row per `coderd server` process. A row whose
-- updated_at is older than three heartbeat intervals is a dead replica.
CREATE TABLE replicas (
    id               UUID PRIMARY KEY NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    stopped_at       TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL,
    hostname         TEXT NOT NULL,
    region_id        INTEGER NOT NULL DEFAULT 0,
    relay_address    TEXT NOT NULL DEFAULT '',
    database_latency INTEGER NOT NULL DEFAULT 0,
    version          TEXT NOT NULL DEFAULT '',
    error            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX replicas_updated_at_idx ON replicas (updated_at);
