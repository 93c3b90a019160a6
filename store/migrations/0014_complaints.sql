-- The complaints procedure for blocked domains (package complaints, issue
-- 17). Times are UTC text as in 0001. Tokens are stored as their SHA-256,
-- as sessions' are. Personal data (domain, name, organisation, e-mail,
-- relation, explanation, messages, notes) is erased from a closed case
-- after the retention period; the number, dates, outcome and reason stay
-- for the published statistics.

-- A complaint waiting for its e-mail address to be confirmed; the row
-- becomes a case when the mailed link is followed, or goes at expiry.
CREATE TABLE complaint_submissions (
    token_hash   TEXT PRIMARY KEY,
    lang         TEXT NOT NULL,
    domain       TEXT NOT NULL,
    name         TEXT NOT NULL,
    organisation TEXT NOT NULL,
    email        TEXT NOT NULL,
    relation     TEXT NOT NULL,
    explanation  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
) STRICT;

CREATE INDEX complaint_submissions_email ON complaint_submissions (email);

-- Accepted submissions, for the per-address and per-domain rate limits
-- (shared by every portal process). The address is a keyed hash; rows
-- older than two days are dropped by the retention pass.
CREATE TABLE complaint_attempts (
    id         INTEGER PRIMARY KEY,
    addr_key   TEXT NOT NULL,
    domain     TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX complaint_attempts_addr ON complaint_attempts (addr_key, created_at);
CREATE INDEX complaint_attempts_domain ON complaint_attempts (domain, created_at);

CREATE TABLE complaint_cases (
    id                         INTEGER PRIMARY KEY,
    number                     TEXT NOT NULL UNIQUE,      -- CP-2026-4F7K
    status_token_hash          TEXT UNIQUE,               -- NULL once erased
    lang                       TEXT NOT NULL,
    state                      TEXT NOT NULL,
    domain                     TEXT NOT NULL,
    name                       TEXT NOT NULL,
    organisation               TEXT NOT NULL,
    email                      TEXT NOT NULL,
    relation                   TEXT NOT NULL,
    explanation                TEXT NOT NULL,
    assignee_id                TEXT NOT NULL DEFAULT '',
    opened_at                  TEXT NOT NULL,
    acknowledged_at            TEXT,
    decided_at                 TEXT,
    closed_at                  TEXT,
    outcome                    TEXT NOT NULL DEFAULT '',
    reason                     TEXT NOT NULL DEFAULT '',
    decision_text              TEXT NOT NULL DEFAULT '',
    decided_by                 TEXT NOT NULL DEFAULT '',
    confirmed_by               TEXT NOT NULL DEFAULT '',
    proposed_outcome           TEXT NOT NULL DEFAULT '',
    proposed_reason            TEXT NOT NULL DEFAULT '',
    proposed_text              TEXT NOT NULL DEFAULT '',
    proposed_by                TEXT NOT NULL DEFAULT '',
    ack_overdue_mailed_at      TEXT,
    decision_overdue_mailed_at TEXT,
    erased_at                  TEXT,
    version                    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX complaint_cases_email ON complaint_cases (email);
CREATE INDEX complaint_cases_state ON complaint_cases (state, opened_at);

-- Messages between complainant and reviewers, and reviewers' internal
-- notes (kind 'note', never shown to the complainant).
CREATE TABLE complaint_entries (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES complaint_cases (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('complainant', 'reviewer', 'note')),
    author_id  TEXT NOT NULL DEFAULT '',
    template   TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX complaint_entries_case ON complaint_entries (case_id, id);
