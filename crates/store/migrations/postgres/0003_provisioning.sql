-- Provisioning: uploaded files, provisioner daemons and jobs (with logs),
-- the resources a job reports, templates and their versions, workspaces and
-- their builds. Same tables and version number as
-- migrations/sqlite/0003_provisioning.sql, with PostgreSQL's native uuid,
-- timestamptz and bytea; JSON stays in TEXT (cast to jsonb where matched).

-- Uploaded template archives, de-duplicated by (hash, created_by).
CREATE TABLE files (
    id         UUID PRIMARY KEY NOT NULL,
    hash       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mimetype   TEXT NOT NULL,
    data       BYTEA NOT NULL
);
CREATE UNIQUE INDEX files_hash_created_by_idx ON files (hash, created_by);

-- Provisioner daemons, in-process and external. `provisioners` is a JSON
-- array of types, `tags` a JSON object of strings. `updated_at` is when the
-- daemon last asked for work (NULL before that).
CREATE TABLE provisioner_daemons (
    id              UUID PRIMARY KEY NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ,
    name            TEXT NOT NULL,
    provisioners    TEXT NOT NULL DEFAULT '[]',
    tags            TEXT NOT NULL DEFAULT '{}',
    organization_id UUID REFERENCES organizations (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX provisioner_daemons_name_idx ON provisioner_daemons (name);

-- The job queue. A job is pending until a daemon acquires it (started_at,
-- worker_id), running until completed_at; `updated_at` is its heartbeat.
-- `type` is template_version_import | workspace_build |
-- template_version_dry_run; `input` is JSON naming the version or build.
CREATE TABLE provisioner_jobs (
    id              UUID PRIMARY KEY NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    started_at      TIMESTAMPTZ,
    canceled_at     TIMESTAMPTZ,
    completed_at    TIMESTAMPTZ,
    error           TEXT,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    initiator_id    UUID NOT NULL,
    provisioner     TEXT NOT NULL,
    storage_method  TEXT NOT NULL DEFAULT 'file',
    file_id         UUID NOT NULL REFERENCES files (id),
    type            TEXT NOT NULL,
    input           TEXT NOT NULL DEFAULT '{}',
    worker_id       UUID,
    tags            TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX provisioner_jobs_pending_idx ON provisioner_jobs (created_at) WHERE started_at IS NULL;
CREATE INDEX provisioner_jobs_running_idx ON provisioner_jobs (updated_at)
    WHERE started_at IS NOT NULL AND completed_at IS NULL;

CREATE TABLE provisioner_job_logs (
    id         BIGSERIAL PRIMARY KEY,
    job_id     UUID NOT NULL REFERENCES provisioner_jobs (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    source     TEXT NOT NULL,
    level      TEXT NOT NULL,
    stage      TEXT NOT NULL,
    output     TEXT NOT NULL
);
CREATE INDEX provisioner_job_logs_job_idx ON provisioner_job_logs (job_id, id);

-- Resources a job reported: an import's start/stop resources, a build's
-- resources. `daily_cost` is in credits per day.
CREATE TABLE workspace_resources (
    id            UUID PRIMARY KEY NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    job_id        UUID NOT NULL REFERENCES provisioner_jobs (id) ON DELETE CASCADE,
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
    workspace_resource_id UUID NOT NULL REFERENCES workspace_resources (id) ON DELETE CASCADE,
    key                   TEXT NOT NULL,
    value                 TEXT,
    sensitive             BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (workspace_resource_id, key)
);

CREATE TABLE templates (
    id                               UUID PRIMARY KEY NOT NULL,
    created_at                       TIMESTAMPTZ NOT NULL,
    updated_at                       TIMESTAMPTZ NOT NULL,
    organization_id                  UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    deleted                          BOOLEAN NOT NULL DEFAULT FALSE,
    name                             TEXT NOT NULL,
    provisioner                      TEXT NOT NULL,
    active_version_id                UUID NOT NULL,
    description                      TEXT NOT NULL DEFAULT '',
    default_ttl                      BIGINT NOT NULL DEFAULT 0,
    created_by                       UUID NOT NULL,
    icon                             TEXT NOT NULL DEFAULT '',
    display_name                     TEXT NOT NULL DEFAULT '',
    allow_user_cancel_workspace_jobs BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE UNIQUE INDEX templates_organization_name_idx ON templates (organization_id, lower(name)) WHERE deleted = FALSE;

CREATE TABLE template_versions (
    id              UUID PRIMARY KEY NOT NULL,
    template_id     UUID REFERENCES templates (id) ON DELETE CASCADE,
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    name            TEXT NOT NULL,
    readme          TEXT NOT NULL DEFAULT '',
    job_id          UUID NOT NULL REFERENCES provisioner_jobs (id),
    created_by      UUID NOT NULL
);
CREATE UNIQUE INDEX template_versions_template_name_idx ON template_versions (template_id, lower(name));
CREATE INDEX template_versions_job_idx ON template_versions (job_id);

CREATE TABLE workspaces (
    id                 UUID PRIMARY KEY NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    owner_id           UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id    UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    template_id        UUID NOT NULL REFERENCES templates (id),
    deleted            BOOLEAN NOT NULL DEFAULT FALSE,
    name               TEXT NOT NULL,
    autostart_schedule TEXT,
    ttl                BIGINT,
    last_used_at       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX workspaces_owner_name_idx ON workspaces (owner_id, lower(name)) WHERE deleted = FALSE;
CREATE INDEX workspaces_template_idx ON workspaces (template_id);

CREATE TABLE workspace_builds (
    id                  UUID PRIMARY KEY NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    workspace_id        UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    template_version_id UUID NOT NULL REFERENCES template_versions (id),
    build_number        INTEGER NOT NULL,
    transition          TEXT NOT NULL,
    initiator_id        UUID NOT NULL,
    provisioner_state   BYTEA,
    job_id              UUID NOT NULL UNIQUE REFERENCES provisioner_jobs (id),
    deadline            TIMESTAMPTZ,
    reason              TEXT NOT NULL DEFAULT 'initiator',
    daily_cost          INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX workspace_builds_workspace_number_idx ON workspace_builds (workspace_id, build_number);
