-- PostgreSQL twin of ../0009_passkeys.sql (same tables, columns and guards).
-- Passkeys (WebAuthn credentials) as a second factor. Only public material
-- is kept: the credential ID and its public key, with what the checks of an
-- assertion need (signature counter, flags). No secret: a stolen database
-- yields no way to sign an assertion.

CREATE TABLE passkeys (
    id               TEXT PRIMARY KEY,              -- random 16-byte hex, the portal's own handle
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id    BYTEA NOT NULL UNIQUE,          -- as the authenticator made it
    public_key       BYTEA NOT NULL,                 -- COSE_Key
    attestation_type TEXT NOT NULL,
    aaguid           BYTEA NOT NULL,                 -- authenticator model; all zeros when not told
    sign_count       BIGINT NOT NULL DEFAULT 0,    -- clone detection: must grow when the authenticator counts
    flags            BIGINT NOT NULL,              -- user present/verified, backup eligible/state
    transports       TEXT NOT NULL CHECK (CAST(transports AS jsonb) IS NOT NULL),
    name             TEXT NOT NULL,                 -- the member's own label
    created_at       TEXT NOT NULL,
    last_used_at     TEXT
);

CREATE INDEX passkeys_user ON passkeys (user_id);

-- A WebAuthn ceremony under way: the challenge a session was sent, to be
-- checked once against the browser's answer and then deleted. It ends with
-- its session.
CREATE TABLE webauthn_ceremonies (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('register', 'login', 'step-up')),
    data       TEXT NOT NULL CHECK (CAST(data AS jsonb) IS NOT NULL),
    expires_at TEXT NOT NULL,
    PRIMARY KEY (session_id, kind)
);
