-- PostgreSQL twin of ../0019_research_recognition.sql (see there).

CREATE TABLE research_recognition (
    doc_id     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    pages      BIGINT NOT NULL CHECK (pages >= 1),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (doc_id, version),
    FOREIGN KEY (doc_id, version) REFERENCES research_versions (doc_id, number)
);

CREATE INDEX research_recognition_pending ON research_recognition (state) WHERE state = 'pending';

CREATE TABLE research_recognised (
    doc_id  TEXT NOT NULL,
    version BIGINT NOT NULL,
    number  BIGINT NOT NULL,
    text    TEXT NOT NULL,
    PRIMARY KEY (doc_id, version, number),
    FOREIGN KEY (doc_id, version, number) REFERENCES research_passages (doc_id, version, number)
);
