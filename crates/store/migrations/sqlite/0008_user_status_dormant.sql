-- User status `dormant` (upstream's `user_status` enum: active, suspended,
-- dormant). SQLite cannot add a CHECK constraint to an existing table
-- without rebuilding it (and every table referencing users), so two
-- triggers refuse any other value, as the PostgreSQL CHECK does.
CREATE TRIGGER users_status_check_insert BEFORE INSERT ON users
WHEN NEW.status NOT IN ('active', 'suspended', 'dormant')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: users_status_check');
END;

CREATE TRIGGER users_status_check_update BEFORE UPDATE OF status ON users
WHEN NEW.status NOT IN ('active', 'suspended', 'dormant')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: users_status_check');
END;

-- The dormancy job looks for active users by last_seen_at.
CREATE INDEX users_status_last_seen_idx ON users (status, last_seen_at);
