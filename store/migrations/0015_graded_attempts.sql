-- Graded quiz attempts (package training, attempt.go). The portal draws an
-- attempt's questions and shuffles their options from seed, which never
-- leaves the server; learner is "user:<id>" for members or "anon:<keyed
-- hash of the address>" for public learners, for the hourly limit only.
-- Times are UTC text as in 0001.
CREATE TABLE training_attempts (
    id           TEXT PRIMARY KEY CHECK (length(id) = 32),
    learner      TEXT NOT NULL CHECK (learner <> ''),
    user_id      TEXT REFERENCES users (id) ON DELETE CASCADE,
    module       TEXT NOT NULL CHECK (module <> ''),
    -- The module's version when the attempt started (statistics per version).
    module_version TEXT NOT NULL DEFAULT '',
    lang         TEXT NOT NULL,
    seed         BLOB NOT NULL CHECK (length(seed) = 32),
    started_at   TEXT NOT NULL,
    submitted_at TEXT,
    score        INTEGER CHECK (score BETWEEN 0 AND 100),
    passed       INTEGER CHECK (passed IN (0, 1)),
    -- When the public learner's receipt was issued: one per attempt.
    receipt_at   TEXT
) STRICT;

-- The hourly limit counts a learner's recent attempts in a module.
CREATE INDEX training_attempts_learner ON training_attempts (learner, module, started_at);
CREATE INDEX training_attempts_module ON training_attempts (module, submitted_at);

-- Per-question results of submitted graded attempts, public learners' too
-- (pass rates by question, pools included).
CREATE TABLE training_attempt_answers (
    attempt_id TEXT NOT NULL REFERENCES training_attempts (id) ON DELETE CASCADE,
    question   TEXT NOT NULL,
    correct    INTEGER NOT NULL CHECK (correct IN (0, 1)),
    PRIMARY KEY (attempt_id, question)
) STRICT, WITHOUT ROWID;

-- Receipts of public learners (training/receipt.go). The code itself,
-- with the learner's name, is never stored: code_hash is the hex SHA-256
-- of the code as issued; module, lang and issued_at are for counts.
CREATE TABLE training_receipts (
    code_hash  TEXT PRIMARY KEY CHECK (length(code_hash) = 64),
    module     TEXT NOT NULL CHECK (module <> ''),
    lang       TEXT NOT NULL,
    issued_at  TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

CREATE INDEX training_receipts_module ON training_receipts (module, issued_at);

-- Renewals (training/renewal.go): a pass once a completion's validity is
-- ending or has ended renews it; its validity counts from the latest one.
CREATE TABLE training_renewals (
    completion_id TEXT NOT NULL REFERENCES training_completions (id) ON DELETE CASCADE,
    renewed_at    TEXT NOT NULL,
    PRIMARY KEY (completion_id, renewed_at)
) STRICT, WITHOUT ROWID;

-- Renewal reminders sent: one per completion and validity period (from
-- its issue or its latest renewal).
CREATE TABLE training_reminders (
    completion_id TEXT NOT NULL REFERENCES training_completions (id) ON DELETE CASCADE,
    valid_from    TEXT NOT NULL,
    sent_at       TEXT NOT NULL,
    PRIMARY KEY (completion_id, valid_from)
) STRICT, WITHOUT ROWID;
