-- PostgreSQL twin of ../0012_shared_state.sql; see there.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE rate_limits (
    key        TEXT PRIMARY KEY,
    hits       BIGINT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE INDEX rate_limits_expires ON rate_limits (expires_at);

CREATE TABLE generations (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
