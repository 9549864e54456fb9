-- Identity: organizations, users, organization members, API keys.
-- SQLite storage choices (pinned by store tests): UUIDs are 16-byte BLOBs,
-- timestamps are RFC 3339 TEXT in UTC truncated to microseconds (so they
-- compare as text and round-trip exactly like PostgreSQL's timestamptz),
-- role lists are JSON arrays in TEXT.
CREATE TABLE organizations (
    id           BLOB PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    icon         TEXT NOT NULL DEFAULT '',
    is_default   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX organizations_name_idx ON organizations (lower(name));

CREATE TABLE users (
    id              BLOB PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL,
    username        TEXT NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    hashed_password TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'active',
    rbac_roles      TEXT NOT NULL DEFAULT '[]',
    login_type      TEXT NOT NULL DEFAULT 'password',
    avatar_url      TEXT NOT NULL DEFAULT '',
    deleted         BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX users_username_idx ON users (lower(username)) WHERE deleted = FALSE;
CREATE UNIQUE INDEX users_email_idx ON users (lower(email)) WHERE deleted = FALSE;

CREATE TABLE organization_members (
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    roles           TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_user_idx ON organization_members (user_id);

CREATE TABLE api_keys (
    id               TEXT PRIMARY KEY NOT NULL,
    hashed_secret    BLOB NOT NULL,
    user_id          BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_used        TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    login_type       TEXT NOT NULL,
    lifetime_seconds BIGINT NOT NULL,
    token_name       TEXT NOT NULL DEFAULT '',
    scope            TEXT NOT NULL DEFAULT 'all'
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);
CREATE UNIQUE INDEX api_keys_token_name_idx ON api_keys (user_id, token_name) WHERE login_type = 'token';

-- Deployment-wide settings (deployment id, appearance, ...): key -> text.
CREATE TABLE site_configs (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
