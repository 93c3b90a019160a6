-- PostgreSQL twin of ../0007_devices.sql (same tables, columns and guards).
-- The login throttle's state beyond the users table (package account,
-- login.go and device.go). Times are UTC text as in 0001.
--
-- devices: the browsers a member completed a login on, each known by a
-- signed device cookie (SECURITY.md AU-8). Failed attempts from a trusted
-- device count here, apart from users.failures, which now counts only the
-- attempts of untrusted browsers; a locked device is trusted no more. id is
-- the hex SHA-256 of the cookie's random part; the cookie is never stored.
CREATE TABLE devices (
    id              TEXT PRIMARY KEY CHECK (length(id) = 64),
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      TEXT NOT NULL,
    last_used_at    TEXT NOT NULL,
    failures        BIGINT NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at TEXT,
    locked          BIGINT NOT NULL DEFAULT 0 CHECK (locked IN (0, 1))
);

CREATE INDEX devices_user ON devices (user_id, last_used_at);

-- unlock_links: single-use links mailed to a member whose account is locked
-- for untrusted browsers; following one trusts the browser it is opened in.
-- Only the token's hex SHA-256 is kept.
CREATE TABLE unlock_links (
    token_hash TEXT PRIMARY KEY CHECK (length(token_hash) = 64),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

CREATE INDEX unlock_links_user ON unlock_links (user_id, created_at);

-- login_ghosts: the throttle of e-mail addresses that have no account, kept
-- like an account's so that, across restarts too, an unknown address
-- answers exactly as a known one. address_hash is an HMAC of the address
-- under a key derived from PORTAL_SECRET_KEY: the table does not say which
-- addresses were tried.
CREATE TABLE login_ghosts (
    address_hash    TEXT PRIMARY KEY CHECK (length(address_hash) = 64),
    failures        BIGINT NOT NULL CHECK (failures >= 0),
    last_failure_at TEXT NOT NULL
);

CREATE INDEX login_ghosts_last ON login_ghosts (last_failure_at);
