-- PostgreSQL twin of ../0003_research.sql (same tables, columns and guards).
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
    authors         TEXT NOT NULL CHECK (jsonb_typeof(CAST(authors AS jsonb)) = 'array'),
    organisation    TEXT NOT NULL,
    abstract        TEXT NOT NULL,
    year            BIGINT NOT NULL,
    language        TEXT NOT NULL,
    type            TEXT NOT NULL CHECK (type IN ('study', 'report', 'briefing', 'case-study',
                        'training-material', 'meeting-material', 'guideline')),
    topics          TEXT NOT NULL CHECK (jsonb_typeof(CAST(topics AS jsonb)) = 'array'),
    countries       TEXT NOT NULL CHECK (jsonb_typeof(CAST(countries AS jsonb)) = 'array'),
    regions         TEXT NOT NULL CHECK (jsonb_typeof(CAST(regions AS jsonb)) = 'array'),
    -- Never empty (access.CanSee refuses such a record anyway) and never
    -- "public" (see the triggers below).
    access_groups   TEXT NOT NULL CHECK (jsonb_typeof(CAST(access_groups AS jsonb)) = 'array' AND jsonb_array_length(CAST(access_groups AS jsonb)) > 0),
    tlp             TEXT NOT NULL CHECK (tlp IN ('TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER', 'TLP:AMBER+STRICT', 'TLP:RED')),
    uploader_id     TEXT NOT NULL REFERENCES users (id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    withdrawn       BIGINT NOT NULL DEFAULT 0 CHECK (withdrawn IN (0, 1)),
    withdrawn_by    TEXT REFERENCES users (id),
    withdrawn_at    TEXT,
    current_version BIGINT NOT NULL CHECK (current_version >= 1),
    -- Counts changes; index_state is the state of this revision's entry in
    -- Meilisearch. 'pending' and 'deleting' are re-driven at start-up.
    revision        BIGINT NOT NULL CHECK (revision >= 1),
    index_state     TEXT NOT NULL CHECK (index_state IN ('pending', 'indexed', 'deleting', 'deleted')),
    CHECK ((withdrawn = 0 AND withdrawn_by IS NULL AND withdrawn_at IS NULL)
        OR (withdrawn = 1 AND withdrawn_by IS NOT NULL AND withdrawn_at IS NOT NULL)),
    CHECK ((withdrawn = 0 AND index_state IN ('pending', 'indexed'))
        OR (withdrawn = 1 AND index_state IN ('deleting', 'deleted')))
);

CREATE INDEX research_documents_unconfirmed ON research_documents (index_state)
    WHERE index_state IN ('pending', 'deleting');
CREATE INDEX research_documents_uploader ON research_documents (uploader_id);

CREATE TABLE research_versions (
    doc_id      TEXT NOT NULL REFERENCES research_documents (id),
    number      BIGINT NOT NULL CHECK (number >= 1),
    sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
    size        BIGINT NOT NULL CHECK (size >= 0),
    kind        TEXT NOT NULL CHECK (kind IN ('pdf', 'docx', 'markdown', 'text')),
    filename    TEXT NOT NULL,                        -- sanitised display name; never a path
    pages       BIGINT NOT NULL CHECK (pages >= 0),
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (doc_id, number)
);

-- Finds whether a blob is still referenced before an abandoned upload
-- removes it.
CREATE INDEX research_versions_sha256 ON research_versions (sha256);

CREATE TABLE research_passages (
    doc_id  TEXT NOT NULL,
    version BIGINT NOT NULL,
    number  BIGINT NOT NULL,                          -- PDF page, or passage index
    text    TEXT NOT NULL,
    PRIMARY KEY (doc_id, version, number),
    FOREIGN KEY (doc_id, version) REFERENCES research_versions (doc_id, number)
);

-- Research is for members only. CHECK constraints cannot look inside a
-- JSON array, so triggers refuse the "public" group.
CREATE TRIGGER research_documents_not_public_insert BEFORE INSERT ON research_documents
FOR EACH ROW WHEN (CAST(NEW.access_groups AS jsonb) @> '["public"]')
EXECUTE FUNCTION portal_refuse('research records cannot be public');

CREATE TRIGGER research_documents_not_public_update BEFORE UPDATE OF access_groups ON research_documents
FOR EACH ROW WHEN (CAST(NEW.access_groups AS jsonb) @> '["public"]')
EXECUTE FUNCTION portal_refuse('research records cannot be public');

CREATE TRIGGER research_documents_no_delete BEFORE DELETE ON research_documents
FOR EACH ROW EXECUTE FUNCTION portal_refuse('research records are withdrawn, never deleted');

CREATE TRIGGER research_versions_no_update BEFORE UPDATE ON research_versions
FOR EACH ROW EXECUTE FUNCTION portal_refuse('research versions are immutable');

CREATE TRIGGER research_versions_no_delete BEFORE DELETE ON research_versions
FOR EACH ROW EXECUTE FUNCTION portal_refuse('research versions are immutable');

CREATE TRIGGER research_passages_no_update BEFORE UPDATE ON research_passages
FOR EACH ROW EXECUTE FUNCTION portal_refuse('research passages are immutable');

CREATE TRIGGER research_passages_no_delete BEFORE DELETE ON research_passages
FOR EACH ROW EXECUTE FUNCTION portal_refuse('research passages are immutable');
