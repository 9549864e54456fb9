-- Enterprise licenses (upstream's `licenses` table). `id` never repeats
-- (AUTOINCREMENT, like PostgreSQL's serial); `exp` is the JWT's `exp` claim
-- (end of the grace period), copied out so expired rows are skipped without
-- decoding; `uuid` is the JWT's `jti` (or a random UUID). No unique index on
-- `jwt` or `uuid`: upstream lets the same license be uploaded twice, and
-- each upload gets its own id.
CREATE TABLE licenses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    uploaded_at TEXT NOT NULL,
    jwt         TEXT NOT NULL,
    exp         TEXT NOT NULL,
    uuid        BLOB NOT NULL
);
CREATE INDEX licenses_exp_idx ON licenses (exp);
