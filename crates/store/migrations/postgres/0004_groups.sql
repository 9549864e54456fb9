-- Groups. The Everyone group of an organization has the organization's id
-- and no member rows: its members are the organization's members.
CREATE TABLE groups (
    id              UUID PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    display_name    TEXT NOT NULL DEFAULT '',
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    avatar_url      TEXT NOT NULL DEFAULT '',
    quota_allowance BIGINT NOT NULL DEFAULT 0,
    source          TEXT NOT NULL DEFAULT 'user',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX groups_org_name_idx ON groups (organization_id, name);

CREATE TABLE group_members (
    group_id UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id);

-- Organizations made before groups existed get their Everyone group.
INSERT INTO groups (id, name, organization_id, created_at, updated_at)
SELECT id, 'Everyone', id, created_at, created_at FROM organizations;
