-- OpenID Connect links and IdP sync settings (coder-now 2.4, 2.7, 2.10).
-- Same columns and version as the other backend's 0010.

-- A user's link to an external identity: for OIDC the linked id is
-- '<issuer>||<sub>'. claims holds the merged ID token and userinfo claims
-- of the last login (JSON), which the IdP sync settings API reads.
CREATE TABLE user_links (
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    login_type TEXT NOT NULL,
    linked_id  TEXT NOT NULL DEFAULT '',
    claims     TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, login_type)
);
CREATE UNIQUE INDEX user_links_linked_id_idx ON user_links (login_type, linked_id)
    WHERE linked_id <> '';

-- Per-organization IdP sync settings (upstream's runtime config keys
-- 'group-sync-settings' and 'role-sync-settings'): kind is 'group' or
-- 'role', settings the JSON document the settings API serves.
CREATE TABLE idp_sync_settings (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    settings        TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, kind)
);
