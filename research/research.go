// Package research is the specialist group's research library: records of
// studies, reports, briefings and other material, each with its metadata,
// its access groups and TLP label, and every version of its file.
//
// The package holds the rules; files live in the content-addressed blob
// store, records in SQLite behind the Store interface, and Meilisearch is
// fed through the Indexer interface. SQLite and the blob store are the
// source of truth: every record carries the state of its index entry, each
// change commits first and pushes to the index second, and Resume and
// Reindex re-drive whatever Meilisearch has not confirmed.
//
// Documented choices:
//   - Who sees a record is decided by access.CanSee alone, through account.User.Subject.
//     Asking for a record one may not see gives ErrNotFound, exactly as for a
//     record that does not exist, and is audited as access.denied.
//   - Admins are inside that rule: an admin sees a record only through the
//     admin's own groups, and so can read, change, withdraw or restore only
//     records those groups reach. Changing a record never shows the admin
//     more than reading it does.
//   - Withdrawn records stay visible to their uploader and to admins (whose
//     groups reach them), marked Withdrawn, and to nobody else. The uploader needs to see what they may
//     restore; a withdrawal is about everyone else. A record that an admin
//     withdrew can only be restored by an admin, so that a take-down cannot
//     be undone by the uploader.
//   - Only the uploader and admins change a record. A non-admin may add only
//     access groups they belong to; removing groups is always allowed.
//   - Nothing is deleted: edits keep every version and its text, withdrawal
//     is a flag, and the schema refuses deletes of versions.
package research

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/blob"
	"portal/extract"
	"portal/metrics"
	"portal/preview"
)

// Metadata describes a record. Lists are kept sorted and without
// duplicates, except Authors, whose order is the publication's.
type Metadata struct {
	Title        string
	Authors      []string
	Organisation string
	Abstract     string
	Year         int
	Language     string // one of Languages
	Type         Type
	Topics       []string // ids from Topics, at least one
	Countries    []string // ISO 3166-1 alpha-2, upper case
	Regions      []string // from Regions
	AccessGroups []string // at least one; never access.Public
	TLP          access.TLP
}

// Object is what access.CanSee judges for a record.
func (m Metadata) Object() access.Object {
	return access.Object{Groups: m.AccessGroups, TLP: m.TLP}
}

// RecordAccess is what deciding who may see a record needs.
type RecordAccess struct {
	Object    access.Object
	Withdrawn bool
}

// IndexState is how far a record's search index entry has caught up with
// the record.
type IndexState string

// Index states. Pending and Deleting are work to do; Indexed and Deleted
// are confirmed by Meilisearch for the record's current revision.
const (
	IndexPending  IndexState = "pending"
	IndexIndexed  IndexState = "indexed"
	IndexDeleting IndexState = "deleting"
	IndexDeleted  IndexState = "deleted"
)

// Document is a research record.
type Document struct {
	ID string // 16 random bytes, hex
	Metadata
	UploaderID     string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Withdrawn      bool
	WithdrawnBy    string    // user ID; "" unless Withdrawn
	WithdrawnAt    time.Time // zero unless Withdrawn
	CurrentVersion int
	// Recognition is the state of the recognition of the current
	// version's scanned pages ("" when it has none), as read by View.
	Recognition RecognitionState
	// Revision counts the changes to the record, starting at 1. IndexState
	// refers to it: a confirmation for an older revision does not mark a
	// newer one indexed.
	Revision   int64
	IndexState IndexState
}

// Version is one uploaded file of a record. Versions are never changed or
// removed.
type Version struct {
	Number     int
	SHA256     string // hex; the blob's name
	Size       int64
	Kind       extract.Kind
	Filename   string // sanitised display name only; storage is by hash
	Pages      int    // passages extracted
	UploadedBy string
	UploadedAt time.Time
}

// Passage is a unit of a version's text: a page of a PDF, a passage of
// about 300 words otherwise.
type Passage struct {
	Number int
	Text   string
	// Recognised says Text was read by OCR from the image of a page
	// without a text layer (see recognise.go).
	Recognised bool
}

// Indexer is what the service needs of the search index. IndexDocument and
// DeleteDocument return only once Meilisearch has confirmed the change.
type Indexer interface {
	IndexDocument(ctx context.Context, d Document, passages []Passage) error
	// DeleteDocument removes the record's entries; deleting a missing
	// record is not an error.
	DeleteDocument(ctx context.Context, id string) error
	// Rebuild starts a new index beside the live one, which keeps
	// answering and taking IndexDocument and DeleteDocument until the
	// build's Swap. confirmed, if not nil, is called with the number of
	// records the new index has confirmed so far, each time it grows.
	Rebuild(ctx context.Context, confirmed func(records int)) (IndexBuild, error)
}

