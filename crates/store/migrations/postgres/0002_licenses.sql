-- Enterprise licenses: same table and version number as
-- migrations/sqlite/0002_licenses.sql. `id` is a serial int4, as upstream.
CREATE TABLE licenses (
    id          SERIAL PRIMARY KEY,
    uploaded_at TIMESTAMPTZ NOT NULL,
    jwt         TEXT NOT NULL,
    exp         TIMESTAMPTZ NOT NULL,
    uuid        UUID NOT NULL
);
CREATE INDEX licenses_exp_idx ON licenses (exp);
