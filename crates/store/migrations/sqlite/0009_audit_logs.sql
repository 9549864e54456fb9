-- The audit log (upstream's `audit_logs` table, coder-now 1.2). One row per
-- audited change, written in the change's own transaction. `diff` and
-- `additional_fields` are JSON objects in TEXT; `resource_type` and
-- `action` hold upstream's enum names. A NULL organization_id is upstream's
-- nil UUID (a site-wide resource); user_id is the nil UUID for the system.
CREATE TABLE audit_logs (
    id                BLOB PRIMARY KEY NOT NULL,
    time              TEXT NOT NULL,
    user_id           BLOB NOT NULL,
    organization_id   BLOB,
    ip                TEXT NOT NULL DEFAULT '',
    user_agent        TEXT NOT NULL DEFAULT '',
    resource_type     TEXT NOT NULL,
    resource_id       BLOB NOT NULL,
    resource_target   TEXT NOT NULL DEFAULT '',
    action            TEXT NOT NULL,
    diff              TEXT NOT NULL DEFAULT '{}',
    status_code       INTEGER NOT NULL,
    additional_fields TEXT NOT NULL DEFAULT '{}',
    request_id        BLOB NOT NULL,
    resource_icon     TEXT NOT NULL DEFAULT ''
);
-- Newest first paging, and the purge's `time <` scan.
CREATE INDEX audit_logs_time_idx ON audit_logs (time DESC, id);
CREATE INDEX audit_logs_user_time_idx ON audit_logs (user_id, time DESC);
CREATE INDEX audit_logs_resource_idx ON audit_logs (resource_type, resource_id);
CREATE INDEX audit_logs_org_time_idx ON audit_logs (organization_id, time DESC);
CREATE INDEX audit_logs_request_idx ON audit_logs (request_id);
