-- SCIM 2.0 (RFC 7643/7644) side tables. A SCIM User is a Coder user plus a
-- `scim_users` row: the SCIM `userName` is stored apart from the Coder
-- username (it round-trips exactly as the IdP sent it), with `externalId`
-- and the other published attributes (a JSON object in `attributes`).
-- `active` is not stored here: it is the Coder user's status.
-- DELETE marks the row `deprovisioned` (the Coder user is suspended, never
-- deleted); provisioning the same user again revives the row and its id.
-- SQLite storage choices as in 0001: UUID BLOB, RFC 3339 TEXT timestamps.
CREATE TABLE scim_users (
    user_id       BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_name     TEXT NOT NULL,
    external_id   TEXT,
    attributes    TEXT NOT NULL DEFAULT '{}',
    deprovisioned BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX scim_users_user_name_idx ON scim_users (lower(user_name)) WHERE deprovisioned = FALSE;
CREATE INDEX scim_users_external_id_idx ON scim_users (external_id);

-- SCIM data of a Coder group exposed at /Groups (`externalId`); the group
-- itself (name, displayName, members) lives in `groups`/`group_members`.
CREATE TABLE scim_groups (
    group_id    BLOB PRIMARY KEY NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    external_id TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
