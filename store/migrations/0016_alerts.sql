-- Saved searches, followed records and the notifications inbox (package
-- alerts). Times are UTC text as in 0001. A saved search's query is the
-- JSON of alerts.Query, checked by the API with the member search's own
-- parser before it is stored.
--
-- last_digest_at is the start of the next digest's window: records new, or
-- with a new version, after it. It starts at the search's creation, so a
-- new search alerts on what comes next, not on the whole library.

CREATE TABLE saved_searches (
    id             TEXT PRIMARY KEY CHECK (length(id) = 32),  -- random 16-byte hex
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name           TEXT NOT NULL CHECK (name <> ''),
    query          TEXT NOT NULL,
    alert          TEXT NOT NULL CHECK (alert IN ('off', 'daily', 'weekly')),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    last_digest_at TEXT NOT NULL,
    UNIQUE (user_id, name)
) STRICT;

CREATE INDEX saved_searches_due ON saved_searches (alert, last_digest_at);

-- A member following one record hears of its new versions and its
-- withdrawal; checked_at is where the next pass looks from.
CREATE TABLE record_follows (
    id         TEXT PRIMARY KEY CHECK (length(id) = 32),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    doc_id     TEXT NOT NULL REFERENCES research_documents (id),
    created_at TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    UNIQUE (user_id, doc_id)
) STRICT;

-- The inbox. Rows name records by ID only: the title, label and whether
-- the member may still see the record are read when the inbox is, so that
-- access lost since writing hides the row. search_name is kept so that a
-- row still says why it was written after its search is deleted.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('match', 'version', 'withdrawn')),
    doc_id      TEXT NOT NULL REFERENCES research_documents (id),
    version     INTEGER NOT NULL CHECK (version >= 1),
    search_id   TEXT,
    search_name TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    read_at     TEXT
) STRICT;

CREATE INDEX notifications_user ON notifications (user_id, id);
