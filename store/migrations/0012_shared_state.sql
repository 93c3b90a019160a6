-- State that several portal instances on one database share, where one
-- process's memory used to hold it (issue 13). Times are UTC text as in
-- 0001.
--
-- leases: background work that must run on one instance at a time (the
-- index re-push, purges, the collection of unused files, the audit head
-- export) runs while its instance holds the lease of that name (package
-- lease). The holder renews expires_at well before it passes; another
-- instance takes over a lease whose expires_at has passed.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- rate_limits: the per-address limit on the routes that check secrets
-- (api/ratelimit.go): requests counted per address and fixed time window,
-- the window's start part of the key, so that one upsert counts and
-- answers. Rows whose window ended (expires_at) are purged.
CREATE TABLE rate_limits (
    key        TEXT PRIMARY KEY,
    hits       INTEGER NOT NULL,
    expires_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX rate_limits_expires ON rate_limits (expires_at);

-- generations: counters that instances read to notice another instance's
-- change, e.g. the public indexes' for the anonymous search cache.
CREATE TABLE generations (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
