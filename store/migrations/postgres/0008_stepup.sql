-- PostgreSQL twin of ../0008_stepup.sql (same tables, columns and guards).
-- Admin acts that need two keys (package account, stepup.go and
-- resets.go). Times are UTC text as in 0001.

-- When the session last passed a second factor: a TOTP code at login or on
-- the step-up route (later a passkey). Acts that change who someone is need
-- it within account.StepUpWindow.
ALTER TABLE sessions ADD COLUMN stepped_up_at TEXT;

-- Invitations get an identifier to list and revoke them by: the token's
-- hash is the key that accepts one and stays on the server.
ALTER TABLE invitations ADD COLUMN id TEXT;
UPDATE invitations SET id = md5(random()::text || token_hash) WHERE id IS NULL;
CREATE UNIQUE INDEX invitations_id ON invitations (id);

-- A reset of an admin's second factor waits here until a second admin,
-- neither the one who asked nor the admin concerned, approves it.
CREATE TABLE mfa_reset_requests (
    id           TEXT PRIMARY KEY CHECK (length(id) = 32),  -- random 16-byte hex
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    requested_by TEXT NOT NULL,                    -- user id of the first admin
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    approved_by  TEXT,                             -- user id of the second admin
    approved_at  TEXT
);

CREATE INDEX mfa_reset_requests_user ON mfa_reset_requests (user_id);
