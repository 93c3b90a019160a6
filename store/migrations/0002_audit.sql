-- The hash-chained audit log (package audit). IDs are assigned by the chain
-- (previous id + 1), not by AUTOINCREMENT, and are part of each hash.

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    time        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    actor_email TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    ip          TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
) STRICT;

CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE INDEX audit_log_actor_email ON audit_log (actor_email);
CREATE INDEX audit_log_action ON audit_log (action);

-- Append-only at the database level: the application never updates or
-- deletes audit rows, so any attempt is an error.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
