-- Recognition (OCR) of PDF pages without a text layer (package research,
-- recognise.go). A version with such pages gets a row in
-- research_recognition when it is uploaded; the service's recognition loop
-- reads each pending version's page images with Tesseract and writes the
-- text of each page it read to research_recognised. The passages keep
-- the text extracted at upload (empty for these pages): recognised text
-- sits beside it, and is read in its place. Times are UTC text as in 0001.

CREATE TABLE research_recognition (
    doc_id     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    pages      INTEGER NOT NULL CHECK (pages >= 1),  -- pages without a text layer
    updated_at TEXT NOT NULL,
    PRIMARY KEY (doc_id, version),
    FOREIGN KEY (doc_id, version) REFERENCES research_versions (doc_id, number)
) STRICT, WITHOUT ROWID;

CREATE INDEX research_recognition_pending ON research_recognition (state) WHERE state = 'pending';

CREATE TABLE research_recognised (
    doc_id  TEXT NOT NULL,
    version INTEGER NOT NULL,
    number  INTEGER NOT NULL,
    text    TEXT NOT NULL,
    PRIMARY KEY (doc_id, version, number),
    FOREIGN KEY (doc_id, version, number) REFERENCES research_passages (doc_id, version, number)
) STRICT, WITHOUT ROWID;
