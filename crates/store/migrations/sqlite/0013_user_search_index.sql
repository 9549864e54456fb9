-- GET /users?q=: the search tests each non-deleted user's lower(username)
-- and lower(email) for the substring. On SQLite the count of the matches
-- reads this index instead of every user row; on both backends it gives
-- the planner the expressions' statistics.
-- Same index and version as the other backend's 0013.
CREATE INDEX users_search_idx ON users (lower(username), lower(email)) WHERE deleted = FALSE;
