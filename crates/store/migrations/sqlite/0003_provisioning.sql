-- Provisioning: uploaded files, provisioner daemons and jobs (with logs),
-- the resources a job reports, templates and their versions, workspaces and
-- their builds. Same tables and version number as
-- migrations/postgres/0003_provisioning.sql; storage choices as in 0001
-- (UUID BLOBs, RFC 3339 TEXT timestamps, JSON in TEXT).

-- Uploaded template archives, de-duplicated by (hash, created_by).
CREATE TABLE files (
    id         BLOB PRIMARY KEY NOT NULL,
    hash       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mimetype   TEXT NOT NULL,
    data       BLOB NOT NULL
);
CREATE UNIQUE INDEX files_hash_created_by_idx ON files (hash, created_by);

-- Provisioner daemons, in-process and external. `provisioners` is a JSON
-- array of types, `tags` a JSON object of strings. `updated_at` is when the
-- daemon last asked for work (NULL before that).
CREATE TABLE provisioner_daemons (
    id              BLOB PRIMARY KEY NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT,
    name            TEXT NOT NULL,
    provisioners    TEXT NOT NULL DEFAULT '[]',
    tags            TEXT NOT NULL DEFAULT '{}',
    organization_id BLOB REFERENCES organizations (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX provisioner_daemons_name_idx ON provisioner_daemons (name);

-- The job queue. A job is pending until a daemon acquires it (started_at,
-- worker_id), running until completed_at; `updated_at` is its heartbeat.
-- `type` is template_version_import | workspace_build |
-- template_version_dry_run; `input` is JSON naming the version or build.
CREATE TABLE provisioner_jobs (
    id              BLOB PRIMARY KEY NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    started_at      TEXT,
    canceled_at     TEXT,
    completed_at    TEXT,
    error           TEXT,
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    initiator_id    BLOB NOT NULL,
    provisioner     TEXT NOT NULL,
    storage_method  TEXT NOT NULL DEFAULT 'file',
    file_id         BLOB NOT NULL REFERENCES files (id),
    type            TEXT NOT NULL,
    input           TEXT NOT NULL DEFAULT '{}',
    worker_id       BLOB,
    tags            TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX provisioner_jobs_pending_idx ON provisioner_jobs (created_at) WHERE started_at IS NULL;
CREATE INDEX provisioner_jobs_running_idx ON provisioner_jobs (updated_at)
    WHERE started_at IS NOT NULL AND completed_at IS NULL;

CREATE TABLE provisioner_job_logs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     BLOB NOT NULL REFERENCES provisioner_jobs (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    source     TEXT NOT NULL,
    level      TEXT NOT NULL,
    stage      TEXT NOT NULL,
    output     TEXT NOT NULL
);
CREATE INDEX provisioner_job_logs_job_idx ON provisioner_job_logs (job_id, id);

-- Resources a job reported: an import's start/stop resources, a build's
-- resources. `daily_cost` is in credits per day.
CREATE TABLE workspace_resources (
    id            BLOB PRIMARY KEY NOT NULL,
    created_at    TEXT NOT NULL,
    job_id        BLOB NOT NULL REFERENCES provisioner_jobs (id) ON DELETE CASCADE,
    transition    TEXT NOT NULL,
    type          TEXT NOT NULL,
    name          TEXT NOT NULL,
    hide          BOOLEAN NOT NULL DEFAULT FALSE,
    icon          TEXT NOT NULL DEFAULT '',
    instance_type TEXT,
    daily_cost    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX workspace_resources_job_idx ON workspace_resources (job_id);

CREATE TABLE workspace_resource_metadata (
    workspace_resource_id BLOB NOT NULL REFERENCES workspace_resources (id) ON DELETE CASCADE,
    key                   TEXT NOT NULL,
    value                 TEXT,
    sensitive             BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (workspace_resource_id, key)
);

CREATE TABLE templates (
    id                               BLOB PRIMARY KEY NOT NULL,
    created_at                       TEXT NOT NULL,
    updated_at                       TEXT NOT NULL,
    organization_id                  BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    deleted                          BOOLEAN NOT NULL DEFAULT FALSE,
    name                             TEXT NOT NULL,
    provisioner                      TEXT NOT NULL,
    active_version_id                BLOB NOT NULL,
    description                      TEXT NOT NULL DEFAULT '',
    default_ttl                      BIGINT NOT NULL DEFAULT 0,
    created_by                       BLOB NOT NULL,
    icon                             TEXT NOT NULL DEFAULT '',
    display_name                     TEXT NOT NULL DEFAULT '',
    allow_user_cancel_workspace_jobs BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE UNIQUE INDEX templates_organization_name_idx ON templates (organization_id, lower(name)) WHERE deleted = FALSE;

CREATE TABLE template_versions (
    id              BLOB PRIMARY KEY NOT NULL,
    template_id     BLOB REFERENCES templates (id) ON DELETE CASCADE,
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    name            TEXT NOT NULL,
    readme          TEXT NOT NULL DEFAULT '',
    job_id          BLOB NOT NULL REFERENCES provisioner_jobs (id),
    created_by      BLOB NOT NULL
);
CREATE UNIQUE INDEX template_versions_template_name_idx ON template_versions (template_id, lower(name));
CREATE INDEX template_versions_job_idx ON template_versions (job_id);

CREATE TABLE workspaces (
    id                 BLOB PRIMARY KEY NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    owner_id           BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id    BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    template_id        BLOB NOT NULL REFERENCES templates (id),
    deleted            BOOLEAN NOT NULL DEFAULT FALSE,
    name               TEXT NOT NULL,
    autostart_schedule TEXT,
    ttl                BIGINT,
    last_used_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX workspaces_owner_name_idx ON workspaces (owner_id, lower(name)) WHERE deleted = FALSE;
CREATE INDEX workspaces_template_idx ON workspaces (template_id);

CREATE TABLE workspace_builds (
    id                  BLOB PRIMARY KEY NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    workspace_id        BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    template_version_id BLOB NOT NULL REFERENCES template_versions (id),
    build_number        INTEGER NOT NULL,
    transition          TEXT NOT NULL,
    initiator_id        BLOB NOT NULL,
    provisioner_state   BLOB,
    job_id              BLOB NOT NULL UNIQUE REFERENCES provisioner_jobs (id),
    deadline            TEXT,
    reason              TEXT NOT NULL DEFAULT 'initiator',
    daily_cost          INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX workspace_builds_workspace_number_idx ON workspace_builds (workspace_id, build_number);
