-- User status `dormant` (upstream's `user_status` enum: active, suspended,
-- dormant). The column stays TEXT (as on SQLite); a CHECK constraint
-- restricts it to the three values.
ALTER TABLE users ADD CONSTRAINT users_status_check
    CHECK (status IN ('active', 'suspended', 'dormant'));

-- The dormancy job looks for active users by last_seen_at.
CREATE INDEX users_status_last_seen_idx ON users (status, last_seen_at);
