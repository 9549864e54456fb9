-- Template ACLs: a role (`admin` or `use`) per user and per group.
CREATE TABLE template_user_acl (
    template_id UUID NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    PRIMARY KEY (template_id, user_id)
);
CREATE INDEX template_user_acl_user_idx ON template_user_acl (user_id);

CREATE TABLE template_group_acl (
    template_id UUID NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    group_id    UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    PRIMARY KEY (template_id, group_id)
);
CREATE INDEX template_group_acl_group_idx ON template_group_acl (group_id);

-- Templates made before ACLs existed: the Everyone group may use them.
INSERT INTO template_group_acl (template_id, group_id, role)
SELECT id, organization_id, 'use' FROM templates;