// IndexBuild is a new index being loaded beside the live one. Its changes
// apply in the order they are made.
type IndexBuild interface {
	// Add adds a record's current version. It may send the index what
	// it has gathered so far, but does not wait for the index to confirm.
	Add(ctx context.Context, d Document, passages []Passage) error
	// Remove removes the entries of the given records, added before;
	// like Add, it does not wait.
	Remove(ctx context.Context, ids []string) error
	// Wait waits until the index has confirmed every change made so far;
	// it fails if any was refused.
	Wait(ctx context.Context) error
	// Swap waits as Wait does and then puts the new index in the live
	// one's place, in one step; it fails, leaving the live index as it
	// was, if any change was refused. (A failure while waiting for the
	// swap itself may leave it to happen later.)
	Swap(ctx context.Context) error
	// Close removes the build: after Swap the index it replaced, before
	// it what was loaded. It never touches the live index.
	Close(ctx context.Context) error
}

// Errors. The API maps them to statuses; compare with errors.Is.
var (
	ErrNotFound   = errors.New("research: not found")           // 404; also for records the user may not see
	ErrForbidden  = errors.New("research: forbidden")           // 403; see ForbiddenError
	ErrInvalid    = errors.New("research: invalid input")       // 400; see ValidationError
	ErrBusy       = errors.New("research: too many uploads")    // 503: retry later
	ErrTooLarge   = errors.New("research: file too large")      // 413
	ErrUnparsable = errors.New("research: file cannot be read") // 422
	// ErrUnaudited (503): the audit log could not take the entry of what
	// was asked, so it was not done, or, for a change already committed,
	// not confirmed. Reads fail closed: nothing unaudited is served.
	ErrUnaudited = errors.New("research: audit log unavailable")
	// ErrUnsupportedType (415) wraps extract.ErrUnsupported too.
	ErrUnsupportedType = fmt.Errorf("research: %w", extract.ErrUnsupported)
)

// ValidationError names a field and says, in words safe to show the user,
// what is wrong with it. It wraps ErrInvalid.
type ValidationError struct {
	Field, Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrInvalid, e.Field, e.Reason)
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// ForbiddenError says, in words safe to show the user, why an action was
// refused. It wraps ErrForbidden.
type ForbiddenError struct {
	Reason string
}

func (e *ForbiddenError) Error() string { return ErrForbidden.Error() + ": " + e.Reason }

func (e *ForbiddenError) Unwrap() error { return ErrForbidden }

// Audit actions recorded by the package.
const (
	ActionUpload   = "research.upload"
	ActionDownload = "research.download"
	ActionUpdate   = "research.update"
	ActionReplace  = "research.replace"
	ActionWithdraw = "research.withdraw"
	ActionRestore  = "research.restore"
	ActionView     = "research.view"     // recorded by View
	ActionVersions = "research.versions" // recorded by History
	ActionSearch   = "research.search"   // recorded by the API through Audit
)

// Options configure a Service. Zero values take the defaults.
type Options struct {
	// MaxUploadBytes caps an uploaded file (default 50 MiB).
	MaxUploadBytes int64
	// MaxConcurrentUploads bounds uploads and replacements in progress
	// (default 4): each holds a file being hashed and parsed.
	MaxConcurrentUploads int
	// UploadWait is how long an upload waits for a free slot before
	// ErrBusy (default 2 s).
	UploadWait time.Duration
	// IndexTimeout bounds one index or delete call (default 30 s). After a
	// change is committed, the push to the index runs to this timeout even
	// if the caller's context ends: the record is already saved, and the
	// index should follow it now rather than at the next Resume.
	IndexTimeout time.Duration
	// BlobHold is how long an upload's hold on its stored file protects
	// the file from collection (default DefaultBlobHold): longer than any
	// upload takes from storing the file to recording it.
	BlobHold time.Duration
	Now      func() time.Time // default time.Now
	Logger   *slog.Logger     // default slog.Default()
	Metrics  *metrics.Metrics // counts failed index pushes; nil counts nothing
	// PreviewDir keeps the page images of PDFs (package preview); empty
	// serves none.
	PreviewDir string
	// Recogniser reads the PDF pages that have no text layer
	// (RunRecognition); nil leaves them without text.
	Recogniser Recogniser
}

// Defaults for Options.
const (
	DefaultMaxUploadBytes       = 50 << 20
	DefaultMaxConcurrentUploads = 4
	DefaultUploadWait           = 2 * time.Second
	DefaultIndexTimeout         = 30 * time.Second
)

