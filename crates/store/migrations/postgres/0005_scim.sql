-- SCIM 2.0 (RFC 7643/7644) side tables. Same tables and version number as
-- migrations/sqlite/0005_scim.sql (see there), with PostgreSQL's native
-- uuid and timestamptz.
CREATE TABLE scim_users (
    user_id       UUID PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_name     TEXT NOT NULL,
    external_id   TEXT,
    attributes    TEXT NOT NULL DEFAULT '{}',
    deprovisioned BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX scim_users_user_name_idx ON scim_users (lower(user_name)) WHERE deprovisioned = FALSE;
CREATE INDEX scim_users_external_id_idx ON scim_users (external_id);

CREATE TABLE scim_groups (
    group_id    UUID PRIMARY KEY NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    external_id TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
