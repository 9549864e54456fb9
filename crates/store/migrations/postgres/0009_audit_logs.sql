-- The audit log (upstream's `audit_logs` table, coder-now 1.2). Same
-- columns and version as migrations/sqlite/0009_audit_logs.sql: JSON in
-- TEXT (as everywhere here), enum names in TEXT with CHECK-free columns
-- (the store reads them into enums and refuses unknown names).
CREATE TABLE audit_logs (
    id                UUID PRIMARY KEY NOT NULL,
    time              TIMESTAMPTZ NOT NULL,
    user_id           UUID NOT NULL,
    organization_id   UUID,
    ip                TEXT NOT NULL DEFAULT '',
    user_agent        TEXT NOT NULL DEFAULT '',
    resource_type     TEXT NOT NULL,
    resource_id       UUID NOT NULL,
    resource_target   TEXT NOT NULL DEFAULT '',
    action            TEXT NOT NULL,
    diff              TEXT NOT NULL DEFAULT '{}',
    status_code       INTEGER NOT NULL,
    additional_fields TEXT NOT NULL DEFAULT '{}',
    request_id        UUID NOT NULL,
    resource_icon     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_logs_time_idx ON audit_logs (time DESC, id);
CREATE INDEX audit_logs_user_time_idx ON audit_logs (user_id, time DESC);
CREATE INDEX audit_logs_resource_idx ON audit_logs (resource_type, resource_id);
CREATE INDEX audit_logs_org_time_idx ON audit_logs (organization_id, time DESC);
CREATE INDEX audit_logs_request_idx ON audit_logs (request_id);
