package research

import (
	"context"
	"time"
)

// Store persists research records. Each call of fn runs in one
// transaction; the rules are written against Tx so that a PostgreSQL store
// can replace SQLite without touching them.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a serialisable write transaction, committed if fn
	// returns nil and rolled back otherwise.
	Update(ctx context.Context, fn func(Tx) error) error
}

// Tx is the set of queries available inside a transaction. Lookups of a
// missing record return ErrNotFound.
type Tx interface {
	InsertDocument(ctx context.Context, d *Document) error
	Document(ctx context.Context, id string) (*Document, error)
	// Access returns what deciding who may see a record needs, for those
	// of ids that exist, in one query: a search checks its page of hits.
	Access(ctx context.Context, ids []string) (map[string]RecordAccess, error)
	// SaveDocument writes every field of d except ID, UploaderID and
	// CreatedAt.
	SaveDocument(ctx context.Context, d *Document) error
	// SetIndexState sets the record's index state if its revision is still
	// revision, and reports whether it did.
	SetIndexState(ctx context.Context, id string, revision int64, state IndexState) (bool, error)
	// MarkChangedForIndex sets every record updated at or after since to
	// IndexPending, or IndexDeleting if withdrawn, and returns how many it
	// set.
	MarkChangedForIndex(ctx context.Context, since time.Time) (int, error)
	// OpenReindex records a reindex under way; CloseReindex forgets it.
	OpenReindex(ctx context.Context, r Reindex) error
	CloseReindex(ctx context.Context, run string) error
	// ExpiredReindexes returns the reindexes recorded as under way whose
	// Expires is before now.
	ExpiredReindexes(ctx context.Context, now time.Time) ([]Reindex, error)
	// DocumentsAfter returns up to limit records, withdrawn or not, whose
	// IDs sort after after ("" for the first), in ID order: one page of a
	// scan that holds no transaction open from one page to the next.
	DocumentsAfter(ctx context.Context, after string, limit int) ([]Document, error)
	// DocumentIDs returns the IDs of the records in any of the given index
	// states (all records when none are given), in ID order.
	DocumentIDs(ctx context.Context, states ...IndexState) ([]string, error)
	// CurrentVersions returns the current version number of every record
	// that is not withdrawn, by ID.
	CurrentVersions(ctx context.Context) (map[string]int, error)

	InsertVersion(ctx context.Context, docID string, v *Version) error
	Versions(ctx context.Context, docID string) ([]Version, error) // by number
	// BlobReferenced reports whether any version's file has this SHA-256.
	BlobReferenced(ctx context.Context, sha256 string) (bool, error)

	// The holds on stored files by uploads in progress, shared by every
	// instance (see collect.go for the protocol). HoldBlob adds a holder
	// until until unless the file is being deleted; RenewBlobHold extends
	// a live hold and reports whether there is one; ReleaseBlob removes a
	// holder. MarkBlobDeleting marks the hash deleting when no version
	// names it and no live hold protects it (or an earlier deletion
	// expired), and reports whether it did; ForgetBlob drops the mark.
	// ExpiredBlobHolds lists hashes whose hold or deletion expired.
	HoldBlob(ctx context.Context, sha256 string, now, until time.Time) (bool, error)
	RenewBlobHold(ctx context.Context, sha256 string, until time.Time) (bool, error)
	ReleaseBlob(ctx context.Context, sha256 string) error
	MarkBlobDeleting(ctx context.Context, sha256 string, now, until time.Time) (bool, error)
	ForgetBlob(ctx context.Context, sha256 string) error
	ExpiredBlobHolds(ctx context.Context, now time.Time, limit int) ([]string, error)

	InsertPassages(ctx context.Context, docID string, version int, ps []Passage) error
	// Passages returns a version's passages by number, with the text
	// recognised on a page (Recognised set) in place of its empty text.
	Passages(ctx context.Context, docID string, version int) ([]Passage, error)

	// QueueRecognition records that a version has pages pages without a
	// text layer, to recognise (RecognitionPending).
	QueueRecognition(ctx context.Context, docID string, version, pages int, at time.Time) error
	// PendingRecognition returns the versions waiting for recognition,
	// oldest first.
	PendingRecognition(ctx context.Context) ([]RecognitionJob, error)
	// RecognitionState returns a version's recognition state, "" when it
	// has no page to recognise.
	RecognitionState(ctx context.Context, docID string, version int) (RecognitionState, error)
	// SaveRecognised stores the text recognised on a version's pages and
	// sets its state.
	SaveRecognised(ctx context.Context, docID string, version int, ps []Passage, state RecognitionState, at time.Time) error
}

// Reindex is the record of a reindex under way, from just before it brings
// its new index up to date with the store until it has recorded the index
// states after the swap (see Service.Reindex).
type Reindex struct {
	Run string // random 16-byte hex
	// Since is when the run began to bring its index up to date: changes
	// from then on may be missing from the live index if the run dies.
	Since time.Time
	// Expires is when a run still recorded is taken for dead.
	Expires time.Time
}
