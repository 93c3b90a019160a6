-- Yearly re-attestation (package attest). Every member has a sponsor, the
-- admin who invited them (NULL: unknown, as for members who joined before
-- this migration and whose invitation is gone), and a period that runs
-- from `since` (joining, then each confirmed attestation) for
-- PORTAL_ATTESTATION_PERIOD: the due date is computed by the portal, so
-- that changing the period needs no migration. Nothing here is secret.

CREATE TABLE attestations (
    user_id            TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sponsor_id         TEXT,                  -- users.id; NULL when unknown
    since              TEXT NOT NULL,         -- start of the current period
    -- The one extension of the current period, with its reason.
    extended_until     TEXT,
    extended_by        TEXT,
    extension_reason   TEXT,
    -- The member's statement, awaiting the sponsor's or a lead's confirmation.
    claim_serving      INTEGER CHECK (claim_serving IN (0, 1)),
    claim_organisation TEXT,
    claim_role         TEXT,
    claim_country      TEXT,
    claimed_at         TEXT,
    -- Reminders of the current period: 0 none, 1 the 30-day one, 2 the 7-day one.
    reminded           INTEGER NOT NULL DEFAULT 0 CHECK (reminded IN (0, 1, 2)),
    reminded_at        TEXT,
    suspended_at       TEXT
) STRICT;

CREATE INDEX attestations_sponsor ON attestations (sponsor_id);

-- Existing members: their period runs from when they joined; the sponsor
-- is whoever made their invitation while it is still stored.
INSERT INTO attestations (user_id, sponsor_id, since, reminded)
SELECT u.id,
       (SELECT MIN(i.created_by) FROM invitations i
         WHERE i.email = u.email AND i.user_id IS NULL AND i.used_at IS NOT NULL AND i.created_by <> 'system'
           AND EXISTS (SELECT 1 FROM users s WHERE s.id = i.created_by)),
       u.created_at, 0
FROM users u;
