-- role_lowered_at: when the account last lost the admin role (UTC text as in
-- 0001; NULL if it never did). The reset of an admin's second factor waits
-- for a second admin (SECURITY.md AC-12); without this column one admin
-- could demote another to member and then reset the account alone. A reset
-- of an account that lost the admin role within account.FormerAdminWindow
-- waits for a second admin too.
ALTER TABLE users ADD COLUMN role_lowered_at TEXT;
