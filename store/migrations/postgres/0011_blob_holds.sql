-- PostgreSQL twin of ../0011_blob_holds.sql; see there.

CREATE TABLE blob_holds (
    sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    holders    BIGINT NOT NULL CHECK (holders >= 0),
    expires_at TEXT NOT NULL,
    deleting   BIGINT NOT NULL DEFAULT 0 CHECK (deleting IN (0, 1))
);

CREATE INDEX blob_holds_expires ON blob_holds (expires_at);
