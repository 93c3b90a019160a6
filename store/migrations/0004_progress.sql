-- Training progress (package progress). Modules, lessons and questions are
-- identified by the ids the Hugo builds give them (the module's bundle
-- directory, the lesson's file name, the question's id in quiz.yaml); what
-- they are is in the builds' training catalogues, not here. Times are UTC
-- text as in 0001.

CREATE TABLE training_lessons_done (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    module  TEXT NOT NULL CHECK (module <> ''),
    lesson  TEXT NOT NULL CHECK (lesson <> ''),
    done_at TEXT NOT NULL,
    PRIMARY KEY (user_id, module, lesson)
) STRICT, WITHOUT ROWID;

-- Counting a module's learners reads by module.
CREATE INDEX training_lessons_done_module ON training_lessons_done (module, user_id);

-- Every graded attempt is kept: scores come from the server's grading, never
-- from the browser.
CREATE TABLE training_quiz_attempts (
    id           INTEGER PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    module       TEXT NOT NULL CHECK (module <> ''),
    lang         TEXT NOT NULL,
    score        INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    passed       INTEGER NOT NULL CHECK (passed IN (0, 1)),
    submitted_at TEXT NOT NULL
) STRICT;

CREATE INDEX training_quiz_attempts_user ON training_quiz_attempts (user_id, module);
CREATE INDEX training_quiz_attempts_module ON training_quiz_attempts (module, user_id, score);

CREATE TABLE training_quiz_answers (
    attempt_id INTEGER NOT NULL REFERENCES training_quiz_attempts (id) ON DELETE CASCADE,
    question   TEXT NOT NULL,
    correct    INTEGER NOT NULL CHECK (correct IN (0, 1)),
    PRIMARY KEY (attempt_id, question)
) STRICT, WITHOUT ROWID;

-- One completion per learner and module. The verification code is never
-- stored: code_hash is the hex SHA-256 of its canonical form.
CREATE TABLE training_completions (
    id           TEXT PRIMARY KEY CHECK (length(id) = 32),  -- random 16-byte hex
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    module       TEXT NOT NULL CHECK (module <> ''),
    module_title TEXT NOT NULL,
    lang         TEXT NOT NULL,
    code_hash    TEXT NOT NULL UNIQUE CHECK (length(code_hash) = 64),
    best_score   INTEGER NOT NULL CHECK (best_score BETWEEN 0 AND 100),
    issued_at    TEXT NOT NULL,
    UNIQUE (user_id, module)
) STRICT;

CREATE INDEX training_completions_module ON training_completions (module, issued_at);

-- A completion, once issued, is a record others may rely on.
CREATE TRIGGER training_completions_no_update BEFORE UPDATE ON training_completions
BEGIN
    SELECT RAISE(ABORT, 'training completions are immutable');
END;
