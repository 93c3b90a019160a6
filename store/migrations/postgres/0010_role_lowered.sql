-- PostgreSQL twin of ../0010_role_lowered.sql: when the account last lost the
-- admin role (UTC text as in 0001; NULL if it never did), so that a reset of
-- a recently demoted admin still waits for a second admin (SECURITY.md AC-12).
ALTER TABLE users ADD COLUMN role_lowered_at TEXT;
