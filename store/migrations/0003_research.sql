-- The research library (package research). Files live in the blob store,
-- named by their SHA-256; these tables hold the records, every version of
-- every file and the text extracted from each version. Lists are JSON
-- arrays of strings. Times are UTC text as in 0001.
--
-- Nothing here is ever deleted: an edit writes a new revision of the
-- record, a new file is a new version, and withdrawal is a flag. Triggers
-- refuse deletes and edits of versions and their text.

CREATE TABLE research_documents (
    id              TEXT PRIMARY KEY CHECK (length(id) = 32),  -- random 16-byte hex
    title           TEXT NOT NULL CHECK (title <> ''),
    authors         TEXT NOT NULL CHECK (json_valid(authors) AND json_type(authors) = 'array'),
    organisation    TEXT NOT NULL,
    abstract        TEXT NOT NULL,
    year            INTEGER NOT NULL,
    language        TEXT NOT NULL,
    type            TEXT NOT NULL CHECK (type IN ('study', 'report', 'briefing', 'case-study',
                        'training-material', 'meeting-material', 'guideline')),
    topics          TEXT NOT NULL CHECK (json_valid(topics) AND json_type(topics) = 'array'),
    countries       TEXT NOT NULL CHECK (json_valid(countries) AND json_type(countries) = 'array'),
    regions         TEXT NOT NULL CHECK (json_valid(regions) AND json_type(regions) = 'array'),
    -- Never empty (access.CanSee refuses such a record anyway) and never
    -- "public" (see the triggers below).
    access_groups   TEXT NOT NULL CHECK (json_valid(access_groups) AND json_type(access_groups) = 'array'
                        AND json_array_length(access_groups) > 0),
    tlp             TEXT NOT NULL CHECK (tlp IN ('TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER', 'TLP:AMBER+STRICT', 'TLP:RED')),
    uploader_id     TEXT NOT NULL REFERENCES users (id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    withdrawn       INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn IN (0, 1)),
    withdrawn_by    TEXT REFERENCES users (id),
    withdrawn_at    TEXT,
    current_version INTEGER NOT NULL CHECK (current_version >= 1),
    -- Counts changes; index_state is the state of this revision's entry in
    -- Meilisearch. 'pending' and 'deleting' are re-driven at start-up.
    revision        INTEGER NOT NULL CHECK (revision >= 1),
    index_state     TEXT NOT NULL CHECK (index_state IN ('pending', 'indexed', 'deleting', 'deleted')),
    CHECK ((withdrawn = 0 AND withdrawn_by IS NULL AND withdrawn_at IS NULL)
        OR (withdrawn = 1 AND withdrawn_by IS NOT NULL AND withdrawn_at IS NOT NULL)),
    CHECK ((withdrawn = 0 AND index_state IN ('pending', 'indexed'))
        OR (withdrawn = 1 AND index_state IN ('deleting', 'deleted')))
) STRICT;

CREATE INDEX research_documents_unconfirmed ON research_documents (index_state)
    WHERE index_state IN ('pending', 'deleting');
CREATE INDEX research_documents_uploader ON research_documents (uploader_id);

CREATE TABLE research_versions (
    doc_id      TEXT NOT NULL REFERENCES research_documents (id),
    number      INTEGER NOT NULL CHECK (number >= 1),
    sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
    size        INTEGER NOT NULL CHECK (size >= 0),
    kind        TEXT NOT NULL CHECK (kind IN ('pdf', 'docx', 'markdown', 'text')),
    filename    TEXT NOT NULL,                        -- sanitised display name; never a path
    pages       INTEGER NOT NULL CHECK (pages >= 0),
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (doc_id, number)
) STRICT, WITHOUT ROWID;

-- Finds whether a blob is still referenced before an abandoned upload
-- removes it.
CREATE INDEX research_versions_sha256 ON research_versions (sha256);

CREATE TABLE research_passages (
    doc_id  TEXT NOT NULL,
    version INTEGER NOT NULL,
    number  INTEGER NOT NULL,                          -- PDF page, or passage index
    text    TEXT NOT NULL,
    PRIMARY KEY (doc_id, version, number),
    FOREIGN KEY (doc_id, version) REFERENCES research_versions (doc_id, number)
) STRICT;

-- Research is for members only. CHECK constraints cannot look inside a
-- JSON array, so triggers refuse the "public" group.
CREATE TRIGGER research_documents_not_public_insert BEFORE INSERT ON research_documents
WHEN EXISTS (SELECT 1 FROM json_each(NEW.access_groups) WHERE value = 'public')
BEGIN
    SELECT RAISE(ABORT, 'research records cannot be public');
END;

CREATE TRIGGER research_documents_not_public_update BEFORE UPDATE OF access_groups ON research_documents
WHEN EXISTS (SELECT 1 FROM json_each(NEW.access_groups) WHERE value = 'public')
BEGIN
    SELECT RAISE(ABORT, 'research records cannot be public');
END;

CREATE TRIGGER research_documents_no_delete BEFORE DELETE ON research_documents
BEGIN
    SELECT RAISE(ABORT, 'research records are withdrawn, never deleted');
END;

CREATE TRIGGER research_versions_no_update BEFORE UPDATE ON research_versions
BEGIN
    SELECT RAISE(ABORT, 'research versions are immutable');
END;

CREATE TRIGGER research_versions_no_delete BEFORE DELETE ON research_versions
BEGIN
    SELECT RAISE(ABORT, 'research versions are immutable');
END;

CREATE TRIGGER research_passages_no_update BEFORE UPDATE ON research_passages
BEGIN
    SELECT RAISE(ABORT, 'research passages are immutable');
END;

CREATE TRIGGER research_passages_no_delete BEFORE DELETE ON research_passages
BEGIN
    SELECT RAISE(ABORT, 'research passages are immutable');
END;
