-- Indexes for reads that scanned a whole table at scale.
-- Same indexes and version as the other backend's 0012.

-- A job's build (job completion, quota commit, state updates): was a scan
-- of every build.
CREATE INDEX workspace_builds_job_idx ON workspace_builds (job_id);

-- SCIM userName lookups that include deprovisioned rows (the partial
-- scim_users_user_name_idx covers only live ones): was a scan of every
-- SCIM user per POST /Users.
CREATE INDEX scim_users_user_name_all_idx ON scim_users (lower(user_name));

-- The active-user count of the entitlements (recounted after every user
-- write): answered from the index alone.
CREATE INDEX users_status_deleted_idx ON users (status, deleted);

-- GET /users pages in (created_at, id) order: read in index order up to
-- the page's end instead of sorting every matching user.
CREATE INDEX users_created_idx ON users (created_at, id);