// Service is the research library. It is safe for concurrent use.
type Service struct {
	st    Store
	blobs blob.Store
	x     *extract.Extractor
	idx   Indexer
	audit *audit.Log
	opts  Options
	log   *slog.Logger

	uploads chan struct{} // semaphore of MaxConcurrentUploads
	// previews keeps page images; nil without Options.PreviewDir.
	// rendering lets one preview be drawn at a time.
	previews  *preview.Cache
	rendering chan struct{}
	// ocr reads scanned pages (nil: none are read); wake tells
	// RunRecognition that pages are queued.
	ocr  Recogniser
	wake chan struct{}
}

// New returns a Service. All dependencies are required.
func New(st Store, blobs blob.Store, x *extract.Extractor, idx Indexer, log *audit.Log, opts Options) (*Service, error) {
	if st == nil || blobs == nil || x == nil || idx == nil || log == nil {
		return nil, errors.New("research: store, blob store, extractor, indexer and audit log are required")
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if opts.MaxConcurrentUploads <= 0 {
		opts.MaxConcurrentUploads = DefaultMaxConcurrentUploads
	}
	if opts.UploadWait <= 0 {
		opts.UploadWait = DefaultUploadWait
	}
	if opts.IndexTimeout <= 0 {
		opts.IndexTimeout = DefaultIndexTimeout
	}
	if opts.BlobHold <= 0 {
		opts.BlobHold = DefaultBlobHold
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if _, err := loadTopics(); err != nil {
		return nil, err
	}
	if _, err := loadCountries(); err != nil {
		return nil, err
	}
	var previews *preview.Cache
	if opts.PreviewDir != "" {
		var err error
		if previews, err = preview.Open(opts.PreviewDir); err != nil {
			return nil, err
		}
	}
	return &Service{
		previews:  previews,
		rendering: make(chan struct{}, 1),
		ocr:       opts.Recogniser,
		wake:      make(chan struct{}, 1),
		st:        st,
		blobs:     blobs,
		x:         x,
		idx:       idx,
		audit:     log,
		opts:      opts,
		log:       opts.Logger,
		uploads:   make(chan struct{}, opts.MaxConcurrentUploads),
	}, nil
}

// MaxUploadBytes returns the upload size limit in force, for the API's own
// body limit.
func (s *Service) MaxUploadBytes() int64 { return s.opts.MaxUploadBytes }

// isAdmin reports whether u may act as an admin. It widens what u may
// change among the records u can see, never which records u can see.
func isAdmin(u *account.User) bool { return u != nil && !u.Disabled && u.Role == account.RoleAdmin }

// visible reports whether u may see d: access.CanSee decides, and a
// withdrawn record is further limited to its uploader and admins.
func visible(u *account.User, d *Document) bool {
	if !access.CanSee(u.Subject(), d.Object()) {
		return false
	}
	return !d.Withdrawn || isAdmin(u) || u.ID == d.UploaderID
}

// mayChange reports whether u may change d, which u can see.
func mayChange(u *account.User, d *Document) bool {
	return isAdmin(u) || u.ID == d.UploaderID
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Round(0) }

// newID returns 16 random bytes in hex.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("research: random id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// validID reports whether id has the shape of a record ID, so that junk
// never reaches the store or the audit log unbounded.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// record writes an audit entry for u. The entry is written even if the
// client has gone away meanwhile: what happened must be on record.
func (s *Service) record(ctx context.Context, u *account.User, action, target, outcome, detail string, c account.Client) error {
	e := audit.Entry{Action: action, Target: target, Outcome: outcome, Detail: detail, IP: c.IP}
	if u != nil {
		e.Actor, e.ActorEmail = u.ID, u.Email
	}
	if err := s.audit.Record(context.WithoutCancel(ctx), e); err != nil {
		s.log.ErrorContext(ctx, "audit record failed", "action", action, "target", target, "err", err)
		return fmt.Errorf("%w: %w", ErrUnaudited, err)
	}
	return nil
}

// Audit records an action that the API performs on the library, such as
// ActionSearch (detail: the query and the hit count). Failures are logged,
// not returned: the caller has already answered.
func (s *Service) Audit(ctx context.Context, u *account.User, action, target, outcome, detail string, c account.Client) {
	_ = s.record(ctx, u, action, target, outcome, detail, c)
}

// denied records a refused or invisible access and returns err.
func (s *Service) denied(ctx context.Context, u *account.User, action, id string, err error, c account.Client) error {
	detail := action
	switch {
	case errors.Is(err, ErrNotFound):
		detail += ": not found or not visible"
	case errors.Is(err, ErrForbidden):
		detail += ": not the uploader"
		var fe *ForbiddenError
		if errors.As(err, &fe) {
			detail = action + ": " + fe.Reason
		}
	}
	s.Audit(ctx, u, audit.ActionAccessDenied, id, audit.OutcomeDenied, detail, c)
	return err
}
