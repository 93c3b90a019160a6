-- PostgreSQL twin of ../0005_research_reindexes.sql (same tables, columns and guards).
-- Reindexes of the research library under way (package research,
-- Service.Reindex). A row is written before a run brings its new index up
-- to date and swaps it in, and removed once the run has recorded every
-- record's index state. A row that outlives expires_at is a run killed in
-- between: the records changed since `since` may be marked indexed at a
-- revision the live index does not hold, and Resume marks them for the
-- index again. Times are UTC text as in 0001.

CREATE TABLE research_reindexes (
    run        TEXT PRIMARY KEY CHECK (length(run) = 32),  -- random 16-byte hex
    since      TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
