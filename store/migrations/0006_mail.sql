-- The mail outbox (package mail): messages queued by the portal and not yet
-- accepted by the SMTP relay. A row is removed once the relay accepts it or
-- after the last attempt, so the table holds only mail in flight; its links
-- are credentials, which is why nothing keeps them once sent, and why body
-- is sealed (AES-GCM, key derived from PORTAL_SECRET_KEY) by package mail. next_at is
-- when the row is due: moved forward while a process sends it (a claim)
-- and after each failed attempt (exponential backoff). Times are UTC text
-- as in 0001.

CREATE TABLE mail_outbox (
    id          INTEGER PRIMARY KEY,
    message_id  TEXT NOT NULL UNIQUE,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at     TEXT NOT NULL,
    last_error  TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX mail_outbox_due ON mail_outbox (next_at);
