-- HA replicas: one row per `coderd server` process. A row whose
-- updated_at is older than three heartbeat intervals is a dead replica.
CREATE TABLE replicas (
    id               BLOB PRIMARY KEY NOT NULL,
    created_at       TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    stopped_at       TEXT,
    updated_at       TEXT NOT NULL,
    hostname         TEXT NOT NULL,
    region_id        INTEGER NOT NULL DEFAULT 0,
    relay_address    TEXT NOT NULL DEFAULT '',
    database_latency INTEGER NOT NULL DEFAULT 0,
    version          TEXT NOT NULL DEFAULT '',
    error            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX replicas_updated_at_idx ON replicas (updated_at);
