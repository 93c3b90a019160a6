-- PostgreSQL twin of ../0002_audit.sql (same tables, columns and guards).
-- The hash-chained audit log (package audit). IDs are assigned by the chain
-- (previous id + 1), not by AUTOINCREMENT, and are part of each hash.

CREATE TABLE audit_log (
    id          BIGINT PRIMARY KEY,
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
);

CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE INDEX audit_log_actor_email ON audit_log (actor_email);
CREATE INDEX audit_log_action ON audit_log (action);

-- The one trigger function behind every refusal below: it aborts the
-- statement with the message the trigger names (the SQLite twins'
-- RAISE(ABORT, ...)).
CREATE FUNCTION portal_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END
$$;

-- Append-only at the database level: the application never updates or
-- deletes audit rows, so any attempt is an error.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
FOR EACH ROW EXECUTE FUNCTION portal_refuse('audit_log is append-only');

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION portal_refuse('audit_log is append-only');

-- TRUNCATE skips DELETE triggers; it is refused too. (The portal's runtime
-- role is granted neither TRUNCATE nor UPDATE nor DELETE on this table, and
-- only the owner may drop or alter it: store.GrantRuntime.)
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION portal_refuse('audit_log is append-only');
