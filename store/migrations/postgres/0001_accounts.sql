-- PostgreSQL twin of ../0001_accounts.sql (same tables, columns and guards).
-- Members, invitations, sessions and recovery codes. Times are UTC text in
-- the fixed-width form 2006-01-02T15:04:05.000000000Z, so they sort as
-- strings. No account is created here: the first admin comes from
-- `portal users bootstrap-admin`, through an invitation.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,                 -- random 16-byte hex
    email          TEXT NOT NULL UNIQUE,             -- trimmed, lower-case
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('member', 'trainer', 'admin')),
    access_groups  TEXT NOT NULL CHECK (CAST(access_groups AS jsonb) IS NOT NULL),  -- JSON array of group names
    disabled       BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    mfa_enrolled   BIGINT NOT NULL DEFAULT 0 CHECK (mfa_enrolled IN (0, 1)),
    locked         BIGINT NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    password_hash  TEXT NOT NULL,                    -- argon2id PHC string
    totp_secret    BYTEA,                             -- AES-256-GCM sealed seed; key outside the database
    last_totp_step BIGINT NOT NULL DEFAULT 0,       -- replay guard: codes at or before this step are refused
    failures       BIGINT NOT NULL DEFAULT 0,       -- consecutive failed attempts, all factors
    last_failure_at TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,                     -- hex SHA-256 of the token; the token is never stored
    email      TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('member', 'trainer', 'admin')),
    access_groups TEXT NOT NULL CHECK (CAST(access_groups AS jsonb) IS NOT NULL),
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,  -- set for an MFA reset of this account
    created_by TEXT NOT NULL,                        -- user id or 'system'
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

CREATE INDEX invitations_user ON invitations (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,                   -- hex SHA-256 of the token; the token is never stored
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stage        TEXT NOT NULL CHECK (stage IN ('password', 'enrol', 'full')),
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,                         -- hex SHA-256; used codes are deleted
    PRIMARY KEY (user_id, code_hash)
);
