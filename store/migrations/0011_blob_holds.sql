-- Which originals are in use by uploads in progress, across every portal
-- instance sharing the database and the blob store (package research,
-- upload.go and collect.go). An upload writes its file under a temporary
-- key, then holds the file's hash here (holders + 1), then gives the file
-- its content-addressed name, and keeps the hold until the transaction that
-- records the version has ended. Garbage collection deletes a stored file
-- only after marking its row deleting, which it may do only when no
-- version names the hash and no hold is live; a hold is refused while the
-- row is deleting. So no instance can lose a file another is committing.
--
-- expires_at bounds a hold: an instance that dies holding one leaves
-- holders above zero, and after expires_at its holds count for nothing.
-- While deleting is 1, expires_at bounds the deletion, which another
-- instance finishes if the deleter died. Times are UTC text as in 0001.

CREATE TABLE blob_holds (
    sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    holders    INTEGER NOT NULL CHECK (holders >= 0),
    expires_at TEXT NOT NULL,
    deleting   INTEGER NOT NULL DEFAULT 0 CHECK (deleting IN (0, 1))
) STRICT, WITHOUT ROWID;

CREATE INDEX blob_holds_expires ON blob_holds (expires_at);
