-- Graded quiz attempts: the PostgreSQL twin of ../0015_graded_attempts.sql.
CREATE TABLE training_attempts (
    id           TEXT PRIMARY KEY CHECK (length(id) = 32),
    learner      TEXT NOT NULL CHECK (learner <> ''),
    user_id      TEXT REFERENCES users (id) ON DELETE CASCADE,
    module       TEXT NOT NULL CHECK (module <> ''),
    -- The module's version when the attempt started (statistics per version).
    module_version TEXT NOT NULL DEFAULT '',
    lang         TEXT NOT NULL,
    seed         BYTEA NOT NULL CHECK (length(seed) = 32),
    started_at   TEXT NOT NULL,
    submitted_at TEXT,
    score        BIGINT CHECK (score BETWEEN 0 AND 100),
    passed       BIGINT CHECK (passed IN (0, 1)),
    -- When the public learner's receipt was issued: one per attempt.
    receipt_at   TEXT
);

CREATE INDEX training_attempts_learner ON training_attempts (learner, module, started_at);
CREATE INDEX training_attempts_module ON training_attempts (module, submitted_at);

CREATE TABLE training_attempt_answers (
    attempt_id TEXT NOT NULL REFERENCES training_attempts (id) ON DELETE CASCADE,
    question   TEXT NOT NULL,
    correct    BIGINT NOT NULL CHECK (correct IN (0, 1)),
    PRIMARY KEY (attempt_id, question)
);

-- Receipts of public learners (training/receipt.go). The code itself,
-- with the learner's name, is never stored: code_hash is the hex SHA-256
-- of the code as issued; module, lang and issued_at are for counts.
CREATE TABLE training_receipts (
    code_hash  TEXT PRIMARY KEY CHECK (length(code_hash) = 64),
    module     TEXT NOT NULL CHECK (module <> ''),
    lang       TEXT NOT NULL,
    issued_at  TEXT NOT NULL,
    revoked_at TEXT
);

CREATE INDEX training_receipts_module ON training_receipts (module, issued_at);

-- Renewals (training/renewal.go): a pass once a completion's validity is
-- ending or has ended renews it; its validity counts from the latest one.
CREATE TABLE training_renewals (
    completion_id TEXT NOT NULL REFERENCES training_completions (id) ON DELETE CASCADE,
    renewed_at    TEXT NOT NULL,
    PRIMARY KEY (completion_id, renewed_at)
);

-- Renewal reminders sent: one per completion and validity period (from
-- its issue or its latest renewal).
CREATE TABLE training_reminders (
    completion_id TEXT NOT NULL REFERENCES training_completions (id) ON DELETE CASCADE,
    valid_from    TEXT NOT NULL,
    sent_at       TEXT NOT NULL,
    PRIMARY KEY (completion_id, valid_from)
);
